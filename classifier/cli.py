"""The command line: `cyberroute score`, `batch`, `priors`, `train`, `evaluate`, `rules check`,
`rules compare`.

Exit codes: 0 success; 1 the input, a rule file or the model could not be used (the message says
which file, row and column); 2 the command line itself is wrong (click's usage errors).
"""

from __future__ import annotations

import codecs
import json
import os
import shlex
import signal
import sys
import warnings
from pathlib import Path

import click

RULES_OPTION = click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                            envvar="CYBERROUTE_RULES",
                            help="Rules directory (default: $CYBERROUTE_RULES, else the packaged rules/).")
# Output names whose format batch cannot write (it writes CSV, JSON lines and STIX, uncompressed).
UNWRITTEN_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".parquet", ".feather", ".gz", ".bz2", ".xz", ".zip")
MODEL_OPTION = click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
                            envvar="CYBERROUTE_MODEL",
                            help="Model directory (default: $CYBERROUTE_MODEL, else the shipped model).")
PRIORS_OPTION = click.option("--priors", "priors_spec", default=None, metavar="SHARES",
                             help="Route shares of the reporting classified, when they differ from the training "
                                  "corpus's: cybercrime=S,international-security=S,intersection=S (normalised). "
                                  "`cyberroute priors FILE` estimates them.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _classifier(rules_dir, model_dir, priors_spec: str | None = None):
    from .api import Classifier, RulesChangedWarning
    from .model_store import ModelFileError
    from .ruleset import RuleFileError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RulesChangedWarning)
            classifier = Classifier(rules=rules_dir, model=model_dir)
    except (RuleFileError, ModelFileError) as exc:
        _fail(str(exc) + _from_environment())
    for warning in caught:
        if issubclass(warning.category, RulesChangedWarning):
            click.echo(f"note: {warning.message}", err=True)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return _with_priors(classifier, priors_spec)


def _from_environment() -> str:
    """What an error about the rules or model directory should add when the directory came from
    an environment variable (" (set by $CYBERROUTE_MODEL)"), or "": a variable set long ago is
    the last place a user looks."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ""
    names = {"rules_dir": "CYBERROUTE_RULES", "model_dir": "CYBERROUTE_MODEL"}
    told = [f"${variable}" for param, variable in names.items()
            if ctx.get_parameter_source(param) == click.core.ParameterSource.ENVIRONMENT]
    return f" (set by {' and '.join(told)})" if told else ""


def _with_priors(classifier, priors_spec: str | None):
    """``classifier`` re-weighted to the route shares of ``--priors`` (refused with the reason)."""
    from .priors import PriorsError, parse_shares

    if priors_spec is None:
        return classifier
    try:
        priors = parse_shares(priors_spec, classifier.model.classes)
    except PriorsError as exc:   # a mistyped option: a usage error (exit code 2)
        raise click.BadParameter(str(exc), param_hint="'--priors'") from None
    try:
        classifier.priors = priors   # checked and normalised by the setter
        classifier.training_shares   # a model without the counts is refused now, not mid-run
    except PriorsError as exc:
        _fail(f"--priors: {exc}")
    return classifier


# The CSV delimiters an option may name ("tab" for the character no shell passes easily).
DELIMITER_CHOICE = click.Choice([",", ";", "tab", "|"])


def _tab_as_character(ctx, param, value: str | None) -> str | None:
    return "\t" if value == "tab" else value


def _known_encoding(ctx, param, value: str | None) -> str | None:
    """An encoding Python knows, or a usage error naming the option (not a failure mid-read)."""
    if value is not None:
        try:
            codecs.lookup(value)
        except LookupError:
            raise click.BadParameter(f"{value!r} is not an encoding Python knows (e.g. utf-8, cp1252, latin-1, "
                                     f"utf-16)") from None
    return value


# The options of every command that reads a file of records, worded once.
ENCODING_OPTION = click.option("--encoding", default=None, callback=_known_encoding,
                               help="Input encoding (default: UTF-8, or UTF-16 by its byte-order mark).")
DELIMITER_OPTION = click.option("--delimiter", default=None, type=DELIMITER_CHOICE, callback=_tab_as_character,
                                metavar="{, ; tab |}", help="CSV input delimiter (default: the one the header "
                                                            "line uses).")
TEXT_COLUMN_OPTION = click.option("--text-column", default="text", show_default=True,
                                  help="Column (or JSON key) holding the description.")
LABELLED_FORMAT_OPTION = click.option(
    "--input-format", type=click.Choice(["csv", "jsonl", "json"]), default=None,
    help="Input format (default: JSON lines for .jsonl and .ndjson, a JSON array of records or JSON lines for "
         ".json by its first character, else CSV; stdin is CSV).")


class _Commands(click.Group):
    """The command group, exiting 130 on Ctrl-C as shells expect of an interrupted program (click
    exits 1, the code the README gives to input that could not be used)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Aborted!", err=True)
            ctx.exit(128 + signal.SIGINT)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cyberroute")
def main():
    """Route cyber-incident descriptions to criminal justice, international security, or both."""
    # A plain `kill` (SIGTERM) ends the process as Ctrl-C does, through the `with` blocks that
    # remove a half-written output or model file; by default Python would stop without them.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


