"""Bad input: a clear message naming file, row and column, or a per-row error; no row lost."""

from __future__ import annotations

import csv
import gc
import io
import json
import time

import pytest
from click.testing import CliRunner

from classifier import batch
from classifier.cli import main


def run_batch(tmp_path, data: bytes, *args):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(data)
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out), "--workers", "1", *args])
    rows = None
    if out.exists():
        with open(out, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            rows = list(csv.DictReader(handle))
    return result, rows


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_and_whitespace_text_get_an_error_value(tmp_path, text):
    result, rows = run_batch(tmp_path, f'id,text\n1,"{text}"\n2,A gang hit a shop.\n'.encode())
    assert result.exit_code == 0
    assert rows[0]["error"] == "row 2: empty text in column 'text'" and rows[1]["error"] == ""


def test_a_quote_never_closed_is_refused_not_merged(tmp_path):
    """The csv module would read everything after an unclosed quote as one text: four rows in,
    one row out. The run stops instead, naming the line where the quote opens."""
    result, rows = run_batch(tmp_path, b'id,text\nq1,"He said ""hi"" about a gang\nq2,a Chinese APT\nq3,third\nq4,fourth\n')
    assert result.exit_code == 1
    assert "in.csv: the row starting on line 2 holds a quoted field that is never closed" in result.output
    assert "its 4 lines to the end of the file would be read as one row" in result.output
    assert rows is None  # nothing half-written
    # A closed field before the open one, and a stray character after a closing quote.
    result, _ = run_batch(tmp_path, b'id,text\n1,"abc"x,"unclosed\n2,Ransomware hit a bank\n3,GRU hacked\n')
    assert result.exit_code == 1 and "the row starting on line 2" in result.output and "its 3 lines" in result.output
    result, _ = run_batch(tmp_path, b'id,text\n1,ok\n2,"multi\nline",x,"open\n3,more\n')
    assert result.exit_code == 1 and "the row starting on line 3" in result.output
    # A quote opened in one row and "closed" by the quote that opens a field of the next row.
    result, _ = run_batch(tmp_path, b'id,text\n1,"He said hi about a gang\n2,"A Chinese APT spied"\n3,third\n')
    assert result.exit_code == 1
    assert "the row starting on line 2 runs over 2 lines and is not well-formed CSV" in result.output
    # In the header.
    result, _ = run_batch(tmp_path, b'text,"notes\nRansomware hit a bank,x\nGRU hacked a ministry,y\n')
    assert result.exit_code == 1 and "in.csv (header): the row starting on line 1 holds a quoted field" in result.output


@pytest.mark.parametrize("args", [["--chunk-size", "512"], ["--chunk-size", "1", "--workers", "2"],
                                  ["--output-format", "jsonl"]], ids=["one chunk", "forked chunks", "jsonl"])
def test_a_row_after_a_field_of_several_lines_is_named_by_row_and_line(tmp_path, args):
    # Row numbers count records, as a spreadsheet does; a text editor counts lines.
    data = b'id,text\n1,"A gang\nencrypted a dental practice."\n2,\n3,A gang hit a shop.,extra\n4,\n'
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    result = CliRunner().invoke(main, ["batch", str(src), "-o", "-", *args])
    assert result.exit_code == 0, result.output
    assert "row 3 (line 4): empty text in column 'text'" in result.stdout
    assert "row 4 (line 5): has 3 fields, the header has 2" in result.stdout
    assert "row 5 (line 6): empty text" in result.stdout


def test_quoted_newlines_and_a_last_line_without_newline_still_pass(tmp_path):
    result, rows = run_batch(tmp_path, b'id,text\n1,"two\nlines, closed"\n2,"last ""quoted"" row"')
    assert result.exit_code == 0, result.output
    assert [r["text"] for r in rows] == ["two\nlines, closed", 'last "quoted" row']
    # A stray quote on the last line merges no rows: read as the csv module reads it.
    result, rows = run_batch(tmp_path, b'id,text\n1,ok\n2,"stray quote on the last line\n')
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows] == ["1", "2"]


