"""Plot helpers for notebooks (matplotlib). Each returns the matplotlib Axes so it can be restyled.

    from classifier.plots import route_distribution
    ax = route_distribution(routed)          # routed: a DataFrame from classify_frame
    ax.set_title("My feed, 2024")
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .render import ROUTE_COLOURS
from .result import result_columns
from .ruleset import ALL_ROUTES, ROUTES

CRITERIA_FLAGS = {
    "State actor": lambda f: f["actor_type"].isin(["state", "state-sponsored"]),
    "State link": lambda f: f["state_sponsorship"].isin(["confirmed", "suspected"]),
    "criminal actor": lambda f: f["actor_type"].eq("criminal"),
    "hacktivist": lambda f: f["actor_type"].eq("hacktivist"),
    "insider": lambda f: f["actor_type"].eq("insider"),
    "critical infrastructure": lambda f: f["critical_infrastructure"].fillna("").astype(str).ne(""),
    "cascading effects": lambda f: f["cascading_effects"].eq("yes"),
    "financial motive": lambda f: f["motive"].eq("financial"),
    "espionage motive": lambda f: f["motive"].eq("espionage"),
    "sabotage motive": lambda f: f["motive"].eq("sabotage"),
}


def _need(module: str) -> None:
    """Stop with the install line when an optional plotting library is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"classifier.plots needs {module}, which the classifier itself does not: "
                          f"pip install 'cyberroute[notebook]' (from a checkout: pip install '.[notebook]')")


def _axes(ax, figsize=(6, 4)):
    _need("matplotlib")
    import matplotlib.pyplot as plt

    if ax is None:
        # Constrained layout keeps long labels and legends inside the figure, also in a plain
        # savefig() outside a notebook (which, unlike a notebook, does not crop to what is drawn).
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _need_columns(frame: pd.DataFrame, plot: str, *columns: str) -> None:
    """Refuse a frame without the columns a plot reads, naming them (a bare KeyError does not say
    that the frame is not a routed one, or which argument names the column)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{plot} needs the column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}, "
                       f"which the frame does not have (a frame from classify_frame, or batch's output, has "
                       f"the result columns; a date column is named by date_column)")


def route_distribution(frame: pd.DataFrame, column: str = "route", ax=None):
    """Bar chart of how many rows went to each route."""
    _need_columns(frame, "route_distribution", column)
    ax = _axes(ax)
    counts = frame[column].value_counts().reindex([r for r in ALL_ROUTES if r in set(frame[column])], fill_value=0)
    ax.bar(counts.index, counts.values, color=[ROUTE_COLOURS[r] for r in counts.index])
    for i, v in enumerate(counts.values):
        ax.text(i, v, f"{v}\n{v / max(len(frame), 1):.0%}", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("descriptions")
    ax.set_title("Routes")
    ax.margins(y=0.2)
    ax.tick_params(axis="x", labelrotation=15)
    return ax


def criteria_cooccurrence(frame: pd.DataFrame, ax=None):
    """Heatmap: how often two criteria findings occur in the same description."""
    _need_columns(frame, "criteria_cooccurrence", "actor_type", "state_sponsorship", "critical_infrastructure",
                  "cascading_effects", "motive")
    ax = _axes(ax, (7, 6))
    flags = pd.DataFrame({name: test(frame).astype(int) for name, test in CRITERIA_FLAGS.items()})
    matrix = flags.T.dot(flags)
    image = ax.imshow(matrix.values, cmap="Blues")
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(matrix)), matrix.index)
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            value = matrix.values[i, j]
            ax.text(j, i, value, ha="center", va="center", fontsize=7,
                    color="white" if value > matrix.values.max() / 2 else "black")
    ax.figure.colorbar(image, ax=ax, shrink=0.7)
    ax.set_title("Criteria co-occurrence (rows)")
    return ax


def confusion_matrix(truth, predicted, labels=None, ax=None):
    """Confusion matrix with counts; rows are the truth."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    labels = labels or [r for r in ALL_ROUTES if r in set(truth) | set(predicted)]
    matrix = sk_confusion(list(truth), list(predicted), labels=labels)
    ax = _axes(ax, (5.5, 4.5))
    ax.imshow(matrix, cmap="Purples")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, matrix[i, j], ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title("Confusion matrix")
    return ax