@main.command()
@click.argument("texts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per text (JSON lines).")
@click.option("--whole", is_flag=True, help="Read all of stdin as one description (default: one per line).")
@PRIORS_OPTION
@RULES_OPTION
@MODEL_OPTION
def score(texts, as_json, whole, priors_spec, rules_dir, model_dir):
    """Score descriptions given as TEXT arguments, or read from stdin when there are none (or "-").

    From stdin, one description per line, each result printed as soon as its line is read (so
    `tail -f feed.txt | cyberroute score --json` follows a feed); lines that arrive together are
    classified together.

    \b
    cyberroute score "Spies tied to a foreign intelligence service read a ministry's email."
    echo "A gang encrypted a dental chain's records." | cyberroute score --json
    """
    if texts in ((), ("-",)):
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("give a description as an argument, or pipe descriptions on stdin")
        batches = _stdin_batches(sys.stdin, whole)
    else:
        if "-" in texts:
            raise click.UsageError('"-" (read stdin) cannot stand beside descriptions given as arguments')
        if whole:
            raise click.UsageError("--whole reads stdin as one description; it cannot go with descriptions "
                                   "given as arguments (quote a description to make it one argument)")
        batches = iter([[(None, text) for text in texts]])
        for text in texts:
            # A file named where a description goes is most likely meant for batch.
            if len(text) < 4096 and "\n" not in text and os.path.isfile(text):
                click.echo(f"note: {text!r} is the name of a file; score classifies the words given "
                           f"(here the name). To classify the records of a file: cyberroute batch {text} -o OUT",
                           err=True)
    from .formats import json_record

    classifier = None
    printed = 0
    for batch in batches:
        if classifier is None:   # loaded once the first line has come
            classifier = _classifier(rules_dir, model_dir, priors_spec)
        for (line, text), result in zip(batch, classifier.classify_many([text for _, text in batch])):
            if as_json:
                # The input goes with the record, as in batch's JSON lines: the evidence offsets
                # point into "text", and "line" (of stdin, blank lines counted) joins the record
                # to its line, since blank lines give no record.
                source = {"text": text} if line is None else {"line": line, "text": text}
                click.echo(json_record(source, result.to_dict()))
            else:
                click.echo(("\n" if printed else "") + str(result))
            printed += 1
        sys.stdout.flush()
    if not printed:
        _fail("stdin held no description")


# Lines from stdin classified at once, at most: enough for the compiled kernels, small enough to
# print a first result soon.
STDIN_BATCH = 512


def _stdin_batches(stream, whole: bool):
    """Non-blank stdin lines (byte-order mark dropped) in batches: whatever has arrived when the
    pipe has nothing more to give right now, or STDIN_BATCH lines, each as (its line number,
    counting from 1 and blank lines included, the line). With ``whole``, all of stdin as one
    description, numbered None (none if it is blank)."""
    import select

    try:
        fd = stream.fileno()
        select.select([fd], [], [], 0)
    except (AttributeError, OSError, ValueError):   # no file descriptor (a test runner's stdin)
        fd = None
    if whole or fd is None:
        data = stream.read().removeprefix("\ufeff")
        lines = [(None, data)] if whole else list(enumerate(data.splitlines(), 1))
        lines = [(number, line) for number, line in lines if line.strip()]
        for start in range(0, len(lines), STDIN_BATCH):
            yield lines[start:start + STDIN_BATCH]
        return
    # Decoded as it comes (a character split between two reads waits for its other bytes) and cut
    # into lines as str.splitlines cuts them, as the read-all path above does.
    decoder = codecs.getincrementaldecoder(stream.encoding or "utf-8")("surrogateescape")
    pending, partial, lines_read = [], [], 0   # lines to classify; the pieces of the line not yet ended

    def take(line: str) -> None:
        nonlocal lines_read
        line = line.removeprefix("\ufeff") if lines_read == 0 else line
        lines_read += 1
        if line.strip():
            pending.append((lines_read, line))

    while True:
        # Wait for input while no line waits; once lines wait, take only what has already come.
        if not select.select([fd], [], [], 0 if pending else None)[0]:
            yield pending
            pending = []
            continue
        chunk = os.read(fd, 1 << 16)
        text = decoder.decode(chunk, final=not chunk)
        for piece in text.splitlines(keepends=True):
            body = piece.splitlines()[0]
            if body == piece:   # no line break yet: the line goes on in the next read
                partial.append(piece)
                continue
            take("".join(partial) + body)
            partial = []
        if not chunk:   # end of input; the last line may lack its line break
            if partial:
                take("".join(partial))
            if pending:
                yield pending
            return
        if len(pending) >= STDIN_BATCH:
            yield pending
            pending = []


@main.command()
@click.argument("input_path", metavar="INPUT", type=str)
@click.option("-o", "--output", "output_path", required=True, type=str,
              help="Output file (CSV, JSON lines or STIX: see --output-format), or - for stdout.")
@TEXT_COLUMN_OPTION
@click.option("--delimiter", default=None, type=DELIMITER_CHOICE, callback=_tab_as_character, metavar="{, ; tab |}",
              help="CSV input delimiter (default: the one the header line uses; output is always comma-separated).")
