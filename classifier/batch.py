"""Batch classification of CSV files of any size, streamed in chunks.

Guarantees: every input column is kept; exactly one output row per input row, in input order; a
row that cannot be classified gets an ``error`` value instead of stopping the run; the output is
written to a temporary file and renamed into place at the end, so an interrupted run never
leaves a truncated output behind.
"""

from __future__ import annotations

import codecs
import csv
import gc
import gzip
import io
import os
import re
import signal
import sys
import tempfile
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, TextIO

from .result import not_classified, result_columns
from .text_model import compiled_kernel

csv.field_size_limit(2 ** 31 - 1)  # a 5 MB description is one field
DEFAULT_CHUNK_ROWS = 512
# Bytes that cannot be decoded as UTF-8 are carried through unchanged (surrogateescape), so a
# stray Latin-1 byte neither stops the run nor is lost; `--encoding latin-1` reads such a file
# properly. A UTF-16 file is recognised by its byte-order mark.
ENCODING, ERRORS = "utf-8-sig", "surrogateescape"
# OWASP CSV-injection guidance: a cell starting with one of these is read as a formula by
# spreadsheets, so it is written with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-](?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class BatchInputError(ValueError):
    """The input cannot be processed at all (no header, missing text column, unreadable file)."""


@dataclass
class BatchSummary:
    rows: int = 0
    errors: int = 0
    review: int = 0
    renamed_columns: tuple[str, ...] = ()
    delimiter: str = ","
    undecodable_lines: int = 0
    first_undecodable_line: int = 0
    encoding: str = ENCODING

    def note_reading(self, reader: "_CheckedReader", handle: TextIO) -> None:
        """What reading the input found: its delimiter and encoding, and lines with undecodable bytes."""
        self.delimiter, self.encoding = reader.delimiter, handle.encoding
        self.undecodable_lines, self.first_undecodable_line = reader.undecodable_lines()


GZIP_MAGIC = b"\x1f\x8b"


def open_bytes(path: str, directory_note: str = "is a directory, not a CSV file") -> BinaryIO:
    """The bytes of ``path`` ("-" = stdin), gunzipped when they start with gzip's magic bytes (a
    .csv.gz, or a gzip stream on stdin). Errors name the path."""
    if path == "-":
        return gunzipped(sys.stdin.buffer)
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise BatchInputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BatchInputError(f"{path}: {directory_note}") from None
    except PermissionError:
        raise BatchInputError(f"{path}: permission denied") from None
    if _starts_like_gzip(raw):
        raw.close()
        return io.BufferedReader(gzip.open(path, "rb"))   # which owns its file: closing it closes both
    return raw


def gunzipped(raw: BinaryIO) -> BinaryIO:
    """``raw``, read through gzip when it starts with gzip's magic bytes (stdin: not closed with it)."""
    return io.BufferedReader(gzip.GzipFile(fileobj=raw)) if _starts_like_gzip(raw) else raw


def _starts_like_gzip(raw: BinaryIO) -> bool:
    if hasattr(raw, "peek"):   # a file, or stdin
        return raw.peek(2)[:2] == GZIP_MAGIC
    if raw.seekable():   # an in-memory stream (a test runner's stdin)
        start = raw.tell()
        head = raw.read(2)
        raw.seek(start)
        return head == GZIP_MAGIC
    return False


def sniffed_encoding(raw: BinaryIO) -> str:
    """UTF-16 when ``raw`` starts with its byte-order mark, else UTF-8 (a byte-order mark skipped)."""
    start = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    return "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else ENCODING


def bom_skipping(encoding: str | None) -> str | None:
    """``encoding``, with UTF-8 read as "utf-8-sig": Excel's "CSV UTF-8" starts with a byte-order
    mark, which plain UTF-8 would keep in the first column's name ("\ufefftext")."""
    try:
        return "utf-8-sig" if encoding and codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:   # refused by name where the file is opened
        return encoding


def open_input(path: str, encoding: str | None = None) -> TextIO:
    """A text handle on ``path`` ("-" = stdin; see ``open_bytes``): UTF-8 (BOM skipped) unless a
    UTF-16 BOM or ``encoding`` says otherwise; undecodable bytes are kept (surrogateescape)."""
    raw = open_bytes(path)
    encoding = bom_skipping(encoding)
    if encoding is None:
        with undecodable_as_error(path, ENCODING):   # peeking reads: a gzip stream cut short fails here
            encoding = sniffed_encoding(raw)
    try:
        return io.TextIOWrapper(raw, encoding=encoding, errors=ERRORS, newline="")
    except LookupError:
        raise BatchInputError(f"unknown encoding {encoding!r}") from None


