"""Readers and writers for the CTI formats `cyberroute batch` speaks besides CSV.

Readers turn a file into records: (fields carried through, text to classify, error or None).
One record per input object, in input order; a bad object gives a record with an error, not a
failed run. Writers take (fields, Result) pairs.

Input formats: ``jsonl`` (one JSON object per line, text in --text-column), ``stix`` (a STIX 2.1
bundle: the description of each incident, report, campaign, intrusion-set and threat-actor),
``veris`` (a VERIS incident, a JSON list of them, a directory of them, or JSON lines: the
``summary``; actor varieties and motives are carried through), ``misp`` (a MISP event, or a list
of events: ``info`` plus the text attributes). Output formats: ``csv``, ``jsonl``, ``stix`` (a
bundle of ``note`` objects, one per classified object, pointing at it).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import Iterator, TextIO

from .batch import (BROKEN_GZIP, ESCAPED_BYTE, BatchInputError, bom_skipping, broken_gzip, gunzipped, open_bytes,
                    open_csv, open_input, output_header, row_problem, sniffed_encoding)
from .result import Result, not_classified, result_columns

INPUT_FORMATS = ("csv", "jsonl", "json", "stix", "veris", "misp")
OUTPUT_FORMATS = ("csv", "jsonl", "stix")
STIX_TYPES = ("incident", "report", "campaign", "intrusion-set", "threat-actor")
MISP_TEXT_TYPES = ("text", "comment", "other", "threat-actor", "campaign-name")
# Notes (and the incidents written for CSV or JSON-lines rows) get ids derived from the object
# they describe and its place in the input, so re-running on the same input gives the same ids.
NAMESPACE = uuid.UUID("6f1f6c2a-4f52-4c39-9d8a-3f4f1d3c9a10")


class FormatError(ValueError):
    """The file as a whole cannot be read in the format asked for."""


@dataclass
class Record:
    fields: dict
    text: str
    error: str | None = None
    source: dict = field(default_factory=dict)   # the original object (STIX), for writers
    # True when ``fields`` only says where an unreadable object was ({"line": 3}), not what it held.
    placeholder: bool = False
    # Where the record is in its file, as messages name it ("row 5", "line 3", "record 2"); "" for
    # formats whose objects have ids instead (STIX, VERIS, MISP).
    where: str = ""


# -- detection --------------------------------------------------------------------------------

# Files whose bytes the CSV reader would take for a header of junk.
UNREADABLE_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".parquet", ".feather", ".zip", ".bz2", ".xz", ".7z")


def detect_format(path: str, encoding: str | None = None) -> tuple[str, str]:
    """(format, why) from the file's extension and, for .json, its content (read in ``encoding``)."""
    if path == "-":
        return "csv", "stdin is read as CSV unless --input-format says otherwise"
    p = Path(path)
    if p.is_dir():
        return "veris", "a directory is read as VERIS incidents (*.json)"
    suffix = p.suffix.lower()
    if suffix == ".gz":   # read through gzip (batch.open_input, _open_text): the format is the inner name's
        suffix = Path(p.stem).suffix.lower()
    if suffix in UNREADABLE_SUFFIXES:
        raise FormatError(f"{path}: a {suffix} file cannot be read; save it as CSV (or JSON lines) first")
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv", f"extension {suffix}"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl", f"extension {suffix}"
    if suffix == ".json":
        data = _load_json(p, encoding)
        kind = _json_kind(data)
        if kind:
            return kind, f"extension .json, content looks like {'an array of records' if kind == 'json' else kind}"
        raise FormatError(f"{path}: a .json file that is not a STIX bundle, a MISP event, a VERIS incident or "
                          f"an array of records; give --input-format")
    return "csv", f"extension {suffix or '(none)'} (read as CSV)"


