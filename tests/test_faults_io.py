"""Faults outside the config: an output folder that cannot be written or fills up, two runs started
at the same moment, no CUDA, out of memory. Each ends with one `runner: …` line naming what to fix
and a non-zero exit code; what was written before stays whole (atomic writes), no temp file is left."""

import errno
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import TINY, dies_at_epoch_call
from torch import nn

import runner.fit.loop


def strict_json(path):
    return json.loads(path.read_text(), parse_constant=lambda token: pytest.fail(f"non-standard JSON number {token}"))


def runner_lines(err: str):
    return [line for line in err.splitlines() if line.startswith("runner:")]


def temp_files(folder):
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- unwritable or full output folder


@pytest.mark.parametrize("where", ["under_a_file", "is_a_file"])
def test_an_output_folder_that_cannot_be_created_is_one_clear_line(cli, outputs, monkeypatch, tmp_path, where):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    target = blocker / "outputs" if where == "under_a_file" else blocker
    monkeypatch.setenv("RUNNER_OUTPUTS", str(target))
    result = cli("train", *TINY, "trainer.epochs=1")
    assert result.code == 1
    (line,) = runner_lines(result.err)
    assert str(target) in line and ("Not a directory" in line or "File exists" in line), line
    assert "RUNNER_OUTPUTS" in line and "Traceback" not in result.err
    assert blocker.read_text() == "not a folder\n"


@pytest.fixture
def interrupted_run(cli, outputs, monkeypatch):
    """A run folder holding a run stopped by Ctrl-C in its second epoch (results.json says
    interrupted), the command that continues it (trainer.resume=auto), and a snapshot of its files'
    bytes. A later run writes in a folder that holds a run only when it resumes it (or is told to
    overwrite it): any other second run there is refused (tests/adversarial/test_results_safety.py)."""
    run_dir = outputs / "run"
    args = ["train", *TINY, "trainer.epochs=3", f"hydra.run.dir={run_dir}", "trainer.resume=auto"]
    real_epoch = dies_at_epoch_call(2, monkeypatch, KeyboardInterrupt())
    cli(*args)
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    assert strict_json(run_dir / "results.json")["status"] == "interrupted"
    files = ["results.json", "metrics.csv", "test_predictions.csv", "checkpoints/best.pt", "checkpoints/last.pt"]
    return run_dir, args, {name: (run_dir / name).read_bytes() for name in files}


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_writing_keeps_every_earlier_file_whole(cli, interrupted_run, monkeypatch):
    """The disk fills up under the run resuming the folder: every write fails while the temp file
    is being flushed to disk. The run stops with one line naming the folder; the first run's files
    are byte for byte what they were, and no temp file is left behind."""
    run_dir, args, before = interrupted_run
    monkeypatch.setattr(os, "fsync", no_space)
    result = cli(*args)
    assert result.code == 1
    (line,) = runner_lines(result.err)
    assert f"cannot write in {run_dir}" in line and "No space left on device" in line and "ENOSPC" in line, line
    assert "Traceback" not in result.err
    assert {name: (run_dir / name).read_bytes() for name in before} == before
    assert strict_json(run_dir / "results.json")["status"] == "interrupted"
    assert temp_files(run_dir) == []


def test_disk_full_at_the_last_write_leaves_the_previous_results_json(cli, interrupted_run, monkeypatch):
    """The resumed training goes through, the final rename of results.json fails: the previous results.json is intact."""
    run_dir, args, before = interrupted_run
    real_replace = os.replace

    def replace(src, dst, *a, **kw):
        if str(dst).endswith("results.json"):
            no_space()
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    result = cli(*args)
    assert result.code == 1
    (line,) = runner_lines(result.err)
    assert str(run_dir) in line and "No space left on device" in line, line
    assert (run_dir / "results.json").read_bytes() == before["results.json"]
    assert temp_files(run_dir) == []


# ---------------------------------------------------------------- two runs started at the same moment

FROZEN_CLOCK = """
import datetime, sys
import hydra.core.utils


class Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2030, 1, 2, 3, 4, 5, 678901)


hydra.core.utils.datetime = Frozen  # Hydra's ${now:...} resolver reads this clock
from runner.cli import main

main(sys.argv[1:])
"""


def test_two_runs_started_in_the_same_microsecond_get_their_own_folders(outputs):
    """Both processes see the very same time, so the clock alone would give them one folder: the
    process id in the folder name keeps them apart, and each folder holds one whole run."""
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FROZEN_CLOCK, "train", *TINY, "trainer.epochs=1", f"seed={seed}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    folders = sorted((outputs / "runs" / "2030-01-02").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("03-04-05-678901-") for f in folders), folders
    assert {f.name.rsplit("-", 1)[1] for f in folders} == {str(p.pid) for p in procs}
    seeds = sorted(strict_json(f / "results.json")["seed"] for f in folders)
    assert seeds == [1, 2]
    for folder in folders:
        assert (folder / ".hydra" / "overrides.yaml").read_text().count("seed=") == 1


# ---------------------------------------------------------------- devices and memory


def test_cuda_asked_for_but_absent_fails_before_anything_is_written(cli, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = cli("train", *TINY, "trainer.device=cuda")
    assert result.code == 2
    message = result.err.strip()
    assert message.startswith("runner: config error: trainer.device:") and "no CUDA device" in message, message
    assert "trainer.device=cpu" in message and len(message.splitlines()) == 1
    assert not result.outputs.exists()


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 15.77 GiB total capacity)"
        ),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 2147483648 bytes."
        ),
    ],
    ids=["cuda", "cpu"],
)
def test_out_of_memory_suggests_a_smaller_batch(cli, monkeypatch, error):
    real_forward = nn.Flatten.forward

    def forward(self, x):
        if x.device.type != "meta":  # the preflight's shape check runs on the meta device: let it pass
            raise error
        return real_forward(self, x)

    monkeypatch.setattr(nn.Flatten, "forward", forward)  # the MLP's first layer
    result = cli("train", *TINY, "trainer.batch_size=32")
    assert result.code == 1
    (line,) = runner_lines(result.err)
    assert line.startswith("runner: out of memory") and "trainer.batch_size (now 32)" in line, line
    assert "Traceback" not in result.err
    (run_dir,) = result.run_dirs()
    assert "out of memory" in (run_dir / "error.txt").read_text()  # the run folder says why it stopped