# Delimiters recognised in a header line when none is given: Excel writes ";" where the decimal
# separator is a comma, and tab-separated exports are common.
DELIMITERS = (",", ";", "\t", "|")


# What reading a stream that starts like gzip raises when it is cut short or corrupt.
BROKEN_GZIP = (gzip.BadGzipFile, EOFError)


def broken_gzip(source: str, exc: Exception) -> str:
    return f"{source}: not a readable gzip file ({str(exc) or 'cut short'})"


@contextmanager
def undecodable_as_error(source: str, encoding: str):
    """Turn the decoding errors that surrogateescape does not absorb (a UTF-16 file without a
    byte-order mark, one cut off mid-character), and a broken gzip stream, into an error naming
    the file."""
    try:
        yield
    except UnicodeError as exc:
        raise BatchInputError(f"{source}: cannot be read as {encoding} ({getattr(exc, 'reason', exc)}); "
                              f"name the file's encoding with --encoding") from None
    except BROKEN_GZIP as exc:
        raise BatchInputError(broken_gzip(source, exc)) from None


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that occurs most often in the header line (a comma when none does)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


ESCAPED_BYTE = re.compile("[\udc80-\udcff]")   # how surrogateescape keeps an undecodable byte


class _Lines:
    """The physical lines of an input, with the ones the csv reader took for the current row.

    The csv module, when it is not strict, reads a quote that is never closed to the end of the
    file and returns everything after it as one field: rows would silently merge. It asks for a
    line past the end of the file only then (a row is complete at its line end otherwise, also
    on a last line without a newline), so a row returned once the lines are ``exhausted`` is
    such a row; its lines are kept (``take``) to say how many were merged.
    """

    def __init__(self, handle: TextIO, first: str, source: str):
        self._lines = chain([first], handle) if first else handle
        self._source, self._encoding = source, handle.encoding
        self.current: list[str] = []
        self.exhausted = False
        # Lines holding bytes that are not valid in the encoding (kept as surrogate escapes),
        # and the first of them, so the run can say where to look.
        self.undecodable, self.first_undecodable = 0, 0

    def __iter__(self):
        with undecodable_as_error(self._source, self._encoding):
            yield from self._numbered()
        self.exhausted = True

    def _numbered(self):
        for number, line in enumerate(self._lines, start=1):
            # NUL bytes (binary junk) would stop the csv module; they become U+FFFD instead.
            line = line.replace("\0", "\ufffd")
            if not line.isascii() and ESCAPED_BYTE.search(line):
                self.undecodable += 1
                self.first_undecodable = self.first_undecodable or number
            self.current.append(line)
            yield line

    def take(self) -> list[str]:
        taken, self.current = self.current, []
        return taken


class _CheckedReader:
    """A csv reader that refuses rows whose lines show that rows merged (``check_row_lines``)."""

    def __init__(self, reader, lines: _Lines, source: str, delimiter: str):
        self._reader, self._lines, self._source, self._delimiter = reader, lines, source, delimiter
        # The line the row last returned starts on: a row number counts records (as a
        # spreadsheet does), which differs from the line once a quoted field spans lines.
        self.row_line = 0
        self._ahead: deque[tuple[list[str], int]] = deque()   # rows read, with their lines, not yet returned

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    @property
    def delimiter(self) -> str:
        return self._delimiter

    def undecodable_lines(self) -> tuple[int, int]:
        """(lines with bytes the encoding could not decode, the first such line)."""
        return self._lines.undecodable, self._lines.first_undecodable

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        if not self._ahead:
            self._ahead.append(self._read())
            # A blank line is a row (with an error: it has no fields) when a record follows it;
            # blank lines at the end of the file, as editors leave them, are no rows.
            while not self._ahead[-1][0]:
                try:
                    self._ahead.append(self._read())
                except StopIteration:
                    self._ahead.clear()
                    raise
        row, self.row_line = self._ahead.popleft()
        return row

    def _read(self) -> tuple[list[str], int]:
        start = self._reader.line_num + 1
        row = next(self._reader)
        check_row_lines(self._lines.take(), self._lines.exhausted, self._reader.line_num, self._source,
                        self._delimiter)
        return row, start


