"""The README shows real runs: every example whose inputs ship with the repository is run again
and what the README prints must still be what the tool prints.

An example is a ```text block whose lines starting with "$ " are commands and whose other lines
are their output. "..." marks lines left out, so the shown lines must appear in the run's output
(stdout and stderr, as a terminal shows them) in the same order, not as the whole output. A
command that names one of the README's stand-ins for the user's own files (feed.csv, my-rules,
...) cannot run here and is skipped, with the commands after it in its block. When this test fails after a
deliberate change, rerun the example and paste its output into the README.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Named in the README ("Use it") as standing for the user's own files and directories.
STAND_INS = {"feed.txt", "feed.csv", "feed.jsonl", "incidents.csv", "incidents.csv.gz", "my-corpus.csv",
             "my-rules", "my-model", "MODEL_DIR", "CORPUS", "DIR"}
# What the examples read, linked into the directory each block runs in, so that the outputs they
# write (-o notes.json) land there and not in the repository.
SHIPPED = ("datasets", "tests", "benchmarks", "rules")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Each ```text block that holds a command, with the README line it starts on."""
    blocks, inside, start, lines = [], False, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if inside and any(row.startswith("$ ") for row in lines):
                blocks.append((start, lines))
            inside, start, lines = line.strip() == "```text", number, []
        elif inside:
            lines.append(line)
    return blocks


def _runs(lines: list[str]) -> list[tuple[str, list[str]]]:
    """The block as (command, the output lines shown under it)."""
    runs = []
    for line in lines:
        if line.startswith("$ "):
            runs.append((line[2:], []))
        elif runs:
            runs[-1][1].append(line)
    return runs


def _runnable(command: str) -> bool:
    words = shlex.split(command, comments=True)
    # "datasets/incidents.csv" ships; a bare "incidents.csv" or "my-rules/criteria.toml" is the user's.
    return not any(word.split("/")[0] in STAND_INS for word in words)


def _runnable_prefix(runs: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """The block's runs up to the first that cannot run here (later ones may need its output)."""
    stop = next((index for index, (command, _) in enumerate(runs) if not _runnable(command)), len(runs))
    return runs[:stop]


EXAMPLES = [(start, _runnable_prefix(_runs(lines))) for start, lines in _blocks(README.read_text(encoding="utf-8"))]
EXAMPLES = [(start, runs) for start, runs in EXAMPLES if runs]


def _missing(shown: list[str], *outputs: str) -> str | None:
    """The first shown line not found in the outputs; None if all are there.

    Lines must come in order within each output (stdout, stderr); how the two interleave on a
    terminal is not fixed, so it is not checked.
    """
    streams = [[line.rstrip() for line in output.splitlines()] for output in outputs]
    positions = [0] * len(streams)
    for line in shown:
        if line.strip() in ("", "..."):
            continue
        for index, stream in enumerate(streams):
            if line.rstrip() in stream[positions[index]:]:
                positions[index] = stream.index(line.rstrip(), positions[index]) + 1
                break
        else:
            return line
    return None


def test_the_readme_has_examples_that_run_here():
    """Not vacuous: the score, batch, priors, rules check and evaluate examples are all run."""
    commands = " ".join(command for _, runs in EXAMPLES for command, _ in runs)
    for name in ("cyberroute score", "cyberroute batch", "cyberroute priors", "cyberroute rules check",
                 "cyberroute evaluate"):
        assert name in commands


def test_a_shown_line_missing_from_the_output_is_caught():
    assert _missing(["a", "...", "c"], "a\nb\nc\n") is None
    assert _missing(["c", "a"], "a\nb\nc\n") == "a"          # order counts within a stream
    assert _missing(["x", "a"], "a\n", "x\n") is None        # but not across stdout and stderr
    assert _missing(["route        cybercrime"], "route        intersection\n") == "route        cybercrime"


@pytest.mark.parametrize("start, runs", EXAMPLES, ids=[f"README line {start}" for start, _ in EXAMPLES])
def test_a_readme_example_prints_what_the_readme_shows(start, runs, tmp_path):
    for name in SHIPPED:
        (tmp_path / name).symlink_to(ROOT / name)
    # "cyberroute" is this interpreter's module, so the test needs no install on PATH.
    tool = f"{shlex.quote(sys.executable)} -m classifier"
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    env.pop("CYBERROUTE_RULES", None)
    env.pop("CYBERROUTE_MODEL", None)
    for command, shown in runs:
        done = subprocess.run(["bash", "-c", re.sub(r"\bcyberroute\b(?=\s)", tool, command, count=1)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        missing = _missing(shown, done.stdout, done.stderr)
        assert missing is None, (f"README line {start}: `{command}` no longer prints\n{missing}\n"
                                 f"it printed:\n{done.stdout}{done.stderr}")
