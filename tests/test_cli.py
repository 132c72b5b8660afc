"""Each CLI command, through click's runner and as a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from classifier.cli import main
from classifier.result import CSV_COLUMNS
from classifier.ruleset import load_rules

PIPELINE = ("Ransomware operators linked to a Russian-speaking gang encrypted the billing systems of a US fuel "
            "pipeline operator; the company shut the pipeline for six days and fuel shortages spread across the East Coast.")


@pytest.fixture
def runner():
    return CliRunner()


def test_score_argument_prints_table(runner):
    result = runner.invoke(main, ["score", PIPELINE])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("text         Ransomware operators")
    assert "\nroute        intersection" in result.output
    assert "cascading_effects" in result.output


def test_score_table_columns_line_up_whatever_the_value(runner):
    """A long value ("suspected (North Korea)") widens the column for every row of the table."""
    result = runner.invoke(main, ["score", "Lazarus Group hackers tied to North Korea stole from a bank"])
    rows = [line for line in result.output.splitlines()
            if line.split(" ", 1)[0] in ("actor_type", "state_sponsorship", "critical_infrastructure",
                                         "cascading_effects", "motive")]
    assert len(rows) == 5 and "suspected (North Korea) " in result.output
    confidence_at = {re.search(r" (\d\.\d\d)  ", row).start() for row in rows}
    assert len(confidence_at) == 1, rows


def test_score_shows_a_criterion_no_words_set_as_nothing_found(runner):
    result = runner.invoke(main, ["score", "GRU hackers broke into a ministry's email."])
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert lines["cascading_effects"].endswith("(nothing found)")    # "no" by default, not a finding
    assert lines["actor_type"].endswith('"GRU"') and "nothing found" not in lines["actor_type"]


def test_score_given_a_file_name_points_to_batch(runner, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("text\nA gang stole card numbers.\n", encoding="utf-8")
    result = runner.invoke(main, ["score", str(feed)])
    assert result.exit_code == 0
    assert f"note: '{feed}' is the name of a file" in result.stderr and f"cyberroute batch {feed}" in result.stderr
    assert "is the name of a file" not in runner.invoke(main, ["score", "A gang stole card numbers."]).stderr


def test_a_model_directory_from_the_environment_is_named_as_such(runner, tmp_path):
    result = runner.invoke(main, ["score", "A gang stole card numbers."], env={"CYBERROUTE_MODEL": str(tmp_path / "nope")})
    assert result.exit_code == 1
    assert "model directory not found" in result.stderr and "(set by $CYBERROUTE_MODEL)" in result.stderr
    result = runner.invoke(main, ["score", "A gang stole card numbers.", "--model", str(tmp_path / "nope")])
    assert "model directory not found" in result.stderr and "CYBERROUTE_MODEL" not in result.stderr


def test_score_says_which_text_each_block_is_for(runner):
    long = "A ransomware gang encrypted the records of a dental practice in Leeds, " * 4
    result = runner.invoke(main, ["score", "A gang stole card numbers from an online shop.", long])
    assert result.exit_code == 0, result.output
    texts = [line for line in result.output.splitlines() if line.startswith("text ")]
    assert texts[0] == "text         A gang stole card numbers from an online shop."
    assert texts[1].startswith("text         A ransomware gang encrypted") and texts[1].endswith("...")
    assert len(texts[1]) == len("text         ") + 100


def test_score_stdin_json_lines(runner):
    stdin = ("Spies tied to a foreign intelligence service read a ministry's email for two years.\n\n"
             "A gang stole card numbers from an online shop.\n")
    result = runner.invoke(main, ["score", "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["route"] for r in records] == ["international-security", "cybercrime"]


def test_score_json_carries_the_input_and_its_stdin_line(runner):
    """Blank lines give no record, so the line number is what joins a record to its line; the
    text is what the evidence offsets point into, and Result.from_dict finds it there."""
    from classifier import Result

    stdin = "A gang stole card numbers from a shop.\n\n   \nGRU officers hacked a ministry.\n"
    records = [json.loads(line) for line in runner.invoke(main, ["score", "--json"], input=stdin).stdout.splitlines()]
    assert [r["input"] for r in records] == [{"line": 1, "text": "A gang stole card numbers from a shop."},
                                             {"line": 4, "text": "GRU officers hacked a ministry."}]
    assert Result.from_dict(records[1]).text == "GRU officers hacked a ministry."
    # Descriptions given as arguments, or stdin read whole, have no line.
    record = json.loads(runner.invoke(main, ["score", "--json", "A gang hit a bank."]).stdout)
    assert record["input"] == {"text": "A gang hit a bank."}
    record = json.loads(runner.invoke(main, ["score", "--json", "--whole"], input="GRU hackers\nwiped a TV network.\n").stdout)
    assert record["input"] == {"text": "GRU hackers\nwiped a TV network.\n"}


def test_score_json_writes_undecodable_stdin_bytes_as_replacement_characters(tmp_path):
    """JSON must be UTF-8: a byte stdin could not decode is written as U+FFFD, one character for
    one, so the offsets still hold."""
    done = subprocess.run([sys.executable, "-m", "classifier", "score", "--json"], capture_output=True,
                          input=b"Ransomware hit a d\xe9ntal practice.\n", timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.decode("utf-8"))   # strict: raises on a raw byte
    assert record["input"]["text"] == "Ransomware hit a d\ufffdntal practice."


def test_score_whole_stdin_is_one_description(runner):
    result = runner.invoke(main, ["score", "--json", "--whole"], input="GRU hackers\nwiped a TV network.\n")
    assert len(result.output.strip().splitlines()) == 1


def test_score_without_input_is_a_usage_error(runner):
    result = runner.invoke(main, ["score"], input="")
    assert result.exit_code == 1 and "stdin held no description" in result.output


@pytest.mark.parametrize("args, says", [
    (["-", "Ransomware hit a hospital."], '"-" (read stdin) cannot stand beside descriptions'),
    (["--whole", "GRU hackers"], "--whole reads stdin as one description"),
], ids=["dash beside a text", "--whole beside a text"])
def test_score_refuses_stdin_options_beside_texts_given_as_arguments(runner, args, says):
    """Stdin would go unread while "-" was scored as a description, or --whole ignored."""
    result = runner.invoke(main, ["score", *args], input="GRU hackers hit a ministry.\n")
    assert result.exit_code == 2 and says in result.output


def test_score_dash_reads_stdin_and_a_byte_order_mark_moves_no_offset(runner):
    result = runner.invoke(main, ["score", "-", "--json"], input="\ufeffA gang stole card numbers from a shop.\n")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["route"] == "cybercrime"
    assert record["criteria"]["actor_type"]["evidence"][0] == {
        "start": 2, "end": 6, "text": "gang", "rule": "actor.criminal.group"}
    # Blank stdin is no description, read whole or by line.
    result = runner.invoke(main, ["score", "--whole"], input="  \n")
    assert result.exit_code == 1 and "stdin held no description" in result.output


def test_score_prints_each_line_of_a_pipe_before_the_pipe_closes():
    """`tail -f feed | cyberroute score --json` must follow the feed: the result of a line comes
    while stdin is still open (it used to wait for the end of input)."""
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "classifier", "score", "--json"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    try:
        proc.stdin.write(b"\xef\xbb\xbfA ransomware gang encrypted a dental practice's records.\n")
        proc.stdin.flush()
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=120)
        assert lines and json.loads(lines[0])["route"] == "cybercrime"   # stdin still open
        proc.stdin.write(b"GRU officers hacked the foreign ministry's mail servers and read diplomats' email")
        proc.stdin.close()   # the last line has no newline
        rest = proc.stdout.read().decode().splitlines()
        assert [json.loads(line)["route"] for line in rest] == ["international-security"]
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize("data", [
    "A gang hit a bank.\rGRU officers hacked a ministry.\r",
    "A gang hit a bank.\r\n\r\nGRU officers hacked a ministry.",
    "\ufeffA gang hit a bank.\u2028Spies read a ministry's mail.\n  \nLast line, no line break",
    "Café owners paid a ransom — 5 000 €.\n" * 3000,   # many reads; characters split between them
    "x" * 300_000,   # one long line, no line break
])
def test_score_cuts_a_pipe_into_the_lines_it_cuts_a_whole_read_into(data):
    """From a real pipe (read as it comes) and from a test runner's stdin (read whole) the same
    lines come out, in the same order."""
    import io
    import os
    import threading

    from classifier.cli import _stdin_batches

    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, data.encode()), os.close(write_end)), daemon=True)
    writer.start()
    with io.open(read_end, encoding="utf-8") as stream:
        piped = [line for batch in _stdin_batches(stream, whole=False) for line in batch]
    writer.join(timeout=60)
    whole = [line for batch in _stdin_batches(io.StringIO(data), whole=False) for line in batch]
    lines = data.removeprefix("\ufeff").splitlines()
    assert piped == whole and whole == [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _write_dict_rows(path, rows, fieldnames=None):
    """Write dict rows as a CSV (only ``fieldnames`` when given; all columns of the first row by default)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames or list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_batch_keeps_every_row_in_order_with_bad_rows(runner, tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, ["id", "description", "route"], [
        ["1", "A ransomware gang encrypted a dental practice's files and demanded bitcoin.", "x"],
        ["2", "", "y"],
        ["3", "Chinese State-backed spies read the foreign ministry's email.", "z"],
        ["4"],                                                       # ragged: too few fields
        ["5", "Line one of a quoted\nmultiline description: GRU hackers wiped a TV network.", "w"],
        ["6", "Fraudsters sent fake invoices to a hospital.", "v", "extra"],   # ragged: too many
    ])
    result = runner.invoke(main, ["batch", str(src), "-o", str(out), "--text-column", "description",
                                  "--chunk-size", "2"])
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert list(rows[0]) == ["id", "description", "route_input", *CSV_COLUMNS]
    assert [r["route_input"] for r in rows[:3]] == ["x", "y", "z"]
    assert rows[0]["route"] == "cybercrime" and rows[0]["error"] == ""
    assert rows[1]["error"] == "row 3: empty text in column 'description'" and rows[1]["route"] == "undetermined"
    assert rows[2]["route"] == "international-security"
    assert "has 1 field, the header has" in rows[3]["error"] and rows[3]["explanation"] == f"Not classified: {rows[3]['error']}."
    assert rows[4]["description"].startswith("Line one of a quoted\nmultiline")
    assert "extra fields" in rows[5]["error"] and "'extra'" in rows[5]["error"]
    assert "6 rows classified" in result.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_batch_details_adds_what_the_json_record_holds(runner, tmp_path, classifier, workers):
    """--details: the sponsor, each layer's route, the rule, the norms and the probabilities, as
    `score --json` gives them, on every row (an unreadable one too), in the serial and forked paths;
    an input column of such a name is kept as <name>_input, and without the flag nothing changes."""
    from classifier.result import DETAIL_COLUMNS

    texts = ["APT28, a unit of Russia's GRU, broke into the parliament's mail; Iranian groups were also seen.",
             "A ransomware gang encrypted a dental practice's files and demanded bitcoin.", "",
             "Chinese State-backed spies read the foreign ministry's email."] * 3
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, ["id", "text", "sponsor"], [[str(i), t, "mine"] for i, t in enumerate(texts)])
    result = runner.invoke(main, ["batch", str(src), "-o", str(out), "--details", "--chunk-size", "2",
                                  "--workers", workers])
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "text", "sponsor_input", *CSV_COLUMNS, *DETAIL_COLUMNS]
    assert [r["id"] for r in rows] == [str(i) for i in range(len(texts))]
    for row, expected in zip(rows, classifier.classify_many(texts)):
        record = expected.to_dict()
        assert row["sponsor_input"] == "mine"
        assert row["sponsor"] == record["criteria"]["state_sponsorship"].get("sponsor", "")
        assert (row["rule_route"], row["model_route"], row["rule_id"]) == (
            record["rule_route"], record["model_route"], record["rule_id"])
        assert row["norms"] == "; ".join(record["norms"])
        assert [float(row[f"probability_{r.replace('-', '_')}"]) for r in record["probabilities"]] == \
            list(record["probabilities"].values())
    assert rows[0]["sponsor"] == "Russia" and rows[1]["sponsor"] == "" and rows[3]["sponsor"] == "China"
    assert rows[0]["norms"] and rows[2]["error"] and rows[2]["rule_route"] == "undetermined"
    plain = runner.invoke(main, ["batch", str(src), "-o", "-"])
    assert next(csv.reader(io.StringIO(plain.stdout))) == ["id", "text", "sponsor", *CSV_COLUMNS]


