"""Route shares of a feed: re-weighting, estimation without labels, and the ways in (API, CLI)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from classifier.api import Classifier
from classifier.cli import main
from classifier.priors import PriorsError, estimate_shares, parse_shares, reweight, training_shares

ROUTES = ["cybercrime", "international-security", "intersection"]


def _posteriors(n: int, true_shares, train_shares, seed: int = 0):
    """Texts drawn at ``true_shares``, scored by a calibrated model that learnt ``train_shares``.

    A text is one of 30 kinds; each route has its own distribution over kinds (Dirichlet draws),
    and the model's posterior for a kind is Bayes' rule at the training shares: exactly the
    calibrated model the EM procedure assumes.
    """
    rng = np.random.default_rng(seed)
    kinds = rng.dirichlet([0.5] * 30, size=3)            # P(kind | route), one row per route
    truth = rng.choice(3, size=n, p=true_shares)
    kind = np.array([rng.choice(30, p=kinds[t]) for t in truth])
    posterior = kinds[:, kind].T * np.asarray(train_shares)
    return posterior / posterior.sum(axis=1, keepdims=True)


def test_reweighting_to_the_training_shares_changes_nothing():
    proba = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    train = np.array([0.46, 0.28, 0.26])
    assert np.allclose(reweight(proba, train, train), proba)


def test_reweighting_follows_bayes_rule():
    proba = np.array([[0.4, 0.4, 0.2]])
    out = reweight(proba, np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.5, 0.25]))
    # Odds cybercrime : international-security go from 1:1 to (0.4*0.5):(0.4*2) = 1:4.
    assert out.sum() == pytest.approx(1.0)
    assert out[0, 1] / out[0, 0] == pytest.approx(4.0)


def test_a_text_whose_routes_all_get_share_zero_keeps_its_probabilities():
    proba = np.array([[1.0, 0.0, 0.0]])
    assert np.allclose(reweight(proba, np.array([0.5, 0.3, 0.2]), np.array([0.0, 0.5, 0.5])), proba)


@pytest.mark.parametrize("true_shares", [[0.05, 0.9, 0.05], [0.8, 0.1, 0.1], [0.46, 0.28, 0.26]])
def test_em_recovers_the_shares_of_a_feed_without_labels(true_shares):
    train = [0.46, 0.28, 0.26]
    estimate = estimate_shares(_posteriors(20_000, true_shares, train), np.array(train))
    assert estimate.sum() == pytest.approx(1.0)
    assert np.abs(estimate - true_shares).max() < 0.03, estimate
    # The mean of the unadjusted probabilities, the naive estimate, is pulled toward the corpus.
    naive = _posteriors(20_000, true_shares, train).mean(axis=0)
    if true_shares != train:
        assert np.abs(naive - true_shares).max() > np.abs(estimate - true_shares).max()


def test_no_text_gives_no_estimate():
    with pytest.raises(PriorsError, match="no text"):
        estimate_shares(np.zeros((0, 3)), np.array([0.4, 0.3, 0.3]))


def test_shares_are_parsed_and_normalised():
    shares = parse_shares("cybercrime=2, international-security=6,intersection=2", ROUTES)
    assert shares == pytest.approx({"cybercrime": 0.2, "international-security": 0.6, "intersection": 0.2})
    assert list(shares) == ROUTES


@pytest.mark.parametrize("spec, message", [
    ("cybercrime=0.5,international-security=0.5", "no share given for intersection"),
    ("cybercrime=0.5,state=0.3,intersection=0.2", "'state' is not a route"),
    ("cybercrime=0.5,international-security=-0.1,intersection=0.6", "must be a number of 0 or more"),
    ("cybercrime=half,international-security=0.3,intersection=0.2", "'half', is not a number"),
    ("cybercrime=0,international-security=0,intersection=0", "all 0"),
    ("cybercrime=0.5,cybercrime=0.3,intersection=0.2", "cybercrime is given twice"),
    ("cybercrime 0.5", "is not route=share"),
    # What `--priors "$(cyberroute priors FILE)"` passes when that command failed (a fresh user's
    # review, session 30: it said "no share given for cybercrime, ..." and not why).
    ("", r"no shares given \(an empty value\); if they were to come from \$\(cyberroute priors FILE\), that"),
])
def test_a_bad_share_specification_is_refused_with_the_reason(spec, message):
    with pytest.raises(PriorsError, match=message):
        parse_shares(spec, ROUTES)


def test_a_route_the_model_was_not_trained_on_is_named_so():
    with pytest.raises(PriorsError, match=r"'intersection' is not a route this model was trained on \(one of "
                                          r"cybercrime, international-security\)"):
        parse_shares("cybercrime=0.5,international-security=0.3,intersection=0.2", ROUTES[:2])


def test_a_manifest_without_route_counts_is_refused():
    with pytest.raises(PriorsError, match="training_data.routes"):
        training_shares({}, ROUTES)


def test_the_shipped_model_records_its_corpus_shares(classifier):
    counts = classifier.model.manifest["training_data"]["routes"]
    total = sum(counts.values())
    assert classifier.training_shares.tolist() == pytest.approx([counts[r] / total for r in classifier.model.classes])


TEXTS = ["Hackers stole files from a defence contractor.",
         "A gang encrypted a dental chain's records and demanded bitcoin."]


def test_priors_move_the_route_probabilities_the_way_bayes_says(classifier):
    at_corpus = classifier.classify_many(TEXTS)
    state_feed = Classifier(rules=classifier.rules, model=classifier.model,
                            priors={"cybercrime": 0.05, "international-security": 0.9, "intersection": 0.05})
    weight = {route: state_feed.priors[route] / share
              for route, share in zip(classifier.model.classes, classifier.training_shares)}
    for before, after in zip(at_corpus, state_feed.classify_many(TEXTS)):
        assert after.probabilities["international-security"] > before.probabilities["international-security"]
        # The odds between two routes are multiplied by the ratio of their weights.
        odds_before = before.probabilities["international-security"] / before.probabilities["cybercrime"]
        odds_after = after.probabilities["international-security"] / after.probabilities["cybercrime"]
        assert odds_after == pytest.approx(odds_before * weight["international-security"] / weight["cybercrime"],
                                           rel=1e-3)
        # The text model's own reading is not re-weighted: only the combined probabilities are.
        assert after.model_probabilities == before.model_probabilities
        # The explanation names the shares the result depends on; the default one names none.
        assert "re-weighted to the route shares given (cybercrime 0.050, international-security 0.900" in after.explanation
        assert "route shares" not in before.explanation


def test_priors_at_the_corpus_shares_change_nothing(classifier):
    corpus = dict(zip(classifier.model.classes, classifier.training_shares.tolist()))
    same = Classifier(rules=classifier.rules, model=classifier.model, priors=corpus)
    for a, b in zip(classifier.classify_many(TEXTS), same.classify_many(TEXTS)):
        assert a.route == b.route
        assert a.probabilities == pytest.approx(b.probabilities)


def test_priors_must_name_every_route(classifier):
    with pytest.raises(PriorsError, match="missing: intersection"):
        Classifier(rules=classifier.rules, model=classifier.model,
                   priors={"cybercrime": 0.5, "international-security": 0.5})


def test_priors_may_be_given_as_the_cli_writes_them(classifier):
    """The string `cyberroute priors` prints is taken as the dict is; anything else is named."""
    given = Classifier(rules=classifier.rules, model=classifier.model,
                       priors="cybercrime=2,international-security=1,intersection=1")
    assert given.priors == {"cybercrime": 0.5, "international-security": 0.25, "intersection": 0.25}
    with pytest.raises(PriorsError, match="no share given for international-security, intersection"):
        Classifier(rules=classifier.rules, model=classifier.model, priors="cybercrime=0.5")
    with pytest.raises(PriorsError, match="not list"):
        Classifier(rules=classifier.rules, model=classifier.model, priors=[0.5, 0.25, 0.25])


# -- command line ------------------------------------------------------------------------------

@pytest.fixture
def feed(tmp_path):
    """A small feed of State-operation one-liners and one unreadable row."""
    path = tmp_path / "feed.csv"
    rows = [["id", "description"],
            ["1", "Spies tied to a foreign intelligence service read a ministry's email for two years."],
            ["2", "Military hackers wiped the servers of a neighbouring country's election commission."],
            ["3", "A State-backed group stole weapon designs from a defence contractor."],
            ["4", ""]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_priors_prints_shares_that_batch_accepts(feed, tmp_path):
    runner = CliRunner()
    estimated = runner.invoke(main, ["priors", str(feed), "--text-column", "description"])
    assert estimated.exit_code == 0, estimated.output
    spec = estimated.stdout.strip()
    shares = parse_shares(spec, ROUTES)
    assert shares["international-security"] > 0.5   # a feed of State operations
    assert "3 texts read, 1 empty or unreadable skipped" in estimated.stderr
    assert "warning: an estimate from 3 texts is not worth using" in estimated.stderr
    out = tmp_path / "routed.csv"
    routed = runner.invoke(main, ["batch", str(feed), "-o", str(out), "--text-column", "description",
                                  "--priors", spec])
    assert routed.exit_code == 0, routed.output
    with open(out, newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 4   # every row out, the empty one with its error


def test_priors_json_names_the_training_shares(feed):
    result = CliRunner().invoke(main, ["priors", str(feed), "--text-column", "description", "--json"])
    report = json.loads(result.stdout)
    assert report["texts"] == 3 and report["skipped"] == 1
    assert sum(report["shares"].values()) == pytest.approx(1.0, abs=0.002)
    assert set(report["training_shares"]) == set(ROUTES)


def test_priors_on_a_missing_column_names_it(feed):
    result = CliRunner().invoke(main, ["priors", str(feed)])
    assert result.exit_code == 1
    assert "text" in result.stderr and "description" in result.stderr


@pytest.mark.parametrize("command", [["score", "Hackers stole files from a ministry."],
                                     ["batch", "feed.csv", "-o", "out.csv"]])
def test_a_bad_priors_option_is_refused_before_any_work(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feed.csv").write_text("text\nHackers stole files from a ministry.\n", encoding="utf-8")
    result = CliRunner().invoke(main, command + ["--priors", "cybercrime=1,intersection=1"])
    assert result.exit_code == 2   # a usage error, as click's own
    assert "Invalid value for '--priors': no share given for international-security" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_score_at_a_state_feeds_shares_leans_further_to_the_state(tmp_path):
    text = "Hackers stole files from a defence contractor."
    runner = CliRunner()
    plain = json.loads(runner.invoke(main, ["score", "--json", text]).stdout)
    shifted = json.loads(runner.invoke(main, ["score", "--json", text, "--priors",
                                              "cybercrime=0.05,international-security=0.9,intersection=0.05"]).stdout)
    assert shifted["probabilities"]["international-security"] > plain["probabilities"]["international-security"]


def test_no_route_is_ruled_out_by_an_estimate(tmp_path):
    """A feed with no crime at all still leaves crime a small share, so a crime in it can be seen."""
    path = tmp_path / "state.csv"
    path.write_text("text\n" + "\n".join(["Military intelligence officers hacked a foreign ministry's email."] * 5),
                    encoding="utf-8")
    shares = parse_shares(CliRunner().invoke(main, ["priors", str(path)]).stdout.strip(), ROUTES)
    assert min(shares.values()) >= 0.0049
    assert shares["international-security"] > 0.9


def test_a_share_of_zero_given_by_the_user_is_raised_to_the_floor():
    """README: no route gets less than 0.5 %. A share of 0 typed by a user would otherwise make a
    route impossible: a State-backed theft routed cybercrime at 1.00 (found by a reviewer)."""
    from classifier.api import Classifier
    from classifier.priors import MIN_SHARE

    classifier = Classifier(priors={"cybercrime": 1.0, "international-security": 0.0, "intersection": 0.0})
    assert min(classifier.priors.values()) == pytest.approx(MIN_SHARE / (1 + 2 * MIN_SHARE))
    assert sum(classifier.priors.values()) == pytest.approx(1.0)
    theft = classifier.classify("North Korean State-backed hackers stole 100 million dollars from a cryptocurrency "
                                "exchange to fund the regime's weapons programmes.")
    assert theft.route == "intersection"


def test_priors_says_how_far_an_estimate_can_be_trusted(tmp_path):
    """Under 50 texts the estimate is not worth using, under 200 rough, from 200 on no warning."""
    texts = ["A gang encrypted a dental practice's files.", "GRU hackers wiped a ministry's servers.",
             "Fraudsters phished a council's payroll clerk.", "Spies read a foreign ministry's email."]
    for count, says in ((60, "is rough"), (200, None)):
        path = tmp_path / f"feed{count}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["text"]] + [[f"{texts[i % 4]} (report {i})"] for i in range(count)])
        result = CliRunner().invoke(main, ["priors", str(path)])
        assert result.exit_code == 0, result.output
        assert (f"warning: an estimate from {count} texts {says}" in result.stderr) if says \
            else "warning" not in result.stderr
