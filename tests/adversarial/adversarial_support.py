"""Helpers of the adversarial suite (tests/adversarial/, marker `adversarial`, added by
tests/conftest.py): configs written by an attacker or a careless user, and faults.

Every test here goes through the real CLI and asserts what the README promises: bad input
gets one `runner: ...` line naming the problem and exit code 2, no traceback, nothing written
outside the outputs folder, no payload's marker file, and no earlier result lost."""

import re
from pathlib import Path

import pytest


def refused(result, *words, code=2):
    """One `runner:` (or `runner <command>:`) line holding every word, the exit code, and no traceback; returns the line."""
    lines = [line for line in result.err.splitlines() if re.match(r"runner( \w+)?: ", line)]
    assert result.code == code, (result.code, result.err[-2000:])
    assert len(lines) == 1, result.err[-2000:]
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err[-2000:]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture
def canary(tmp_path) -> Path:
    """A path that payloads try to create; a test asserts it never appears."""
    return tmp_path / "owned"
