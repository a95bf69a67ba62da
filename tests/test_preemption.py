"""Preemption (SIGTERM / SIGUSR1 / SIGUSR2, what SLURM sends) stops a run cleanly, and it resumes
exactly; a damaged checkpoints/last.pt falls back to last.prev.pt (runner/fit/signals.py, runner/fit/resume.py)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import dies_at_epoch_call
from test_determinism import metrics_without_time

import runner.fit.loop
from runner.fit import signals

# ~0.2 s an epoch on a 2-core machine: slow enough to signal the run mid-way.
ARGS = [
    "data=synthetic", "data.train_size=2048", "trainer.epochs=6", "trainer.batch_size=4", "optimizer=sgd",
    "optimizer.lr=0.05", "trainer.threads=1", "regularization=dropout", "regularization.dropout=0.3",
    "early_stopping=none", "seed=5",
]  # fmt: skip


def results_of(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def rows_written(run_dir) -> int:
    try:
        return len((run_dir / "metrics.csv").read_text().splitlines()) - 1
    except OSError:
        return 0


def test_sigterm_stops_with_status_preempted_and_the_relaunch_ends_like_an_uninterrupted_run(cli, outputs, tmp_path):
    whole = outputs / "whole"
    assert cli("train", *ARGS, f"hydra.run.dir={whole}").code == 0

    cut = outputs / "cut"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}  # no requeue attempt here
    with open(tmp_path / "cut.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner", "train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto"],
            stdout=log, stderr=subprocess.STDOUT, env={**env, "RUNNER_OUTPUTS": str(outputs)},
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while rows_written(cut) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be signalled:\n" + (tmp_path / "cut.log").read_text()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    out = (tmp_path / "cut.log").read_text()
    assert code == 128 + signal.SIGTERM, out
    assert "SIGTERM received" in out and "preempted" in out
    results = results_of(cut)
    assert results["status"] == "preempted" and results["stop_reason"] == "preempted"
    saved = torch.load(cut / "checkpoints" / "last.pt", weights_only=True)["epoch"]
    assert 2 <= saved < 6 and results["epochs_run"] == saved
    assert results["test"]["accuracy"] is not None  # the best weights so far were tested

    resumed = cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert resumed.code == 0, resumed.err
    assert f"after epoch {saved}" in resumed.out + resumed.err
    assert metrics_without_time(cut) == metrics_without_time(whole)
    done, reference = results_of(cut), results_of(whole)
    assert done["status"] == "finished" and done["epochs_run"] == 6
    assert (done["best_epoch"], done["test"]) == (reference["best_epoch"], reference["test"])


@pytest.mark.parametrize("damage", ["last", "last and prev"])
def test_a_truncated_last_pt_falls_back_to_last_prev_pt(cli, outputs, monkeypatch, damage):
    args = [*ARGS, "data.train_size=256", "trainer.batch_size=32", "optimizer.lr=0.5", "trainer.epochs=4"]
    whole = outputs / "whole"
    assert cli("train", *args, f"hydra.run.dir={whole}").code == 0

    cut = outputs / "cut"
    real_epoch = dies_at_epoch_call(3, monkeypatch)
    handler = signal.getsignal(signal.SIGTERM)
    assert cli("train", *args, f"hydra.run.dir={cut}", "trainer.resume=auto").code != 0
    assert signal.getsignal(signal.SIGTERM) is handler  # a run that crashed put the handlers back
    folder = cut / "checkpoints"
    assert torch.load(folder / "last.pt", weights_only=True)["epoch"] == 2
    assert torch.load(folder / "last.prev.pt", weights_only=True)["epoch"] == 1
    for name in ["last.pt", "last.prev.pt"] if damage == "last and prev" else ["last.pt"]:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])  # a copy cut short

    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    resumed = cli("train", *args, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert resumed.code == 0, resumed.err
    lines = [line for line in (resumed.out + resumed.err).splitlines() if "unreadable" in line]
    assert len(lines) == 1, lines  # one clear line
    if damage == "last":
        assert (
            "checkpoints/last.pt is unreadable" in lines[0]
            and "resuming from last.prev.pt instead (epoch 1" in lines[0]
        )
        assert "after epoch 1" in resumed.out + resumed.err
    else:
        assert "so is last.prev.pt" in lines[0] and "starting this run over" in lines[0]
    assert metrics_without_time(cut) == metrics_without_time(whole)
    done, reference = results_of(cut), results_of(whole)
    assert (done["status"], done["best_epoch"], done["test"]) == (
        "finished",
        reference["best_epoch"],
        reference["test"],
    )


def test_checkpoints_keep_the_previous_epoch(cli, outputs):
    run = outputs / "run"
    assert cli("train", *ARGS, "data.train_size=256", "trainer.epochs=3", f"hydra.run.dir={run}").code == 0
    epoch = {p.name: torch.load(p, weights_only=True)["epoch"] for p in (run / "checkpoints").glob("*.pt")}
    assert epoch["last.pt"] == 3 and epoch["last.prev.pt"] == 2
    assert not list((run / "checkpoints").glob(".*"))  # no temporary files left


@pytest.fixture
def restore_handlers():
    saved = {s: signal.getsignal(s) for s in signals.SIGNALS}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_sigusr1_in_a_slurm_job_requeues_it_and_exits(tmp_path, monkeypatch, restore_handlers):
    calls = tmp_path / "scontrol.calls"
    fake = tmp_path / "bin" / "scontrol"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")

    before = signal.getsignal(signal.SIGUSR1)
    signals.install()
    signals.check()  # nothing received: no-op
    os.kill(os.getpid(), signal.SIGUSR1)
    with pytest.raises(signals.Preempted, match="SIGUSR1"):
        signals.check()
    with pytest.raises(SystemExit) as stop:
        signals.finish(preempted=True)
    assert stop.value.code == 128 + signal.SIGUSR1
    assert calls.read_text().split() == ["requeue", "4242"]
    assert signal.getsignal(signal.SIGUSR1) is before  # handlers restored


def test_a_handler_installed_before_the_run_is_called_at_the_safe_point(restore_handlers):
    """What submitit does: its SIGUSR2 handler checkpoints the launcher call, requeues and exits.
    The run defers it to after results.json instead of letting it cut a step in half."""
    called = []

    def submitit_like(signum, frame):
        called.append(signum)
        sys.exit(-1)

    signal.signal(signal.SIGUSR2, submitit_like)
    signals.install()
    os.kill(os.getpid(), signal.SIGUSR2)
    assert called == []  # deferred
    with pytest.raises(signals.Preempted):
        signals.check()
    with pytest.raises(SystemExit) as stop:
        signals.finish(preempted=True)
    assert called == [signal.SIGUSR2] and stop.value.code == -1
    assert signal.getsignal(signal.SIGUSR2) is submitit_like


def test_a_run_that_finishes_is_not_requeued(restore_handlers):
    before = signal.getsignal(signal.SIGTERM)
    signals.install()
    os.kill(os.getpid(), signal.SIGTERM)
    signals.finish(preempted=False)  # returns: the run finished before a step saw the signal
    assert signal.getsignal(signal.SIGTERM) is before
