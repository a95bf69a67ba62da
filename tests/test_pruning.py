"""Pruning inside runner's loop (issue #24): a run that reports to a search's trial each epoch and
stops with stop_reason "pruned" when the trial's pruner says so, keeping a complete folder."""

import csv
import json
import math
import os
import subprocess
import sys

import optuna
import pytest
from omegaconf import OmegaConf

import runner.launch.app
from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import TARGET as SWEEPER_TARGET
from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import OptunaSweeperConf
from runner.errors import RunFault
from runner.launch.trial_link import job_trial, objective
from tests.conftest import TINY

EPOCHS = ["trainer.epochs=4", "early_stopping.monitor=val/loss", "model.hidden_sizes=[8]"]


class FakeTrial:
    """A trial whose pruner says stop once `prune_at` epochs have been reported."""

    def __init__(self, prune_at: int):
        self.prune_at, self.reports = prune_at, []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return len(self.reports) >= self.prune_at


def attach(monkeypatch, trial_of):
    """Jobs of `runner train` get trial_of(hydra_cfg) as their trial (what job_trial finds in a search)."""
    monkeypatch.setattr(runner.launch.app, "job_trial", trial_of)


def metrics_rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_a_pruned_run_stops_after_that_epoch_and_keeps_a_complete_folder(cli, monkeypatch, outputs):
    trial = FakeTrial(prune_at=2)
    attach(monkeypatch, lambda hydra_cfg: trial)
    run_dir = outputs / "trial"
    result = cli("train", *TINY, *EPOCHS, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.err
    results = json.loads((run_dir / "results.json").read_text())
    assert (results["status"], results["stop_reason"], results["epochs_run"]) == ("finished", "pruned", 2)
    assert results["tested_weights"] == "best" and results["test"]["loss"] is not None  # tested as any run
    rows = metrics_rows(run_dir)
    assert len(rows) == 2 and (run_dir / "checkpoints" / "best.pt").exists()
    # reported: the monitored metric of each epoch, numbered from 1, as metrics.csv has it
    assert [(step, round(value, 6)) for step, value in trial.reports] == [
        (int(r["epoch"]), round(float(r["val/loss"]), 6)) for r in rows
    ]
    assert "pruned by the search's pruner after epoch 2" in (run_dir / "train.log").read_text()
    assert objective(results) == results["val"]["loss"]

    again = cli("train", *TINY, *EPOCHS, f"hydra.run.dir={run_dir}", "trainer.resume=auto")
    assert again.code == 0, again.err
    assert "already finished" in again.out + again.err and len(trial.reports) == 2  # a pruned run is finished


def test_a_run_is_not_pruned_after_its_last_epoch(cli, monkeypatch, outputs):
    trial = FakeTrial(prune_at=1)
    attach(monkeypatch, lambda hydra_cfg: trial)
    result = cli("train", *TINY, "trainer.epochs=1", "model.hidden_sizes=[8]", f"hydra.run.dir={outputs / 'one'}")
    assert result.code == 0, result.err
    assert json.loads((outputs / "one" / "results.json").read_text())["stop_reason"] == "completed"
    assert len(trial.reports) == 1  # reported, but nothing was left to save


def test_a_real_optuna_trial_is_pruned_by_the_median_of_better_trials(cli, monkeypatch, outputs, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    number = study_with_two_good_trials(url)
    hydra_cfg = sweeper_cfg(url, number, pruner={"name": "median", "n_startup_trials": 1})
    attach(monkeypatch, lambda _: job_trial(hydra_cfg))
    result = cli("train", *TINY, *EPOCHS, "optimizer.lr=0.001", f"hydra.run.dir={outputs / 'slow'}")
    assert result.code == 0, result.err
    results = json.loads((outputs / "slow" / "results.json").read_text())
    assert (results["stop_reason"], results["epochs_run"]) == ("pruned", 1)
    stored = optuna.load_study(study_name="search", storage=url).trials[number]
    assert list(stored.intermediate_values) == [1]
    assert math.isclose(stored.intermediate_values[1], float(metrics_rows(outputs / "slow")[0]["val/loss"]))


# A search of 4 trials on synthetic data where the median pruner starts after 1 complete trial. The
# learning rate's two values differ by far (0.5 learns, 0.002 hardly moves): with the seeded random
# sampler, the 0.002 trials after the first complete one are worse than its epoch-1 loss and pruned.
SEARCH = [
    "-m",
    "hydra/sweeper=optuna",
    "hydra.sweeper.n_trials=4",
    "hydra.sweeper.pruner.name=median",
    "hydra.sweeper.pruner.n_startup_trials=1",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=0",
    *(o for o in TINY if not o.startswith("optimizer.lr=")),  # TINY's lr would pin the searched one
    "data.train_size=256",
    *EPOCHS,
    "optimizer.lr=0.5,0.002",
]


def test_a_search_prunes_bad_trials_and_every_report_says_so(cli):
    result = cli("train", *SEARCH)
    assert result.code == 0, result.err
    sweep = result.run_dirs()[0].parent
    manifest = {r["number"]: r for r in json.loads((sweep / "manifest.json").read_text())["runs"]}
    pruned = [n for n, r in manifest.items() if r["status"] == "pruned"]
    assert pruned and all(manifest[n]["stop_reason"] == "pruned" for n in pruned)
    with open(sweep / "trials.csv") as f:
        trials = {int(r["number"]): r for r in csv.DictReader(f)}
    assert sorted(n for n, t in trials.items() if t["state"] == "PRUNED") == sorted(pruned)
    complete = [t for t in trials.values() if t["state"] == "COMPLETE"]
    assert complete and all(int(trials[n]["epochs_run"]) < int(complete[0]["epochs_run"]) for n in pruned)
    for n in pruned:  # Optuna's value of a pruned trial: the last value it reported, its epoch's val/loss
        assert math.isclose(float(trials[n]["value"]), float(metrics_rows(sweep / str(n))[-1]["val/loss"]))
    assert "pruned by the search's pruner after epoch 1" in (sweep / str(pruned[0]) / "train.log").read_text()
    out = result.out + result.err
    assert f"runs finished, {len(pruned)} pruned" in out and "best trial" in out and "  runner train " in out

    compared = cli("compare", str(sweep), "--no-plots")
    assert compared.code == 0, compared.err
    assert f"{len(pruned)} pruned" in compared.out and "## Pruned" in compared.out


def study_with_two_good_trials(url):
    """A study whose two complete trials had val/loss 0.01 at each of 4 epochs; returns the number of a live third."""
    study = optuna.create_study(study_name="search", storage=url, direction="minimize")
    for _ in range(2):
        done = study.ask()
        for epoch in range(1, 5):
            done.report(0.01, epoch)
        study.tell(done, 0.01)
    return study.ask().number


@pytest.mark.slow
def test_under_ddp_rank_0_reports_and_both_ranks_stop_at_the_pruned_epoch(outputs):
    """torchrun, 2 CPU ranks, with the job overrides the sweeper gives a trial's job (~30 s on 2 cores)."""
    outputs.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{outputs / 'study.db'}"  # a study file must lie inside the outputs folder (the policy)
    number = study_with_two_good_trials(url)
    sweeper = ["hydra/sweeper=optuna", f"hydra.sweeper.storage={url}", f"hydra.sweeper.trial={number}"]
    sweeper += ["hydra.sweeper.pruner.name=median", "hydra.sweeper.pruner.n_startup_trials=1"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "runner"]
    run_dir = outputs / "ddp"
    args = [*TINY, *EPOCHS, "optimizer.lr=0.001", "trainer.strategy=ddp", *sweeper, f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs)}
    proc = subprocess.run([*command, "train", *args], capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert (results["world_size"], results["stop_reason"], results["epochs_run"]) == (2, "pruned", 1)
    stored = optuna.load_study(study_name="search", storage=url).trials[number]
    assert list(stored.intermediate_values) == [1]  # one report of epoch 1: rank 0's


# ---------------------------------------------------------------- which trial a job reports to


def sweeper_cfg(storage, trial, pruner=None, repeat=0, target=SWEEPER_TARGET):
    """The hydra node a job of runner's Optuna sweeper sees (what HydraConfig.get() returns)."""
    given = {"_target_": target, "storage": storage, "trial": trial, "repeat": repeat}
    given["pruner"] = pruner or {"name": "median"}
    sweeper = OmegaConf.merge(OmegaConf.structured(OptunaSweeperConf), given)
    return OmegaConf.create({"sweeper": sweeper, "sweep": {"dir": "unused"}})


@pytest.fixture
def running_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="search", storage=url)
    return url, study.ask().number


def test_a_job_of_the_search_gets_its_live_trial_with_the_configured_pruner(running_trial):
    url, number = running_trial
    trial = job_trial(sweeper_cfg(url, number, pruner={"name": "asha", "min_resource": 2}))
    assert trial.number == number and isinstance(trial.study.pruner, optuna.pruners.SuccessiveHalvingPruner)
    trial.report(0.5, 1)
    assert optuna.load_study(study_name="search", storage=url).trials[number].intermediate_values == {1: 0.5}


@pytest.mark.parametrize(
    "why, changes",
    [
        ("another sweeper", {"target": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"}),
        ("no trial number", {"trial": None}),
        ("a later repeat", {"repeat": 1}),
        ("no pruner", {"pruner": {"name": "none"}}),
    ],
)
def test_a_job_reports_to_no_trial(running_trial, why, changes):
    url, number = running_trial
    assert job_trial(sweeper_cfg(url, **{"trial": number, **changes})) is None, why


def test_a_trial_the_job_cannot_open_is_one_line_naming_it(tmp_path):
    with pytest.raises(RunFault) as fault:
        job_trial(sweeper_cfg(f"sqlite:///{tmp_path / 'none.db'}", 7))
    assert str(fault.value).startswith("hydra.sweeper.trial=7: cannot open trial 7 of study 'search'")


@pytest.mark.parametrize(
    "results, value",
    [
        ({"monitor": "val/loss", "val": {"loss": 0.25, "accuracy": 0.9}}, 0.25),
        ({"monitor": "val/accuracy", "val": {"loss": 0.25, "accuracy": 0.9}}, 0.9),
        ({"monitor": "val/accuracy", "val": {"loss": 0.25, "accuracy": None}}, None),
        ({"monitor": "val/loss", "val": {"loss": float("nan")}}, None),
        ({"monitor": "val/loss", "val": "damaged"}, None),
        ({}, None),
    ],
)
def test_the_objective_is_the_monitored_metric_of_the_tested_weights(results, value):
    assert objective(results) == value
