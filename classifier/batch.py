"""Batch classification of CSV files of any size, streamed in chunks.

Guarantees: every input column is kept; exactly one output row per input row, in input order; a
row that cannot be classified gets an ``error`` value instead of stopping the run; the output is
written to a temporary file and renamed into place at the end, so an interrupted run never
leaves a truncated output behind.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TextIO

from .result import CSV_COLUMNS

csv.field_size_limit(2 ** 31 - 1)  # a 5 MB description is one field
DEFAULT_CHUNK_ROWS = 512
# Bytes that cannot be decoded as UTF-8 are carried through unchanged (surrogateescape), so a
# stray Latin-1 byte neither stops the run nor is lost.
ENCODING, ERRORS = "utf-8-sig", "surrogateescape"


class BatchInputError(ValueError):
    """The input cannot be processed at all (no header, missing text column, unreadable file)."""


@dataclass
class BatchSummary:
    rows: int = 0
    errors: int = 0
    review: int = 0
    renamed_columns: tuple[str, ...] = ()


def _open_input(path: str) -> TextIO:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=ENCODING, errors=ERRORS, newline="")
    try:
        return open(path, encoding=ENCODING, errors=ERRORS, newline="")
    except FileNotFoundError:
        raise BatchInputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BatchInputError(f"{path}: is a directory, not a CSV file") from None
    except PermissionError:
        raise BatchInputError(f"{path}: permission denied") from None


def _chunks(reader, size: int) -> Iterator[list[list[str]]]:
    chunk = []
    for row in reader:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def output_header(columns: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Input columns (renamed with an ``_input`` suffix where they collide with a result
    column, so nothing is overwritten) followed by the result columns."""
    renamed, header = [], []
    for name in columns:
        if name in CSV_COLUMNS:
            new = f"{name}_input"
            while new in columns or new in header:
                new += "_"
            renamed.append(f"{name} -> {new}")
            header.append(new)
        else:
            header.append(name)
    return header + list(CSV_COLUMNS), tuple(renamed)


def classify_csv(classifier, source: str, destination: str, text_column: str = "text",
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, on_progress: Callable[[int], None] | None = None) -> BatchSummary:
    """Classify the ``text_column`` of CSV ``source`` and write ``destination`` ("-" = stdin/stdout)."""
    handle = _open_input(source)
    try:
        reader = csv.reader(handle)
        try:
            columns = next(reader)
        except StopIteration:
            raise BatchInputError(f"{source}: the file is empty (no header row)") from None
        except csv.Error as exc:
            raise BatchInputError(f"{source}: line 1: {exc}") from None
        if text_column not in columns:
            raise BatchInputError(f"{source}: column {text_column!r} not found; columns are: "
                                  f"{', '.join(repr(c) for c in columns)} (choose one with --text-column)")
        if columns.count(text_column) > 1:
            raise BatchInputError(f"{source}: column {text_column!r} appears {columns.count(text_column)} times in the header")
        header, renamed = output_header(columns)
        summary = BatchSummary(renamed_columns=renamed)
        with _atomic_output(destination) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            text_at = columns.index(text_column)
            line = 1
            try:
                for chunk in _chunks(reader, chunk_rows):
                    rows = _classify_chunk(classifier, chunk, columns, text_at, text_column, line, summary)
                    line = reader.line_num
                    writer.writerows(rows)
                    if on_progress:
                        on_progress(sum(len(f) + 1 for row in chunk for f in row))
            except csv.Error as exc:
                raise BatchInputError(f"{source}: line {reader.line_num}: {exc}") from None
        return summary
    finally:
        if source != "-":
            handle.close()


def _classify_chunk(classifier, chunk, columns, text_at, text_column, first_line, summary) -> list[list]:
    width = len(columns)
    texts, problems = [], []
    for offset, row in enumerate(chunk):
        problem = ""
        if len(row) != width:
            problem = f"row {summary.rows + offset + 2}: has {len(row)} fields, the header has {width}"
            if len(row) > width:
                problem += f"; extra fields: {row[width:]!r}"
        text = row[text_at] if len(row) > text_at else ""
        if not problem and not text.strip():
            problem = f"empty text in column {text_column!r}"
        texts.append("" if problem else text)
        problems.append(problem)
    results = classifier.classify_many(texts)
    out = []
    for row, result, problem in zip(chunk, results, problems):
        fields = (row + [""] * width)[:width]
        values = result.to_row()
        if problem:
            values["error"] = problem
            summary.errors += 1
        summary.review += bool(values["review"])
        out.append(fields + [_cell(values[c]) for c in CSV_COLUMNS])
    summary.rows += len(chunk)
    return out


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _atomic_output:
    """Write to a temporary file beside the destination; rename it into place on success only."""

    def __init__(self, destination: str):
        self.destination = destination

    def __enter__(self) -> TextIO:
        if self.destination == "-":
            self.handle = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors=ERRORS, newline="",
                                           write_through=True)
            return self.handle
        target = Path(self.destination)
        if not target.parent.exists():
            raise BatchInputError(f"{self.destination}: the directory {str(target.parent)!r} does not exist")
        if target.is_dir():
            raise BatchInputError(f"{self.destination}: is a directory")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        self.handle = open(fd, "w", encoding="utf-8", errors=ERRORS, newline="")
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.destination == "-":
            self.handle.flush()
            self.handle.detach()
            return
        self.handle.close()
        if exc_type is None:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
            os.replace(self.tmp, self.destination)
        else:
            os.unlink(self.tmp)
