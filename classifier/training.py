"""Training: a labelled file in, a reproducible model directory out.

The text model's probabilities that the combiner learns from are computed out-of-fold, with folds
grouped by incident (``group_id``), so paraphrases of one incident never sit on both sides of a
split and the combiner sees the text model as noisy as it is on new text.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from .combiner import RULE_FEATURES, Combiner, agreed_crime, defer_to_text, stack
from .evaluation import label_metrics, own_group_ids, route_metrics
from .labelled import LabelledFileError, normalised, read_frame
from .model_store import TrainedModel
from .ruleset import ACTOR_TYPES, ALL_ROUTES, CASCADING, MOTIVES, ROUTES, SPONSORSHIP, STATE_ACTOR_TYPES, STATE_LINKS
from .text_model import TextModel

FOLDS = 5
# Inverse regularisation strengths. The combiner has a dozen inputs and some two thousand rows, so
# it needs little regularisation: grouped-CV macro-F1 for C = 0.3, 1, 4, 16, 30, 100, 1000 was
# 0.888, 0.891, 0.892, 0.893, 0.894, 0.894, 0.891 (docs/error-analysis.md, item 10).
TEXT_C = 8.0
COMBINER_C = 30.0
# The criterion heads of the text model (TextModel.fit), and the corpus columns that label them:
# the three findings the routing policy turns into a route. Trained when a CSV has these columns.
# Other heads were tried in grouped CV (docs/error-analysis.md, item 21): a critical-infrastructure
# sector and a criminal actor type lowered macro-F1; the intersection reason and the motive (one
# head each, several classes) raised it less than these three.
CRITERION_COLUMNS = {"actor_type": ACTOR_TYPES, "state_sponsorship": SPONSORSHIP, "motive": MOTIVES,
                     "cascading_effects": CASCADING}
CRITERION_HEADS = ("state_involvement", "financial_motive", "cascading_effects")
HEAD_COLUMNS = {"state_involvement": ("actor_type", "state_sponsorship"), "financial_motive": ("motive",),
                "cascading_effects": ("cascading_effects",)}   # the columns each head is labelled from
# Below these, train says the corpus is thin: a route with examples in fewer incident groups, a
# corpus of fewer rows. (A reviewer's 30-row corpus tied the rules alone in cross-validation and
# was 0.10 below them on other rows; a route in 2 groups was recalled in 5 of 78 held-out rows.)
ENOUGH_GROUPS = 5
SMALL_CORPUS_ROWS = 100


class CorpusError(ValueError):
    """A training or evaluation CSV lacks a column or holds a bad label."""


def read_labelled(path: Path | str, text_column: str = "text", label_column: str = "route",
                  encoding: str | None = None, delimiter: str | None = None,
                  input_format: str | None = None) -> pd.DataFrame:
    """Read a labelled file as `batch` reads its input (CSV with any delimiter, JSON lines or a
    JSON array, gzipped or not: labelled.read_frame), check its columns and labels, and name the
    columns ``text`` and ``route``. A row that cannot be read, a bad label and an empty text are
    refused by their row: a model is trained on the whole file or not at all."""
    try:
        frame, problems = read_frame(path, text_column, label_column, encoding, delimiter, input_format)
    except LabelledFileError as exc:
        raise CorpusError(str(exc)) from None
    if problems:
        raise CorpusError(f"{path}: {problems[0]}"
                          + (f" (one of {len(problems)} rows that cannot be used)" if len(problems) > 1 else "")
                          + "; train reads every row of its file or none")
    # Labels are read as evaluate reads them: "Intersection" and " cybercrime " are routes too.
    # (The criteria columns are checked and read so by criterion_targets, which evaluate calls too.)
    _check_vocabulary(frame, label_column, ROUTES, path)
    frame[label_column] = normalised(frame[label_column])
    if frame[label_column].nunique() < 2:
        raise CorpusError(f"{path}: every row has the route {frame[label_column].iloc[0]!r} in column "
                          f"{label_column!r}; a model needs examples of at least two routes" if len(frame)
                          else f"{path}: no labelled rows")
    # Whether the file groups its rows into incidents (the cross-validation's folds rest on it).
    blank = frame["group_id"].str.strip() == "" if "group_id" in frame.columns else None
    grouped = blank is not None and not bool(blank.all())
    frame["group_id"] = fill_group_ids(frame)
    frame.attrs["grouped"] = grouped
    frame.attrs["ungrouped_rows"] = int(blank.sum()) if grouped else 0
    # The names the rest of training reads (a column already so named, beside the chosen one, goes).
    chosen = {text_column: "text", label_column: "route"}
    frame = frame.drop(columns=[c for old, c in chosen.items() if old != c and c in frame.columns])
    return frame.rename(columns=chosen)


def check_trainable(frame: pd.DataFrame, path: Path | str, label_column: str = "route") -> None:
    """Refuse a corpus that the grouped fits cannot learn from, saying why: every route must have
    examples in at least two incident groups, since the text model's out-of-fold probabilities,
    which the combiner learns from, hold each group out in turn (with one group, the folds that
    hold it out have never seen the route)."""
    groups = frame.groupby(label_column)["group_id"].nunique()
    thin = groups[groups < 2]
    if len(thin):
        raise CorpusError(f"{path}: " + "; ".join(f"route {route!r} has examples in {n} incident group only"
                                                 for route, n in thin.items())
                          + "; each route needs at least two groups (five or more make a usable model)")


def corpus_notes(frame: pd.DataFrame, path: Path | str, label_column: str = "route") -> list[str]:
    """What a user should know about a training file before trusting the model it makes: routes it
    lacks, texts it repeats (with different labels, the first pair named), and folds without
    incident groups."""
    notes = []
    missing = [route for route in ROUTES if route not in set(frame[label_column])]
    if missing:
        notes.append(f"{path} has no row of {', '.join(missing)}: the model can never route a text there")
    key = frame["text"].str.lower().str.split().str.join(" ")
    repeated = key.duplicated(keep=False)
    if repeated.any():
        labels = frame.loc[repeated, label_column].groupby(key[repeated], sort=False).nunique()
        notes.append(f"{int(key.duplicated().sum())} rows repeat the text of an earlier row")
        clash = labels[labels > 1]   # in the order the texts first occur in the file
        if len(clash):
            rows = [_file_row(path, i) for i in frame.index[key == clash.index[0]]]
            notes[-1] += (f"; {len(clash)} such texts carry different routes (first: {', '.join(rows)}), "
                          f"which no model can fit")
    if not frame.attrs.get("grouped", True):
        notes.append(f"{path} has no group_id: each row is its own incident group, so paraphrases of one "
                     f"incident can sit on both sides of a cross-validation split and the CV figures are "
                     f"optimistic")
    elif frame.attrs.get("ungrouped_rows"):
        count = frame.attrs["ungrouped_rows"]
        notes.append(f"{count} row{'s have' if count > 1 else ' has'} no group_id: each is its own incident "
                     f"group, and a paraphrase among them can sit on both sides of a cross-validation split")
    groups = frame.groupby(label_column)["group_id"].nunique()
    thin = groups[groups < ENOUGH_GROUPS]
    if len(thin):
        notes.append(", ".join(f"{route!r} has examples in {n} incident groups" for route, n in thin.items())
                     + f": from fewer than {ENOUGH_GROUPS}, the model learns a route too thinly to give it "
                       f"often (cross-validation's per-route figures show it)")
    if len(frame) < SMALL_CORPUS_ROWS:
        notes.append(f"{len(frame)} rows are few for a text model (the shipped one learnt from 4,360): "
                     f"expect the rules alone to do as well, and compare them in cross-validation")
    return notes


def combined_below_parts(cross_validation: dict) -> str:
    """Why the combined classifier cannot be trusted on this corpus, or "": in cross-validation it
    is no more accurate, or has no higher macro-F1, than the rules alone or the text model alone.
    The combiner learns how far to trust each from out-of-fold readings; on a small corpus those
    are too few to learn from, and its weights can even turn against the text model."""
    parts = {"the rules alone": "rules_only", "the text model alone": "text_model"}
    for metric, name in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
        combined = cross_validation["combined"][metric]
        # A tie counts: a combined classifier no better than one of its parts has learnt nothing.
        better = {part: cross_validation[key][metric] for part, key in parts.items()
                  if cross_validation[key][metric] >= combined}
        if better:
            return (f"in cross-validation the combined classifier ({name} {combined:.3f}) is no better than "
                    + " and ".join(f"{part} ({value:.3f})" for part, value in better.items())
                    + ": the corpus is too small or too uneven for the combiner to learn how far to trust "
                      "each (the shipped model learnt from 4,360 rows in some 2,400 incident groups); add "
                      "labelled rows before relying on this model")
    return ""


def fill_group_ids(frame: pd.DataFrame) -> pd.Series:
    """The ``group_id`` column, where a missing column or a blank cell becomes a group of its own
    (``row-N``): an incident nobody grouped is one incident, not one group with every other."""
    ids = frame["group_id"] if "group_id" in frame.columns else [None] * len(frame)
    return pd.Series(own_group_ids(ids), index=frame.index, dtype=object)


def criterion_targets(frame: pd.DataFrame, path: Path | str = "the corpus",
                      drop_constant: bool = True) -> dict[str, np.ndarray]:
    """What the criterion heads learn, from the corpus's criteria columns: whether a State is
    involved (a State actor type or a confirmed or suspected link), whether the motive is financial,
    and whether the text reports cascading effects. Each head needs its columns (actor_type and
    state_sponsorship; motive; cascading_effects): without them, the model has no such head. With
    ``drop_constant``, a criterion that has the same value in every row gets none either. Values
    are read in any case and spacing; one outside the column's vocabulary is refused by its row in
    the file (the frame's index, as read from the file) and its column."""
    for column, allowed in CRITERION_COLUMNS.items():
        if column in frame.columns:
            _check_vocabulary(frame, column, allowed, path)
    values = {column: labels_in(frame, column) for column in CRITERION_COLUMNS if column in frame.columns}
    targets = {}   # in the order of CRITERION_HEADS, each where the file has the columns it reads
    if "actor_type" in values and "state_sponsorship" in values:
        targets["state_involvement"] = (values["actor_type"].isin(STATE_ACTOR_TYPES)
                                        | values["state_sponsorship"].isin(STATE_LINKS)).to_numpy()
    if "motive" in values:
        targets["financial_motive"] = (values["motive"] == "financial").to_numpy()
    if "cascading_effects" in values:
        targets["cascading_effects"] = (values["cascading_effects"] == "yes").to_numpy()
    # A criterion with one value in every row teaches nothing: no head for it.
    return {name: target for name, target in targets.items()
            if not drop_constant or 0 < target.sum() < len(target)}


def labels_in(frame: pd.DataFrame, column: str) -> pd.Series:
    """The labels of ``column`` (the route or a criterion) as the vocabularies write them: in any
    case and spacing, and, for cascading_effects, true and false (JSON's booleans) as yes and no."""
    return normalised(frame[column], yes_no=CRITERION_COLUMNS.get(column) == CASCADING)


def _check_vocabulary(frame: pd.DataFrame, column: str, allowed, path: Path | str) -> None:
    """Refuse a column holding a value outside ``allowed`` (in any case and spacing), naming the
    first such row and the other such values, so that one run lists every spelling to fix."""
    bad = ~labels_in(frame, column).isin(allowed)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad.to_numpy())[0])
    value = frame[column].iloc[first]
    message = (f"{path}: {_file_row(path, frame.index[first])}, column {column!r}: {value!r} is not one of "
               f"{', '.join(allowed)} ({_such_rows(int(bad.sum()))})")
    others = frame.loc[bad, column].value_counts().drop(value, errors="ignore")
    if len(others):
        message += ("; the others: " + ", ".join(f"{other!r} ({count})" for other, count in others.head(5).items())
                    + (" ..." if len(others) > 5 else ""))
    if (normalised(frame.loc[bad, column]) == "").any():
        message += ("; a blank cell is no value: label the row" if column not in CRITERION_COLUMNS else
                    "; a blank cell is no value: write unknown (or leave the column out, and the model "
                    "has no head that reads it)")
    raise CorpusError(message)


