"""The maintainer scripts in tools/ that are not covered by the corpus tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import compare_rules  # noqa: E402


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("text,route\n"
                    '"A ransomware gang encrypted a dental practice\'s records.",cybercrime\n'
                    '"Hackers hit the government of a small town.",cybercrime\n'
                    '"GRU officers wiped a grid operator\'s servers.",international-security\n', encoding="utf-8")
    return path


def test_the_same_rules_change_nothing(labelled, rules_dir, capsys):
    assert compare_rules.main([str(rules_dir), str(labelled), "--rules", str(rules_dir)]) == 0
    out = capsys.readouterr().out
    assert "3 texts; criteria changed in 0, rule route in 0 (labelled: 0 now right, 0 now wrong)" in out


def test_an_edit_is_counted_and_scored_against_the_labels(labelled, rules_dir, tmp_path, capsys):
    edited = tmp_path / "edited"
    shutil.copytree(rules_dir, edited, ignore=shutil.ignore_patterns("__*"))
    routing = edited / "routing.toml"
    text = routing.read_text()
    old = 'id = "crime"\nwhen = { state_involvement = false, actor_or_motive_known = true }\nroute = "cybercrime"'
    assert old in text
    routing.write_text(text.replace(old, old.replace('route = "cybercrime"', 'route = "international-security"')))
    sectors = edited / "sectors.toml"
    sectors.write_text(sectors.read_text().replace('"government department",',
                                                   '"government department", "government",', 1))
    compare_rules.main([str(rules_dir), str(labelled), "--rules", str(edited), "--show", "5"])
    out = capsys.readouterr().out
    # The gang's row changes route and is now wrong; the town's row gains a sector.
    assert "3 texts; criteria changed in 1, rule route in 1 (labelled: 0 now right, 1 now wrong)" in out
    assert "row 1: cybercrime -> international-security; {};" in out
    assert "row 2:" in out and "'government'" in out
