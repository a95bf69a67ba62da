"""Hyper-parameter search with hydra/sweeper=optuna (experiments/search_lr_l2.yaml) on synthetic data."""

import json
import math

import pytest
import yaml

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the [optuna] extra")
# optuna 2.10 (what hydra-optuna-sweeper 1.3 allows) uses an SQLAlchemy 1.x call that SQLAlchemy 2 flags on import.
pytestmark = pytest.mark.filterwarnings("ignore:.*declarative_base")

# Not conftest.TINY: its optimizer.lr=0.5 would pin the searched learning rate (a command-line value wins over the search space).
SEARCH = [
    "-m",
    "+experiment=search_lr_l2",
    "data=synthetic",
    "data.train_size=256",
    "trainer.epochs=3",
    "trainer.batch_size=32",
    "trainer.threads=1",
    "hydra.sweeper.n_trials=3",
]


def trial_settings(run) -> dict:
    overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
    return {k: v for k, _, v in (o.partition("=") for o in overrides)}


def test_an_optuna_search_runs_its_trials_and_reports_the_best(cli):
    result = cli("train", *SEARCH)
    assert result.code == 0, result.err
    runs = result.run_dirs()
    assert len(runs) == 3
    sweep = runs[0].parent
    assert [r.name for r in runs] == ["0", "1", "2"]
    val_losses = []
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        assert results["status"] == "finished"
        settings = trial_settings(run)
        assert 1e-4 <= float(settings["optimizer.lr"]) <= 1e-1  # sampled from the search space
        assert 1e-6 <= float(settings["regularization.l2"]) <= 1e-2
        val_losses.append(results["val"]["loss"])
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna" and set(best["best_params"]) == {"optimizer.lr", "regularization.l2"}
    assert math.isclose(best["best_value"], min(val_losses), rel_tol=1e-6)  # the objective: validation loss, minimised
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert [r["status"] for r in manifest["runs"]] == ["finished"] * 3


def test_a_bad_fixed_key_fails_before_any_trial(cli):
    result = cli("train", *SEARCH, "trainer.epochz=2")
    assert result.code == 2 and "trainer.epochz" in result.err
    assert not result.run_dirs()


def test_a_search_launched_again_with_resume_auto_reuses_its_finished_trials(cli):
    first = cli("train", *SEARCH, "trainer.resume=auto")
    assert first.code == 0, first.err
    runs = first.run_dirs()
    before = {run.name: (trial_settings(run), (run / "results.json").stat().st_mtime_ns) for run in runs}
    again = cli("train", *SEARCH, "trainer.resume=auto")
    assert again.code == 0, again.err
    assert (again.out + again.err).count("already finished") == 3  # the seeded sampler proposed the same trials
    assert {
        run.name: (trial_settings(run), (run / "results.json").stat().st_mtime_ns) for run in again.run_dirs()
    } == before


def test_a_typo_in_the_search_space_fails_before_the_first_trial(cli):
    result = cli(
        "train",
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.n_trials=2",
        "data=synthetic",
        "optimizer.lrr=tag(log,interval(0.001,0.1))",
    )
    assert result.code == 2
    assert "optimizer.lrr" in result.err and "lr" in result.err
    assert not result.outputs.exists()