def _such_rows(count: int) -> str:
    return f"{count} such row{'' if count == 1 else 's'}"


def _file_row(path: Path | str, index) -> str:
    """Where a frame row (numbered from 0 as read) is in its file: a CSV has a header line, and a
    JSON-lines file counts lines."""
    if str(path).endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        return f"line {int(index) + 1}"
    return f"row {int(index) + 2}"


def _fold_proba(texts, routes, criteria, train, test, C):
    model = TextModel(C=C).fit([texts[i] for i in train], routes[train],
                               {name: target[train] for name, target in criteria.items()})
    return test, model.classes_, *model.predict_all([texts[i] for i in test])


def oof_text_proba(texts: list[str], routes: np.ndarray, groups: np.ndarray, folds: int = FOLDS,
                   C: float = TEXT_C, criteria: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold route probabilities and criterion-head probabilities (one column per head of
    ``criteria``); the folds are fitted in parallel (joblib, one per core)."""
    from joblib import Parallel, delayed

    criteria = criteria or {}
    classes = np.array(sorted(set(routes)))
    out, heads = np.zeros((len(texts), len(classes))), np.zeros((len(texts), len(criteria)))
    jobs = (delayed(_fold_proba)(texts, routes, criteria, train, test, C)
            for train, test in _group_folds(texts, routes, groups, folds))
    for test, fold_classes, proba, head_proba in Parallel(n_jobs=-1)(jobs):
        for j, cls in enumerate(fold_classes):
            out[test, int(np.searchsorted(classes, cls))] = proba[:, j]
        heads[test] = head_proba
    return out, heads


def _group_folds(texts, routes, groups, folds: int):
    return GroupKFold(n_splits=min(folds, len(set(groups)))).split(texts, routes, groups)


def oof_combined_proba(stacked: np.ndarray, routes: np.ndarray, groups: np.ndarray, folds: int = FOLDS,
                       combiner_C: float = COMBINER_C) -> tuple[list[str], np.ndarray]:
    """The combiner's classes and its out-of-fold probabilities, on the folds of ``oof_text_proba``:
    for each held-out fold the text model never saw it, and a combiner fitted on the other folds
    routes it. (The combiner's training rows carry probabilities from text models that saw the
    held-out fold; with a few dozen combiner weights this leak is small, and it saves 25
    text-model fits.)"""
    combined, classes = np.zeros((len(routes), len(set(routes)))), []
    for train, test in _group_folds(stacked, routes, groups, folds):
        fold_combiner = Combiner(C=combiner_C).fit(stacked[train], routes[train])
        combined[test] = fold_combiner.predict_proba(stacked[test])
        classes = list(fold_combiner.classes_)
    return classes, combined


def oof_decided_proba(text_proba: np.ndarray, head_proba: np.ndarray, rule_rows: np.ndarray, routes: np.ndarray,
                      groups: np.ndarray, head_names: list[str], criminal_actor: np.ndarray | None,
                      cascade_below: float, combiner_C: float = COMBINER_C) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The out-of-fold probabilities decided on as the classifier decides, from the out-of-fold
    text and head probabilities (``oof_text_proba``): the combiner's (``oof_combined_proba``), or
    the text model's where the two layers agree on crime (``combiner.agreed_crime``). Returns the
    classes, the probabilities and the agreed rows; the manifest's CV and
    benchmarks/corpus_parts.py both score these."""
    classes, combined = oof_combined_proba(stack(text_proba, rule_rows, head_proba), routes, groups, FOLDS, combiner_C)
    agreed = agreed_crime(rule_routes(rule_rows), criminal_actor, text_proba, classes, head_proba, head_names,
                          cascade_below)
    return classes, defer_to_text(combined, text_proba, agreed), agreed


def fit(texts: list[str], routes, groups, rule_rows: np.ndarray, text_C: float = TEXT_C,
        combiner_C: float = COMBINER_C, cross_validate: bool = False,
        criteria: dict[str, np.ndarray] | None = None, criminal_actor: np.ndarray | None = None,
        agreed_crime_cascade_below: float = 0.0, grouped: bool = True) -> TrainedModel:
    """Fit the text model (with a criterion head per entry of ``criteria``, see
    ``criterion_targets``) on everything, and the combiner on out-of-fold text probabilities.

    With ``cross_validate``, the manifest also gets grouped cross-validated metrics. They reuse
    the out-of-fold text probabilities (same folds; see ``oof_combined_proba``), and take the
    text model's where the rules name a criminal actor (``criminal_actor``, one bool per text)
    and the two layers agree on crime, as the classifier does (``combiner.agreed_crime``, with
    routing.toml's ``agreed_crime_cascade_below``). ``grouped`` says whether ``groups`` came
    from the corpus (False: one group per row), as the manifest then records.
    """
    routes, groups = np.asarray(routes), np.asarray(groups)
    oof, oof_heads = oof_text_proba(texts, routes, groups, FOLDS, text_C, criteria)
    stacked = stack(oof, rule_rows, oof_heads)
    combiner = Combiner(C=combiner_C).fit(stacked, routes)
    text_model = TextModel(C=text_C).fit(texts, routes, criteria)
    # The route shares the combiner learnt, which priors.py re-weights from (`cyberroute train`
    # adds the file's name and hash beside them).
    model = TrainedModel(text_model, combiner,
                         {"training_data": {"routes": {r: int((routes == r).sum()) for r in sorted(set(routes))}}})
    if cross_validate:
        classes, combined, agreed = oof_decided_proba(oof, oof_heads, rule_rows, routes, groups, list(criteria or {}),
                                                      criminal_actor, agreed_crime_cascade_below, combiner_C)
        rules_only = rule_routes(rule_rows)
        model.manifest["cross_validation"] = {
            "folds": FOLDS, "grouped_by": "group_id" if grouped else "row (no group_id column)",
            "agreed_crime": {"cascade_below": agreed_crime_cascade_below, "rows": int(agreed.sum())},
            "combined": route_metrics(routes, combined, classes),
            "text_model": route_metrics(routes, oof, classes),
            "rules_only": label_metrics(routes, rules_only, list(ALL_ROUTES)),
        }
    return model


def rule_routes(rule_rows: np.ndarray) -> np.ndarray:
    """The rule layer's route of each text, read back from its combiner features (``rule_features``)."""
    columns = [RULE_FEATURES.index(f"rule_route={r}") for r in ALL_ROUTES]
    return np.where(rule_rows[:, columns].max(axis=1) > 0,
                    np.asarray(ALL_ROUTES)[rule_rows[:, columns].argmax(axis=1)], "undetermined")


def holdout_mask(groups, fraction: float) -> np.ndarray:
    """Deterministic split by incident group: a group is held out when its hash falls below
    ``fraction``, so paraphrases of one incident always land on the same side."""

    def share(group) -> float:
        return int(hashlib.sha256(str(group).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    return np.array([share(g) < fraction for g in groups], dtype=bool)


def corpus_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    def version(name: str) -> str:
        try:
            return installed(name)
        except PackageNotFoundError:   # run from a source tree that was never installed
            return "not installed"

    import joblib
    import scipy
    import sklearn

    return {"python": platform.python_version(), "cyberroute": version("cyberroute"), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "scipy": scipy.__version__,
            "joblib": joblib.__version__, "click": version("click"), "numba": version("numba"),
            "pyahocorasick": version("pyahocorasick")}