def _json_kind(data) -> str | None:
    if isinstance(data, dict) and data.get("type") == "bundle":
        return "stix"
    if isinstance(data, dict) and ("Event" in data or ("info" in data and "Attribute" in data)):
        return "misp"
    if isinstance(data, list) and data and isinstance(data[0], dict) and "Event" in data[0]:
        return "misp"
    if (isinstance(data, dict) and isinstance(data.get("response"), list) and data["response"]
            and isinstance(data["response"][0], dict) and "Event" in data["response"][0]):
        return "misp"   # as MISP's REST search answers
    candidates = data if isinstance(data, list) else [data]
    # VERIS by its structure (what happened, who did it), not an id: records of other kinds
    # have an incident_id too.
    if candidates and all(isinstance(c, dict) and ("summary" in c or "incident_id" in c) and
                          ("action" in c or "actor" in c) for c in candidates[:5]):
        return "veris"
    if isinstance(data, list) and (not data or isinstance(data[0], dict)):
        return "json"   # an array of records (one that is not an object gets an error record)
    return None


def _open_text(path, encoding: str | None, errors: str = "strict") -> TextIO:
    """A text handle on the file ``path`` (gunzipped when it starts with gzip's magic bytes) in
    ``encoding`` (default UTF-8, or UTF-16 by its byte-order mark); errors name it."""
    try:
        raw = open_bytes(str(path), "is a directory (only VERIS input reads a directory of incidents)")
    except BatchInputError as exc:
        raise FormatError(str(exc)) from None
    try:
        return io.TextIOWrapper(raw, encoding=bom_skipping(encoding) or sniffed_encoding(raw), errors=errors)
    except LookupError:
        raw.close()
        raise FormatError(f"unknown encoding {encoding!r}") from None


def _not_decodable(path, encoding: str | None, exc: UnicodeError) -> FormatError:
    where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
    return FormatError(f"{path}: not {encoding or 'UTF-8'} ({getattr(exc, 'reason', exc)}{where}); "
                       f"name the file's encoding with --encoding")


def parse_json(text: str):
    """``json.loads``, held to what JSON is. NaN and Infinity, which Python reads and writes but no
    other JSON reader does, are refused (ValueError, as json's own errors). A lone surrogate escape
    ("\\ud800" without its pair) is no character, and no UTF-8 output can hold it: it becomes U+FFFD."""
    try:
        value = json.loads(text, parse_constant=_not_a_json_value)
    except _NotAJsonValue as exc:
        # Where the constant stands, for the error's line and column (json does not say).
        found = re.search(rf"(?<![\w\"]){re.escape(exc.name)}(?![\w\"])", text)
        raise json.JSONDecodeError(f"{exc.name} is not a JSON value (write null, or the number in quotes)",
                                   text, found.start() if found else 0) from None
    return _whole_characters(value) if "\\u" in text else value


class _NotAJsonValue(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _not_a_json_value(name: str):
    raise _NotAJsonValue(name)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_characters(value):
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value) if not value.isascii() else value
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    if isinstance(value, dict):
        return {_whole_characters(key): _whole_characters(item) for key, item in value.items()}
    return value


def _load_json(path: Path, encoding: str | None = None):
    try:
        with _open_text(path, encoding) as handle:
            return parse_json(handle.read())
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeError as exc:
        raise _not_decodable(path, encoding, exc) from None
    except BROKEN_GZIP as exc:
        raise FormatError(broken_gzip(path, exc)) from None


# -- readers ----------------------------------------------------------------------------------