@click.option("--chunk-size", default=512, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows classified together.")
@click.option("--workers", default=0, type=click.IntRange(0, 64),
              help="Processes classifying in parallel (default 0: one per core, at most 4).")
@ENCODING_OPTION
@click.option("--escape-formulas/--no-escape-formulas", default=True, show_default=True,
              help="Prefix cells starting with = + - @ tab or CR (but not plain numbers such as -3.5) with an "
                   "apostrophe, so spreadsheets do not run them.")
@click.option("--input-format", type=click.Choice(["csv", "jsonl", "json", "stix", "veris", "misp"]), default=None,
              help="Input format (default: from the extension; for .json, from the content).")
@click.option("--output-format", type=click.Choice(["csv", "jsonl", "stix"]), default=None,
              help="Output format (default: from the extension: .jsonl, .json = STIX bundle, else CSV; "
                   "on stdout (-o -), CSV for CSV input, else JSON lines).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@click.option("--details", is_flag=True,
              help="CSV output: also add the columns sponsor (the State the rules name), rule_route, model_route, "
                   "rule_id, norms and a probability per route (probability_cybercrime, ...). JSON lines and "
                   "STIX hold them always.")
@PRIORS_OPTION
@RULES_OPTION
@MODEL_OPTION
def batch(input_path, output_path, text_column, delimiter, chunk_size, workers, encoding, escape_formulas, input_format,
          output_format, progress, details, priors_spec, rules_dir, model_dir):
    """Classify every record of INPUT (a file, a VERIS directory, or - for stdin) and write OUTPUT.

    CSV, JSON lines, STIX 2.1 bundles, VERIS incidents and MISP events in; CSV, JSON lines or a
    STIX bundle of notes out. Every CSV and JSON-lines field is kept (from STIX, VERIS and MISP:
    the ids, names and the text classified; from JSON lines on stdin into CSV, the fields of the
    first record) and the result fields are added; one
    output record per input record, in order. Records that cannot be classified get a message in
    the `error` field.
    """
    import os

    from .batch import BatchInputError, classify_csv

    if "-" not in (input_path, output_path) and Path(output_path).exists() and Path(output_path).resolve() == Path(input_path).resolve():
        _fail(f"{output_path}: the output would replace the input; write to another file")
    input_format = _input_format(input_path, input_format, encoding)
    output_format_chosen = output_format is None
    if output_format is None:
        suffix = Path(output_path).suffix.lower() if output_path != "-" else ""
        if suffix in UNWRITTEN_SUFFIXES:
            # CSV bytes in a file named .xlsx or .gz would not open in the program its name promises.
            _fail(f"{output_path}: {suffix} is not written here; write .csv (spreadsheets open it), "
                  f".jsonl or .json (STIX), uncompressed, or name the format with --output-format")
        if output_path == "-":
            # On stdout the records go on as they came: CSV stays CSV, anything else is JSON lines.
            output_format = "csv" if input_format == "csv" else "jsonl"
        else:
            output_format = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "stix"}.get(suffix, "csv")
    # Said once the output is written, so that a refused input is not preceded by it.
    chosen_format = (f"writing {'stdout' if output_path == '-' else output_path} as {output_format}"
                     if output_format_chosen else None)
    classifier = _classifier(rules_dir, model_dir, priors_spec)
    if (input_format, output_format) != ("csv", "csv"):
        _batch_records(classifier, input_path, output_path, input_format, output_format, text_column,
                       chunk_size, escape_formulas, encoding, delimiter, chosen_format, details)
        return
    workers = workers or min(os.cpu_count() or 1, 4)
    show = progress if progress is not None else sys.stderr.isatty()
    size = Path(input_path).stat().st_size if show and input_path != "-" and Path(input_path).is_file() else 0
    try:
        if show and size:
            with click.progressbar(length=size, label="classifying", file=sys.stderr) as bar:
                summary = classify_csv(classifier, input_path, output_path, text_column, chunk_size, bar.update,
                                       workers, encoding, escape_formulas, delimiter, details)
        else:
            summary = classify_csv(classifier, input_path, output_path, text_column, chunk_size, None,
                                   workers, encoding, escape_formulas, delimiter, details)
    except BatchInputError as exc:
        _fail(str(exc))
    except BrokenPipeError:
        raise
    except OSError as exc:   # a full disk, /dev/full, an I/O error
        _fail(_io_failure(exc, output_path))
    _echo_reading_notes(input_path, summary, "csv")
    for note in summary.renamed_columns:
        click.echo(f"note: input column renamed {note}", err=True)
    _echo_summary(chosen_format, summary.rows, "row", output_path, summary.review, summary.errors)


def _io_failure(exc: OSError, output_path: str) -> str:
    """The message for an I/O error met while classifying to ``output_path`` (nothing is left
    half-written: the temporary file is removed)."""
    return f"{exc.filename or output_path}: {exc.strerror or exc}; no output was written"


def _input_format(input_path: str, input_format: str | None, encoding: str | None = None) -> str:
    """The format to read INPUT in: the one given, or the one its name or content shows (said on
    stderr). A missing file or an unreadable .json is refused."""
    from .formats import FormatError, detect_format

    if input_path != "-" and not Path(input_path).exists():
        _fail(f"{input_path}: file not found")
    if input_format is None:
        try:
            input_format, why = detect_format(input_path, encoding)
        except FormatError as exc:
            _fail(str(exc))
        click.echo(f"reading {input_path} as {input_format} ({why})", err=True)
    return input_format


def _echo_summary(chosen_format: str | None, rows: int, noun: str, output_path: str, review: int, errors: int) -> None:
    """The closing lines of ``batch`` on stderr: the output format where batch chose it, and the counts."""
    if chosen_format:
        click.echo(chosen_format, err=True)
    where = "stdout" if output_path == "-" else output_path
    click.echo(f"{rows} {noun}{'' if rows == 1 else 's'} classified to {where}; {review} flagged for review; "
               f"{errors} with errors", err=True)


_DELIMITER_NAMES = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _echo_reading_notes(input_path: str, reading, output_format: str) -> None:
    """What reading a CSV input found (``batch.BatchSummary``): a delimiter other than the comma,
    and lines with bytes the encoding could not decode (kept in a CSV output, U+FFFD in JSON)."""
    if reading.delimiter != ",":
        click.echo(f"note: read {input_path} as {_DELIMITER_NAMES[reading.delimiter]}-separated", err=True)
    _echo_undecodable(input_path, reading, "they were carried through unchanged, so the output is not valid "
                      "UTF-8 either." if output_format == "csv" else
                      "each was written as U+FFFD, as JSON must be UTF-8.")


def _echo_undecodable(input_path, reading, what_became_of_them: str) -> None:
    """Warn of the lines of a file holding bytes its encoding could not decode (``reading``, a
    ``batch.BatchSummary``), say what became of them, and how to read the file right."""
    if not reading.undecodable_lines:
        return
    more = reading.undecodable_lines - 1
    read_as = "UTF-8" if reading.encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8") \
        else reading.encoding
    click.echo(f"warning: line {reading.first_undecodable_line} of {input_path}"
               + (f" (and {more} more line{'s' if more > 1 else ''})" if more else "")
               + f" holds bytes that are not {read_as}; {what_became_of_them}"
               + (" If the file is Latin-1 or Windows-1252, run again with --encoding cp1252."
                  if read_as == "UTF-8" else " Name the file's encoding with --encoding."), err=True)