def calibration_curve(correct, confidence, bins: int = 10, ax=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal."""
    from .evaluation import expected_calibration_error

    correct, confidence = np.asarray(correct, dtype=float), np.asarray(confidence, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        mask = index == b
        if mask.any():
            centres.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    ax = _axes(ax, (5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", color="#7B3294", label="cyberroute")
    for x, y, n in zip(centres, accuracy, counts):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ece = expected_calibration_error(correct, confidence, bins)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Calibration (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    return ax


def route_share_over_time(frame: pd.DataFrame, date_column: str = "date", freq: str = "YE", ax=None):
    """Stacked share of routes per period (year by default) of ``date_column``."""
    _need_columns(frame, "route_share_over_time", date_column, "route")
    dates = pd.to_datetime(frame[date_column], errors="coerce", format="mixed")
    data = frame.assign(_period=dates.dt.to_period(freq.rstrip("E") or "Y")).dropna(subset=["_period"])
    table = pd.crosstab(data["_period"], data["route"], normalize="index")
    table.index = table.index.astype(str)  # categorical labels, not a date axis
    if table.empty:
        raise ValueError(f"no row has a readable date in column {date_column!r}: nothing to plot")
    return _stacked(table, "Route share over time", ax)


def route_share_by_sector(frame: pd.DataFrame, ax=None):
    """Share of routes among rows that hit each critical-infrastructure sector."""
    _need_columns(frame, "route_share_by_sector", "critical_infrastructure", "route")
    exploded = frame.assign(sector=frame["critical_infrastructure"].fillna("").astype(str).str.split(";")).explode("sector")
    exploded = exploded[exploded["sector"] != ""]
    table = pd.crosstab(exploded["sector"], exploded["route"], normalize="index")
    if table.empty:
        raise ValueError("no row names a critical-infrastructure sector: nothing to plot")
    return _stacked(table, "Route share by sector", ax, horizontal=True)


def _stacked(table: pd.DataFrame, title: str, ax, horizontal: bool = False):
    ax = _axes(ax, (7, 4.5))
    columns = [r for r in ALL_ROUTES if r in table.columns]
    table = table[columns]
    kind = "barh" if horizontal else "bar"
    table.plot(kind=kind, stacked=True, ax=ax, color=[ROUTE_COLOURS[c] for c in columns], width=0.8)
    ax.set_title(title)
    ax.set_xlabel("") if not horizontal else ax.set_ylabel("")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    if horizontal:
        ax.set_xlabel("share")
    else:
        ax.set_ylabel("share")
    return ax


def style_routed(frame: pd.DataFrame, columns=None, text_column=None):
    """A pandas Styler for a routed frame: route cells coloured, confidence as a bar, review flagged.

    Shown: the description, one more input column (an id, a date), then ``columns`` (default:
    route, confidence, intersection reason, the criteria and review). The description is
    ``text_column``; by default the column ``text``, else the input column with the longest text.

    Cell text, index labels and column names are HTML-escaped: descriptions come from feeds, and
    a ``<script>`` in one must show as text, not run in the notebook. A frame whose index repeats is shown numbered by row
    (pandas' Styler cannot colour cells under a repeated label)."""
    _need("jinja2")   # pandas' Styler renders with it
    if not frame.columns.is_unique:
        raise ValueError("the frame has repeated column names: "
                         f"{sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})}; rename them first")
    columns = list(columns or [c for c in ("route", "confidence", "intersection_reason", "actor_type",
                                           "state_sponsorship", "critical_infrastructure", "cascading_effects",
                                           "motive", "review") if c in frame.columns])
    missing = [c for c in [*columns, *([text_column] if text_column is not None else [])] if c not in frame.columns]
    if missing:
        raise KeyError(f"the frame has no column {', '.join(map(repr, missing))}")
    inputs = [c for c in frame.columns if c not in columns and c not in result_columns(details=True)]
    if text_column is None and inputs:
        text_column = "text" if "text" in inputs else max(inputs, key=lambda c: _mean_length(frame[c]))
    context = ([text_column] if text_column is not None and text_column not in columns else [])
    context += [c for c in inputs if c != text_column][:2 - len(context)]
    shown = frame[context + columns]
    if not shown.index.is_unique:
        shown = shown.set_axis(pd.RangeIndex(len(shown)))

    def colour(route):
        c = ROUTE_COLOURS.get(route)
        return f"background-color: {c}; color: white" if c else ""

    styler = shown.style.format(escape="html").format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler = styler.map(colour, subset=["route"]) if "route" in shown else styler
    if "confidence" in shown:
        styler = styler.bar(subset=["confidence"], vmin=0, vmax=1, color="#cfc6e6").format("{:.2f}", subset=["confidence"])
    if "review" in shown:
        styler = styler.map(lambda v: "color: #b00; font-weight: bold" if v in (True, "true") else "", subset=["review"])
    return styler


def _mean_length(column: pd.Series) -> float:
    """Mean length of a column's text values (0 for a column without text): which column holds the
    descriptions."""
    text = column[column.map(lambda v: isinstance(v, str))]
    return float(text.str.len().mean()) if len(text) else 0.0


__all__ = ["route_distribution", "criteria_cooccurrence", "confusion_matrix", "calibration_curve",
           "route_share_over_time", "route_share_by_sector", "style_routed", "ROUTES"]