def read_records(path: str, fmt: str, text_column: str = "text", stdin: TextIO | None = None,
                 encoding: str | None = None, delimiter: str | None = None, reading=None) -> Iterator[Record]:
    """The records of ``path`` in format ``fmt``. ``reading`` (a ``batch.BatchSummary``), when
    given, learns the lines with undecodable bytes (CSV and JSON lines), and the delimiter and
    encoding of a CSV."""
    if fmt == "csv":
        yield from _read_csv(path, text_column, encoding, delimiter, reading)
        return
    if path == "-" and hasattr(stdin, "buffer"):   # read as a file is: gzip, a byte-order mark, the encoding
        stdin = io.TextIOWrapper(gunzipped(stdin.buffer), encoding=bom_skipping(encoding) or "utf-8-sig",
                                 errors="surrogateescape")
    if fmt == "jsonl":
        yield from _read_jsonl(path, text_column, stdin, encoding, reading)
    elif fmt == "json":
        yield from _read_json(path, text_column, stdin, encoding)
    elif fmt == "stix":
        yield from _read_stix(path, stdin, encoding)
    elif fmt == "veris":
        yield from _read_veris(path, stdin, encoding)
    elif fmt == "misp":
        yield from _read_misp(path, stdin, encoding)
    else:
        raise FormatError(f"unknown input format {fmt!r} (one of {', '.join(INPUT_FORMATS)})")


def _lines(path: str, stdin, encoding: str | None = None):
    try:
        if path == "-":
            yield from stdin
            return
        with _open_text(path, encoding, "surrogateescape") as handle:
            yield from handle
    except UnicodeError as exc:   # what surrogateescape does not absorb: UTF-16 without a BOM
        raise _not_decodable("stdin" if path == "-" else path, encoding, exc) from None
    except BROKEN_GZIP as exc:
        raise FormatError(broken_gzip(path, exc)) from None