def _batch_records(classifier, input_path, output_path, input_format, output_format, text_column, chunk_size,
                   escape_formulas, encoding, delimiter=None, chosen_format=None, details=False):
    """Formats other than CSV to CSV: read records, classify in chunks, write in order."""
    from .batch import BatchInputError, BatchSummary, atomic_output, escape_formula
    from .formats import FormatError, all_keys, classify_records, make_writer, read_records

    stdin = sys.stdin if input_path == "-" else None
    reading = BatchSummary()   # filled by the CSV and JSON-lines readers
    try:
        with atomic_output(output_path) as out:
            # JSON records need not share their keys; a CSV header is written once, so a file is
            # read twice to give every key a column (stdin cannot be: the first record's keys).
            keys = (all_keys(read_records(input_path, input_format, text_column, None, encoding, delimiter))
                    if output_format == "csv" and input_format != "csv" and stdin is None else None)
            writer = make_writer(output_format, out, escape_formula if escape_formulas else str, keys, details)
            records = read_records(input_path, input_format, text_column, stdin, encoding, delimiter, reading)
            rows, errors, review = classify_records(classifier, records, writer, chunk_size)
    except (FormatError, BatchInputError) as exc:
        _fail(str(exc))
    except BrokenPipeError:
        raise
    except OSError as exc:
        _fail(_io_failure(exc, output_path))
    _echo_reading_notes(input_path, reading, output_format)
    for note in getattr(writer, "renamed", ()):
        click.echo(f"note: input field renamed {note}", err=True)
    _echo_summary(chosen_format, rows, "record", output_path, review, errors)
    dropped = getattr(writer, "dropped", {})
    if dropped:
        click.echo("warning: fields that the first record from stdin lacks have no CSV column and are not in the "
                   "output: "
                   + ", ".join(f"{key!r} ({n} record{'s' if n > 1 else ''})" for key, n in sorted(dropped.items()))
                   + "; write JSON lines (-o FILE.jsonl) to keep every field", err=True)


@main.command()
@click.argument("input_path", metavar="INPUT", type=str)
@TEXT_COLUMN_OPTION
@click.option("--input-format", type=click.Choice(["csv", "jsonl", "json", "stix", "veris", "misp"]), default=None,
              help="Input format (default: from the extension; for .json, from the content).")
@ENCODING_OPTION
@DELIMITER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@RULES_OPTION
@MODEL_OPTION
def priors(input_path, text_column, input_format, encoding, delimiter, as_json, rules_dir, model_dir):
    """Estimate the route shares of the reporting in INPUT from its texts alone (no labels).

    Prints the shares as the --priors value of `score`, `batch` and `evaluate`, so that a feed
    unlike the training corpus (a tracker of State operations, a police feed) is classified at
    its own mix of routes. The estimate is EM over the model's probabilities (Saerens et al.,
    2002); it needs a few hundred texts to be worth using, and gives no route less than 0.5 %.

    \b
    cyberroute priors tracker.csv
    cyberroute batch tracker.csv -o routed.csv --priors "$(cyberroute priors tracker.csv)"
    """
    import numpy as np

    from .batch import BatchInputError
    from .formats import FormatError, read_records
    from .priors import PriorsError, at_least, estimate_shares, format_shares, sample_warning

    input_format = _input_format(input_path, input_format, encoding)
    classifier = _classifier(rules_dir, model_dir)
    stdin = sys.stdin if input_path == "-" else None
    chunks, texts, unreadable = [], [], 0
    try:
        records = read_records(input_path, input_format, text_column, stdin, encoding, delimiter)
        for record in records:
            if record.error or not record.text.strip():
                unreadable += 1
                continue
            texts.append(record.text)
            if len(texts) == 2048:
                chunks.append(classifier.route_probabilities(texts))
                texts = []
        chunks.append(classifier.route_probabilities(texts))
    except (FormatError, BatchInputError) as exc:
        _fail(str(exc))
    proba = np.vstack(chunks)
    try:
        train = classifier.training_shares
        estimate = at_least(estimate_shares(proba, train))
    except PriorsError as exc:
        _fail(f"{input_path}: {exc}")
    classes = classifier.model.classes
    shares = dict(zip(classes, estimate.round(3).tolist()))
    if as_json:
        click.echo(json.dumps({"texts": len(proba), "skipped": unreadable, "shares": shares,
                               "training_shares": dict(zip(classes, train.round(3).tolist()))}))
    else:
        click.echo(format_shares(shares))
    click.echo(f"{len(proba)} text{'' if len(proba) == 1 else 's'} read"
               + (f", {unreadable} empty or unreadable skipped" if unreadable else "") + "; route shares "
               + ", ".join(f"{c} {s:.3f} (corpus {t:.3f})" for c, s, t in zip(classes, estimate, train)), err=True)
    if (caution := sample_warning(len(proba))):
        click.echo(f"warning: {caution}", err=True)


@main.command()
@click.argument("csv_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (default: replaces the shipped model, the one every command "
                   "uses without --model).")
@click.option("--cv/--no-cv", default=True, show_default=True,
              help="Cross-validate (grouped) and record the metrics; --no-cv only skips that check.")
@click.option("--replace-shipped", is_flag=True,
              help="Let a file other than the shipped corpus replace the shipped model (without -o).")
