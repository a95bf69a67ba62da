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


# ---------------------------------------------------------------- data files: refused before any run


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own (autouse where imported): a test asserts nothing lands there."""
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def data(tmp_path):
    """The folder a test writes its data files in."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def snapshot(folder):
    """Each file's size and mtime: a refusal leaves the user's data as they were."""
    return {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def refused_before_any_run(result, cache, data, before, *words) -> str:
    """refused(), and nothing in the outputs or the cache, the data folder unchanged."""
    line = refused(result, *words)
    assert not (result.outputs.exists() and list(result.outputs.rglob("*"))), "something was written in the outputs"
    assert not (cache.exists() and list(cache.iterdir())), "something was cached"
    assert snapshot(data) == before, "the data folder changed"
    return line
