"""CTI formats: STIX 2.1, VERIS, MISP and JSON lines in; CSV, JSON lines and STIX out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import stix2
from hypothesis import given, settings, strategies as st
from click.testing import CliRunner

from classifier.cli import main
from classifier.formats import FormatError, detect_format

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args):
    return CliRunner().invoke(main, ["batch", *map(str, args)])


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_detection_tells_json_kinds_apart(tmp_path):
    assert detect_format(str(FIXTURES / "bundle.json"))[0] == "stix"
    assert detect_format(str(FIXTURES / "misp_event.json"))[0] == "misp"
    assert detect_format(str(FIXTURES / "veris" / "incident-1.json"))[0] == "veris"
    assert detect_format(str(FIXTURES / "veris"))[0] == "veris"
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(FormatError, match="give --input-format"):
        detect_format(str(other))


def test_stix_bundle_to_csv_one_row_per_object_with_errors(tmp_path):
    out = tmp_path / "out.csv"
    result = run(FIXTURES / "bundle.json", "-o", out)
    assert result.exit_code == 0, result.output
    assert "as stix" in result.output
    rows = read_csv(out)
    assert [r["type"] for r in rows] == ["incident", "intrusion-set", "campaign", "threat-actor", "report"]
    assert rows[0]["route"] == "cybercrime"
    assert rows[0]["description"].startswith("A ransomware gang encrypted")   # the text beside its route
    assert rows[1]["route"] == "international-security"
    assert rows[2]["route"] == "intersection" and rows[2]["intersection_reason"] == "state-actor-in-crime"
    assert "no description" in rows[3]["error"]
    assert "not valid STIX 2.1" in rows[4]["error"]


def test_stix_in_stix_out_is_a_valid_bundle_of_notes(tmp_path):
    out = tmp_path / "notes.json"
    assert run(FIXTURES / "bundle.json", "-o", out).exit_code == 0
    bundle = stix2.parse(out.read_text(), allow_custom=True)
    notes = [o for o in bundle.objects if o.type == "note"]
    assert len(notes) == 5
    assert notes[0].object_refs == ["incident--a1f1c1d2-4c8b-4e1f-9b7a-0b2f2b0c0001"]
    assert notes[2].abstract == "cyberroute: intersection (state-actor-in-crime)"
    assert 0 <= notes[0].confidence <= 100
    assert json.loads(notes[0].content.split("\n", 1)[1])["route"] == "cybercrime"


def test_veris_directory_carries_actor_and_motive(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run(FIXTURES / "veris", "-o", out)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"]["source"] for r in records] == ["incident-1.json", "incident-2.json", "incident-3.json",
                                                       "incident-4.json"]
    assert records[0]["input"]["veris_actor"] == "internal.End-user"
    assert records[0]["input"]["veris_motive"] == "internal.Financial"
    assert records[0]["input"]["summary"].startswith("A former employee of a dental practice")
    assert records[0]["route"] == "cybercrime"
    assert records[1]["route"] == "international-security"
    assert "has no summary" in records[2]["error"]
    assert "not valid JSON" in records[3]["error"]


def test_misp_event_info_and_text_attributes(tmp_path):
    out = tmp_path / "out.csv"
    assert run(FIXTURES / "misp_event.json", "-o", out).exit_code == 0
    rows = read_csv(out)
    assert len(rows) == 1 and rows[0]["uuid"] == "5e0b5a3c-1111-4c2e-9d5e-0a0b0c0d0e0f"
    assert rows[0]["route"] == "cybercrime" and rows[0]["error"] == ""
    assert rows[0]["text"].startswith(rows[0]["info"])   # info, then the text attributes


def test_jsonl_in_with_bad_lines(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    src.write_text('{"id": 1, "text": "A gang encrypted a school district\'s servers."}\n'
                   "not json\n"
                   '{"id": 3, "body": "no text key"}\n'
                   '{"id": 4, "text": "Chinese State-backed spies stole files from a ministry."}\n'
                   '{"id": 5, "text": 42}\n'
                   '{"id": 6, "text": "  "}\n')
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["1", "", "3", "4", "5", "6"]
    assert rows[4]["error"] == "line 5: key 'text' holds int 42, not text"
    assert "line 6: empty text in key 'text'" in rows[5]["error"]
    assert "line 2: not valid JSON" in rows[1]["error"]
    assert "no text in key 'text'" in rows[2]["error"]
    assert rows[2]["explanation"] == f"Not classified: {rows[2]['error']}."   # not "the description is empty"
    assert rows[3]["route"] == "international-security"


def test_a_json_array_of_records_is_read_record_by_record(tmp_path):
    """An API's or pandas' "records" export: one record an object, bad ones named by position."""
    src, out = tmp_path / "in.json", tmp_path / "out.csv"
    src.write_text(json.dumps([
        {"id": 1, "text": "A gang encrypted a school district's servers.", "route": "cybercrime"},
        {"id": 2, "text": 42},
        "not an object",
        {"id": 4, "text": "Chinese State-backed spies stole files from a ministry.", "route": "international-security"},
    ]))
    assert detect_format(str(src))[0] == "json"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["1", "2", "", "4"]
    assert rows[1]["error"] == "record 2: key 'text' holds int 42, not text"
    assert rows[2]["error"] == "record 3: not a JSON object"
    assert [rows[0]["route"], rows[3]["route"]] == ["cybercrime", "international-security"]
    # evaluate tells an array from JSON lines in a .json file by its first character.
    result = CliRunner().invoke(main, ["evaluate", str(src), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["combined"]["n"] == 2
    lines = tmp_path / "lines.json"
    lines.write_text("\n".join(json.dumps(r) for r in json.loads(src.read_text())[::3]) + "\n")
    result = CliRunner().invoke(main, ["evaluate", str(lines), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["combined"]["n"] == 2


def test_jsonl_to_csv_gives_every_field_of_every_record_a_column(tmp_path):
    """JSON records need not share their keys: a file is read twice, so the header holds them all
    (in the order they first appear) and a JSON null is an empty cell."""
    src = tmp_path / "in.jsonl"
    lines = ('{"id": 1, "text": "A gang encrypted a school district\'s servers.", "score": null}\n'
             '{"id": 2, "text": "Spies read a ministry\'s email.", "analyst": "kb", "tlp": "amber"}\n'
             '{"id": 3, "text": "Fraudsters phished a bank.", "tlp": "green", "tags": ["bec"]}\n')
    src.write_text(lines)
    result = run(src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0])[:6] == ["id", "text", "score", "analyst", "tlp", "tags"]
    assert [(r["id"], r["score"], r["analyst"], r["tlp"], r["tags"]) for r in rows] == \
        [("1", "", "", "", ""), ("2", "", "kb", "amber", ""), ("3", "", "", "green", '["bec"]')]
    assert all(r["route"] for r in rows)


def test_jsonl_on_stdin_to_csv_names_the_fields_it_cannot_hold(tmp_path):
    """Stdin cannot be read twice: the first record's keys make the header and the run names the
    fields left out, with how many records had them."""
    lines = ('{"id": 1, "text": "A gang encrypted a school district\'s servers."}\n'
             '{"id": 2, "text": "Spies read a ministry\'s email.", "analyst": "kb", "tlp": "amber"}\n'
             '{"id": 3, "text": "Fraudsters phished a bank.", "tlp": "green"}\n')
    result = CliRunner().invoke(main, ["batch", "-", "-o", str(tmp_path / "out.csv"), "--input-format", "jsonl"],
                                input=lines)
    assert result.exit_code == 0, result.output
    assert "warning: fields that the first record from stdin lacks have no CSV column" in result.output
    assert "'analyst' (1 record), 'tlp' (2 records)" in result.output
    assert [r["id"] for r in read_csv(tmp_path / "out.csv")] == ["1", "2", "3"]
    result = CliRunner().invoke(main, ["batch", "-", "-o", str(tmp_path / "out.jsonl"), "--input-format", "jsonl"],
                                input=lines)
    assert "warning" not in result.output
    assert [json.loads(line)["input"].get("tlp") for line in (tmp_path / "out.jsonl").read_text().splitlines()] == \
        [None, "amber", "green"]


def test_csv_to_json_lines_says_what_reading_found(tmp_path):
    """The delimiter note and the encoding warning of CSV-to-CSV runs, on the records path too."""
    src = tmp_path / "in.csv"
    src.write_bytes(b"id;text\n1;Ransomware hit a clinic in M\xfcnchen.\n2;Spies read a ministry's email.\n")
    result = run(src, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert f"note: read {src} as semicolon-separated" in result.output
    assert f"warning: line 2 of {src} holds bytes that are not UTF-8" in result.output
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == 2


def test_an_unreadable_first_line_does_not_make_the_csv_header(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("{bad json\n"
                   '{"id": 2, "text": "Spies read a ministry\'s email."}\n'
                   "not json either\n"
                   '{"id": 4, "text": "Fraudsters phished a bank."}\n')
    result = run(src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "out.csv")
    assert list(rows[0])[:2] == ["id", "text"]
    assert [r["id"] for r in rows] == ["", "2", "", "4"]
    assert "line 1: not valid JSON" in rows[0]["error"] and rows[1]["route"] == "international-security"
    assert "warning" not in result.output   # the error records' placeholders are no lost fields


def test_fields_of_a_record_without_text_are_kept_or_named(tmp_path):
    """A record that has fields but no text is no placeholder: it can make the header, and its
    fields count when a later header cannot hold them."""
    src = tmp_path / "in.jsonl"
    src.write_text('{bad\n{"id": 2, "text": "", "analyst": "kb"}\n{"id": 3, "text": "GRU hacked a ministry."}\n')
    result = run(src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "out.csv")
    assert [r["analyst"] for r in rows] == ["", "kb", ""] and rows[2]["route"] == "international-security"
    lines = '{"id": 1, "text": "GRU hacked a ministry."}\n{"id": 2, "text": "", "analyst": "kb"}\n'
    result = CliRunner().invoke(main, ["batch", "-", "-o", str(tmp_path / "out.csv"), "--input-format", "jsonl"],
                                input=lines)
    assert "'analyst' (1 record)" in result.output


def test_jsonl_whose_first_records_lack_the_key_is_refused_like_a_csv_header(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "description": "A gang encrypted a school district\'s servers."}\n'
                   '{"id": 2, "description": "Spies read a ministry\'s mail."}\n')
    result = run(src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert ("in.jsonl: none of the first 2 records has a key 'text'; the keys of line 1 are: 'id', 'description' "
            "(choose one with --text-column)") in result.output
    assert not (tmp_path / "out.csv").exists()
    assert run(src, "-o", tmp_path / "out.csv", "--text-column", "description").exit_code == 0


def test_a_first_record_without_the_key_is_a_row_error_as_any_other(tmp_path):
    """It used to refuse the whole file, where the same record later was one row's error."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": "r1", "desc": "x"}\n{"id": "r2", "text": "A ransomware gang hit the hospital."}\n')
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"]["id"] for r in records] == ["r1", "r2"]
    assert records[0]["error"].startswith("line 1: no text in key 'text'") and records[1]["error"] is None


