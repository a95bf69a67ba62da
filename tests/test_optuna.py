"""Hyper-parameter search with runner's hydra/sweeper=optuna (experiments/search_lr_l2.yaml,
docs/tuning.md) on synthetic data: trials, the study in its storage, a relaunch that continues
it, pinned and command-line keys, grid, repeats, a search killed mid-trial, two workers."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

optuna = pytest.importorskip("optuna", reason="needs the [tune] extra")

# Not conftest.TINY: its optimizer.lr=0.5 would pin the searched learning rate (a command-line value wins over the search space).
FAST = ["data=synthetic", "data.train_size=128", "trainer.epochs=2", "trainer.batch_size=32", "trainer.threads=1"]
SEARCH = ["-m", "+experiment=search_lr_l2", *FAST]


def trial_settings(run) -> dict:
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    return {k: v for k, _, v in (o.partition("=") for o in overrides)}


def study_of(sweep, name="search_lr_l2", storage=None):
    return optuna.load_study(study_name=name, storage=storage or f"sqlite:///{sweep / 'optuna.db'}")


def sweep_of(result):
    (sweep,) = {run.parent for run in result.run_dirs()}
    return sweep


def test_a_search_runs_its_trials_and_a_relaunch_continues_its_study(cli):
    first = cli("train", *SEARCH, "hydra.sweeper.n_trials=2")
    assert first.code == 0, first.err
    sweep = sweep_of(first)
    assert [r.name for r in first.run_dirs()] == ["0", "1"]
    val_losses = []
    for run in first.run_dirs():
        results = json.loads((run / "results.json").read_text())
        assert results["status"] == "finished"
        settings = trial_settings(run)
        assert 1e-4 <= float(settings["optimizer.lr"]) <= 1e-1  # sampled from the search space
        assert 1e-6 <= float(settings["regularization.l2"]) <= 1e-2
        val_losses.append(results["val"]["loss"])
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"optimizer.lr", "regularization.l2"}
    assert math.isclose(best["best_value"], min(val_losses), rel_tol=1e-6)  # val/loss, minimised
    assert "runner train +experiment=search_lr_l2" in first.out  # the best trial as a command
    trials = study_of(sweep).trials
    assert [(t.number, t.state.name, t.user_attrs["folder"]) for t in trials] == [
        (0, "COMPLETE", "0"),
        (1, "COMPLETE", "1"),
    ]

    before = {run.name: (run / "results.json").stat().st_mtime_ns for run in first.run_dirs()}
    again = cli("train", *SEARCH, "hydra.sweeper.n_trials=3")  # the same command, a larger total
    assert again.code == 0, again.err
    assert sweep_of(again) == sweep
    assert [r.name for r in again.run_dirs()] == ["0", "1", "2"]
    assert {n: (sweep / n / "results.json").stat().st_mtime_ns for n in before} == before  # not run again
    assert [t.state.name for t in study_of(sweep).trials] == ["COMPLETE"] * 3
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert [r["status"] for r in manifest["runs"]] == ["finished"] * 3


def test_a_key_given_plainly_is_pinned_and_a_command_line_sweep_is_searched(cli):
    result = cli("train", *SEARCH, "hydra.sweeper.n_trials=2", "optimizer.lr=0.05", "model.activation=relu,tanh")
    assert result.code == 0, result.err
    for run in result.run_dirs():
        settings = trial_settings(run)
        assert float(settings["optimizer.lr"]) == 0.05 and settings["model.activation"] in ("relu", "tanh")
    (trial, _) = study_of(sweep_of(result)).trials
    assert set(trial.params) == {"regularization.l2", "model.activation"}


@pytest.mark.slow
def test_a_grid_stops_when_its_points_are_done_and_repeats_average_their_runs(cli):
    result = cli(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        *FAST,
        "model.activation=relu,tanh",
        "hydra.sweeper.sampler.name=grid",
        "hydra.sweeper.n_trials=5",
        "hydra.sweeper.repeats=2",
        "early_stopping.monitor=val/loss",
    )
    assert result.code == 0, result.err
    sweep = result.run_dirs()[0].parent.parent
    assert sorted(r.relative_to(sweep).as_posix() for r in result.run_dirs()) == [
        "0/repeat0",
        "0/repeat1",
        "1/repeat0",
        "1/repeat1",
    ]
    trials = study_of(sweep, name="search").trials
    assert sorted(t.params["model.activation"] for t in trials) == ["relu", "tanh"]  # 2 points, not 5 trials
    for trial in trials:
        losses = [
            json.loads((sweep / f"{trial.number}/repeat{r}/results.json").read_text())["val"]["loss"] for r in (0, 1)
        ]
        assert math.isclose(trial.value, sum(losses) / 2, rel_tol=1e-6)
        seeds = [trial_settings(sweep / f"{trial.number}/repeat{r}").get("seed") for r in (0, 1)]
        assert seeds == [None, "1"]  # repeat 1: the next seed


def run_until(args, outputs, ready, timeout=120):
    """Start `runner train ...` as a process; SIGKILL it once ready() holds."""
    proc = start(args, outputs)
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_a_search_killed_mid_trial_continues_where_it_stopped(cli, outputs):
    args = [*SEARCH, "trainer.epochs=40", "early_stopping=none", "hydra.sweeper.n_trials=3"]
    resumable = outputs / "sweeps" / "resumable"
    run_until(args, outputs, lambda: any(resumable.glob("*/1/metrics.csv")))  # trial 0 done, trial 1 training
    (sweep,) = resumable.iterdir()
    killed = study_of(sweep).trials[1]
    assert killed.state.name == "RUNNING"  # as the killed process left it

    again = cli("train", *args)
    assert again.code == 0, again.err
    trials = study_of(sweep).trials
    states = [t.state.name for t in trials]
    assert states[:2] == ["COMPLETE", "FAIL"] and states[2:] == ["COMPLETE", "COMPLETE"]  # 3 trials that count
    assert trials[1].user_attrs["requeued"] is True
    retry = trials[2]
    assert retry.params == killed.params and retry.user_attrs["retry_of"] == 1  # its parameters trained afresh
    assert json.loads((sweep / "2" / "results.json").read_text())["epochs_run"] == 40


def start(args, outputs, env=None):
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "train", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.mark.slow
def test_two_processes_of_one_command_share_its_study_on_a_journal_file(outputs):
    """As N SLURM worker jobs do: each asks the next trial; together they run n_trials, no more."""
    journal = outputs / "study.journal"
    args = [
        *SEARCH,
        "trainer.epochs=20",
        "early_stopping=none",
        "hydra.sweeper.n_trials=5",
        f"hydra.sweeper.storage={journal}",
    ]
    workers = [start(args, outputs), start(args, outputs)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read().decode()[-2000:]
    from runner.launch.optuna_study import open_storage

    trials = optuna.load_study(study_name="search_lr_l2", storage=open_storage(str(journal))).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 5  # none past n_trials
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both pulled trials
    (sweep,) = (outputs / "sweeps" / "resumable").iterdir()
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == ["0", "1", "2", "3", "4"]


@pytest.mark.slow
def test_n_jobs_starts_workers_that_pull_trials_as_they_go(cli, outputs):
    args = ["trainer.epochs=40", "early_stopping=none", "hydra.sweeper.n_trials=8", "hydra.sweeper.n_jobs=2"]
    result = cli("train", *SEARCH, *args)  # trials of seconds: the helper starts (10-20 s here) before the last
    assert result.code == 0, result.err
    trials = study_of(sweep_of(result)).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 8
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # the helper process joined in


@pytest.mark.slow
def test_a_folder_holding_runs_the_study_did_not_make_is_refused(cli, outputs):
    sweep = outputs / "sweeps" / "mine"
    grid = cli("train", "-m", *FAST, "trainer.epochs=1", "seed=0", f"hydra.sweep.dir={sweep}")
    assert grid.code == 0, grid.err
    result = cli("train", *SEARCH, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={sweep}")
    assert result.code == 2 and "did not make" in result.err and "hydra.sweep.dir" in result.err
    assert [r.name for r in result.run_dirs()] == ["0"]  # the sweep's run, untouched
