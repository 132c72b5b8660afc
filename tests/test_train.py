"""`cyberroute train` on a user's own corpus: what it refuses, what it warns about, and a model
directory that is never left half-written or silently re-labelled."""

from __future__ import annotations

import csv
import json
import shutil
import warnings

import pytest
from click.testing import CliRunner

from classifier import model_store, training
from classifier.api import RulesChangedWarning
from classifier.cli import main
from classifier.model_store import ModelFileError, load_model


@pytest.fixture
def runner():
    return CliRunner()


def _rows(small_corpus):
    return list(csv.DictReader(small_corpus.open(encoding="utf-8")))


def _write(path, rows, fieldnames=None):
    fieldnames = fieldnames or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_empty_file_is_named(runner, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(main, ["train", str(empty), "-o", str(tmp_path / "m")])
    assert result.exit_code == 1 and f"{empty}: the file is empty" in result.output


def test_a_route_told_in_one_incident_group_is_refused_before_fitting(runner, tmp_path, small_corpus):
    rows = _rows(small_corpus)
    inter = [r for r in rows if r["route"] == "intersection"]
    for r in inter:
        r["group_id"] = "g-one"
    path = _write(tmp_path / "thin.csv", [r for r in rows if r["route"] != "intersection"] + inter)
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m"), "--no-cv"])
    assert result.exit_code == 1
    assert "route 'intersection' has examples in 1 incident group only; each route needs at least two" in result.output
    assert not (tmp_path / "m").exists()


def test_train_says_what_the_file_lacks_and_repeats(runner, tmp_path, small_corpus):
    rows = [r for r in _rows(small_corpus) if r["route"] != "intersection"]
    rows.append(dict(rows[0], route="international-security" if rows[0]["route"] == "cybercrime" else "cybercrime"))
    path = _write(tmp_path / "plain.csv", rows, ["text", "route"])
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert f"note: {path} has no row of intersection: the model can never route a text there" in result.output
    assert f"1 rows repeat the text of an earlier row; 1 such texts carry different routes (first: row 2, row {len(rows) + 1})" \
        in result.output
    assert f"note: {path} has no group_id: each row is its own incident group" in result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["cross_validation"]["grouped_by"] == "row (no group_id column)"
    assert "rules alone" in result.output and "text model alone" in result.output


def test_the_warning_names_the_parts_that_beat_the_combined_classifier():
    cv = {"combined": {"accuracy": 0.56, "macro_f1": 0.5}, "rules_only": {"accuracy": 0.68, "macro_f1": 0.6},
          "text_model": {"accuracy": 0.53, "macro_f1": 0.4}}
    warning = training.combined_below_parts(cv)
    assert "combined classifier (accuracy 0.560) is no better than the rules alone (0.680):" in warning
    assert "text model" not in warning.split(":")[0]
    cv["combined"] = {"accuracy": 0.7, "macro_f1": 0.7}
    assert training.combined_below_parts(cv) == ""
    # A tie is no gain (a reviewer's 30-row corpus: combined 0.700, rules 0.700, and then 0.10
    # below the rules on other rows), and neither is a lower macro-F1 (a route learnt too thinly).
    cv["combined"] = {"accuracy": 0.68, "macro_f1": 0.7}
    assert "(accuracy 0.680) is no better than the rules alone (0.680)" in training.combined_below_parts(cv)
    cv["combined"] = {"accuracy": 0.876, "macro_f1": 0.571}
    cv["rules_only"]["macro_f1"] = 0.607
    assert "(macro-F1 0.571) is no better than the rules alone (0.607)" in training.combined_below_parts(cv)


def test_the_shipped_corpus_gets_no_note_and_no_refusal():
    frame = training.read_labelled(training.Path(__file__).resolve().parent.parent / "datasets" / "incidents.csv")
    training.check_trainable(frame, "incidents.csv")
    assert training.corpus_notes(frame, "incidents.csv") == []


@pytest.mark.parametrize("classes", [
    ["international-security", "cybercrime", "intersection"],   # reordered: routes would swap
    ["cybercrime", "international-security", "banana"],
    ["cybercrime", "cybercrime", "intersection"],
    ["cybercrime"],
], ids=["reordered", "unknown route", "repeated", "one"])
def test_a_tampered_class_list_is_refused(tmp_path, classes):
    copy = tmp_path / "model"
    shutil.copytree(model_store.default_model_dir(), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["classes"] = classes
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="classes must be two or more of cybercrime, international-security, "
                                             "intersection, each once and in that order"):
        load_model(copy)


def test_a_failed_save_leaves_the_model_that_was_there(tmp_path, monkeypatch):
    copy = tmp_path / "model"
    shutil.copytree(model_store.default_model_dir(), copy)
    before = {name: (copy / name).read_bytes() for name in ("weights.npz", "manifest.json")}
    model = load_model(copy)

    def disk_full(path, arrays):
        path.write_bytes(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(model_store, "_write_npz", disk_full)
    with pytest.raises(OSError):
        model_store.save_model(model, copy)
    assert {name: (copy / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in copy.iterdir()) == ["manifest.json", "weights.npz"]
    load_model(copy)


def test_an_unwritable_model_directory_is_one_line(runner, tmp_path, small_corpus):
    result = runner.invoke(main, ["train", str(small_corpus), "-o", "/proc/cyberroute-model", "--no-cv"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: /proc/cyberroute-model")
    assert "the model was not written" in result.output and "Traceback" not in result.output


def test_a_model_trained_with_other_rules_tells_which_to_pass(runner, tmp_path, small_corpus, rules_dir):
    rules = tmp_path / "my-rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    routing = rules / "routing.toml"
    # A routing rule's confidence is what the combiner learns to weigh (min_words, which acts after
    # the model, would ask for no retraining).
    routing.write_text(routing.read_text().replace("confidence = 0.85\n", "confidence = 0.8\n", 1))
    model = tmp_path / "m"
    trained = runner.invoke(main, ["train", str(small_corpus), "-o", str(model), "--rules", str(rules), "--no-cv"])
    assert trained.exit_code == 0
    # The last line says how to use what was written (a reviewer looked for it in vain).
    assert trained.stderr.rstrip().endswith(f"model written to {model}; use it with --model {model} --rules {rules}")
    assert json.loads((model / "manifest.json").read_text())["rules_dir"] == str(rules)
    scored = runner.invoke(main, ["score", "A gang hit a bakery's tills.", "--model", str(model)])
    assert scored.exit_code == 0
    assert f"note: the model was trained with the rules in {rules}" in scored.stderr
    assert f"pass --rules {rules}" in scored.stderr
    with_rules = runner.invoke(main, ["score", "A gang hit a bakery's tills.", "--model", str(model), "--rules", str(rules)])
    assert "note:" not in with_rules.stderr


def test_evaluate_holdout_that_holds_out_nothing_says_so(runner, tmp_path, small_corpus):
    rows = _rows(small_corpus)
    for i, r in enumerate(rows):   # three incident groups, one per route
        r["group_id"] = r["route"]
    path = _write(tmp_path / "three.csv", rows)
    result = runner.invoke(main, ["evaluate", str(path), "--holdout", "0.05"])
    assert result.exit_code == 1
    assert "--holdout 0.05 held out none of its 3 incident groups" in result.output


def test_evaluate_holdout_says_model_is_not_used(runner, tmp_path, small_corpus):
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--holdout", "0.3", "--model", "/nonexistent"])
    assert result.exit_code == 0, result.output
    assert "note: --holdout trains a model on the rest of the file; --model is not used" in result.stderr


def test_a_spreadsheet_export_trains_the_same_model_as_the_csv(runner, tmp_path, small_corpus):
    """train reads what batch reads: a cp1252, semicolon-separated export whose columns have other
    names, and JSON lines, give the very weights the comma-separated UTF-8 file gives."""
    rows = _rows(small_corpus)
    rows[0]["text"] += " (café)"   # a character cp1252 writes as one byte, not as UTF-8
    _write(tmp_path / "plain.csv", rows)
    renamed = [{"description" if k == "text" else "label" if k == "route" else k: v for k, v in r.items()}
               for r in rows]
    with open(tmp_path / "export.csv", "w", newline="", encoding="cp1252") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(renamed[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(renamed)
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runs = {"plain": ["plain.csv"],
            "export": ["export.csv", "--text-column", "description", "--label-column", "label", "--encoding", "cp1252"],
            "jsonl": ["corpus.jsonl"]}
    weights = {}
    for name, args in runs.items():
        result = runner.invoke(main, ["train", str(tmp_path / args[0]), *args[1:], "-o", str(tmp_path / name), "--no-cv"])
        assert result.exit_code == 0, result.output
        assert f"training on {len(rows)} descriptions" in result.output
        weights[name] = json.loads((tmp_path / name / "manifest.json").read_text())["weights_sha256"]
    assert weights["export"] == weights["plain"] == weights["jsonl"]


@pytest.mark.parametrize("content, expected", [
    ('{"text": "A gang hit a shop.", "route": "cybercrime"}\n', "the first line is JSON, not a CSV header"),
    ("description,label\nA gang hit a shop.,cybercrime\n",
     "column 'text' not found; columns are: 'description', 'label' (choose one with --text-column"),
    ("text,route\nA gang hit a shop.,cybercrime\nA crew, paid by a ministry, spied.,intersection\n",
     "row 3: has 4 fields, the header has 2; extra fields: ' spied.', 'intersection'; "
     "train reads every row of its file or none"),
    ("text,route\nA gang hit a shop.,cybercrime\n  ,intersection\n,cybercrime\n",
     "row 3: empty text in column 'text' (one of 2 rows that cannot be used); train reads every row"),
    ("text,route\nA gang hit a shop.,Crime\n", "row 2, column 'route': 'Crime' is not one of"),
    ("text,label\nA gang hit a shop.,cybercrime\n", "column 'route' not found; columns are: 'text', 'label' "
                                                     "(choose one with --label-column)"),
], ids=["json lines named .csv", "other names", "unquoted comma", "empty texts", "label not a route",
        "label column named otherwise"])
def test_a_file_train_cannot_use_is_refused_by_its_row(runner, tmp_path, content, expected):
    path = tmp_path / "corpus.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m")])
    assert result.exit_code == 1 and expected in result.output
    assert not (tmp_path / "m").exists()


def test_train_refuses_stdin_by_name(runner, tmp_path, small_corpus):
    result = runner.invoke(main, ["train", "-", "-o", str(tmp_path / "m")], input=small_corpus.read_text())
    assert result.exit_code == 1 and "train reads a file, not stdin" in result.output


def test_evaluate_on_the_training_file_says_it_measures_fit(runner, tmp_path, small_corpus):
    model = tmp_path / "m"
    assert runner.invoke(main, ["train", str(small_corpus), "-o", str(model), "--no-cv"]).exit_code == 0
    same = runner.invoke(main, ["evaluate", str(small_corpus), "--model", str(model)])
    assert same.exit_code == 0, same.output
    assert f"note: {small_corpus} is the file the model was trained on (same sha256)" in same.stderr
    other = tmp_path / "other.csv"
    other.write_text(small_corpus.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "trained on (same sha256)" not in runner.invoke(main, ["evaluate", str(other), "--model", str(model)]).stderr


def test_a_relative_rules_directory_is_recorded_whole(runner, tmp_path, small_corpus, rules_dir, monkeypatch):
    shutil.copytree(rules_dir, tmp_path / "my-rules", ignore=shutil.ignore_patterns("__*"))
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["train", str(small_corpus), "-o", "m", "--rules", "my-rules", "--no-cv"]).exit_code == 0
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["rules_dir"] == str(tmp_path / "my-rules")


def test_priors_with_edited_rules_give_the_note_once(runner, tmp_path, rules_dir):
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    routing = rules / "routing.toml"
    # A routing rule's confidence is what the combiner learns to weigh (min_words, which acts after
    # the model, would ask for no retraining).
    routing.write_text(routing.read_text().replace("confidence = 0.85\n", "confidence = 0.8\n", 1))
    with warnings.catch_warnings(record=True) as escaped:   # pytest would otherwise swallow a raw warning
        warnings.simplefilter("always")
        result = runner.invoke(main, ["score", "A ransomware gang hit a dental practice.", "--rules", str(rules),
                                      "--priors", "cybercrime=0.5,international-security=0.3,intersection=0.2"])
    assert result.exit_code == 0, result.output
    assert not [w for w in escaped if issubclass(w.category, RulesChangedWarning)]
    assert result.stderr.count("note: the rules in") == 1 and result.stderr.count("differ from those") == 1
    assert "RulesChangedWarning" not in result.stderr


def test_holdout_note_only_for_a_model_given_on_the_command_line(runner, small_corpus, monkeypatch):
    monkeypatch.setenv("CYBERROUTE_MODEL", "/nonexistent")
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--holdout", "0.3"])
    assert result.exit_code == 0, result.output
    assert "--model is not used" not in result.stderr


def test_train_reads_labels_as_evaluate_does_and_names_every_bad_spelling(runner, tmp_path, small_corpus):
    """"Intersection" and " cybercrime " are routes to evaluate, so to train too; the labels that
    are not are all named in one run, with how to mend a blank."""
    rows = _rows(small_corpus)
    for row in rows:
        row["route"] = {"intersection": " Intersection", "cybercrime": "Cybercrime "}.get(row["route"], row["route"])
        row["motive"] = row["motive"].upper()
    spelt = _write(tmp_path / "spelt.csv", rows)
    result = runner.invoke(main, ["train", str(spelt), "-o", str(tmp_path / "m"), "--no-cv"])
    assert result.exit_code == 0, result.output
    routes = json.loads((tmp_path / "m" / "manifest.json").read_text())["training_data"]["routes"]
    assert set(routes) == {"cybercrime", "international-security", "intersection"}
    rows[0]["route"], rows[1]["route"], rows[2]["route"], rows[3]["actor_type"] = "both", "both", "state crime", ""
    bad = _write(tmp_path / "bad.csv", rows)
    result = runner.invoke(main, ["train", str(bad), "-o", str(tmp_path / "m2"), "--no-cv"])
    assert result.exit_code == 1
    assert "row 2, column 'route': 'both' is not one of cybercrime, international-security, intersection " \
           "(3 such rows); the others: 'state crime' (1)" in result.output
    rows[0]["route"] = rows[1]["route"] = rows[2]["route"] = "cybercrime"
    result = runner.invoke(main, ["train", str(_write(bad, rows)), "-o", str(tmp_path / "m2"), "--no-cv"])
    assert "row 5, column 'actor_type': '' is not one of" in result.output
    assert "a blank cell is no value: write unknown (or leave the column out" in result.output


def test_json_booleans_are_yes_and_no_of_cascading_effects_only(runner, tmp_path, small_corpus):
    """JSON lines writing cascading_effects as true/false give the model that yes/no gives, and
    evaluate measures that criterion; a boolean in a column whose values are not yes/no is refused."""
    rows = _rows(small_corpus)
    _write(tmp_path / "plain.csv", rows)
    as_booleans = [{**r, "cascading_effects": r["cascading_effects"] == "yes"} for r in rows]
    booleans = tmp_path / "booleans.jsonl"
    booleans.write_text("".join(json.dumps(r) + "\n" for r in as_booleans), encoding="utf-8")
    weights = {}
    for name in ("plain.csv", "booleans.jsonl"):
        result = runner.invoke(main, ["train", str(tmp_path / name), "-o", str(tmp_path / f"m-{name}"), "--no-cv"])
        assert result.exit_code == 0, result.output
        weights[name] = json.loads((tmp_path / f"m-{name}" / "manifest.json").read_text())["weights_sha256"]
    assert weights["plain.csv"] == weights["booleans.jsonl"]
    report = json.loads(runner.invoke(main, ["evaluate", str(booleans), "--json"]).stdout)
    plain = json.loads(runner.invoke(main, ["evaluate", str(tmp_path / "plain.csv"), "--json"]).stdout)
    assert report["criteria"]["cascading_effects"] == plain["criteria"]["cascading_effects"]
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text("".join(json.dumps({**r, "motive": True}) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(main, ["train", str(wrong), "-o", str(tmp_path / "m-wrong"), "--no-cv"])
    assert result.exit_code == 1 and "column 'motive': 'true' is not one of financial" in result.output


def test_a_head_is_trained_from_the_columns_it_needs(runner, tmp_path, small_corpus):
    """Without motive, only the financial head goes: the State and cascade heads need other columns."""
    rows = _rows(small_corpus)
    path = _write(tmp_path / "nomotive.csv", rows, [c for c in rows[0] if c != "motive"])
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m"), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert f"no criterion head for financial_motive: {path} has no column motive" in result.output
    heads = json.loads((tmp_path / "m" / "manifest.json").read_text())["text_model"]["criterion_heads"]
    assert heads == ["state_involvement", "cascading_effects"]


def test_thin_corpora_are_named_before_fitting_and_a_tie_is_warned_of(runner, tmp_path, small_corpus):
    rows = _rows(small_corpus)
    inter = [r for r in rows if r["route"] == "intersection"]
    two = [r for r in rows if r["route"] != "intersection"] + [r for r in inter if r["group_id"] in
                                                                   {inter[0]["group_id"], inter[-1]["group_id"]}]
    for row in two[:3]:
        row["group_id"] = ""
    path = _write(tmp_path / "thin.csv", two)
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m"), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert "note: 'intersection' has examples in 2 incident groups: from fewer than 5" in result.output
    assert "note: 3 rows have no group_id: each is its own incident group" in result.output
    tiny = _write(tmp_path / "tiny.csv", rows[:20] + rows[60:70] + rows[110:120])
    result = runner.invoke(main, ["train", str(tiny), "-o", str(tmp_path / "m2"), "--no-cv"])
    assert "note: 40 rows are few for a text model" in result.output


def test_undecodable_bytes_are_warned_of_by_train_and_evaluate(runner, tmp_path, small_corpus):
    """batch warned of a Windows-1252 file read as UTF-8; train and evaluate went on in silence,
    and train made another model than the file read right gives."""
    rows = _rows(small_corpus)
    rows[3]["text"] = rows[3]["text"].replace("e", "\u00e9", 1)
    path = tmp_path / "cp.csv"
    with open(path, "w", newline="", encoding="cp1252") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for command in (["train", str(path), "-o", str(tmp_path / "m"), "--no-cv"], ["evaluate", str(path)]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
        assert f"warning: line 5 of {path}" in result.output and "holds bytes that are not UTF-8" in result.output
        assert "run again with --encoding cp1252" in result.output
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "m2"), "--no-cv", "--encoding", "cp1252"])
    assert "warning" not in result.output


def test_another_corpus_does_not_replace_the_shipped_model_unasked(runner, tmp_path, small_corpus, monkeypatch):
    """Forgetting -o used to put a user's model in the shipped model's place, for every command."""
    shipped = tmp_path / "pkg" / "classifier" / "shipped_model"
    shutil.copytree(model_store.default_model_dir(), shipped)
    monkeypatch.setattr(model_store, "default_model_dir", lambda: shipped)
    before = (shipped / "weights.npz").read_bytes()
    for command in (["train", str(small_corpus), "--no-cv"], ["train", str(small_corpus), "-o", str(shipped), "--no-cv"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 1
        assert f"{small_corpus} is not the corpus the shipped model is built from" in result.output
        assert "--replace-shipped" in result.output
    assert (shipped / "weights.npz").read_bytes() == before
    # The repository's corpus beside the package, edited or not, retrains it.
    (tmp_path / "pkg" / "datasets").mkdir()
    corpus = shutil.copy(small_corpus, tmp_path / "pkg" / "datasets" / "incidents.csv")
    result = runner.invoke(main, ["train", str(corpus), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert (shipped / "weights.npz").read_bytes() != before
    result = runner.invoke(main, ["train", str(small_corpus), "--no-cv", "--replace-shipped"])
    assert result.exit_code == 0, result.output