def _whole_json(path: str, stdin, encoding: str | None = None):
    if path != "-":
        return _load_json(Path(path), encoding)
    try:
        return parse_json(stdin.read())
    except json.JSONDecodeError as exc:
        raise FormatError(f"stdin: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeError as exc:
        raise _not_decodable("stdin", encoding, exc) from None


def _read_csv(path, text_column, encoding=None, delimiter=None, reading=None):
    """CSV rows as records (for output formats other than CSV; CSV to CSV streams in batch.py),
    opened and checked exactly as batch.py does."""
    handle = open_input(path, encoding)
    try:
        reader, header, _ = open_csv(handle, path, text_column, delimiter)
        at = header.index(text_column)
        keys = _distinct(header)
        for number, row in enumerate(reader, start=2):
            problem = row_problem(row, number, len(header), at, text_column, reader.row_line)
            yield Record(dict(zip(keys, row)), "" if problem else row[at], problem or None, where=f"row {number}")
        if reading is not None:
            reading.note_reading(reader, handle)
    finally:
        if path == "-":
            handle.detach()
        else:
            handle.close()


def _distinct(names: list[str]) -> list[str]:
    """Column names made distinct as pandas makes them ("route", "route" -> "route", "route.1"),
    so that a record keeps every column of a header that repeats one."""
    seen: dict[str, int] = {}
    distinct = []
    for name in names:
        candidate, count = name, seen.get(name, 0)
        while candidate in seen:
            count += 1
            candidate = f"{name}.{count}"
        seen[name], seen[candidate] = count, 0
        distinct.append(candidate)
    return distinct


def _json_lines(path, stdin, encoding=None, reading=None):
    """(line number, object) per non-blank line; the object is a FormatError when the line is not JSON.
    ``reading``, when given, counts the lines holding bytes the encoding could not decode."""
    for number, line in enumerate(_lines(path, stdin, encoding), start=1):
        if reading is not None and not line.isascii() and ESCAPED_BYTE.search(line):
            reading.undecodable_lines += 1
            reading.first_undecodable_line = reading.first_undecodable_line or number
            reading.encoding = encoding or "utf-8"
        if line.strip():
            try:
                yield number, parse_json(line)
            except json.JSONDecodeError as exc:
                yield number, FormatError(f"line {number}: not valid JSON ({exc.msg})")


def _read_jsonl(path, text_column, stdin, encoding=None, reading=None):
    """One JSON object a line (JSON lines); an unreadable line is a record with an error."""
    lines = _json_lines(path, stdin, encoding, reading)
    yield from _object_records(((f"line {n}", {"line": n}, obj) for n, obj in lines), path, text_column)


def _read_json(path, text_column, stdin, encoding=None):
    """A JSON array of objects, one record each (an API's or pandas' "records" export)."""
    data = _whole_json(path, stdin, encoding)
    if not isinstance(data, list):
        raise FormatError(f"{'stdin' if path == '-' else path}: not a JSON array of records "
                          f"(for one object a line, give --input-format jsonl)")
    objects = ((f"record {i}", {"record": i}, obj) for i, obj in enumerate(data, start=1))
    yield from _object_records(objects, path, text_column)


# How many JSON records are read ahead for one that holds the text key.
LOOKAHEAD = 100


def _object_records(objects, path, text_column):
    """Records from (where, placeholder fields, object) triples: the object's text in
    ``text_column``, or an error naming where the object is.

    When none of the first LOOKAHEAD objects has the key, the whole input is refused, as a CSV
    header without the column is: the file most likely keeps its text under another key. One
    object without it among others that have it is a row error, wherever it stands."""
    objects = iter(objects)
    ahead = list(islice(objects, LOOKAHEAD))
    dicts = [obj for _, _, obj in ahead if isinstance(obj, dict)]
    if dicts and not any(text_column in obj for obj in dicts):
        where = next(w for w, _, obj in ahead if isinstance(obj, dict))
        some = f"none of the first {len(dicts)} records has" if len(dicts) > 1 else "the record has"
        raise FormatError(f"{'stdin' if path == '-' else path}: {some} a key {text_column!r}; the keys of "
                          f"{where} are: {', '.join(map(repr, dicts[0]))} (choose one with --text-column)")
    for where, place, obj in chain(ahead, objects):
        if isinstance(obj, FormatError):
            yield Record(place, "", str(obj), placeholder=True, where=where)
            continue
        if not isinstance(obj, dict):
            yield Record(place, "", f"{where}: not a JSON object", placeholder=True, where=where)
            continue
        text = obj.get(text_column)
        if text_column in obj and text is not None and not isinstance(text, str):
            shown = json.dumps(text)[:40]
            yield Record(obj, "", f"{where}: key {text_column!r} holds {type(text).__name__} {shown}, not text",
                         where=where)
            continue
        if not isinstance(text, str) or not text.strip():
            problem = "empty text" if text_column in obj and text is not None else "no text"
            yield Record(obj, "", f"{where}: {problem} in key {text_column!r}; keys are: {', '.join(obj)}",
                         where=where)
            continue
        yield Record(obj, text, where=where)


def _read_stix(path, stdin, encoding=None):
    import stix2
    from stix2.exceptions import STIXError

    bundle = _whole_json(path, stdin, encoding)
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise FormatError(f"{path}: not a STIX bundle (no top-level \"type\": \"bundle\")")
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        raise FormatError(f"{path}: the bundle has no \"objects\" list")
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            # No STIX object at all: an error record, where an object of another type (an
            # identity, a relationship) is passed over as not being an incident's description.
            yield Record({"id": "", "type": "", "name": "", "description": ""}, "",
                         f"objects[{index}]: not a JSON object ({json.dumps(obj)[:40]})", placeholder=True)
            continue
        if obj.get("type") not in STIX_TYPES:
            continue
        # The text classified, beside its route (set before validation, so that an invalid first
        # object does not leave the column out of a CSV header taken from the first record).
        fields = {"id": obj.get("id", ""), "type": obj.get("type", ""), "name": obj.get("name", ""),
                  "description": obj.get("description") if isinstance(obj.get("description"), str) else ""}
        try:
            stix2.parse(obj, allow_custom=True)
        except (STIXError, ValueError, TypeError) as exc:
            yield Record(fields, "", f"objects[{index}] ({obj.get('id', 'no id')}): not valid STIX 2.1: {exc}")
            continue
        text = fields["description"]
        if not text.strip():
            given = obj.get("description")
            problem = ("no description" if given is None or isinstance(given, str)
                       else f"description holds {type(given).__name__} {json.dumps(given)[:40]}, not text")
            yield Record(fields, "", f"objects[{index}] ({obj.get('id')}): {problem}", obj)
            continue
        yield Record(fields, text, None, obj)


def _veris_incidents(path, stdin, encoding=None):
    """(where, incident) pairs from a file, a list, a directory or JSON lines."""
    p = Path(path) if path != "-" else None
    if p is not None and p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise FormatError(f"{path}: is a directory with no VERIS incidents (*.json) in it")
        for file in files:
            try:
                yield file.name, _load_json(file, encoding)
            except FormatError as exc:
                yield file.name, exc
        return
    if p is not None and p.suffix.lower() in (".jsonl", ".ndjson"):
        for number, incident in _json_lines(path, stdin, encoding):
            yield f"line {number}", incident
        return
    data = _whole_json(path, stdin, encoding)
    for index, incident in enumerate(data if isinstance(data, list) else [data]):
        yield (f"incident {index + 1}" if isinstance(data, list) else Path(path).name), incident


def _read_veris(path, stdin, encoding=None):
    for where, incident in _veris_incidents(path, stdin, encoding):
        if isinstance(incident, Exception):
            yield Record({"source": where}, "", str(incident), placeholder=True)
            continue
        if not isinstance(incident, dict):
            yield Record({"source": where}, "", f"{where}: not a VERIS incident object", placeholder=True)
            continue
        actor = incident.get("actor") or {}
        varieties, motives = [], []
        for kind in ("external", "internal", "partner"):
            part = actor.get(kind) or {}
            varieties += [f"{kind}.{v}" for v in part.get("variety", [])]
            motives += [f"{kind}.{m}" for m in part.get("motive", [])]
        fields = {"incident_id": incident.get("incident_id", ""), "source": where,
                  "veris_actor": ";".join(varieties), "veris_motive": ";".join(motives)}
        summary = incident.get("summary")
        fields["summary"] = summary if isinstance(summary, str) else ""   # the text classified
        if not isinstance(summary, str) or not summary.strip():
            yield Record(fields, "", f"{where}: incident {fields['incident_id'] or '(no id)'} has no summary")
            continue
        yield Record(fields, summary)


def _read_misp(path, stdin, encoding=None):
    data = _whole_json(path, stdin, encoding)
    if isinstance(data, dict) and isinstance(data.get("response"), list):
        data = data["response"]
    events = data if isinstance(data, list) else [data]
    for index, wrapper in enumerate(events):
        event = wrapper.get("Event", wrapper) if isinstance(wrapper, dict) else None
        if not isinstance(event, dict):
            yield Record({"event": index + 1}, "", f"event {index + 1}: not a MISP event object", placeholder=True)
            continue
        fields = {"uuid": event.get("uuid", ""), "info": event.get("info", ""), "date": event.get("date", "")}
        attributes = list(event.get("Attribute", []) or [])
        for obj in event.get("Object", []) or []:
            attributes += obj.get("Attribute", []) or []
        texts = [a.get("value", "") for a in attributes
                 if isinstance(a, dict) and a.get("type") in MISP_TEXT_TYPES and isinstance(a.get("value"), str)]
        text = ". ".join(t.strip() for t in [event.get("info", "")] + texts if t and t.strip())
        fields["text"] = text   # the text classified: info and the text attributes
        if not text:
            yield Record(fields, "", f"event {index + 1} ({fields['uuid'] or 'no uuid'}): no info and no text attributes")
            continue
        yield Record(fields, text)


# -- writers ----------------------------------------------------------------------------------

class CsvWriter:
    """CSV out: the input fields, then the result columns.

    The header is ``keys`` when given (``all_keys`` of a file read beforehand). Without it (stdin,
    which cannot be read twice) it comes from the first record that is not a placeholder (an
    unreadable object gives only its line number); placeholder records before it wait, in order,
    until it comes or the input ends, and keys that only later records have get no column."""

    def __init__(self, out: TextIO, escape, keys: list[str] | None = None, details: bool = False):
        self.out, self.escape, self.writer = out, escape, csv.writer(out)
        self.details = details
        self.keys: list[str] | None = None
        self.renamed: tuple[str, ...] = ()   # "route -> route_input" for each input key renamed
        self.waiting: list[tuple[Record, Result]] = []
        # Keys left without a column, counted (key -> records) so the run can say so.
        self.dropped: dict[str, int] = {}
        if keys:
            self._header(keys)

    def write(self, record: Record, result: Result) -> None:
        if self.keys is None:
            if record.placeholder:
                self.waiting.append((record, result))
                return
            self._header(list(record.fields))
        self._row(record, result)

    def _header(self, keys: list[str]) -> None:
        self.keys = keys
        # Renamed as a CSV input's columns are (batch.output_header): a key "route" beside a key
        # "route_input" must not give two columns of one name.
        header, self.renamed = output_header(keys, self.details)
        self.writer.writerow([self.escape(c) for c in header])
        waiting, self.waiting = self.waiting, []
        for record, result in waiting:
            self._row(record, result)

    def _row(self, record: Record, result: Result) -> None:
        row = result.to_row(self.details)
        if record.error:
            row["error"] = record.error
        if not record.placeholder:
            for key in record.fields.keys() - set(self.keys):
                self.dropped[key] = self.dropped.get(key, 0) + 1
        values = [_text(record.fields.get(k, "")) for k in self.keys]
        values += ["true" if row[c] is True else "false" if row[c] is False else str(row[c])
                   for c in result_columns(self.details)]
        self.writer.writerow([self.escape(v) for v in values])

    def close(self) -> None:
        if self.keys is None:
            # Every record was a placeholder: the first one's fields (if any) make the header.
            self._header(list(self.waiting[0][0].fields) if self.waiting else [])


def valid_unicode(text: str) -> str:
    """``text`` with each byte that the input's encoding could not decode (kept by surrogateescape)
    as U+FFFD. JSON must be UTF-8: a CSV output carries such bytes through unchanged, a JSON or
    STIX output would be unreadable with them. One character stands for one, so evidence offsets
    still point at the same characters."""
    return ESCAPED_BYTE.sub("\ufffd", text) if not text.isascii() else text


def json_record(fields, data: dict) -> str:
    """One JSON-lines record of a result: the input under "input", then ``data``
    (``Result.to_dict()``), bytes the input's encoding could not decode as U+FFFD
    (``valid_unicode``). What `score --json` and batch's JSON-lines output write."""
    return valid_unicode(json.dumps({"input": fields, **data}, ensure_ascii=False))


def _text(value) -> str:
    # A JSON null is an empty cell, as a missing key is; lists and objects stay JSON.
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def all_keys(records) -> list[str] | None:
    """Every field name of ``records``, in the order they first appear (None when every record is
    a placeholder): the CSV header that leaves no JSON field out."""
    keys: dict[str, None] = {}
    for record in records:
        if not record.placeholder:
            keys.update(dict.fromkeys(record.fields))
    return list(keys) or None


class JsonlWriter:
    """One line per record, as `score --json` writes it (``json_record``): the input record's fields
    under "input", then the result."""

    def __init__(self, out: TextIO):
        self.out = out

    def write(self, record: Record, result: Result) -> None:
        data = result.to_dict()
        if record.error:
            data["error"] = record.error
        self.out.write(json_record(record.fields, data) + "\n")

    def close(self) -> None:
        pass


# The property of the incident written for a CSV or JSON-lines row that holds the row's columns.
INPUT_PROPERTY = "x_cyberroute_input"


class StixWriter:
    """A STIX 2.1 bundle of notes; non-STIX input rows also get an `incident` object to point at.

    Each object is checked by the stix2 library as it is made and written at once, so memory
    stays flat and time linear in the rows (serialising a whole stix2 ``Bundle`` at the end took
    time growing with the square of its size: 39 s for 800 rows).
    """

    def __init__(self, out: TextIO):
        import stix2

        self.stix2, self.out, self.records, self._written = stix2, out, 0, False
        self.out.write('{\n  "type": "bundle",\n  "id": "bundle--' + str(uuid.uuid4()) + '",\n  "objects": [')

    def _emit(self, obj) -> None:
        # stix2's own serialisation (property order, timestamps), indented to sit in the bundle.
        text = valid_unicode(json.dumps(json.loads(obj.serialize()), indent=2, ensure_ascii=False))
        self.out.write((",\n" if self._written else "\n") + _indented(text, 4))
        self._written = True

    def write(self, record: Record, result: Result) -> None:
        stix2 = self.stix2
        self.records += 1
        target = record.source.get("id") if record.source else None
        if not target:
            # The record's place in the input is part of its id: two identical rows are two
            # incidents, not one (a STIX consumer merges objects of one id).
            key = json.dumps([self.records, record.fields], sort_keys=True, default=str)
            target = f"incident--{uuid.uuid5(NAMESPACE, key)}"
            name = str(record.fields.get("name") or record.fields.get("id") or record.fields.get("incident_id")
                       or "incident")
            extra = {"description": record.text} if record.text else {}
            if record.fields:
                # The row's own columns (date, source, its id in another system), as JSON lines
                # output keeps them under "input": without them a note cannot be joined back to
                # its row. A custom property, named as STIX 2.1 asks (x_ prefix).
                extra[INPUT_PROPERTY] = record.fields
            self._emit(stix2.Incident(id=target, name=name, allow_custom=True, **extra))
        data = result.to_dict()
        content = json.dumps({k: data[k] for k in ("route", "intersection_reason", "criteria", "processes", "norms",
                                                   "explanation", "review")}, ensure_ascii=False)
        note = stix2.Note(
            id=f"note--{uuid.uuid5(NAMESPACE, json.dumps([self.records, target]))}",
            abstract=f"cyberroute: {result.route}" + (f" ({result.intersection_reason})" if result.intersection_reason else ""),
            content=(record.error + "\n" if record.error else "") + result.explanation + "\n" + content,
            object_refs=[target], confidence=int(round(result.confidence * 100)),
            authors=["cyberroute"], allow_custom=True,
        )
        self._emit(note)

    def close(self) -> None:
        self.out.write(("\n  ]" if self._written else "]") + "\n}\n")


def _indented(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in text.splitlines())


def make_writer(fmt: str, out: TextIO, escape, keys: list[str] | None = None, details: bool = False):
    """The writer of output format ``fmt``; ``details`` adds columns to CSV (JSON lines and STIX
    notes hold every field of a result already)."""
    if fmt == "csv":
        return CsvWriter(out, escape, keys, details)
    if fmt == "jsonl":
        return JsonlWriter(out)
    if fmt == "stix":
        return StixWriter(out)
    raise FormatError(f"unknown output format {fmt!r} (one of {', '.join(OUTPUT_FORMATS)})")


def classify_records(classifier, records, writer, chunk: int = 256) -> tuple[int, int, int]:
    """Classify records in chunks and write them in order; (rows, errors, review)."""
    rows = errors = review = 0
    batch: list[Record] = []

    def flush():
        nonlocal rows, errors, review
        results = classifier.classify_many([r.text if not r.error else "" for r in batch])
        for record, result in zip(batch, results):
            if record.error:
                result = replace(result, explanation=not_classified(record.error))
            writer.write(record, result)
            rows += 1
            errors += bool(record.error)
            review += bool(result.review)
        batch.clear()

    for record in records:
        batch.append(record)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    writer.close()
    return rows, errors, review