@TEXT_COLUMN_OPTION
@click.option("--label-column", default="route", show_default=True, help="Column with the true route.")
@LABELLED_FORMAT_OPTION
@ENCODING_OPTION
@DELIMITER_OPTION
@RULES_OPTION
def train(csv_path, output_dir, cv, replace_shipped, text_column, label_column, input_format, encoding, delimiter,
          rules_dir):
    """Train the text model and combiner on a labelled FILE, read as batch reads its input (CSV
    with any delimiter, JSON lines or a JSON array; gzipped or not), with columns text and route;
    group_id (recommended) keeps paraphrases of one incident in one cross-validation fold;
    actor_type, state_sponsorship, motive and cascading_effects add the text model's criterion
    heads (datasets/README.md describes the columns). Every row must be readable and labelled."""
    from . import training
    from .api import RuleLayer
    from .model_store import default_model_dir, save_model
    from .ruleset import RuleFileError, load_rules

    if str(csv_path) == "-":   # the manifest records the training file's sha256, to tell it again
        _fail("train reads a file, not stdin (the model's manifest records the file's sha256)")
    try:
        frame = training.read_labelled(csv_path, text_column, label_column, encoding, delimiter, input_format)
        _echo_undecodable(csv_path, frame.attrs["reading"], "the model learns each as an unknown character, "
                          "and the same text read right would give another model.")
        criteria = training.criterion_targets(frame, csv_path)
        rules = load_rules(rules_dir)
        training.check_trainable(frame, csv_path)
    except (training.CorpusError, RuleFileError) as exc:
        _fail(str(exc))
    target = output_dir or default_model_dir()
    if not replace_shipped and _replaces_shipped_model_with_another_corpus(csv_path, target):
        _fail(f"{csv_path} is not the corpus the shipped model is built from (datasets/incidents.csv), and "
              + ("-o names the shipped model" if output_dir else "without -o, train replaces the shipped model")
              + ", which every command uses without --model. Write your model apart with -o DIR (then "
                "--model DIR), or give --replace-shipped to replace it")
    texts, routes, groups = frame["text"].tolist(), frame["route"].to_numpy(), frame["group_id"].to_numpy()
    table, _, rows = RuleLayer(rules).rule_rows(texts)
    click.echo(f"training on {len(texts)} descriptions in {len(set(groups))} incident groups", err=True)
    for note in training.corpus_notes(frame, csv_path):
        click.echo(f"note: {note}", err=True)
    missing = [c for c in training.CRITERION_COLUMNS if c not in frame.columns]
    unlabelled = [h for h, columns in training.HEAD_COLUMNS.items() if set(columns) & set(missing)]
    constant = [h for h in training.CRITERION_HEADS if h not in criteria and h not in unlabelled]
    if unlabelled:
        click.echo(("no criterion heads" if len(unlabelled) == len(training.CRITERION_HEADS) else
                    f"no criterion head for {', '.join(unlabelled)}")
                   + f": {csv_path} has no column {', '.join(missing)}", err=True)
    if constant:
        click.echo(f"no criterion head for {', '.join(constant)}: every row of {csv_path} has the same value",
                   err=True)
    try:
        model = training.fit(texts, routes, groups, rows, cross_validate=cv, criteria=criteria,
                             criminal_actor=table.criminal_actor,
                             agreed_crime_cascade_below=rules.decision["agreed_crime_cascade_below"],
                             grouped=frame.attrs["grouped"])
    except ValueError as exc:
        _fail(f"{csv_path}: {exc}")
    model.manifest |= {
        "training_data": {"file": csv_path.name, "sha256": training.corpus_sha256(csv_path),
                          "rows": len(texts), "groups": int(len(set(groups))),
                          "routes": {r: int((routes == r).sum()) for r in sorted(set(routes))}},
        "rules_sha256": rules.model_fingerprint(), "rules_fingerprint": "model-view",
        "libraries": training.library_versions(),
    }
    if rules_dir is not None:   # named in the note a classifier on other rules gives (Classifier.rules_changed)
        model.manifest["rules_dir"] = str(Path(rules.directory).resolve())
    if cv:
        cross = model.manifest["cross_validation"]
        m = cross["combined"]
        click.echo(f"{'grouped CV' if frame.attrs['grouped'] else 'CV by row'}: accuracy {m['accuracy']:.3f}, "
                   f"macro-F1 {m['macro_f1']:.3f}, ECE {m['ece']:.3f}; rules alone: accuracy "
                   f"{cross['rules_only']['accuracy']:.3f}, macro-F1 {cross['rules_only']['macro_f1']:.3f}; "
                   f"text model alone: accuracy {cross['text_model']['accuracy']:.3f}, macro-F1 "
                   f"{cross['text_model']['macro_f1']:.3f}", err=True)
        weak = training.combined_below_parts(cross)
        if weak:
            click.echo(f"warning: {weak}", err=True)
    try:
        save_model(model, target)
    except OSError as exc:
        _fail(f"{exc.filename or target}: {exc.strerror or exc}; the model was not written")
    use = " ".join(([f"--model {shlex.quote(str(target))}"] if output_dir else [])
                   + ([f"--rules {shlex.quote(str(rules_dir))}"] if rules_dir is not None else []))
    click.echo(f"model written to {target}" + ("" if output_dir else
               " (the shipped model, which every command uses without --model; -o DIR keeps a model apart)")
               + (f"; use it with {use}" if use else ""), err=True)


def _shipped_corpus_folder() -> Path:
    """Where the shipped corpus sits in a checkout: datasets/, beside the package."""
    from .model_store import default_model_dir

    return default_model_dir().parent.parent / "datasets"


def _replaces_shipped_model_with_another_corpus(csv_path: Path, target: Path) -> bool:
    """Whether training on ``csv_path`` into ``target`` would put a model of another corpus in the
    shipped model's place. The shipped corpus is the repository's datasets/incidents.csv beside
    the package (edited or not: a change of the corpus is retrained so), or a file with the bytes
    the shipped model was trained on (a clone's copy, for an installed package)."""
    from .model_store import MANIFEST, default_model_dir
    from .training import corpus_sha256

    shipped = default_model_dir()
    if target.resolve() != shipped.resolve():
        return False
    if csv_path.resolve() == (_shipped_corpus_folder() / "incidents.csv").resolve():
        return False
    try:
        trained_on = json.loads((shipped / MANIFEST).read_text(encoding="utf-8"))["training_data"]["sha256"]
        return corpus_sha256(csv_path) != trained_on
    except (OSError, ValueError, KeyError, TypeError):   # no readable record: nothing to tell it by
        return True