@pytest.mark.parametrize("data, delimiter, name", [
    (b"id;text\n1;Ransomware hit a dental practice.\n2;\"GRU hackers; wiped a TV network.\"\n", None, "semicolon"),
    (b"id\ttext\n1\tRansomware hit a dental practice.\n2\tGRU hackers wiped a TV network.\n", None, "tab"),
    (b"id|text\n1|Ransomware hit a dental practice.\n2|GRU hackers wiped a TV network.\n", "|", "pipe"),
])
def test_semicolon_tab_and_pipe_separated_files(tmp_path, data, delimiter, name):
    """The header line says which delimiter the file uses (or --delimiter does); output is CSV."""
    result, rows = run_batch(tmp_path, data, *(["--delimiter", delimiter] if delimiter else []))
    assert result.exit_code == 0, result.output
    assert f"read {tmp_path / 'in.csv'} as {name}-separated" in result.output
    assert [r["id"] for r in rows] == ["1", "2"] and rows[0]["route"] == "cybercrime"
    assert rows[1]["text"].startswith("GRU hackers") and rows[1]["route"] == "international-security"


def test_a_forced_delimiter_that_does_not_fit_names_the_option(tmp_path):
    result, _ = run_batch(tmp_path, b"id;text\n1;x\n", "--delimiter", ",")
    assert result.exit_code == 1 and "columns are: 'id;text'" in result.output and "--delimiter" in result.output


def test_bytes_that_are_not_utf8_are_kept_and_warned_about(tmp_path):
    result, _ = run_batch(tmp_path, b"id,text\n1,Ransomware hit a clinic in M\xfcnchen.\n2,plain\n3,Caf\xe9 hacked\n")
    assert result.exit_code == 0
    assert b"1,Ransomware hit a clinic in M\xfcnchen.," in (tmp_path / "out.csv").read_bytes()
    assert "warning: line 2 of" in result.output and "(and 1 more line) holds bytes that are not UTF-8" in result.output
    assert "--encoding cp1252" in result.output
    result, rows = run_batch(tmp_path, b"id,text\n1,Ransomware hit a clinic in M\xfcnchen.\n", "--encoding", "cp1252")
    assert "warning" not in result.output and rows[0]["text"] == "Ransomware hit a clinic in M\u00fcnchen."


def test_the_output_may_not_replace_the_input(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"text\nRansomware hit a clinic.\n")
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(tmp_path / "." / "in.csv")])
    assert result.exit_code == 1 and "the output would replace the input" in result.output
    assert src.read_bytes() == b"text\nRansomware hit a clinic.\n"


def test_punctuation_only_is_classified_and_flagged(tmp_path):
    result, rows = run_batch(tmp_path, b"text\n?!...;;\n")
    assert result.exit_code == 0 and rows[0]["review"] == "true"


def test_text_in_another_script_is_undetermined_and_says_why(tmp_path):
    result, rows = run_batch(tmp_path, "text\nСистема больницы зашифрована вымогателями и ГРУ подозревается.\n"
                                       "Хакеры из ГРУ атаковали министерство обороны\n"
                                       "黑客组织攻击了一家医院的计算机系统并要求支付赎金\n".encode())
    assert result.exit_code == 0
    for row in rows:
        assert (row["route"], row["review"]) == ("undetermined", "true")
        assert "most of its letters are not Latin: the tool reads English only" in row["explanation"]


def test_mostly_latin():
    from classifier.combiner import mostly_latin

    assert mostly_latin("A gang hit a café in Zürich.") and mostly_latin("Ataque de ransomware en el hospital")
    assert not mostly_latin("Хакеры из ГРУ атаковали министерство") and not mostly_latin("黑客攻击了医院 APT")


def test_invalid_utf8_bytes_are_carried_through(tmp_path):
    data = b"id,text\n1,Caf\xe9 chain hit by ransomware gang demanding bitcoin\n"
    result, rows = run_batch(tmp_path, data)
    assert result.exit_code == 0 and rows[0]["route"] == "cybercrime"
    assert (tmp_path / "out.csv").read_bytes().count(b"Caf\xe9") == 1   # the original byte, unchanged