def test_json_that_no_strict_reader_takes_does_not_reach_the_output(tmp_path):
    """A lone surrogate escape crashed every output format with a traceback; NaN and Infinity were
    written back as bare NaN, which is not JSON."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "r1", "text": "A ransomware \\ud800 gang hit the hospital."}\n'
                   '{"id": NaN, "text": "A ransomware gang hit the clinic."}\n'
                   '{"id": "r3", "text": "Spies read a ministry\'s mail.", "score": -Infinity}\n'
                   '{"id": "r4", "text": "Emoji stay whole \\ud83d\\ude00 here, a gang stole card data."}\n')

    def strict(line):
        return json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the output"))

    for name in ("out.jsonl", "out.csv", "out.json"):
        result = run(src, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
    records = [strict(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4
    assert records[0]["input"]["text"] == "A ransomware \ufffd gang hit the hospital." and records[0]["error"] is None
    assert records[1]["error"] == ("line 2: not valid JSON (NaN is not a JSON value (write null, or the number in "
                                   "quotes))")
    assert records[2]["error"].startswith("line 3: not valid JSON (-Infinity is not a JSON value")
    assert records[3]["input"]["text"] == "Emoji stay whole \U0001F600 here, a gang stole card data."
    rows = read_csv(tmp_path / "out.csv")
    assert [r["text"] for r in rows][::3] == ["A ransomware \ufffd gang hit the hospital.",
                                             "Emoji stay whole \U0001F600 here, a gang stole card data."]
    bundle = strict((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert bundle["type"] == "bundle"


def test_records_that_have_an_incident_id_are_not_taken_for_veris(tmp_path):
    src, out = tmp_path / "cases.json", tmp_path / "out.csv"
    src.write_text(json.dumps([{"incident_id": "INC-1", "text": "A ransomware gang encrypted a hospital's records."},
                               {"incident_id": "INC-2", "text": "Spies read the foreign ministry's mail."}]))
    assert detect_format(str(src))[0] == "json"
    result = run(src, "-o", out)
    assert result.exit_code == 0 and "0 with errors" in result.output
    assert [r["incident_id"] for r in read_csv(out)] == ["INC-1", "INC-2"] and "text" in read_csv(out)[0]


def test_a_misp_search_response_is_read_as_misp(tmp_path):
    src, out = tmp_path / "search.json", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"response": [{"Event": {"info": "A ransomware gang hit a hospital."}},
                                            {"Event": {"info": "Spies read a ministry's mail."}}]}))
    assert detect_format(str(src))[0] == "misp"
    result = run(src, "-o", out)
    assert result.exit_code == 0 and "2 records classified" in result.output


def test_csv_to_stix_creates_incidents_to_point_at(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.json"
    src.write_text("id,source,text\nx1,feed-a,A gang encrypted a school district's servers.\n")
    assert run(src, "-o", out).exit_code == 0
    bundle = stix2.parse(out.read_text(), allow_custom=True)
    incident = next(o for o in bundle.objects if o.type == "incident")
    note = next(o for o in bundle.objects if o.type == "note")
    assert note.object_refs == [incident.id] and "school district" in incident.description
    # Every column of the row, not only the text and the name, so a note joins back to its row.
    assert incident.name == "x1" and incident.x_cyberroute_input == {
        "id": "x1", "source": "feed-a", "text": "A gang encrypted a school district's servers."}


def test_identical_rows_become_distinct_stix_objects_in_order(tmp_path):
    """A STIX consumer merges objects of one id: two identical rows (or two blank ones) must stay two."""
    src, out = tmp_path / "in.csv", tmp_path / "out.json"
    same = "A gang encrypted a school district's servers."
    src.write_text(f"date,text\n2024-01-01,{same}\n2024-01-01,{same}\n2024-01-02,\n2024-01-02,\nx,Thieves stole cards.\n")
    assert run(src, "-o", out).exit_code == 0
    bundle = stix2.parse(out.read_text(), allow_custom=True)
    ids = [o.id for o in bundle.objects]
    assert len(ids) == 10 and len(set(ids)) == 10
    notes = [o for o in bundle.objects if o.type == "note"]
    incidents = {o.id: o for o in bundle.objects if o.type == "incident"}
    described = [getattr(incidents[n.object_refs[0]], "description", "") for n in notes]
    assert described == [same, same, "", "", "Thieves stole cards."]   # one note per row, in input order
    again = tmp_path / "again.json"
    assert run(src, "-o", again).exit_code == 0   # the same input gives the same ids
    assert [o["id"] for o in json.loads(again.read_text())["objects"]] == ids


def test_an_empty_input_gives_an_empty_stix_bundle(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.json"
    src.write_text("text\n")
    assert run(src, "-o", out).exit_code == 0
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "bundle" and bundle["objects"] == []


def test_malformed_stix_file_is_a_clear_error(tmp_path):
    src = tmp_path / "bad.json"
    src.write_text('{"type": "bundle", "objects": ')
    result = run(src, "-o", tmp_path / "o.csv", "--input-format", "stix")
    assert result.exit_code == 1 and "not valid JSON (line 1" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_veris_json_lines_and_misp_event_without_text(tmp_path):
    src, out = tmp_path / "incidents.jsonl", tmp_path / "out.csv"
    lines = [(FIXTURES / "veris" / f"incident-{i}.json").read_text().strip() for i in (1, 2)]
    src.write_text("\n".join(lines) + "\n{broken\n")
    assert run(src, "-o", out, "--input-format", "veris").exit_code == 0
    rows = read_csv(out)
    assert [r["route"] for r in rows[:2]] == ["cybercrime", "international-security"]
    assert "line 3: not valid JSON" in rows[2]["error"]

    event = tmp_path / "event.json"
    event.write_text('[{"Event": {"uuid": "u1", "info": "", "Attribute": [{"type": "ip-dst", "value": "192.0.2.1"}]}},'
                     ' {"Event": {"uuid": "u2", "info": "Ransomware gang hit a law firm and demanded bitcoin"}}]')
    assert run(event, "-o", out).exit_code == 0
    rows = read_csv(out)
    assert "no info and no text attributes" in rows[0]["error"] and rows[1]["route"] == "cybercrime"


_FIELD = st.text(alphabet=st.sampled_from(list('a ,"\r\n\t\'=é漢\udcff;')), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_FIELD, min_size=1, max_size=5), max_size=4))
def test_batch_csv_text_is_what_the_csv_module_writes(rows):
    """Batch formats its rows without csv.writer (several times faster); the bytes must not differ."""
    import io

    from classifier.batch import csv_text

    expected = io.StringIO()
    csv.writer(expected).writerows(rows)
    assert csv_text(rows) == expected.getvalue()


def test_stix_text_column_survives_an_invalid_first_object(tmp_path):
    bundle = json.loads((FIXTURES / "bundle.json").read_text())
    first = dict(next(o for o in bundle["objects"] if o["type"] == "incident"), created="yesterday")
    bundle["objects"] = [first] + [o for o in bundle["objects"] if o is not first and o.get("id") != first["id"]]
    src, out = tmp_path / "bundle.json", tmp_path / "out.csv"
    src.write_text(json.dumps(bundle))
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert "not valid STIX 2.1" in rows[0]["error"] and rows[0]["description"] == first["description"]
    assert all("description" in row for row in rows)


def test_json_lines_to_csv_rename_colliding_fields_as_csv_input_does(tmp_path):
    """A record's "route" and "route_input" must not become two columns named route_input."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    src.write_text('{"id": 1, "route": "A", "route_input": "B", "text": "A gang stole card numbers."}\n')
    result = run(src, "-o", out)
    assert result.exit_code == 0 and "note: input field renamed route -> route_input_" in result.output
    with open(out, newline="", encoding="utf-8") as handle:
        header, row = list(csv.reader(handle))
    assert len(header) == len(set(header))
    assert dict(zip(header, row))["route_input_"] == "A" and dict(zip(header, row))["route_input"] == "B"


def test_bundle_entries_that_are_no_objects_get_error_records(tmp_path):
    """They used to be passed over in silence, as objects of other types are."""
    bundle = json.loads((FIXTURES / "bundle.json").read_text())
    read_before = len(read_csv_of(tmp_path, bundle, "before"))
    bundle["objects"] = [5, None, *bundle["objects"]]
    rows = read_csv_of(tmp_path, bundle, "after")
    assert len(rows) == read_before + 2
    assert [r["error"] for r in rows[:2]] == ["objects[0]: not a JSON object (5)", "objects[1]: not a JSON object (null)"]


def read_csv_of(tmp_path, bundle, name):
    src, out = tmp_path / f"{name}.json", tmp_path / f"{name}.csv"
    src.write_text(json.dumps(bundle))
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    return read_csv(out)