def _training_corpus(manifest: dict, evaluated: Path) -> Path | None:
    """The file a model was trained on, where it can be found: its name (the manifest keeps only
    that) in the shipped corpus's folder or beside the file evaluated, with the bytes the
    manifest's sha256 records. None when it is not found, or the file there has changed."""
    from .training import corpus_sha256

    record = manifest.get("training_data", {})
    name, sha = record.get("file"), record.get("sha256")
    if not name or not sha:
        return None
    folders = [_shipped_corpus_folder()] + ([evaluated.parent] if evaluated != Path("-") else [])
    for candidate in (folder / name for folder in folders):
        if candidate.is_file() and corpus_sha256(candidate) == sha:
            return candidate
    return None


def _texts_in(texts, corpus: Path) -> int:
    """How many of ``texts`` are texts of ``corpus`` (a labelled file with the columns `train`
    reads by default), spacing aside; 0 when the corpus cannot be read so."""
    from .training import CorpusError, read_labelled

    def spaced(text) -> str:
        return " ".join(str(text).split())

    try:
        known = {spaced(t) for t in read_labelled(corpus)["text"]}
    except CorpusError:   # trained with other column names: nothing to compare by
        return 0
    return sum(spaced(t) in known for t in texts)


def _read_any(path: Path, text_column: str, label_column: str | None, encoding: str | None = None,
              delimiter: str | None = None, input_format: str | None = None):
    """A labelled file as a DataFrame of strings (labelled.read_frame); rows that cannot be read
    (too many or too few fields, a line that is not JSON, no text) are left out and said so,
    naming the first."""
    from .labelled import LabelledFileError, read_frame

    try:
        frame, problems = read_frame(path, text_column, label_column, encoding, delimiter, input_format)
    except LabelledFileError as exc:
        _fail(str(exc))
    _echo_undecodable(path, frame.attrs["reading"], "they were read as unknown characters, which the rules "
                      "and the model cannot match.")
    if problems:
        click.echo(f"note: {path}: left out {len(problems)} row{'s' if len(problems) > 1 else ''} that cannot be "
                   f"read or hold no text (first: {problems[0]})", err=True)
    return frame


@main.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@TEXT_COLUMN_OPTION
@click.option("--label-column", default="route", show_default=True,
              help="Column with the true route (rows whose label is not a route, e.g. unknown, are skipped).")
@click.option("--holdout", type=click.FloatRange(0.05, 0.9), default=None,
              help="Retrain on the other incident groups and evaluate on this share of groups (without a group_id "
                   "column, of rows).")
@click.option("--exclude-rule", "exclude_rules", multiple=True,
              help="Skip rows whose route_rule column starts with this (e.g. a contestable label rule). Repeatable.")