def check_row_lines(raw: list[str], exhausted: bool, last_line: int, source: str, delimiter: str) -> None:
    """Refuse a row whose lines show that rows merged: a quoted field still open at the end of
    the file, or a row over several lines that a strict reading rejects (a quote opened in one
    row and closed by the quote that opens a field of a later row). One-line rows are left to
    the csv module's lenient reading."""
    if len(raw) < 2:
        return
    start = last_line - len(raw) + 1
    if exhausted:
        raise BatchInputError(
            f"{source}: the row starting on line {start} holds a quoted field that is never closed, "
            f"so its {len(raw)} lines to the end of the file would be read as one row; close the quote "
            f"(a quote inside a quoted field is written twice: \"\")")
    try:
        list(csv.reader(raw, delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise BatchInputError(
            f"{source}: the row starting on line {start} runs over {len(raw)} lines and is not well-formed "
            f"CSV ({exc}): a quote opened there is closed in a later line, so rows would merge; close the "
            f"quote where its field ends (a quote inside a quoted field is written twice: \"\")") from None


def open_csv(handle: TextIO, source: str, text_column: str, delimiter: str | None = None):
    """A csv reader over ``handle``, its header, checked to hold ``text_column`` once, and the
    delimiter (``delimiter``, or the one the header line uses: see ``sniff_delimiter``)."""
    with undecodable_as_error(source, handle.encoding):
        first = handle.readline()
    if not first:
        raise BatchInputError(f"{source}: the file is empty (no header row)")
    hint = re.fullmatch(r"\s*sep=(.)\s*", first.lstrip("\ufeff"))
    if hint:   # Excel's delimiter hint line, which Excel itself hides
        raise BatchInputError(f"{source}: line 1 is Excel's delimiter hint {first.strip()!r}, not a header row; "
                              f"delete that line (the delimiter is found from the header, or give --delimiter)")
    delimiter = delimiter or sniff_delimiter(first)
    lines = _Lines(handle, first, source)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        columns = next(reader)
    except StopIteration:
        raise BatchInputError(f"{source}: the file is empty (no header row)") from None
    except csv.Error as exc:
        raise BatchInputError(f"{source}: line 1: {exc}") from None
    check_row_lines(lines.take(), lines.exhausted, reader.line_num, f"{source} (header)", delimiter)
    if not any(c.strip() for c in columns):
        raise BatchInputError(f"{source}: line 1 is blank; the header row (naming the {text_column!r} column) "
                              f"must be the first line")
    if text_column not in columns and columns and columns[0].lstrip().startswith(("{", "[")):
        # JSON read as CSV: stdin has no extension to tell the format by.
        raise BatchInputError(f"{source}: the first line is JSON, not a CSV header; give --input-format jsonl "
                              f"(one object a line) or json (an array of records); batch also reads stix, "
                              f"veris and misp")
    if text_column not in columns and any("\x00" in c or "\ufffd" in c for c in columns):
        # UTF-16 without a byte-order mark, read as UTF-8: a NUL beside every letter ("\x00i\x00d").
        read_as = "UTF-8" if handle.encoding.startswith("utf-8") else handle.encoding
        raise BatchInputError(f"{source}: the header is not readable as {read_as} (it holds NUL or "
                              f"replacement characters: {columns[0][:20]!r}); name the file's "
                              f"encoding with --encoding (utf-16-le or utf-16-be for UTF-16 without a "
                              f"byte-order mark)")
    if text_column not in columns:
        raise BatchInputError(f"{source}: column {text_column!r} not found; columns are: "
                              f"{', '.join(repr(c) for c in columns)} (choose one with --text-column, "
                              f"or the delimiter with --delimiter)")
    if columns.count(text_column) > 1:
        raise BatchInputError(f"{source}: column {text_column!r} appears {columns.count(text_column)} times in the header")
    return _CheckedReader(reader, lines, source, delimiter), columns, delimiter


def row_problem(row: list[str], number: int, width: int, text_at: int, text_column: str,
                line: int | None = None) -> str:
    """Why row ``number`` (starting on ``line`` of the file) cannot be classified, or "" when it can."""
    where = f"row {number}" if line in (None, number) else f"row {number} (line {line})"
    if len(row) != width:
        problem = f"{where}: has {len(row)} field{'' if len(row) == 1 else 's'}, the header has {width}"
        if len(row) > width:
            problem += "; extra fields: " + ", ".join(map(repr, row[width:]))
        elif len(row) <= text_at:
            problem += f", so no value for column {text_column!r}"
        return problem
    if not row[text_at].strip():
        return f"{where}: empty text in column {text_column!r}"
    return ""


def output_header(columns: list[str], details: bool = False) -> tuple[list[str], tuple[str, ...]]:
    """Input columns (renamed with an ``_input`` suffix where they collide with a result
    column, so nothing is overwritten) followed by the result columns (``result_columns``)."""
    added = result_columns(details)
    renamed, header = [], []
    for name in columns:
        if name in added:
            new = f"{name}_input"
            while new in columns or new in header:
                new += "_"
            renamed.append(f"{name} -> {new}")
            header.append(new)
        else:
            header.append(name)
    return header + list(added), tuple(renamed)


def classify_csv(classifier, source: str, destination: str, text_column: str = "text",
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, on_progress: Callable[[int], None] | None = None,
                 workers: int = 1, encoding: str | None = None, escape_formulas: bool = True,
                 delimiter: str | None = None, details: bool = False) -> BatchSummary:
    """Classify the ``text_column`` of CSV ``source`` and write ``destination`` ("-" = stdin/stdout).

    The input's delimiter is ``delimiter``, or the one its header line uses; the output is
    comma-separated. With ``details``, the columns of ``result.DETAIL_COLUMNS`` follow the others.

    With ``workers`` > 1, chunks are classified in that many forked processes while this one
    reads and writes; at most two chunks per worker are in flight, so memory stays flat, and
    results are written in input order.
    """
    handle = open_input(source, encoding)
    try:
        reader, columns, delimiter = open_csv(handle, source, text_column, delimiter)
        header, renamed = output_header(columns, details)
        summary = BatchSummary(renamed_columns=renamed)
        job = _ChunkJob(len(columns), columns.index(text_column), text_column, escape_formulas, details)
        with atomic_output(destination) as out:
            writer = csv.writer(out)  # RFC 4180: CRLF, and fields with CR or LF are quoted
            writer.writerow([escape_formula(h) for h in header] if escape_formulas else header)
            try:
                for text, rows, errors, review, size in _run(classifier, job, _numbered_chunks(reader, chunk_rows), workers):
                    out.write(text)
                    summary.rows += rows
                    summary.errors += errors
                    summary.review += review
                    if on_progress:
                        on_progress(size)
            except csv.Error as exc:
                raise BatchInputError(f"{source}: line {reader.line_num}: {exc}") from None
        summary.note_reading(reader, handle)
        return summary
    finally:
        if source == "-":
            handle.detach()
        else:
            handle.close()


def _numbered_chunks(reader: _CheckedReader, size: int) -> Iterator[tuple[int, list[list[str]], list[int]]]:
    """(row number of the chunk's first data row, rows, the line each row starts on); the header
    is row 1."""
    first, chunk, lines = 2, [], []
    for row in reader:
        chunk.append(row)
        lines.append(reader.row_line)
        if len(chunk) == size:
            yield first, chunk, lines
            first, chunk, lines = first + size, [], []
    if chunk:
        yield first, chunk, lines


@dataclass(frozen=True)
class _ChunkJob:
    width: int
    text_at: int
    text_column: str
    escape_formulas: bool = True
    details: bool = False

    def __call__(self, classifier, first_row: int, chunk: list[list[str]], lines: list[int]):
        texts, problems = [], []
        for offset, (row, line) in enumerate(zip(chunk, lines)):
            problem = row_problem(row, first_row + offset, self.width, self.text_at, self.text_column, line)
            texts.append("" if problem else row[self.text_at])
            problems.append(problem)
        out, errors, review = [], 0, 0
        added = result_columns(self.details)
        for row, values, problem in zip(chunk, classifier.classify_rows(texts, self.details), problems):
            if problem:
                values["error"] = problem
                values["explanation"] = not_classified(problem)
                errors += 1
            review += bool(values["review"])
            cells = (row + [""] * self.width)[:self.width] + [_cell(values[c]) for c in added]
            out.append([escape_formula(c) for c in cells] if self.escape_formulas else cells)
        size = sum(len(f) + 1 for row in chunk for f in row)
        # The chunk leaves as CSV text: one string crosses from a worker to the writer, not
        # thousands of cells, and the formatting work is done in parallel.
        return csv_text(out), len(out), errors, review, size


# The classifier a forked worker uses: set in the parent just before the pool forks, so workers
# share the loaded rules and model instead of loading or unpickling them again.
_WORKER_STATE: dict = {}


def _work(job: _ChunkJob, first_row: int, chunk, lines):
    return job(_WORKER_STATE["classifier"], first_row, chunk, lines)


def _run(classifier, job: _ChunkJob, chunks, workers: int):
    """Yield each chunk's results in input order, classifying in ``workers`` processes."""
    # A file of one chunk is classified here: starting workers (and loading the compiled text
    # scorer for them) would take longer than the chunk itself.
    chunks = iter(chunks)
    head = list(islice(chunks, 2))
    chunks = chain(head, chunks)
    with batch_gc():
        if workers <= 1 or len(head) < 2:
            yield from _run_here(classifier, job, chunks)
        else:
            yield from _run_forked(classifier, job, chunks, workers)


def _run_here(classifier, job: _ChunkJob, chunks):
    """``job`` over ``chunks`` in this process. A signal during the first chunk acts at once (it
    may be compiling the kernels, tens of seconds on a first run); from then on a first signal is
    acted on after the chunk in hand, as in ``_run_forked`` (see ``_SignalNotes``)."""
    signals = _SignalNotes()
    try:
        for first_row, chunk, lines in chunks:
            yield job(classifier, first_row, chunk, lines)
            signals.defer = True
            signals.stop_if_received()
    finally:
        signals.restore()


@contextmanager
def batch_gc():
    """The garbage collector as a batch run wants it, restored afterwards.

    The loaded rules and model live as long as the run: moving them out of the collector's sight
    spares every full collection a walk over them (about a tenth of the time per row), and in
    forked workers it keeps their pages shared. Classifying makes and drops a few dozen small
    objects per row, none of them in reference cycles: collecting the youngest generation every
    700 allocations only costs time.
    """
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _worker_start() -> None:
    """Signals are the parent's to act on. A terminal's Ctrl-C, `timeout` or a service stop signals
    the whole process group: a worker that died of it mid-write printed its traceback and could
    leave a queue's lock held, and the pool then waited on it for ever. The parent ends its
    workers itself (``_run_forked``); one whose parent is killed outright dies with it (Linux)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere a
    no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_forked(classifier, job: _ChunkJob, chunks, workers: int):
    """``job`` over ``chunks`` in ``workers`` forked processes, results in input order.

    Stopped early (an error, Ctrl-C, SIGTERM, a reader that went away), the chunks not yet begun
    are cancelled and the workers finish the few they hold (a fraction of a second each) and exit.
    They are not killed: one killed while writing its result leaves half a message in the pipe, and
    the parent would wait for the rest for ever (``multiprocessing.Pool.terminate`` did that).
    A process pool executor rather than ``multiprocessing.Pool``: it notices a worker that died."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORKER_STATE["classifier"] = classifier
    signals = _SignalNotes()
    executor = None
    try:
        # numba loads or compiles the text model's scorer and the rule layer once, here, not per
        # worker. A signal stops compiling at once (tens of seconds on a first run).
        compiled_kernel()
        classifier.engine.compiled()
        executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_worker_start)
        signals.defer = True
        signals.stop_if_received()
        pending: deque = deque()
        for first_row, chunk, lines in chunks:
            pending.append(executor.submit(_work, job, first_row, chunk, lines))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
            signals.stop_if_received()
        while pending:
            yield pending.popleft().result()
            signals.stop_if_received()
    finally:
        signals.restore()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        _WORKER_STATE.clear()


class _SignalNotes:
    """SIGINT and SIGTERM noted as they come, their handlers (KeyboardInterrupt, or the CLI's
    SystemExit) run where the exception cannot be lost.

    Why: Python runs a signal's handler between any two bytecodes, also inside an object's
    finaliser (llvmlite's, after numba compiled; the pool's own weak-reference callbacks), where
    the exception it raises is printed as "Exception ignored", with a traceback, and dropped. CI
    runs saw a Ctrl-C'd run go on to exit 0 once, and a traceback from llvmlite's ``__del__`` on
    SIGTERM once. So each signal is noted, and ``stop_if_received`` runs its handler again. Once
    ``defer`` is set (while chunks are classified), the first signal is only noted and acted on
    after the chunk in hand, a fraction of a second later; a second one acts at once.
    """

    def __init__(self):
        self.received: list = []   # (signal number, its handler), in order
        self.defer = False
        self._previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if not callable(handler):   # ignored, or the default (which ends the process outright)
                continue
            try:
                self._previous[signum] = signal.signal(signum, self._noting(handler))
            except ValueError:   # not the main thread: signals are the main thread's to handle
                break

    def _noting(self, handler):
        def noting(number, frame):
            self.received.append((number, handler))
            if not self.defer or len(self.received) > 1:
                handler(number, frame)
        return noting

    def stop_if_received(self) -> None:
        if self.received:
            number, handler = self.received[0]
            handler(number, None)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def csv_text(rows: list[list[str]]) -> str:
    """``rows`` as CSV text, exactly as ``csv.writer`` writes them (the excel dialect: commas,
    CRLF line ends, a field quoted when it holds a comma, a quote, CR or LF, quotes doubled).

    Several times faster than ``csv.writer`` on batch rows (4.4 against 17-26 µs a row of 1,200
    characters): the writer's C loop inspects every character, where this asks ``str``'s own
    search for the four that need quoting. tests/test_formats.py holds the two equal.
    """
    return "".join([",".join([_quoted(field) for field in row]) + "\r\n" if row != [""] else '""\r\n'
                    for row in rows])


def _quoted(field: str) -> str:
    if '"' in field:
        return '"' + field.replace('"', '""') + '"'
    if "," in field or "\n" in field or "\r" in field:
        return '"' + field + '"'
    return field


def escape_formula(cell: str) -> str:
    """The cell with a leading apostrophe when a spreadsheet would read it as a formula. A plain
    signed number ("-3.5", "+12", "-1e-3") is left alone: it runs nothing, and an apostrophe
    would turn a numeric column into text."""
    if not cell.startswith(FORMULA_STARTS) or _SIGNED_NUMBER.fullmatch(cell):
        return cell
    return "'" + cell


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _descriptor(destination: str) -> int | None:
    """The descriptor this process already has open that ``destination`` names ("-" and
    /dev/stdout: 1, /dev/stderr: 2, /dev/fd/N and /proc/self/fd/N: N), or None."""
    if destination in ("-", "/dev/stdout"):
        return 1
    if destination == "/dev/stderr":
        return 2
    named = re.fullmatch(r"/dev/fd/(\d+)|/proc/self/fd/(\d+)", destination)
    return int(named[1] or named[2]) if named else None


class atomic_output:
    """Write to a temporary file beside the destination; rename it into place on success only.

    A symlink is followed (the file it points to is replaced, the link kept). A destination that
    exists but is no regular file (a named pipe, /dev/null, a terminal), or that names one of the
    process's open descriptors (``_descriptor``), is written to directly: renaming over it would
    replace the device with a file, or the shell's redirection with a new file.
    """

    def __init__(self, destination: str):
        self.destination = destination
        self.tmp = self.descriptor = None

    def __enter__(self) -> TextIO:
        # Written through the descriptor, so that `-o /dev/stdout >> log.csv` appends as the shell
        # set it up instead of replacing the log.
        self.descriptor = _descriptor(self.destination)
        if self.descriptor is not None:
            try:
                binary = {1: sys.stdout, 2: sys.stderr}[self.descriptor].buffer if self.descriptor in (1, 2) \
                    else open(os.dup(self.descriptor), "wb")
            except OSError as error:
                raise BatchInputError(f"{self.destination}: cannot write there ({error.strerror or error})") from None
            self.handle = io.TextIOWrapper(binary, encoding="utf-8", errors=ERRORS, newline="", write_through=True)
            return self.handle
        given = Path(self.destination)
        if given.is_dir():
            raise BatchInputError(f"{self.destination}: is a directory")
        try:
            if given.exists() and not given.is_file():
                self.handle = open(given, "w", encoding="utf-8", errors=ERRORS, newline="")
                return self.handle
            target = Path(os.path.realpath(given))
            if not target.parent.exists():
                raise BatchInputError(f"{self.destination}: the directory {str(target.parent)!r} does not exist")
            fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        except OSError as error:
            raise BatchInputError(f"{self.destination}: cannot write there ({error.strerror or error})") from None
        self.target = target
        self.handle = open(fd, "w", encoding="utf-8", errors=ERRORS, newline="")
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.descriptor is not None:
            self.handle.flush()
            if self.descriptor in (1, 2):
                self.handle.detach()   # stdout and stderr stay open for the messages that follow
            else:
                self.handle.close()   # our duplicate of the descriptor
            return
        try:
            self.handle.close()   # flushes: a full disk fails here
        except OSError:
            if self.tmp is not None:
                os.unlink(self.tmp)
            raise
        if self.tmp is None:   # written in place (a special file)
            return
        if exc_type is None:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
            os.replace(self.tmp, self.target)
        else:
            os.unlink(self.tmp)
