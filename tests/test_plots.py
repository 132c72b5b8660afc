"""Plot helpers return matplotlib Axes built from the data they were given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from classifier import plots  # noqa: E402


@pytest.fixture
def routed():
    return pd.DataFrame({
        "route": ["cybercrime", "cybercrime", "intersection", "international-security", "undetermined"],
        "actor_type": ["criminal", "criminal", "state", "state-sponsored", "unknown"],
        "state_sponsorship": ["none", "none", "confirmed", "suspected", "unknown"],
        "critical_infrastructure": ["health", "", "finance;energy", "government", ""],
        "cascading_effects": ["no", "no", "yes", "no", "no"],
        "motive": ["financial", "financial", "financial", "espionage", "unknown"],
        "date": ["2021-01-02", "2022-05-01", "2022-07-09", "bad date", "2023-03-03"],
        "confidence": [0.9, 0.8, 0.7, 0.95, 0.3],
        "review": [False, False, False, False, True],
    })


def test_route_distribution_bars(routed):
    ax = plots.route_distribution(routed)
    heights = {p.get_x(): p.get_height() for p in ax.patches}
    assert sorted(heights.values()) == [1, 1, 1, 2]


def test_cooccurrence_counts(routed):
    ax = plots.criteria_cooccurrence(routed)
    matrix = ax.images[0].get_array()
    names = list(plots.CRITERIA_FLAGS)
    i = names.index("critical infrastructure")
    assert matrix[i, i] == 3
    assert matrix[names.index("financial motive"), names.index("criminal actor")] == 2


def test_confusion_and_calibration():
    ax = plots.confusion_matrix(["cybercrime", "intersection"], ["cybercrime", "cybercrime"])
    assert ax.images[0].get_array()[0, 0] == 1
    ax = plots.calibration_curve([1, 0, 1, 1], [0.9, 0.8, 0.6, 0.95])
    assert "ECE" in ax.get_title()


def test_shares_over_time_and_sector(routed):
    ax = plots.route_share_over_time(routed)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2021", "2022", "2023"]
    ax = plots.route_share_by_sector(routed)
    assert {t.get_text() for t in ax.get_yticklabels()} == {"energy", "finance", "government", "health"}


def test_style_routed_renders_html(routed):
    html = plots.style_routed(routed).to_html()
    assert "background-color: #0072B2" in html


def test_style_routed_escapes_the_text_it_shows(routed):
    """A description from a feed is text: markup in it must show, not run in the notebook."""
    routed = routed.assign(text=['<script>alert("x")</script> & a gang', "b", "c", "d", "e"])[["text", *routed.columns]]
    html = plots.style_routed(routed).to_html()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    # ... and so are the labels of its rows and columns, which come from the feed as well.
    labelled = routed.set_axis([f"<script>row{i}</script>" for i in range(5)]).rename(columns={"text": "<b>feed</b>"})
    html = plots.style_routed(labelled).to_html()
    assert "<script>row" not in html and "&lt;script&gt;row0" in html
    assert "<b>feed" not in html and "&lt;b&gt;feed" in html


def test_style_routed_shows_a_frame_whose_index_repeats_and_refuses_repeated_columns(routed):
    html = plots.style_routed(routed.set_axis(["a", "a", "b", "b", "c"])).to_html()
    assert "background-color: #0072B2" in html
    # ... also when the index is named like a column.
    html = plots.style_routed(routed.set_axis(pd.Index(list("aabbc"), name="route"))).to_html()
    assert "background-color: #0072B2" in html
    with pytest.raises(ValueError, match="repeated column names"):
        plots.style_routed(routed.set_axis(["route", "route", *routed.columns[2:]], axis=1))


def test_a_plot_of_nothing_says_so(routed):
    with pytest.raises(ValueError, match="no row has a readable date"):
        plots.route_share_over_time(routed.assign(date="not a date"))
    with pytest.raises(ValueError, match="no row names a critical-infrastructure sector"):
        plots.route_share_by_sector(routed.assign(critical_infrastructure=""))


def test_a_missing_plotting_library_names_the_install_line(routed, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r"needs matplotlib.*pip install 'cyberroute\[notebook\]'"):
        plots.route_distribution(routed)


def test_style_routed_shows_the_description_and_keeps_result_columns_together():
    """The description is shown whatever the other input columns; cascading_effects, a result
    column, is not taken for an input column (a reviewer saw it placed before route)."""
    from classifier import classify_frame

    feed = pd.DataFrame({"id": ["a1", "a2"], "date": ["2024-01-01", "2024-02-01"], "country": ["NZ", "FR"],
                         "description": ["A ransomware gang encrypted a dental practice's records.",
                                         "GRU officers planted a wiper in a grid operator's network."]})
    shown = list(plots.style_routed(classify_frame(feed, text_column="description")).data.columns)
    assert shown[:2] == ["description", "id"] and shown[2] == "route"
    assert shown.index("cascading_effects") > shown.index("route")
    text_named = classify_frame(feed.rename(columns={"description": "text"}), text_column="text")
    assert list(plots.style_routed(text_named).data.columns)[:2] == ["text", "id"]
    chosen = list(plots.style_routed(classify_frame(feed, text_column="description"), text_column="country").data.columns)
    assert chosen[:2] == ["country", "id"]
    with pytest.raises(KeyError, match="no column 'summary'"):
        plots.style_routed(text_named, text_column="summary")


def test_a_plot_names_the_columns_a_frame_lacks(routed):
    with pytest.raises(KeyError, match="route_share_over_time needs the column 'date'"):
        plots.route_share_over_time(routed.drop(columns="date"))
    with pytest.raises(KeyError, match="route_distribution needs the column 'route'"):
        plots.route_distribution(routed.drop(columns="route"))
    with pytest.raises(KeyError, match="needs the columns 'critical_infrastructure', 'route'"):
        plots.route_share_by_sector(routed.drop(columns=["route", "critical_infrastructure"]))
    with pytest.raises(KeyError, match="criteria_cooccurrence needs the column 'motive'"):
        plots.criteria_cooccurrence(routed.drop(columns="motive"))


@pytest.mark.parametrize("plot", ["criteria_cooccurrence", "route_share_by_sector", "route_share_over_time"])
def test_a_saved_figure_holds_its_labels_and_legend(routed, plot, tmp_path):
    """A fresh user's savefig() cut the sector names ("overnment") and the legend off (session 30)."""
    ax = getattr(plots, plot)(routed)
    figure = ax.figure
    figure.savefig(tmp_path / "plot.png")
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    texts = [*ax.get_yticklabels(), *ax.get_xticklabels(), ax.xaxis.label, ax.yaxis.label]
    if ax.get_legend() is not None:
        texts.append(ax.get_legend())
    for text in texts:
        if getattr(text, "get_text", lambda: "x")():
            extent = text.get_window_extent(renderer)
            assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text
            assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, text