@LABELLED_FORMAT_OPTION
@ENCODING_OPTION
@DELIMITER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@PRIORS_OPTION
@RULES_OPTION
@MODEL_OPTION
def evaluate(path, text_column, label_column, holdout, exclude_rules, input_format, encoding, delimiter, as_json,
             priors_spec, rules_dir, model_dir):
    """Measure routes against a labelled CSV or JSON-lines FILE ("-" reads stdin).

    Prints precision, recall and F1 per route, the confusion matrix and calibration (ECE) of the
    combined classifier, beside rules-only, text-only and majority-class baselines; and the
    accuracy of each criterion whose column the file has.
    """
    import numpy as np

    from . import training
    from .api import Classifier, RuleLayer
    from .evaluation import bootstrap_intervals, format_interval, format_metrics, label_metrics, route_metrics
    from .labelled import normalised
    from .ruleset import ROUTES

    frame = _read_any(path, text_column, label_column, encoding, delimiter, input_format)
    grouped = "group_id" in frame.columns
    if grouped or holdout:
        frame["group_id"] = training.fill_group_ids(frame)
    if holdout and not grouped:
        click.echo(f"note: {path} has no group_id: --holdout splits rows, each its own incident group, so "
                   f"paraphrases of one incident can sit on both sides and the figures are optimistic", err=True)
    # "Intersection" or " cybercrime " mean a route; other values (unknown, blank) are skipped, and said so.
    frame[label_column] = normalised(frame[label_column])
    others = frame.loc[~frame[label_column].isin(ROUTES), label_column].value_counts()
    if len(others):
        shown = ", ".join(f"{value!r} ({count})" for value, count in others.head(5).items())
        click.echo(f"note: {path}: skipped {others.sum()} row{'s' if others.sum() > 1 else ''} whose "
                   f"{label_column!r} is not a route: {shown}"
                   + (" ..." if len(others) > 5 else ""), err=True)
    frame = frame[frame[label_column].isin(ROUTES)]
    if exclude_rules:
        if "route_rule" not in frame.columns:
            _fail(f"{path}: --exclude-rule needs a route_rule column (the label rule of each row); "
                  f"columns are: {', '.join(map(str, frame.columns))}")
        frame = frame[~frame["route_rule"].astype(str).str.startswith(tuple(exclude_rules))]
    skipped_note = f"{len(frame)} labelled row{'' if len(frame) == 1 else 's'}"
    if holdout:
        if click.get_current_context().get_parameter_source("model_dir") == click.core.ParameterSource.COMMANDLINE:
            click.echo("note: --holdout trains a model on the rest of the file; --model is not used", err=True)
        test = training.holdout_mask(frame["group_id"], holdout)
        train_frame, frame = frame[~test], frame[test]
        if frame.empty:
            _fail(f"{path}: --holdout {holdout} held out none of its {train_frame['group_id'].nunique()} incident "
                  f"groups (the split hashes each group id); give a larger share or a larger file")
        if train_frame[label_column].nunique() < 2:
            _fail(f"{path}: the training part of the split holds {train_frame[label_column].nunique()} route(s) "
                  f"({', '.join(sorted(train_frame[label_column].unique()))}); --holdout needs at least two")
        layer = RuleLayer(rules_dir)
        *_, rows = layer.rule_rows(train_frame[text_column].tolist())
        try:
            criteria = training.criterion_targets(train_frame, path)
        except training.CorpusError as exc:
            # A file whose criteria columns follow another vocabulary can still be evaluated.
            click.echo(f"no criterion heads: {exc}", err=True)
            criteria = {}
        try:
            model = training.fit(train_frame[text_column].tolist(), train_frame[label_column].to_numpy(),
                                 train_frame["group_id"].to_numpy(), rows, criteria=criteria)
        except ValueError as exc:   # scikit-learn's words for a part too small to fit
            _fail(f"{path}: the training part of the split ({len(train_frame)} rows in "
                  f"{train_frame['group_id'].nunique()} incident groups) is too small to fit a model ({exc}); "
                  f"give a smaller --holdout or a larger file")
        classifier = _with_priors(Classifier(rules=layer.rules, model=model), priors_spec)
        skipped_note = (f"held out {len(frame)} rows in {frame['group_id'].nunique()} incident groups; "
                        f"trained on {len(train_frame)} rows")
    else:
        classifier = _classifier(rules_dir, model_dir, priors_spec)
        trained_on = classifier.model.manifest.get("training_data", {}).get("sha256")
        if trained_on and path != Path("-") and path.is_file() and training.corpus_sha256(path) == trained_on:
            click.echo(f"note: {path} is the file the model was trained on (same sha256): these figures measure "
                       f"how well it fits its training data, not new text; --holdout retrains on part of it and "
                       f"evaluates on the rest", err=True)
        else:
            # The same rows in another form (a JSON-lines copy, a sample, a file that mixes them
            # with new text) are as much training data as the file itself.
            corpus = _training_corpus(classifier.model.manifest, path)
            seen = _texts_in(frame[text_column], corpus) if corpus else 0
            if seen:
                click.echo(f"note: {seen} of {len(frame)} labelled rows of {path} have a text of {corpus}, which the "
                           f"model was trained on (same text, spacing aside): on those rows these figures measure "
                           f"how well it fits its training data, not new text", err=True)
    if frame.empty:
        _fail(f"{path}: no rows with a route label in column {label_column!r}")
    texts, truth = frame[text_column].tolist(), frame[label_column].to_numpy()
    results = classifier.classify_many(texts)
    classes = classifier.model.classes
    routes = np.array([r.route for r in results])
    majority = max(ROUTES, key=lambda r: (truth == r).sum()) if not holdout else \
        max(ROUTES, key=lambda r: (train_frame[label_column] == r).sum())
    report = {
        # "rows" is the number evaluated, for a program; "rows_note" says what they are, for a reader.
        "file": str(path), "rows": int(len(frame)), "rows_note": skipped_note,
        "trained_on": int(len(train_frame)) if holdout else None,
        "combined": label_metrics(truth, routes, list(ROUTES) + ["undetermined"],
                                  confidence=np.array([r.confidence for r in results])),
        "combined_forced": route_metrics(truth, np.array([[r.probabilities[c] for c in classes] for r in results]), classes),
        "rules_only": label_metrics(truth, np.array([r.rule_route for r in results]), list(ROUTES) + ["undetermined"]),
        "text_only": route_metrics(truth, np.array([[r.model_probabilities[c] for c in classes] for r in results]), classes),
        "majority_class": label_metrics(truth, np.array([majority] * len(truth)), list(ROUTES)),
        # How far the combined figures could move on another sample like this one: whole
        # incident groups resampled when the file has them, rows otherwise.
        "combined_interval_95": {
            "resampled": "incident groups" if grouped else "rows",
            **bootstrap_intervals(truth, routes, list(ROUTES),
                                  groups=frame["group_id"].to_numpy() if grouped else None)},
        "undetermined": int((routes == "undetermined").sum()),
        "review": int(sum(r.review for r in results)),
        "criteria": {},
    }
    # The criteria labels read as the route labels are ("State", " Financial"), for the criterion
    # accuracy and the heads' alike.
    criteria_columns = [c for c in ("actor_type", "state_sponsorship", "cascading_effects", "motive",
                                    "critical_infrastructure") if c in frame.columns]
    labelled = frame.assign(**{c: training.labels_in(frame, c) for c in criteria_columns})
    for name in criteria_columns:
        labels = labelled[name].tolist()
        if name == "critical_infrastructure":
            predicted = [";".join(sorted(r.criteria[name].value)) for r in results]
            labels = [";".join(sorted(filter(None, v.split(";")))) for v in labels]
        else:
            predicted = [r.criteria[name].value for r in results]
        # A value outside the criterion's vocabulary is no label (train refuses it): skipped, and said so.
        valid = [_is_criterion_value(name, label, classifier.rules) for label in labels]
        if not all(valid):
            bad = sorted({label for label, ok in zip(labels, valid) if not ok})
            left_out = valid.count(False)
            click.echo(f"note: {path}: {left_out} row{'s' if left_out > 1 else ''} left out of {name} accuracy, "
                       f"whose value is not one of the criterion's: {', '.join(map(repr, bad[:5]))}", err=True)
        pairs = [(p, t) for p, t, ok in zip(predicted, labels, valid) if ok]
        if pairs:
            report["criteria"][name] = round(float(np.mean([p == t for p, t in pairs])), 4)
    report["criterion_heads"] = _criterion_head_accuracy(labelled, results, classifier.model.text_model.heads_)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{path}: {skipped_note}")
    click.echo(format_metrics(report["combined"], "\ncombined classifier (undetermined counts as wrong)"))
    interval = report["combined_interval_95"]
    click.echo(f"95 % bootstrap interval (1,000 resamples of {interval['resampled']}): "
               f"accuracy {format_interval(interval['accuracy'])}, macro-F1 {format_interval(interval['macro_f1'])}")
    click.echo(f"undetermined: {report['undetermined']}   flagged for review: {report['review']}")
    for key, title in (("combined_forced", "combined, most probable route (no undetermined)"),
                       ("rules_only", "rules only"), ("text_only", "text model only"),
                       ("majority_class", f"majority class ({majority})")):
        m = report[key]
        click.echo(f"\n{title}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}"
                   + (f", ECE {m['ece']:.3f}" if "ece" in m else ""))
    if report["criteria"]:
        click.echo("\ncriterion accuracy (exact match): "
                   + ", ".join(f"{k} {v:.3f}" for k, v in report["criteria"].items()))
    if report["criterion_heads"]:
        click.echo("criterion heads, yes/no accuracy (text model; rules): " + ", ".join(
            f"{k} {v['text_model']:.3f}; {v['rules']:.3f}" for k, v in report["criterion_heads"].items()))


