"""Bad input from files and lists the user (or someone else) wrote: each is refused with one
`runner…: ` line on stderr naming the file or the entry, exit code 2, no traceback, and nothing
already on disk is changed."""

import json
import shutil

import pytest

from conftest import TINY


def refusal(result) -> str:
    """The one line that says what is wrong; asserts exit code 2, no traceback, no second line."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("runner")]
    assert len(lines) == 1, result.err
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- hydra/sweeper=job_list entries


@pytest.mark.parametrize(
    "jobs, index, says",
    [
        ("[\"seed=0 model.name='x\"]", 0, "no closing quotation"),
        ("['seed=0','seed=1',{a:1}]", 2, "expected one job's overrides as a string"),
        ("[1,2]", 0, "'1' is not an override (key=value)"),
        ("['seed=0','seed=0 ===']", 1, "cannot parse override '==='"),
    ],
)
def test_a_malformed_job_list_entry_is_named_by_its_index(cli, outputs, jobs, index, says):
    sweep = outputs / "jobs"
    result = cli("train", "-m", *TINY, "hydra/sweeper=job_list", f"hydra.sweeper.jobs={jobs}", f"hydra.sweep.dir={sweep}")
    line = refusal(result)
    assert line.startswith(f"runner: config error: hydra.sweeper.jobs[{index}]") and says in line, line
    assert not sweep.exists() and not list(outputs.rglob("results.json"))  # refused before anything ran
