"""Sweeps through hydra-submitit-launcher: hydra/launcher=slurm on a real SLURM cluster (each point a
SLURM job; a preempted point is requeued and continues), and hydra/launcher=submitit_local.

Marked `slurm` (deselected by default): `make test ARGS="-m slurm"`. The cluster tests are skipped
when no SLURM answers; start a one-node cluster with `eval "$(scripts/slurm_cluster.sh start)"`
(root, Debian/Ubuntu). Run folders live under pytest's tmp_path: on a cluster of several nodes,
that folder must be on a shared filesystem.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY
from test_determinism import metrics_without_time

pytestmark = pytest.mark.slurm

SLOW = [  # ~0.2 s an epoch: slow enough to signal it mid-way
    "data=synthetic", "data.train_size=2048", "trainer.epochs=6", "trainer.batch_size=4", "optimizer=sgd",
    "optimizer.lr=0.05", "trainer.threads=1", "regularization=dropout", "regularization.dropout=0.3",
    "early_stopping=none", "seed=5",
]  # fmt: skip


def slurm(*args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster():
    """Skip unless a SLURM cluster answers and has a node up."""
    if shutil.which("sinfo") is None:
        pytest.skip('no SLURM here: `sinfo` not found (start one: eval "$(scripts/slurm_cluster.sh start)")')
    try:
        info = slurm("sinfo", "-h", "-o", "%t")
    except subprocess.TimeoutExpired:
        pytest.skip("no SLURM reachable: `sinfo` did not answer in 30 s")
    if info.returncode != 0:
        reason = (info.stderr or info.stdout).strip().splitlines()
        pytest.skip(
            f"no SLURM reachable: `sinfo` failed ({reason[-1] if reason else info.returncode}); is SLURM_CONF set?"
        )
    states = info.stdout.split()
    if not any(s.rstrip("*~#!%$@^-") in ("idle", "mix", "mixed", "alloc", "allocated") for s in states):
        pytest.skip(f"SLURM has no node up (states: {', '.join(states) or 'none'})")


def job_ids(sweep: Path):
    """SLURM job ids of the sweep's points, from submitit's folders (<array>_<task>, or <job>)."""
    return sorted(p.parent.name for p in (sweep / ".submitit").glob("*/*_submitted.pkl"))


def job_state(job_id: str) -> dict:
    shown = slurm("scontrol", "show", "job", job_id)
    assert shown.returncode == 0, shown.stderr
    return dict(item.split("=", 1) for item in shown.stdout.split() if "=" in item)


def test_a_sweep_runs_each_point_as_a_slurm_job(cluster, cli_process, outputs):
    sweep = outputs / "sweep"
    result = cli_process(
        "train",
        "-m",
        "hydra/launcher=slurm",
        f"hydra.sweep.dir={sweep}",
        *TINY,
        "model.activation=tanh,relu",
        timeout=600,
    )
    assert result.code == 0, result.err[-3000:]

    ids = job_ids(sweep)
    assert len(ids) == 2, ids
    for job_id in ids:  # SLURM ran them: it knows them (completed jobs stay listed for MinJobAge, 300 s by default)
        state = job_state(job_id)
        assert state["JobState"] == "COMPLETED" and state["ExitCode"] == "0:0", state
        log = next((sweep / ".submitit" / job_id).glob("*_log.out")).read_text()
        assert f"job_id={job_id}" in log  # the run's own log says which SLURM job it was
    for point in ("0", "1"):
        results = json.loads((sweep / point / "results.json").read_text())
        assert results["status"] == "finished" and results["machine"]["torch_threads"] == 1

    compare = subprocess.run([sys.executable, "-m", "runner", "compare", str(sweep)], capture_output=True, text=True)
    assert compare.returncode == 0, compare.stderr
    table = (sweep / "comparison.csv").read_text().splitlines()
    assert (
        len(table) == 1 + 2 and "model.activation=tanh" in compare.stdout and "model.activation=relu" in compare.stdout
    )


def test_the_reproduction_queue_runs_as_slurm_jobs(cluster, cli_process, outputs):
    """`runner reproduce ... --override hydra/launcher=slurm`: every missing (row, seed) run of
    the job list becomes a SLURM job (the launcher replaces the default joblib one)."""
    result = cli_process(
        "reproduce", "N1", "N6a", "--quick", "--seeds", "2", "--override", "hydra/launcher=slurm", timeout=600
    )
    assert result.code == 0, result.err[-3000:]
    root = outputs / "reproduce-quick"
    ids = job_ids(root)
    assert len(ids) == 4, ids
    assert all(job_state(job_id)["JobState"] == "COMPLETED" for job_id in ids)
    for row, seed in (("N1", 0), ("N1", 1), ("N6a", 0), ("N6a", 1)):
        results = json.loads((root / row / f"seed{seed}" / "results.json").read_text())
        assert results["status"] == "finished" and results["seed"] == seed
    assert "| N1 |" in (root / "reproduction.md").read_text()


def test_a_preempted_point_is_requeued_and_continues_exactly(cluster, cli, cli_process, outputs, tmp_path):
    whole = outputs / "whole"
    assert cli("train", *SLOW, f"hydra.run.dir={whole}").code == 0

    sweep = outputs / "preempted"
    command = ["train", "-m", "hydra/launcher=slurm", f"hydra.sweep.dir={sweep}", *SLOW, "trainer.resume=auto"]
    with open(tmp_path / "sweep.log", "w") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "runner", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUNNER_OUTPUTS": str(outputs)},
        )
        try:
            metrics = sweep / "0" / "metrics.csv"
            deadline = time.monotonic() + 300
            while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):  # 2 epochs written
                assert launcher.poll() is None and time.monotonic() < deadline, (tmp_path / "sweep.log").read_text()[
                    -3000:
                ]
                time.sleep(0.05)
            (job_id,) = job_ids(sweep)
            # What SLURM does signal_delay_s before a time limit (submitit's own Job._interrupt does this).
            assert slurm("scancel", "--signal", "USR2", job_id).returncode == 0
            while (state := job_state(job_id))["Restarts"] == "0" or state["JobState"] != "PENDING":
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            preempted = json.loads((sweep / "0" / "results.json").read_text())
            assert preempted["status"] == "preempted" and preempted["epochs_run"] >= 2
            # SLURM holds a requeued job for ~2 minutes (Reason=BeginTime); let it go now, but not
            # within the second of the requeue: slurmd refuses a job whose new credential is not
            # newer, in whole seconds, than the revocation of its old one ("Job credential
            # revoked"), and the job then fails instead of running.
            time.sleep(1.5)
            assert slurm("scontrol", "update", f"JobId={job_id}", "StartTime=now").returncode == 0
            assert launcher.wait(timeout=300) == 0, (tmp_path / "sweep.log").read_text()[-3000:]
        finally:
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGINT)
                launcher.wait(timeout=60)
    out = next((sweep / ".submitit" / job_id).glob("*_log.out")).read_text()
    assert "SIGUSR2 received" in out and "Requeued job" in out and f"resuming {sweep / '0'} after epoch" in out
    assert json.loads((sweep / "0" / "results.json").read_text())["status"] == "finished"
    assert metrics_without_time(sweep / "0") == metrics_without_time(whole)


def test_the_submitit_local_launcher_runs_a_sweep(cli_process, outputs):
    sweep = outputs / "local"
    result = cli_process(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        f"hydra.sweep.dir={sweep}",
        *TINY,
        "model.activation=tanh,relu",
        timeout=600,
    )
    assert result.code == 0, result.err[-3000:]
    assert len(job_ids(sweep)) == 2
    for point in ("0", "1"):
        assert json.loads((sweep / point / "results.json").read_text())["status"] == "finished"