def test_batch_details_from_json_lines_to_csv(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "Lazarus Group, North Korea's hackers, stole $600 million from a bridge."}) + "\n")
    result = runner.invoke(main, ["batch", str(src), "-o", "-", "--output-format", "csv", "--details"])
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["sponsor"] == "North Korea" and row["route"] == "intersection"
    assert abs(sum(float(row[c]) for c in row if c.startswith("probability_")) - 1) < 1e-3


def test_batch_missing_column_lists_columns(runner, tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, ["id", "body"], [["1", "text"]])
    result = runner.invoke(main, ["batch", str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert "column 'text' not found; columns are: 'id', 'body'" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_batch_stdin_to_stdout(runner):
    data = "text\nA gang encrypted a school district's servers.\n"
    result = runner.invoke(main, ["batch", "-", "-o", "-"], input=data)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1 and rows[0]["route"] == "cybercrime"


def test_batch_nonexistent_input(runner, tmp_path):
    result = runner.invoke(main, ["batch", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "file not found" in result.output
    # The error comes alone: no "reading ... as csv" or "writing ..." before it.
    assert result.output.startswith("Error:") and "writing" not in result.output


def test_json_lines_piped_in_as_csv_name_the_input_format_option(runner):
    data = '{"id": 1, "text": "A gang encrypted a school district\'s servers."}\n'
    result = runner.invoke(main, ["batch", "-", "-o", "-"], input=data)
    assert result.exit_code == 1
    assert "the first line is JSON, not a CSV header; give --input-format jsonl" in result.output
    # evaluate is offered only formats it takes, and takes the one offered.
    labelled = '{"text": "A gang encrypted a school district\'s servers.", "route": "cybercrime"}\n'
    result = runner.invoke(main, ["evaluate", "-"], input=labelled)
    assert result.exit_code == 1 and "--input-format jsonl (one object a line) or json (an array" in result.output
    assert runner.invoke(main, ["evaluate", "-", "--input-format", "jsonl"], input=labelled).exit_code == 0
    result = runner.invoke(main, ["batch", "-", "-o", "-", "--input-format", "jsonl"], input=data)
    assert result.exit_code == 0 and json.loads(result.stdout)["route"] == "cybercrime"


def test_batch_to_stdout_keeps_json_lines_as_json_lines(runner, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "A gang encrypted a school district\'s servers."}\n')
    result = runner.invoke(main, ["batch", str(src), "-o", "-"])
    assert result.exit_code == 0
    assert "writing stdout as jsonl" in result.stderr
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["input"]["id"] == 1 and record["route"] == "cybercrime"


def test_a_refused_input_is_not_announced_as_written(runner, tmp_path):
    """The chosen output format is reported once the output exists, not before an error."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "description": "A gang encrypted a school district\'s servers."}\n')
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["batch", str(src), "-o", str(out)])
    assert result.exit_code == 1 and "text" in result.stderr
    assert "writing" not in result.stderr and not out.exists()
    result = runner.invoke(main, ["batch", str(src), "-o", str(out), "--text-column", "description"])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[-2:] == [f"writing {out} as jsonl",
                          f"1 record classified to {out}; 0 flagged for review; 0 with errors"]


def test_batch_output_directory_missing(runner, tmp_path):
    src = tmp_path / "in.csv"
    _write_csv(src, ["text"], [["A gang hit a shop."]])
    result = runner.invoke(main, ["batch", str(src), "-o", str(tmp_path / "missing" / "o.csv")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_evaluate_notes_training_rows_in_another_form(runner, tmp_path, small_corpus):
    """A JSON-lines copy of some training rows, mixed with new text, has another sha256 than the
    training file: the rows are found by their text (spacing aside) in the file the manifest names,
    beside the file evaluated. Where that file is not found, no note."""
    import pandas as pd

    model_dir = tmp_path / "model"
    assert runner.invoke(main, ["train", str(small_corpus), "-o", str(model_dir), "--no-cv"]).exit_code == 0
    rows = pd.read_csv(small_corpus, dtype=str, keep_default_na=False).head(6)
    rows.loc[0, "text"] = "  " + rows.loc[0, "text"].replace(" ", "\n  ", 1)   # spacing changed, same text
    new = pd.DataFrame({"text": ["Burglars took a laptop holding a clinic's appointment book.",
                                 "Spies read a ministry's mail for a year."], "route": ["cybercrime", "international-security"]})
    copy = small_corpus.parent / "copy.jsonl"
    pd.concat([rows[["text", "route"]], new]).to_json(copy, orient="records", lines=True)
    result = runner.invoke(main, ["evaluate", str(copy), "--model", str(model_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert f"note: 6 of 8 labelled rows of {copy} have a text of {small_corpus}, which the model was trained on" \
        in result.stderr
    elsewhere = tmp_path / "copy.jsonl"        # the training file's name is not beside it
    elsewhere.write_bytes(copy.read_bytes())
    assert "trained on" not in runner.invoke(main, ["evaluate", str(elsewhere), "--model", str(model_dir)]).stderr


def test_train_and_evaluate_on_small_corpus(runner, tmp_path, small_corpus):
    model_dir = tmp_path / "model"
    result = runner.invoke(main, ["train", str(small_corpus), "-o", str(model_dir), "--no-cv"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["training_data"]["rows"] == 150
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--model", str(model_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert "is the file the model was trained on" in result.stderr   # the note goes to stderr, not the JSON
    report = json.loads(result.stdout)
    assert report["combined"]["n"] == 150
    assert set(report["criteria"]) == {"actor_type", "state_sponsorship", "cascading_effects", "motive",
                                       "critical_infrastructure"}
    assert report["majority_class"]["accuracy"] <= report["combined_forced"]["accuracy"]
    heads = report["criterion_heads"]
    assert set(heads) == {"state_involvement", "financial_motive", "cascading_effects"}
    assert all(0.5 <= v["text_model"] <= 1.0 and 0.0 <= v["rules"] <= 1.0 for v in heads.values())


def test_training_is_deterministic(runner, tmp_path, small_corpus):
    for name in ("a", "b"):
        assert runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / name), "--no-cv"]).exit_code == 0
    assert (tmp_path / "a" / "weights.npz").read_bytes() == (tmp_path / "b" / "weights.npz").read_bytes()
    assert (tmp_path / "a" / "manifest.json").read_text() == (tmp_path / "b" / "manifest.json").read_text()


def test_evaluate_holdout_prints_report(runner, small_corpus):
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--holdout", "0.3"])
    assert result.exit_code == 0, result.output
    assert "held out" in result.output and "confusion" in result.output


def test_evaluate_holdout_json_counts_both_sides_of_the_split(runner, small_corpus):
    report = json.loads(runner.invoke(main, ["evaluate", str(small_corpus), "--holdout", "0.3", "--json"]).stdout)
    assert report["rows"] == report["combined"]["n"] and report["rows"] + report["trained_on"] == 150
    assert 0 < report["rows"] < report["trained_on"]
    assert report["rows_note"].startswith(f"held out {report['rows']} rows")


def test_evaluate_holdout_without_group_id_splits_rows_and_says_so(runner, tmp_path, small_corpus):
    """train accepts a file without group_id (each row its own group); so does --holdout, with a
    note that paraphrases can then sit on both sides of the split."""
    import pandas as pd
    path = tmp_path / "ungrouped.csv"
    pd.read_csv(small_corpus, dtype=str).drop(columns=["group_id"]).to_csv(path, index=False)
    result = runner.invoke(main, ["evaluate", str(path), "--holdout", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    assert f"note: {path} has no group_id: --holdout splits rows" in result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] + report["trained_on"] == 150 and 0 < report["rows"] < report["trained_on"]
    assert report["combined_interval_95"]["resampled"] == "rows"
    grouped = runner.invoke(main, ["evaluate", str(small_corpus), "--holdout", "0.3"])
    assert "has no group_id" not in grouped.stderr


def test_evaluate_gives_a_bootstrap_interval_over_groups_or_rows(runner, tmp_path, small_corpus):
    """Incident groups are resampled when the file has a group_id column, rows when it has not;
    the interval holds the accuracy it is drawn around."""
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--json"])
    report = json.loads(result.stdout)
    interval = report["combined_interval_95"]
    assert interval["resampled"] == "incident groups"
    assert interval["accuracy"][0] <= report["combined"]["accuracy"] <= interval["accuracy"][1]
    assert interval["macro_f1"][0] <= report["combined"]["macro_f1"] <= interval["macro_f1"][1]
    rows = [{"text": r["text"], "route": r["route"]} for r in csv.DictReader(small_corpus.open(encoding="utf-8"))]
    path = tmp_path / "no_groups.csv"
    _write_dict_rows(path, rows)
    result = runner.invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 0, result.output
    assert "95 % bootstrap interval (1,000 resamples of rows): accuracy 0." in result.output


def test_evaluate_reads_labels_in_any_case_and_names_what_it_skips(runner, tmp_path):
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route", "motive"], [
        ["A ransomware gang encrypted a dental practice's records.", "cybercrime", "Greed"],
        ["GRU officers wiped a grid operator's servers.", " International-Security", "sabotage"],
        ["A North Korean State-backed group stole crypto from an exchange.", "Intersection", " Financial"],
        ["Something happened.", "unknown", "unknown"],
    ])
    result = runner.invoke(main, ["evaluate", str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert "skipped 1 row whose 'route' is not a route: 'unknown' (1)" in result.stderr
    assert "1 row left out of motive accuracy, whose value is not one of the criterion's: 'greed'" in result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == 3 and report["rows_note"] == "3 labelled rows" and report["trained_on"] is None
    assert report["combined"]["accuracy"] == 1.0
    # All right: every resample's macro-F1 is 1, even one that happens to lack a route.
    assert report["combined_interval_95"]["macro_f1"] == [1.0, 1.0]
    assert report["criteria"]["motive"] == 1.0   # two valid labels, both found


def test_evaluate_reads_criteria_labels_in_any_case_for_the_heads_too(runner, tmp_path):
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route", "actor_type", "state_sponsorship", "motive", "cascading_effects"], [
        ["A ransomware gang encrypted a dental practice's records.", "cybercrime", "Criminal", "None", "Financial",
         "No"],
        ["GRU officers wiped a grid operator's servers.", "international-security", "State", "Confirmed", "Sabotage",
         "no"],
    ])
    report = json.loads(runner.invoke(main, ["evaluate", str(src), "--json"]).stdout)
    assert set(report["criterion_heads"]) == {"state_involvement", "financial_motive", "cascading_effects"}
    assert report["criteria"]["actor_type"] == 1.0


def test_rules_check_reports_each_rule(runner, small_corpus):
    result = runner.invoke(main, ["rules", "check", str(small_corpus), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["motive.financial"]["coverage"] > 0
    assert rules["motive.financial"]["accuracy"] is not None
    assert {"coverage", "overlap", "conflict", "accuracy"} <= set(rules["motive.financial"])


def test_rules_check_terms_counts_each_phrase_against_the_labels(runner, tmp_path):
    """--terms gives each lexicon phrase's own accuracy: "wiper" right in both texts it fired in,
    "ddos" wrong in the one labelled financial; a phrase that fired in fewer labelled texts than
    --min-labelled is not listed; the least accurate phrase comes first."""
    corpus = tmp_path / "c.csv"
    _write_csv(corpus, ["text", "route", "motive"], [
        ["A wiper erased the ministry's servers.", "international-security", "sabotage"],
        ["Investigators found a wiper on the grid operator's network.", "international-security", "sabotage"],
        ["A DDoS-for-hire crew knocked the shop offline until it paid.", "cybercrime", "financial"],
        ["Hacktivists launched a DDoS on the ministry's website.", "cybercrime", "sabotage"],
    ])
    result = runner.invoke(main, ["rules", "check", str(corpus), "--terms", "--min-labelled", "2", "--json"])
    assert result.exit_code == 0, result.output
    terms = {(t["rule"], t["phrase"]): t for t in json.loads(result.stdout)["terms"]}
    wiper, ddos = terms[("motive.sabotage", "wiper")], terms[("motive.sabotage.weak", "ddos")]
    assert (wiper["labelled"], wiper["correct"], wiper["accuracy"]) == (2, 2, 1.0)
    assert (ddos["labelled"], ddos["correct"], ddos["accuracy"]) == (2, 1, 0.5)
    assert ("motive.sabotage", "erased") not in terms   # one labelled text: below --min-labelled 2
    ranked = json.loads(result.stdout)["terms"]
    assert [t["accuracy"] for t in ranked] == sorted(t["accuracy"] for t in ranked)

    table = runner.invoke(main, ["rules", "check", str(corpus), "--terms", "--min-labelled", "2"]).stdout
    assert "each phrase's accuracy" in table
    line = next(line for line in table.splitlines() if line.startswith("motive.sabotage.weak ") and " ddos " in line)
    assert line.split()[-3:] == ["2", "1", "0.50"]
    assert "terms" not in json.loads(runner.invoke(main, ["rules", "check", str(corpus), "--json"]).stdout)


def test_rules_check_refuses_min_labelled_without_terms(runner, tmp_path):
    """--min-labelled only filters the phrase list: without --terms (or without a CSV) it would do
    nothing, so the command says so instead of ignoring it."""
    corpus = tmp_path / "c.csv"
    _write_csv(corpus, ["text", "route"], [["A gang encrypted the clinic's files.", "cybercrime"]])
    for args in (["rules", "check", str(corpus), "--min-labelled", "2"], ["rules", "check", "--terms", "--min-labelled", "2"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2
        assert "--min-labelled" in result.output and "--terms" in result.output


def test_rules_check_table_shows_every_rule_id_and_value_whole(runner, tmp_path):
    corpus = tmp_path / "c.csv"
    corpus.write_text("text,route\nA DDoS took down the cloud provider's data centre and its DNS.,cybercrime\n",
                      encoding="utf-8")
    result = runner.invoke(main, ["rules", "check", str(corpus)])
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert rows["sector.digital-infrastructure"][1] == "digital-infrastructure"
    header = next(line for line in result.stdout.splitlines() if line.startswith("rule "))
    line = next(line for line in result.stdout.splitlines() if line.startswith("sector.digital-infrastructure "))
    assert len(line) == len(header)   # the columns line up under their names


def test_rules_check_names_a_routing_rule_an_earlier_one_shadows(runner, tmp_path, rules_dir):
    """A rule placed after `crime` never decides an insider's case: `crime` takes it first. The
    report names such rules; a share too small for three decimals is shown as <0.001, not 0.000."""
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    routing = rules / "routing.toml"
    shadowed = ('[[rule]]\nid = "insider-at-critical-infrastructure"\nwhen = { state_involvement = false, '
                'actor_type = ["insider"], critical_infrastructure = true }\nroute = "intersection"\n'
                'reason = "crime-on-critical-infrastructure-with-cascading-effects"\nconfidence = 0.7\n'
                'explain = "an insider acted against critical infrastructure"\n\n')
    text = routing.read_text()
    routing.write_text(text.replace('[[rule]]\nid = "silent"', shadowed + '[[rule]]\nid = "silent"', 1))
    src = tmp_path / "c.csv"
    _write_csv(src, ["text", "route"], [["A disgruntled engineer sabotaged the water utility's pumps.", "cybercrime"]])
    result = runner.invoke(main, ["rules", "check", str(src), "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "routing rules that decided none of these texts: " in result.stdout
    idle = result.stdout.split("routing rules that decided none of these texts: ")[1].split(" (")[0].split(", ")
    assert "insider-at-critical-infrastructure" in idle and "crime" not in idle

    from classifier.rules_report import _share
    assert _share(0.0002) == "   <0.001" and _share(0.0) == "    0.000" and _share(0.0006) == "    0.001"


def test_rules_check_lists_every_cue_and_counts_only_gazetteer_actors_apart(runner, tmp_path, rules_dir):
    """A cue whose id starts with "actor." is a cue, listed even when it never fires; the footer
    counts gazetteer actors only; a routing rule that abstains has no accuracy."""
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    criteria = rules / "criteria.toml"
    criteria.write_text(criteria.read_text() + '\n[[cue]]\nid = "actor.criminal.syndicate"\ncriterion = "actor_type"\n'
                        'value = "criminal"\nconfidence = 0.7\nterms = ["crime syndicate"]\n')
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route"], [["The Lazarus Group stole crypto from an exchange.", "intersection"],
                                        ["Something odd happened to a server.", "cybercrime"]])
    result = runner.invoke(main, ["rules", "check", str(src), "--rules", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    listed = {r["rule"]: r for r in report["rules"]}
    assert listed["actor.criminal.syndicate"]["coverage"] == 0.0
    assert "actor.Lazarus Group" in listed and "actor.APT28" not in listed
    assert report["actors_never_fired"] == len(load_rules(rules).actors) - 1
    routing = {r["rule"]: r for r in report["routing"]}
    assert routing["silent"]["coverage"] > 0 and routing["silent"]["accuracy"] is None


def test_a_model_trained_on_other_rules_gets_a_note_and_still_classifies(runner, tmp_path, rules_dir):
    rules = tmp_path / "rules"
    shutil.copytree(rules_dir, rules, ignore=shutil.ignore_patterns("__*"))
    text = "A ransomware gang encrypted a dental practice's records."
    same = runner.invoke(main, ["score", text, "--rules", str(rules)])
    assert same.exit_code == 0 and "note:" not in same.stderr
    criteria = rules / "criteria.toml"
    criteria.write_text(criteria.read_text().replace('"gang", "gangs",', '"gang", "gangs", "grifters",', 1))
    edited = runner.invoke(main, ["score", text, "--rules", str(rules)])
    assert edited.exit_code == 0 and "route        cybercrime" in edited.stdout
    assert edited.stderr.count("note: the rules in") == 1 and "should be retrained" in edited.stderr


def test_rules_check_gives_the_recall_of_each_labelled_value(runner, tmp_path):
    """Accuracy says how often a rule is right when it fires; recall says what the layer misses."""
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "critical_infrastructure", "motive", "cascading_effects"], [
        ["Ransomware encrypted a hospital's patient records.", "health", "financial", "no"],
        ["Extortionists locked the systems of a regional clinic and a power utility.", "health;energy", "financial", "no"],
        ["Someone broke into the systems of a firm that keeps the lights on.", "energy", "unknown", "no"],
    ])
    result = runner.invoke(main, ["rules", "check", str(src), "--json"])
    assert result.exit_code == 0, result.output
    recall = {(r["criterion"], r["value"]): r for r in json.loads(result.stdout)["label_recall"]}
    assert recall[("critical_infrastructure", "health")] == {
        "criterion": "critical_infrastructure", "value": "health", "labelled": 2, "found": 2, "recall": 1.0}
    assert (recall[("critical_infrastructure", "energy")]["labelled"], recall[("critical_infrastructure", "energy")]["found"]) == (2, 1)
    assert recall[("motive", "financial")]["labelled"] == 2
    assert ("motive", "unknown") not in recall and ("cascading_effects", "no") not in recall
    text = runner.invoke(main, ["rules", "check", str(src)]).output
    assert "what the rule layer finds of each labelled value (recall)" in text


def test_rules_check_counts_the_texts_the_topic_list_holds_back(runner, tmp_path):
    src = tmp_path / "mixed.csv"
    _write_csv(src, ["text"], [["hello"], ["Quarterly sales rose."], ["A gang hacked a bakery's till."]])
    result = runner.invoke(main, ["rules", "check", str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["held_back_by_topic"] == 2
    assert "2 of the 3 texts tell of nothing to route" in runner.invoke(main, ["rules", "check", str(src)]).output


def test_rules_check_counts_the_texts_that_deny_an_incident(runner, tmp_path):
    src = tmp_path / "denials.csv"
    _write_csv(src, ["text"], [["A software bug took the airline's check-in offline; no cyber attack was involved."],
                               ["The blackout was not a cyberattack, but Chinese-linked intruders had probed the grid."],
                               ["A gang hacked a bakery's till."]])
    result = runner.invoke(main, ["rules", "check", str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["held_back_as_no_incident"] == 1
    assert "1 of the 3 texts say no cyber attack took place" in runner.invoke(main, ["rules", "check", str(src)]).output


COMPARED = [["A ransomware gang encrypted a dental practice's records.", "Cybercrime"],
            ["Hackers hit the government of a small town.", "cybercrime"],
            ["GRU officers wiped a grid operator's servers.", "international-security"]]


def test_rules_compare_with_the_same_rules_changes_nothing(runner, tmp_path, rules_dir):
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route"], COMPARED)
    result = runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--rules", str(rules_dir)])
    assert result.exit_code == 0, result.output
    assert ("labelled.csv: 3 texts; criteria changed in 0, rule route in 0 (labelled: 0 now right, 0 now wrong, "
            "0 wrong before and after)") in result.output
    assert "note:" not in result.output


def test_rules_compare_counts_an_edit_and_scores_it_against_the_labels(runner, tmp_path, rules_dir):
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route"], COMPARED)
    edited = tmp_path / "edited"
    shutil.copytree(rules_dir, edited, ignore=shutil.ignore_patterns("__*"))
    routing = edited / "routing.toml"
    old = 'id = "crime"\nwhen = { state_involvement = false, actor_or_motive_known = true }\nroute = "cybercrime"'
    assert old in routing.read_text()
    routing.write_text(routing.read_text().replace(old, old.replace('"cybercrime"', '"international-security"')))
    sectors = edited / "sectors.toml"
    sectors.write_text(sectors.read_text().replace('"government department",',
                                                   '"government department", "government",', 1))
    result = runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--rules", str(edited), "--show", "5"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"rules: before {rules_dir}, after {edited}\n")
    # The gang's row changes route and is now wrong; the town's row gains a sector.
    assert "3 texts; criteria changed in 1, rule route in 1 (labelled: 0 now right, 1 now wrong, " in result.output
    # Rows are named as batch names them: the header is row 1.
    assert 'row 2: route cybercrime -> international-security; "A ransomware' in result.output
    assert "row 3: route undetermined -> undetermined; critical_infrastructure none -> government; 'Hackers" \
        in result.output
    as_json = json.loads(runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--rules", str(edited),
                                              "--json"]).stdout)
    first = as_json[str(src)]["changed"][0]
    assert as_json[str(src)]["now_wrong"] == 1 and (first["row"], first["where"]) == (1, "row 2")
    # In JSON lines, by line, counting the lines left out (not JSON) and blank.
    jsonl = tmp_path / "labelled.jsonl"
    jsonl.write_text("{not json\n\n" + "".join(json.dumps({"text": t, "route": r}) + "\n" for t, r in COMPARED))
    result = runner.invoke(main, ["rules", "compare", str(rules_dir), str(jsonl), "--rules", str(edited), "--show", "5"])
    assert result.exit_code == 0, result.output
    assert 'line 3: route cybercrime -> international-security; "A ransomware' in result.stdout
    assert "line 4: route undetermined -> undetermined" in result.stdout


def test_rules_compare_counts_routes_wrong_before_and_after_and_names_what_it_does_not_compare(
        runner, tmp_path, rules_dir):
    """A row that goes from undetermined to a wrong route is neither "now right" nor "now wrong":
    it is counted apart. Edits that act after the rule layer (decision thresholds, processes)
    change no count here, and a note says so and where they are measured."""
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route"], [["Hackers stole emails from the government of a small town.", "cybercrime"]])
    edited = tmp_path / "edited"
    shutil.copytree(rules_dir, edited, ignore=shutil.ignore_patterns("__*"))
    sectors = edited / "sectors.toml"
    sectors.write_text(sectors.read_text().replace('"government department",', '"government department", "government",', 1))
    routing = edited / "routing.toml"
    routing.write_text(routing.read_text().replace("\nmin_confidence = 0.45\n", "\nmin_confidence = 0.9\n", 1))
    processes = edited / "processes.toml"
    processes.write_text(processes.read_text().replace('label = "criminal justice"', 'label = "courts"', 1))
    result = runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--rules", str(edited)])
    assert result.exit_code == 0, result.output
    assert "rule route in 1 (labelled: 0 now right, 0 now wrong, 1 wrong before and after)" in result.stdout
    assert ("note: routing.toml's [decision] differs (min_confidence 0.45 -> 0.9); it acts on the combined result"
            in result.stderr) and "`cyberroute evaluate FILE --rules DIR` measures it" in result.stderr
    assert "note: processes.toml differs; it changes the processes and norms a result lists, never a route" \
        in result.stderr
    as_json = json.loads(runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--rules", str(edited),
                                              "--json"]).stdout)
    assert as_json[str(src)]["still_wrong"] == 1


def test_rules_compare_names_a_missing_label_column(runner, tmp_path, rules_dir):
    src = tmp_path / "texts.csv"
    _write_csv(src, ["text"], [["A gang hacked a bakery."]])
    result = runner.invoke(main, ["rules", "compare", str(rules_dir), str(src), "--label-column", "verdict"])
    assert result.exit_code != 0 and "column 'verdict' not found" in result.output


def test_rules_check_scores_the_enforcement_signal_by_route(runner, tmp_path):
    """Enforcement has no criterion column: it is right where the case is crime."""
    src = tmp_path / "labelled.csv"
    _write_csv(src, ["text", "route"], [
        ["Police arrested three carders and seized their servers.", "cybercrime"],
        ["Police arrested a crew that stole card data for a bank fraud ring.", "cybercrime"],
        ["Police arrested members of a gang that worked for the FSB.", "intersection"],
        ["GRU officers wiped the grid operator's servers.", "international-security"],
    ])
    result = runner.invoke(main, ["rules", "check", str(src), "--json"])
    assert result.exit_code == 0, result.output
    rules = {r["rule"]: r for r in json.loads(result.stdout)["rules"]}
    assert rules["signal.enforcement"]["fired"] == 3
    assert rules["signal.enforcement"]["accuracy"] == round(2 / 3, 4)


def test_rules_check_reports_broken_file(runner, tmp_path, rules_dir):
    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    (copy / "sectors.toml").write_text("[[sector]]\nid = 'energy'\n")
    result = runner.invoke(main, ["rules", "check", "--rules", str(copy)])
    assert result.exit_code == 1 and "sectors.toml" in result.output and "'confidence'" in result.output


def test_real_subprocess_score_json():
    exe = shutil.which("cyberroute")
    command = [exe] if exe else [sys.executable, "-m", "classifier"]
    proc = subprocess.run(command + ["score", "--json"], input="A North Korean State-backed group stole "
                          "600 million dollars from a crypto bridge.\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["route"] == "intersection"


def test_real_subprocess_bad_input_exit_code(tmp_path):
    exe = shutil.which("cyberroute")
    command = [exe] if exe else [sys.executable, "-m", "classifier"]
    proc = subprocess.run(command + ["batch", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "file not found" in proc.stderr


def test_batch_forks_workers_only_for_more_than_one_chunk(tmp_path, monkeypatch):
    from classifier import batch
    from classifier.api import default_classifier

    forked = []
    real = batch._run_forked
    monkeypatch.setattr(batch, "_run_forked", lambda *args: forked.append(1) or real(*args))
    src = tmp_path / "in.csv"
    _write_csv(src, ["id", "text"], [[str(i), f"Phishing kit number {i} sold on a forum."] for i in range(5)])
    batch.classify_csv(default_classifier(), str(src), str(tmp_path / "one.csv"), workers=2, chunk_rows=5)
    assert forked == []                       # one chunk: classified in this process
    batch.classify_csv(default_classifier(), str(src), str(tmp_path / "three.csv"), workers=2, chunk_rows=2)
    assert forked == [1]
    assert (tmp_path / "one.csv").read_text() == (tmp_path / "three.csv").read_text()


def test_train_refuses_a_criteria_value_by_row_and_column(runner, tmp_path, small_corpus):
    rows = list(csv.DictReader(small_corpus.open(encoding="utf-8")))
    rows[6]["cascading_effects"] = "maybe"
    bad = tmp_path / "bad.csv"
    _write_dict_rows(bad, rows)
    result = runner.invoke(main, ["train", str(bad), "-o", str(tmp_path / "model"), "--no-cv"])
    assert result.exit_code != 0
    assert "row 8, column 'cascading_effects': 'maybe' is not one of yes, no" in result.output
    assert not (tmp_path / "model").exists()


def test_one_route_is_refused_by_train_and_evaluate_holdout(runner, tmp_path, small_corpus):
    rows = [r for r in csv.DictReader(small_corpus.open(encoding="utf-8")) if r["route"] == "cybercrime"]
    one = tmp_path / "one.csv"
    _write_dict_rows(one, rows)
    result = runner.invoke(main, ["train", str(one), "-o", str(tmp_path / "model"), "--no-cv"])
    assert result.exit_code == 1
    assert "every row has the route 'cybercrime' in column 'route'; a model needs examples of at least two" in result.output
    result = runner.invoke(main, ["evaluate", str(one), "--holdout", "0.3"])
    assert result.exit_code == 1 and "--holdout needs at least two" in result.output


def test_evaluate_exclude_rule_needs_the_route_rule_column(runner, small_corpus):
    result = runner.invoke(main, ["evaluate", str(small_corpus), "--exclude-rule", "E6"])
    assert result.exit_code == 1 and "--exclude-rule needs a route_rule column" in result.output


def test_train_without_criteria_columns_has_no_heads(runner, tmp_path, small_corpus):
    rows = list(csv.DictReader(small_corpus.open(encoding="utf-8")))
    plain = tmp_path / "plain.csv"
    _write_dict_rows(plain, rows, ["text", "route", "group_id"])
    result = runner.invoke(main, ["train", str(plain), "-o", str(tmp_path / "model"), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert "no criterion heads" in result.output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["text_model"]["criterion_heads"] == []
    scored = runner.invoke(main, ["score", "--json", "--model", str(tmp_path / "model"), "A gang sold stolen cards."])
    assert json.loads(scored.stdout)["model_criteria"] == {}


def test_score_json_carries_the_text_models_criterion_heads(runner):
    stdin = ("Spies tied to a foreign intelligence service read a ministry's email for two years.\n"
             "A gang stole card numbers from an online shop.\n")
    records = [json.loads(line) for line in runner.invoke(main, ["score", "--json"], input=stdin).output.splitlines()]
    spies, gang = (r["model_criteria"] for r in records)
    assert set(spies) == {"state_involvement", "financial_motive", "cascading_effects"}
    assert all(0.0 <= p <= 1.0 for p in spies.values())
    assert spies["state_involvement"] > 0.5 > gang["state_involvement"]
    assert gang["financial_motive"] > 0.5 > spies["financial_motive"]


def test_train_without_any_cascade_has_no_cascade_head(runner, tmp_path, small_corpus):
    rows = [r for r in csv.DictReader(small_corpus.open(encoding="utf-8")) if r["cascading_effects"] == "no"]
    rows = [r for r in rows if r["intersection_reason"] != "crime-on-critical-infrastructure-with-cascading-effects"]
    path = tmp_path / "no-cascade.csv"
    _write_dict_rows(path, rows)
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "model"), "--no-cv"])
    assert result.exit_code == 0, result.output
    assert "no criterion head for cascading_effects: every row of" in result.output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["text_model"]["criterion_heads"] == ["state_involvement", "financial_motive"]


def test_train_on_two_routes_then_score(runner, tmp_path, small_corpus):
    """scikit-learn keeps one weight row for two classes, in the text model and the combiner; the
    saved model must still load and give both routes a probability."""
    rows = [r for r in csv.DictReader(small_corpus.open(encoding="utf-8")) if r["route"] != "intersection"]
    path = tmp_path / "two.csv"
    _write_dict_rows(path, rows)
    result = runner.invoke(main, ["train", str(path), "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["cross_validation"]["combined"]["accuracy"] > 0.7
    scored = runner.invoke(main, ["score", "--json", "--model", str(tmp_path / "model"),
                                  "A gang sold stolen card numbers on a carding forum."])
    assert scored.exit_code == 0, scored.output
    probabilities = json.loads(scored.stdout)["probabilities"]
    assert set(probabilities) == {"cybercrime", "international-security"}
    assert 0.5 < probabilities["cybercrime"] < 1.0 and abs(sum(probabilities.values()) - 1.0) < 1e-3


def test_evaluate_holdout_names_the_file_row_of_a_bad_criteria_value(runner, tmp_path, small_corpus):
    """The row is the file's, not the position within the training part of the split; a file
    whose criteria columns follow another vocabulary is still evaluated, without heads."""
    rows = list(csv.DictReader(small_corpus.open(encoding="utf-8")))
    from classifier.training import holdout_mask

    train_rows = [i for i, held in enumerate(holdout_mask([r["group_id"] for r in rows], 0.3)) if not held]
    bad = train_rows[-1]
    rows[bad]["motive"] = "greed"
    path = tmp_path / "bad.csv"
    _write_dict_rows(path, rows)
    result = runner.invoke(main, ["evaluate", str(path), "--holdout", "0.3"])
    assert result.exit_code == 0, result.output
    assert f"no criterion heads: {path}: row {bad + 2}, column 'motive': 'greed'" in result.output
    assert "held out" in result.output


def test_train_cross_validates_as_the_classifier_decides(runner, tmp_path, small_corpus, rules_dir):
    """The manifest's CV takes the text model's reading where the rules and it agree on crime
    (routing.toml's agreed_crime_cascade_below), and says on how many rows; at 0 it never does."""
    import shutil

    copy = tmp_path / "rules"
    shutil.copytree(rules_dir, copy, ignore=shutil.ignore_patterns("__*"))
    routing = copy / "routing.toml"
    routing.write_text(routing.read_text().replace("agreed_crime_cascade_below = 0.2", "agreed_crime_cascade_below = 0", 1))
    agreed = {}
    for name, rules in (("packaged", rules_dir), ("off", copy)):
        result = runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / name), "--rules", str(rules)])
        assert result.exit_code == 0, result.output
        agreed[name] = json.loads((tmp_path / name / "manifest.json").read_text())["cross_validation"]["agreed_crime"]
    assert agreed["packaged"]["cascade_below"] == 0.2 and agreed["packaged"]["rows"] > 0
    assert agreed["off"] == {"cascade_below": 0.0, "rows": 0}


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield " ".join(prefix + (name,)), command


@pytest.mark.parametrize("name, command", list(_commands(main)), ids=lambda v: v if isinstance(v, str) else "")
def test_every_option_of_every_command_says_what_it_does(name, command):
    unexplained = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not unexplained, f"cyberroute {name}: options without help: {unexplained}"
    assert (command.help or "").strip(), f"cyberroute {name} has no help text"


def test_rules_check_reads_a_file_as_the_other_commands_do(runner, tmp_path):
    """Encoding, delimiter and format options, as batch and evaluate take them."""
    src = tmp_path / "labelled.csv"
    src.write_bytes("id;text;actor_type\n1;Une bande a chiffré les serveurs d'un café: ransomware.;criminal\n"
                    .encode("cp1252"))
    result = runner.invoke(main, ["rules", "check", str(src), "--encoding", "cp1252", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["texts"] == 1 and report["label_recall"][0]["found"] == 1
    result = runner.invoke(main, ["rules", "check", str(src), "--delimiter", ","])
    assert result.exit_code == 1 and "columns are: 'id;text;actor_type'" in result.output