@pytest.mark.parametrize("suffix", [".jsonl", ".json"], ids=["JSON lines", "STIX bundle"])
def test_bytes_that_are_not_utf8_become_replacement_characters_in_json(tmp_path, suffix):
    """JSON must be UTF-8: a byte carried through would leave a file no JSON reader (this tool's
    own batch included) can read. One character stands for one, so evidence offsets hold."""
    src, out = tmp_path / "in.csv", tmp_path / f"out{suffix}"
    src.write_bytes(b"id,text\n1,Caf\xe9 chain hit by ransomware gang demanding bitcoin\n")
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out)])
    assert result.exit_code == 0 and "each was written as U+FFFD" in result.output
    content = out.read_bytes().decode("utf-8")   # strict: fails on a raw byte
    assert "Caf\ufffd chain" in content
    if suffix == ".json":   # the bundle reads back as input
        reread = CliRunner().invoke(main, ["batch", str(out), "-o", str(tmp_path / "again.jsonl")])
        assert reread.exit_code == 0, reread.output
    else:
        record = json.loads(content.splitlines()[0])
        span = record["criteria"]["motive"]["evidence"][0]
        assert record["input"]["text"][span["start"]:span["end"]] == span["text"]


def test_latin1_with_encoding_option(tmp_path):
    data = "id,text\n1,Une gang a chiffré les serveurs d'un hôpital et exigé une rançon en bitcoin\n".encode("latin-1")
    result, rows = run_batch(tmp_path, data, "--encoding", "latin-1")
    assert result.exit_code == 0 and "chiffré" in rows[0]["text"]


def test_utf16_file_with_bom_is_detected(tmp_path):
    result, rows = run_batch(tmp_path, "id,text\n1,GRU hackers wiped a TV network.\n".encode("utf-16"))
    assert result.exit_code == 0 and rows[0]["id"] == "1" and rows[0]["route"] != ""


@pytest.mark.parametrize("encoding", [[], ["--encoding", "utf-8"], ["--encoding", "UTF8"]],
                         ids=["detected", "utf-8 named", "UTF8 named"])
def test_utf8_bom_does_not_rename_first_column(tmp_path, encoding):
    """Excel's "CSV UTF-8" starts with a byte-order mark, also when the user names UTF-8."""
    result, rows = run_batch(tmp_path, "\ufeffid,text\r\n7,A gang hit a shop.\r\n".encode("utf-8"), *encoding)
    assert result.exit_code == 0 and list(rows[0])[:2] == ["id", "text"] and rows[0]["id"] == "7"


def test_nul_bytes_do_not_stop_the_run(tmp_path):
    result, rows = run_batch(tmp_path, b"id,text\n1,abc\x00def ransomware gang\n2,A gang hit a shop.\n")
    assert result.exit_code == 0 and [r["id"] for r in rows] == ["1", "2"]


def test_duplicate_text_column_is_refused_by_name(tmp_path):
    result, rows = run_batch(tmp_path, b"text,text\na,b\n")
    assert result.exit_code == 1 and "column 'text' appears 2 times" in result.output and rows is None


def test_duplicate_other_columns_are_kept(tmp_path):
    result, rows = run_batch(tmp_path, b"note,note,text\na,b,A gang hit a shop.\n")
    assert result.exit_code == 0
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert out[0].startswith("note,note,text,route") and out[1].startswith("a,b,")


def test_header_only_file_gives_header_only_output(tmp_path):
    result, rows = run_batch(tmp_path, b"id,text\n")
    assert result.exit_code == 0 and rows == [] and "0 rows classified" in result.output


def test_empty_file_is_an_error(tmp_path):
    result, rows = run_batch(tmp_path, b"")
    assert result.exit_code == 1 and "the file is empty" in result.output and rows is None


def test_directory_as_input(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "is a directory with no VERIS incidents" in result.output
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "-o", str(tmp_path / "o.csv"), "--input-format", "csv"])
    assert result.exit_code == 1 and "is a directory, not a CSV file" in result.output