def _is_criterion_value(name: str, label: str, rules) -> bool:
    """Whether ``label`` is a value of criterion ``name`` (for sectors: each of its ;-joined ids)."""
    from .training import CRITERION_COLUMNS

    if name == "critical_infrastructure":
        return all(sector in rules.sector_info for sector in filter(None, label.split(";")))
    return label in CRITERION_COLUMNS[name]


def _criterion_head_accuracy(frame, results, heads) -> dict[str, dict[str, float]]:
    """``evaluation.criterion_head_accuracy`` against the file's criteria columns, if it has the
    corpus's (an external file's columns hold other vocabularies: nothing to compare)."""
    from . import training
    from .evaluation import criterion_head_accuracy

    try:
        labels = training.criterion_targets(frame.astype(str), drop_constant=False)
    except training.CorpusError:
        return {}
    return criterion_head_accuracy(labels, results, heads)


@main.group()
def rules():
    """Inspect and check the rule files."""


@rules.command("check")
@click.argument("csv_path", metavar="[FILE]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@TEXT_COLUMN_OPTION
@LABELLED_FORMAT_OPTION
@ENCODING_OPTION
@DELIMITER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (the OK line goes to stderr).")
@click.option("--terms", is_flag=True,
              help="Also list the accuracy of each lexicon phrase that fired, least accurate first.")
@click.option("--min-labelled", type=click.IntRange(1), default=None,
              help="With --terms, list a phrase once it fired in this many labelled texts (default: 5).")
@RULES_OPTION
def rules_check(csv_path, text_column, input_format, encoding, delimiter, as_json, terms, min_labelled, rules_dir):
    """Validate the rule files; with a labelled FILE (CSV, JSON lines or a JSON array), report
    each rule's coverage, overlap, conflict and accuracy (with --terms, each phrase's accuracy too).

    \b
      cyberroute rules check datasets/incidents.csv --terms
    """
    from .api import RuleLayer
    from .ruleset import RuleFileError, decision_notes

    if min_labelled is not None and not (terms and csv_path):
        raise click.UsageError("--min-labelled applies to the phrase list: give a labelled CSV and --terms")
    try:
        layer = RuleLayer(rules_dir)
    except RuleFileError as exc:
        _fail(str(exc))
    r = layer.rules
    phrases = sum(len(c.terms) for c in r.cues) + sum(len(c.terms) for c in r.sectors)
    # Each sector has a lexicon of its terms and one of its weak_terms.
    click.echo(f"{r.directory}: OK - {len(r.cues)} cues, {len(r.sector_info)} sectors in {len(r.sectors)} lexicons "
               f"({phrases} phrases), {len(r.actors)} actors ({sum(len(a.aliases) for a in r.actors)} names), "
               f"{len(r.routing_rules)} routing rules, {len(r.norms)} norms", err=as_json)
    for note in decision_notes(r.decision):
        click.echo(f"note: {r.directory / 'routing.toml'} [decision]: {note}", err=True)
    if csv_path is None:
        return
    from .rules_report import MIN_TERM_LABELLED, format_report, rule_report

    frame = _read_any(csv_path, text_column, None, encoding, delimiter, input_format)
    report = rule_report(layer, frame, text_column, terms=terms, min_term_labelled=min_labelled or MIN_TERM_LABELLED)
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@rules.command("compare")
@click.argument("before_dir", metavar="BEFORE", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", metavar="FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@TEXT_COLUMN_OPTION
@click.option("--label-column", default=None,
              help="Column of true routes (default: route, or route_hint in JSON lines, when present).")
@LABELLED_FORMAT_OPTION
@ENCODING_OPTION
@DELIMITER_OPTION
@click.option("--show", type=click.IntRange(0), default=0, show_default=True,
              help="Print up to N changed rows per file, each named by its place as batch names it "
                   "(\"row 52\": the CSV header is row 1; \"line 7\" of JSON lines).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@RULES_OPTION
def rules_compare(before_dir, paths, text_column, label_column, input_format, encoding, delimiter, show, as_json,
                  rules_dir):
    """What an edit of the rules changes: the rule layer under the BEFORE rules directory and under
    --rules (the edited copy; default: the packaged rules), on each CSV or JSON-lines FILE. Counts
    the rows whose criteria or rule route change and, with route labels, how many are now right
    or wrong.

    \b
      cyberroute rules compare rules/ datasets/incidents.csv --rules my-rules --show 5
    """
    from .api import RuleLayer
    from .labelled import normalised
    from .rules_report import compare_rules, decision_differences, format_comparison
    from .ruleset import ROUTES, RuleFileError

    try:
        before, after = RuleLayer(before_dir), RuleLayer(rules_dir)
    except RuleFileError as exc:
        _fail(str(exc))
    report = {}
    if not as_json:   # which side is which: swapped, the counts of right and wrong swap too
        click.echo(f"rules: before {before.rules.directory}, after {after.rules.directory}")
    for note in decision_differences(before, after):
        click.echo(f"note: {note}", err=True)
    for path in paths:
        frame = _read_any(path, text_column, label_column, encoding, delimiter, input_format)
        column = label_column or next((c for c in ("route", "route_hint") if c in frame.columns), None)
        labels = [v if v in ROUTES else None for v in normalised(frame[column])] if column else None
        texts = frame[text_column].tolist()
        report[str(path)] = compare_rules(before, after, texts, labels, frame.attrs.get("where"))
        if not as_json:
            click.echo(format_comparison(path.name, report[str(path)], show, texts))
    if as_json:
        click.echo(json.dumps(report, indent=2))
