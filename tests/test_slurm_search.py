"""Two SLURM jobs work on one Optuna study at once (hydra/sweeper=optuna, issue 24): each job is
a worker running the same `runner train -m` search on one journal file and one sweep folder;
each asks the study for the next trial as soon as its last one ends, and together they stop at
n_trials. Marked `slurm` (deselected by default); start a one-node cluster with
`eval "$(scripts/slurm_cluster.sh start)"`. On a cluster of several nodes the outputs folder
(and so the journal file) must be on a shared file system."""

import json
import os
import sys
import time

import pytest
from test_slurm import cluster, job_state, slurm  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slurm

TRIALS = 6
SEARCH = [
    "train", "-m", "+experiment=search_lr_l2", "data=synthetic", "data.train_size=4096", "trainer.epochs=3",
    "trainer.batch_size=32", "trainer.threads=1", f"hydra.sweeper.n_trials={TRIALS}", "trainer.progress=false",
]  # fmt: skip


def submit(command, log, outputs) -> str:
    line = " ".join(f"'{part}'" for part in [sys.executable, "-m", "runner", *command])
    done = slurm(
        "sbatch", "--parsable", "--hold", "--cpus-per-task=1", f"--output={log}", "--export=ALL", f"--wrap={line}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(";")[0]


def test_two_slurm_jobs_share_one_study_and_stop_together_at_n_trials(cluster, outputs, tmp_path):  # noqa: F811
    import optuna

    sweep, journal = outputs / "shared-search", outputs / "shared-search.journal"
    command = [*SEARCH, f"hydra.sweep.dir={sweep}", f"hydra.sweeper.storage={journal}"]
    os.environ["RUNNER_OUTPUTS"] = str(outputs)  # sbatch --export=ALL hands it to the jobs
    jobs = [submit(command, tmp_path / f"worker{i}.log", outputs) for i in range(2)]
    # Held, then released together: both workers start at once, so neither can finish the whole
    # study before the other has joined (in CI the second job once started after the first ended).
    assert slurm("scontrol", "release", ",".join(jobs)).returncode == 0
    deadline = time.monotonic() + 120
    while {job_state(job)["JobState"] for job in jobs} != {"RUNNING"}:
        states = [job_state(job)["JobState"] for job in jobs]
        assert time.monotonic() < deadline and "COMPLETED" not in states, f"not side by side: {states}"
        time.sleep(0.2)
    deadline = time.monotonic() + 600
    while slurm("squeue", "-h", "-j", ",".join(jobs)).stdout.strip():
        assert time.monotonic() < deadline, "the two workers did not finish in 10 minutes"
        time.sleep(1)
    logs = {job: (tmp_path / f"worker{i}.log").read_text() for i, job in enumerate(jobs)}
    for job in jobs:
        assert "Traceback" not in logs[job], logs[job][-3000:]
        state = job_state(job)  # completed jobs stay listed for MinJobAge (300 s by default)
        assert state["JobState"] == "COMPLETED" and state["ExitCode"] == "0:0", (state, logs[job][-3000:])

    from runner.launch.optuna_study import open_storage

    study = optuna.load_study(study_name="search_lr_l2", storage=open_storage(str(journal)))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == TRIALS and [t.number for t in trials] == list(range(TRIALS))  # none past n_trials
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, workers  # both jobs ran trials, side by side
    for trial in trials:
        results = json.loads((sweep / str(trial.number) / "results.json").read_text())
        assert results["status"] == "finished" and results["val"]["loss"] == pytest.approx(trial.value)