def test_five_megabyte_description(tmp_path):
    text = ("Ransomware gang encrypted the hospital's servers and demanded bitcoin. " * 72_000)[:5_000_000]
    result, rows = run_batch(tmp_path, f"id,text\n1,{text}\n2,short one about a gang\n".encode())
    assert result.exit_code == 0 and len(rows) == 2 and rows[0]["route"] in ("cybercrime", "intersection")


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(tmp_path, cell):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["id", "text"], [cell, "A gang hit a shop."]])
    result, rows = run_batch(tmp_path, buffer.getvalue().encode())
    assert rows[0]["id"] == "'" + cell


@pytest.mark.parametrize("cell", ["-3.5", "+12", "-1e-3", "-.5"])
def test_signed_numbers_are_not_escaped(tmp_path, cell):
    result, rows = run_batch(tmp_path, f"id,text\n{cell},A gang hit a shop.\n".encode())
    assert rows[0]["id"] == cell


def test_formula_escaping_can_be_turned_off(tmp_path):
    result, rows = run_batch(tmp_path, b'id,text\n=1+1,A gang hit a shop.\n', "--no-escape-formulas")
    assert rows[0]["id"] == "=1+1"


def test_failure_midway_leaves_no_partial_output(tmp_path, monkeypatch):
    """Output goes to a temporary file renamed at the end: an interrupted run leaves nothing."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("text\n" + "A gang hit a shop.\n" * 50)
    out.write_text("previous results\n")
    calls = {"n": 0}

    class Exploding:
        def classify_rows(self, texts, details=False):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            from classifier.api import default_classifier

            return default_classifier().classify_rows(texts, details)

    with pytest.raises(KeyboardInterrupt):
        batch.classify_csv(Exploding(), str(src), str(out), chunk_rows=10)
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_plain_kill_leaves_the_old_output_and_no_partial_file(tmp_path):
    """SIGTERM, what `kill` and process managers send, ends the run as Ctrl-C does."""
    import signal
    import subprocess
    import sys

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("id,text\n" + "".join(f"{i},A ransomware gang encrypted the files of shop {i}.\n"
                                          for i in range(200_000)))
    out.write_text("previous results\n")
    run = subprocess.Popen([sys.executable, "-m", "classifier", "batch", str(src), "-o", str(out)],
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):   # writing has begun
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 128 + signal.SIGTERM
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("unit", [
    # Near-matches, negation triggers, long runs of one character: the matcher.
    "no evidence of state involvemen ransomwar gang" + " a" * 40 + "x" * 300 + " no no not Sandwor ",
    # Agencies beside enforcement actions and victims' assets, thousands of each: the rules that
    # read positions (RuleEngine._enforcers and _victims) must not compare every pair.
    "The FSB arrested a ransomware gang, FSB website and data of the FSB, NSA documents ",
])
def test_classification_is_linear_in_text_size(classifier, unit):
    """Adversarial text: classifying 4x the text takes about 4x the time (a quadratic matcher or
    rule would take 16x).

    The clock is this process's CPU time, so other processes on the machine do not count, and the
    garbage collector is paused while timing: its full collections scan every live object and
    made the ratio drift above 5 on a linear matcher.
    """

    def seconds(n):
        text = unit * n
        start = time.process_time()
        classifier.classify(text)
        return time.process_time() - start

    classifier.classify(unit)  # warm-up outside the clock
    collecting = gc.isenabled()
    gc.disable()
    try:
        small, large = min(seconds(1500) for _ in range(5)), min(seconds(6000) for _ in range(5))
    finally:
        if collecting:
            gc.enable()
    assert large / small < 8.0, (small, large)


def test_million_row_file_keeps_every_row(tmp_path):
    """1,000,001 rows in, 1,000,001 rows out, in order (mostly empty texts, so the test stays quick)."""
    src, out = tmp_path / "big.csv", tmp_path / "out.csv"
    with open(src, "w", newline="") as handle:
        handle.write("id,text\n0,A ransomware gang encrypted a dental practice's files.\n")
        handle.writelines(f"{i},\n" for i in range(1, 1_000_000))
        handle.write("1000000,GRU hackers wiped a television network.\n")
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out), "--workers", "1", "--chunk-size", "5000"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        count, last, first = 0, None, None
        for row in reader:
            if first is None:
                first = row
            assert row[0] == str(count)
            count, last = count + 1, row
    assert count == 1_000_001
    assert first[2] == "cybercrime" and last[2] in ("international-security", "intersection")


@pytest.mark.parametrize("name", ["routed.xlsx", "routed.jsonl.gz"])
def test_a_spreadsheet_or_compressed_output_name_is_refused_not_filled_with_csv(tmp_path, name):
    src = tmp_path / "in.csv"
    src.write_text("text\nA gang encrypted a school's servers.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(tmp_path / name)])
    assert result.exit_code == 1
    assert f"{name}: {name[name.rindex('.'):]} is not written here; write .csv" in result.output
    assert not (tmp_path / name).exists()


# -- where the output goes, and inputs read in another encoding or compressed -----------------

GOOD = b"id,text\n1,A ransomware gang encrypted a dental practice's records.\n2,GRU officers hacked a ministry.\n"


def test_output_through_a_symlink_replaces_the_file_it_points_to_and_keeps_the_link(tmp_path):
    src, real, link = tmp_path / "in.csv", tmp_path / "real.csv", tmp_path / "link.csv"
    src.write_bytes(GOOD)
    real.write_text("old\n")
    link.symlink_to(real)
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(link), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert len(list(csv.DictReader(io.StringIO(real.read_text())))) == 2


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
def test_output_to_a_named_pipe_is_written_into_the_pipe(tmp_path):
    """Renaming a finished temporary file over a pipe (or /dev/null) would replace the device
    with a file and leave the reader waiting: such a destination is written directly."""
    import os
    import threading

    src, pipe = tmp_path / "in.csv", tmp_path / "pipe"
    src.write_bytes(GOOD)
    os.mkfifo(pipe)
    received = []
    # A daemon thread: should the pipe be replaced by a file, its open() would wait for ever.
    reader = threading.Thread(target=lambda: received.append(open(pipe, encoding="utf-8").read()), daemon=True)
    reader.start()
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(pipe), "--workers", "1"])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert not pipe.is_file()   # still a pipe
    assert received and len(list(csv.DictReader(io.StringIO(received[0])))) == 2


@pytest.mark.skipif(not __import__("pathlib").Path("/proc/self").exists(), reason="needs /proc")
def test_an_output_path_that_cannot_be_created_is_one_line_not_a_traceback(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(GOOD)
    result = CliRunner().invoke(main, ["batch", str(src), "-o", "/proc/routed.csv"])
    assert result.exit_code == 1
    assert "Error: /proc/routed.csv: cannot write there" in result.output
    assert "Traceback" not in result.output


def test_a_wrong_encoding_that_cannot_decode_the_file_names_it(tmp_path):
    """UTF-16 without a byte-order mark is the one decoding error that surrogateescape does not absorb."""
    result, rows = run_batch(tmp_path, GOOD, "--encoding", "utf-16")
    assert result.exit_code == 1 and rows is None
    assert "in.csv: cannot be read as utf-16" in result.output and "--encoding" in result.output
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "A gang hit a shop."}\n')
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(tmp_path / "o.jsonl"), "--encoding", "utf-16"])
    assert result.exit_code == 1 and "in.jsonl: not utf-16" in result.output


def test_encoding_applies_to_json_input_too(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes('{"id": 1, "text": "A ransomware gang hit the Café Nord chain."}\n'.encode("cp1252"))
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out)])
    assert "warning: line 1 of " in result.stderr and "run again with --encoding cp1252" in result.stderr
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out), "--encoding", "cp1252"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    import json
    assert json.loads(out.read_text(encoding="utf-8"))["input"]["text"].endswith("Café Nord chain.")


@pytest.mark.parametrize("fmt", ["jsonl", "stix", "misp"])
def test_a_directory_is_refused_by_name_for_formats_that_read_files(tmp_path, fmt):
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "-o", str(tmp_path / "o.csv"), "--input-format", fmt])
    assert result.exit_code == 1
    assert "is a directory (only VERIS input reads a directory of incidents)" in result.output


def test_gzipped_csv_is_read_and_a_spreadsheet_is_refused(tmp_path):
    import gzip

    src, out = tmp_path / "in.csv.gz", tmp_path / "out.csv"
    src.write_bytes(gzip.compress(GOOD))
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in csv.DictReader(io.StringIO(out.read_text()))] == ["1", "2"]
    src.write_bytes(gzip.compress(GOOD)[:-10])   # cut short
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 1 and "in.csv.gz: not a readable gzip file" in result.output
    lines = tmp_path / "in.jsonl.gz"
    lines.write_bytes(gzip.compress(b'{"text": "A ransomware gang encrypted a clinic."}\n')[:30])
    result = CliRunner().invoke(main, ["batch", str(lines), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and "in.jsonl.gz: not a readable gzip file" in result.output
    sheet = tmp_path / "in.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a csv")
    result = CliRunner().invoke(main, ["batch", str(sheet), "-o", str(out)])
    assert result.exit_code == 1 and "in.xlsx: a .xlsx file cannot be read; save it as CSV" in result.output


# -- evaluate reads files as batch does -------------------------------------------------------

LABELLED = [("A ransomware gang encrypted a dental practice's records.", "cybercrime"),
            ("GRU officers hacked the foreign ministry's mail servers.", "international-security"),
            ("A North Korean State-backed group stole crypto from an exchange.", "intersection")]


def test_evaluate_reads_semicolons_stdin_gzip_and_names_unreadable_lines(tmp_path):
    import gzip
    import json

    runner = CliRunner()
    semi = "text;route\n" + "".join(f"{t};{r}\n" for t, r in LABELLED)
    for args, data in [(["-"], semi), (["-", "--delimiter", ";"], semi)]:
        result = runner.invoke(main, ["evaluate", *args, "--json"], input=data)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["combined"]["n"] == 3
    gz = tmp_path / "labelled.csv.gz"
    gz.write_bytes(gzip.compress(semi.encode()))
    result = runner.invoke(main, ["evaluate", str(gz), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["combined"]["n"] == 3
    lines = [json.dumps({"text": t, "route": r}) for t, r in LABELLED]
    lines.insert(2, "{not json")
    result = runner.invoke(main, ["evaluate", "-", "--input-format", "jsonl", "--json"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["combined"]["n"] == 3
    assert "left out 1 row that cannot be read or hold no text (first: line 3: not valid JSON" in result.stderr


def test_evaluate_names_a_ragged_row_instead_of_shifting_the_columns(tmp_path):
    src = tmp_path / "labelled.csv"
    src.write_text("text,route\n" + f"{LABELLED[0][0]},cybercrime,extra\n"
                   + "".join(f"{t},{r}\n" for t, r in LABELLED[1:]))
    result = CliRunner().invoke(main, ["evaluate", str(src)])
    assert result.exit_code == 0, result.output
    assert "left out 1 row that cannot be read or hold no text (first: row 2: has 3 fields, the header has 2" \
        in result.stderr
    assert "2 labelled rows" in result.stdout


def test_blank_lines_at_the_end_are_no_rows_but_one_between_records_is(tmp_path):
    """Editors leave blank lines at the end of a file: they are no records. A blank line between
    records keeps its place, as a row with an error, so that rows stay aligned with the input."""
    result, rows = run_batch(tmp_path, GOOD + b"\n\n")
    assert result.exit_code == 0 and [r["id"] for r in rows] == ["1", "2"]
    assert all(r["error"] == "" for r in rows) and "0 with errors" in result.output
    result, rows = run_batch(tmp_path, GOOD.replace(b"\n2,", b"\n\n2,") + b"\n")
    assert [r["id"] for r in rows] == ["1", "", "2"]
    assert rows[1]["error"] == "row 3: has 0 fields, the header has 2, so no value for column 'text'"
    assert rows[2]["error"] == ""


def test_utf16_without_a_byte_order_mark_is_told_by_its_header(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("id,text\n1,A gang hit a shop.\n".encode("utf-16-be"))
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert "the header is not readable as UTF-8" in result.output and "--encoding" in result.output
    assert "utf-16-be" in result.output
    fixed = CliRunner().invoke(main, ["batch", str(src), "-o", str(tmp_path / "out.csv"), "--encoding", "utf-16-be"])
    assert fixed.exit_code == 0


def test_a_blank_first_line_is_named_not_listed_as_empty_columns(tmp_path):
    result, rows = run_batch(tmp_path, b"\n" + GOOD)
    assert result.exit_code == 1 and rows is None
    assert "in.csv: line 1 is blank; the header row (naming the 'text' column) must be the first line" in result.output


def test_output_to_dev_stdout_appends_where_the_shell_redirected_it(tmp_path):
    """`-o /dev/stdout >> log.csv` must append through the descriptor the shell opened; a
    temporary file renamed into /dev/stdout's target replaced the log."""
    import subprocess
    import sys

    src, log = tmp_path / "in.csv", tmp_path / "log.csv"
    src.write_bytes(GOOD)
    log.write_text("kept line\n")
    with open(log, "a") as handle:
        done = subprocess.run([sys.executable, "-m", "classifier", "batch", str(src), "-o", "/dev/stdout"],
                              stdout=handle, stderr=subprocess.PIPE, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "kept line" and lines[1].startswith("id,text,route") and len(lines) == 4


@pytest.mark.skipif(not __import__("pathlib").Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_device_that_refuses_the_write_is_one_line_not_a_traceback(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(GOOD)
    for args in (["-o", "/dev/full"], ["-o", "/dev/full", "--output-format", "jsonl"]):
        result = CliRunner().invoke(main, ["batch", str(src), *args])
        assert result.exit_code == 1 and "/dev/full: No space left on device" in result.output
        assert "Traceback" not in result.output


def test_gzip_and_a_repeated_column_on_the_ways_in_that_json_and_evaluate_take(tmp_path):
    import gzip
    import json

    runner = CliRunner()
    lines = gzip.compress(b'{"text": "A ransomware gang encrypted a dental practice\'s records."}\n')
    result = runner.invoke(main, ["batch", "-", "--input-format", "jsonl", "-o", "-"], input=lines)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["route"] == "cybercrime"
    # A header that repeats a column: the first copy is the label, as pandas read it before.
    src = tmp_path / "labelled.csv"
    src.write_text("text,route,route\n" + "".join(f"{t},{r},intersection\n" for t, r in LABELLED[:2]))
    result = runner.invoke(main, ["evaluate", str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["combined"]["accuracy"] == 1.0


def test_json_input_is_read_as_utf16_by_its_byte_order_mark_and_a_pretty_printed_object_is_named(tmp_path):
    import json

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"text": "A ransomware gang encrypted a dental practice's records."}) + "\n",
                   encoding="utf-16")
    result = CliRunner().invoke(main, ["batch", str(src), "-o", str(out)])
    assert result.exit_code == 0 and "0 with errors" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["route"] == "cybercrime"
    result = CliRunner().invoke(main, ["evaluate", "tests/fixtures/bundle.json"])
    assert result.exit_code == 1
    assert "bundle.json: one JSON object over several lines (a STIX bundle, a MISP event?), not JSON lines" \
        in result.output


def test_excels_delimiter_hint_line_is_named(tmp_path):
    result, rows = run_batch(tmp_path, b"sep=;\r\nid;text\r\n1;A gang hit a shop.\r\n")
    assert result.exit_code == 1 and rows is None
    assert "line 1 is Excel's delimiter hint 'sep=;', not a header row; delete that line" in result.output


def _worker_signals(classifier, first_row, chunk, lines):
    import signal

    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


def test_forked_workers_leave_signals_to_the_parent():
    """A worker ignores SIGTERM and Ctrl-C, which reach the whole process group: one that died of
    them mid-write left a lock held or half a message in a pipe, and the run hung (a reviewer's
    `timeout` hung 4 runs in 5), or printed its traceback."""
    import signal

    from classifier.api import default_classifier
    from classifier.cli import _exit_on_signal

    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        answers = list(batch._run_forked(default_classifier(), _worker_signals,
                                         [(0, [], []), (1, [], []), (2, [], [])], workers=2))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert answers == [(signal.SIG_IGN, signal.SIG_IGN)] * 3


@pytest.mark.parametrize("signal_name, code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_to_the_whole_process_group_ends_a_run_with_workers_cleanly(tmp_path, signal_name, code):
    """What a terminal's Ctrl-C, `timeout` and a service manager do: signal every process of the
    group, workers included. The run ends with the signal's exit code, no traceback, the old output
    kept and no partial file."""
    import os
    import signal
    import subprocess
    import sys

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("id,text\n" + "".join(f"{i},A ransomware gang encrypted the files of shop {i}.\n"
                                          for i in range(200_000)))
    out.write_text("previous results\n")
    run = subprocess.Popen([sys.executable, "-m", "classifier", "batch", str(src), "-o", str(out), "--workers", "2"],
                           stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):   # writing has begun
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
        time.sleep(0.05)
    time.sleep(0.5)   # workers busy on chunks, results in the pipes
    os.killpg(run.pid, getattr(signal, signal_name))
    try:
        assert run.wait(timeout=60) == code
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    stderr = run.stderr.read().decode()
    assert "Traceback" not in stderr and "Process ForkPoolWorker" not in stderr
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("command", [["batch", "IN", "-o", "OUT"], ["evaluate", "IN"], ["priors", "IN"],
                                     ["rules", "check", "IN"]])
def test_an_unknown_encoding_is_a_usage_error_naming_the_option(tmp_path, command):
    src = tmp_path / "in.csv"
    src.write_bytes(b"text,route\nA gang hit a shop.,cybercrime\n")
    args = [str(src) if a == "IN" else str(tmp_path / "out.csv") if a == "OUT" else a for a in command]
    result = CliRunner().invoke(main, [*args, "--encoding", "bogus"])
    assert result.exit_code == 2 and "--encoding" in result.output and "'bogus' is not an encoding" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_signal_notes_defer_the_first_signal_to_a_safe_point_and_act_on_a_second_at_once():
    """While chunks are classified, Ctrl-C is acted on between chunks, where its KeyboardInterrupt
    cannot be dropped inside a finaliser; a second Ctrl-C acts at once; the handler is put back."""
    import os
    import signal

    before = signal.getsignal(signal.SIGINT)
    notes = batch._SignalNotes()
    try:
        with pytest.raises(KeyboardInterrupt):   # not yet deferring: at once, as before
            os.kill(os.getpid(), signal.SIGINT)
        notes.received.clear()
        notes.defer = True
        os.kill(os.getpid(), signal.SIGINT)       # noted only
        assert [number for number, _ in notes.received] == [signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):
            notes.stop_if_received()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)   # the second
    finally:
        notes.restore()
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("signal_in_chunk, chunks_out", [(1, 0), (2, 2)])
def test_a_run_in_one_process_defers_a_signal_after_its_first_chunk(signal_in_chunk, chunks_out):
    """In the first chunk (which may be compiling the kernels) Ctrl-C acts at once; later it is
    acted on once the chunk in hand is out, so its exception is never raised inside a finaliser."""
    import os
    import signal

    before = signal.getsignal(signal.SIGINT)
    calls = []

    def job(classifier, first_row, chunk, lines):
        calls.append(first_row)
        if len(calls) == signal_in_chunk:
            os.kill(os.getpid(), signal.SIGINT)
        return first_row

    chunks = [(first, [["x"]], [first]) for first in (2, 3, 4)]
    out = []
    with pytest.raises(KeyboardInterrupt):
        for result in batch._run_here(None, job, chunks):
            out.append(result)
    assert len(out) == chunks_out and len(calls) == signal_in_chunk   # no chunk begun after it
    assert signal.getsignal(signal.SIGINT) is before
