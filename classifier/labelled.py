"""Labelled files, read for `train`, `evaluate` and `rules`: a CSV, JSON-lines or JSON-array file
of descriptions (with a route label, for the first two) as a DataFrame of strings.

They are read as `batch` reads its input (formats.read_records): the delimiter from the header
line, UTF-8 unless a byte-order mark or the encoding given says otherwise, gzip by its magic
bytes. So a file an analyst can classify can also be evaluated and trained on, whatever
spreadsheet saved it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from .batch import BatchInputError, BatchSummary, open_input
from .formats import FormatError, read_records

LABELLED_FORMATS = ("csv", "jsonl", "json")


class LabelledFileError(ValueError):
    """A labelled file cannot be read as a whole (not found, no such column, not the format)."""


def read_frame(path: Path | str, text_column: str = "text", label_column: str | None = None,
               encoding: str | None = None, delimiter: str | None = None,
               input_format: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The records of ``path`` ("-" = stdin) as a DataFrame of strings, and the problems of the
    records left out.

    Parameters
    ----------
    path : path or "-"
        A CSV, JSON-lines or JSON-array file, possibly gzipped.
    text_column, label_column : str
        Columns the file must have (``label_column`` None: no label needed).
    encoding, delimiter : str, optional
        As `batch` takes them (default: told by the file).
    input_format : {"csv", "jsonl", "json"}, optional
        Default: JSON lines for .jsonl and .ndjson, an array or JSON lines for .json by its first
        line, else CSV (stdin too).

    Returns
    -------
    frame : DataFrame
        One row per readable record, in file order, every value a string ("" for a key some
        JSON records lack; lists and numbers as JSON). ``frame.attrs["where"]`` names each row's
        place in the file, as `batch` names it ("row 52", the header being row 1; "line 7");
        ``frame.attrs["reading"]`` (a ``batch.BatchSummary``) counts the lines holding bytes the
        encoding could not decode (CSV and JSON lines).
    problems : list of str
        Why each record was left out (too many or too few fields, not JSON, no text), naming its
        row or line; empty when every record was read.

    Raises
    ------
    LabelledFileError
        The file is missing, unreadable as a whole, or lacks ``label_column``.
    """
    name = str(path)
    if name != "-" and not Path(name).exists():
        raise LabelledFileError(f"{name}: file not found")
    rows, wheres, problems = [], [], []
    reading = BatchSummary()   # learns the lines with bytes the encoding cannot decode
    try:
        fmt = input_format or labelled_format(name)
        stdin = sys.stdin if name == "-" else None
        for record in read_records(name, fmt, text_column, stdin, encoding, delimiter, reading):
            if record.error:
                problems.append(record.error)
            else:
                rows.append({key: _as_cell(value) for key, value in record.fields.items()})
                wheres.append(record.where)
    except (FormatError, BatchInputError) as exc:
        raise LabelledFileError(str(exc)) from None
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=[c for c in (text_column, label_column) if c])
    frame = frame.fillna("")   # keys that some JSON records lack
    # Where each row is in the file ("row 52", counting the header as batch does; "line 7"), for
    # messages about a row: the frame's position skips the rows left out.
    frame.attrs["where"] = wheres
    frame.attrs["reading"] = reading
    if label_column and label_column not in frame.columns:
        raise LabelledFileError(f"{name}: column {label_column!r} not found; columns are: "
                                f"{', '.join(map(repr, map(str, frame.columns)))} (choose one with --label-column)")
    return frame, problems


# A yes/no column written with JSON booleans (read as the strings "true" and "false") or a
# spreadsheet's TRUE/FALSE: the answers the vocabulary writes as yes and no.
BOOLEAN_ANSWERS = {"true": "yes", "false": "no"}


def normalised(values: pd.Series, yes_no: bool = False) -> pd.Series:
    """Labels as the vocabularies write them: "Intersection", " State " mean intersection, state;
    with ``yes_no`` (a column whose values are yes and no), true and false mean yes and no."""
    values = values.fillna("").astype(str).str.strip().str.lower()
    return values.replace(BOOLEAN_ANSWERS) if yes_no else values


def labelled_format(path: str) -> str:
    """The format of a labelled file told by its name, and for .json by its first non-blank line:
    "json" for an array, "jsonl" for one object a line. One object over several lines (a STIX
    bundle, a MISP event) is refused by name."""
    suffix = Path(path.removesuffix(".gz")).suffix.lower()
    if path == "-" or suffix not in (".jsonl", ".ndjson", ".json"):
        return "csv"
    if suffix != ".json":
        return "jsonl"
    with open_input(path) as handle:
        line = next((line for line in handle if line.strip()), "")
    first = line.lstrip("\ufeff \t\r\n")[:1]
    if first == "[":
        return "json"
    if first == "{":
        try:
            json.loads(line)
        except ValueError:
            raise LabelledFileError(f"{path}: one JSON object over several lines (a STIX bundle, a MISP event?), "
                                    f"not JSON lines; give CSV, JSON lines or a JSON array of records") from None
    return "jsonl"


def _as_cell(value) -> str:
    """A JSON value as the string a CSV cell would hold."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
