"""What a run reports about its own training must be true: an exploding loss is a divergence,
results.json describes the weights that were tested, the console says which stopping rule
can end the run, and results.json records the thread count an exact repeat needs."""

import csv
import glob
import uuid

import pytest
import torch
from conftest import TINY

from runner.paths import EXPERIMENTS_DIR, REPO_ROOT


def metrics_rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def console_lines(result):
    return [line for line in (result.out + result.err).splitlines() if line.strip()]


# --- 18: an exploding loss stops the run as diverged -------------------------------------------


def test_a_huge_learning_rate_stops_the_run_as_diverged_in_its_first_epoch(cli):
    result = cli("train", *TINY, "optimizer.lr=1e6", "trainer.epochs=5", "early_stopping=none")
    assert result.code == 0, result.err
    results = result.results()
    assert results["stop_reason"] == "diverged" and results["status"] == "finished"
    # The loss reaches ~1e28 inside epoch 1 and falls back to ~1e5 afterwards: the stop comes in epoch 1.
    assert results["diverged_at"]["epoch"] == 1 and results["epochs_run"] == 0
    assert 1 <= results["diverged_at"]["step"] <= 8  # 256 examples in batches of 32
    said = [line for line in console_lines(result) if "stopping (diverged)" in line]
    assert len(said) == 1, console_lines(result)
    assert said[0].startswith("training loss ") and "(trainer.divergence_factor 10000 x " in said[0]
    assert (
        f"the loss before the first step), first over it at epoch 1, step {results['diverged_at']['step']}" in said[0]
    )


def test_divergence_factor_0_turns_the_explosion_rule_off(cli):
    result = cli(
        "train", *TINY, "optimizer.lr=1e6", "trainer.epochs=4", "early_stopping=none", "trainer.divergence_factor=0"
    )
    assert result.code == 0, result.err
    results = result.results()
    assert results["stop_reason"] == "completed" and results["epochs_run"] == 4
    assert float(metrics_rows(result.run_dir())[0]["train/loss"]) > 1e20  # what the rule would have stopped


@pytest.mark.parametrize("factor", ["1", "0.5", "-3", "nan"])
def test_a_divergence_factor_that_would_stop_normal_runs_is_refused(cli, factor):
    result = cli("train", *TINY, f"trainer.divergence_factor={factor}")
    assert result.code == 2
    assert "trainer.divergence_factor" in result.err


def test_a_saturating_sigmoid_reproduction_is_not_cut_by_the_default_rule(cli):
    """N2 (sigmoid, quadratic cost, N(0,1) init, lr 3): the loss may rise, but nowhere near the limit;
    the rule's yardstick is saved with the stopper, so a resumed run keeps it."""
    result = cli("train", "+experiment=reproduce/n2", "data=synthetic", "trainer.epochs=6", "trainer.threads=1")
    assert result.code == 0, result.err
    results = result.results()
    assert results["stop_reason"] == "completed" and results["epochs_run"] == 6
    initial = torch.load(result.run_dir() / "checkpoints" / "last.pt", weights_only=True)["early_stopping"][
        "initial_loss"
    ]
    assert initial > 0
    worst = max(float(r["train/loss"]) for r in metrics_rows(result.run_dir()))
    assert worst < 1e4 * initial / 100  # a hundredfold margin below the default limit


def test_no_committed_reproduction_curve_rises_far_above_its_first_epoch():
    """The committed reproduction runs (experiments/results) never come close to an explosion:
    no epoch's training loss is even twice its first epoch's (the rule's limit is 1e4 x the loss before training)."""
    files = glob.glob(str(REPO_ROOT / "experiments" / "results" / "**" / "metrics.csv"), recursive=True)
    assert files
    for path in files:
        with open(path) as f:
            losses = [float(r["train/loss"]) for r in csv.DictReader(f) if r.get("train/loss")]
        assert not losses or max(losses) < 2 * losses[0], path


# --- 19: results.json's train/val/test all describe the tested weights ------------------------


def test_restore_best_false_reports_the_last_epochs_train_and_val_beside_their_test(cli):
    result = cli("train", *TINY, "trainer.epochs=6", "early_stopping=none", "early_stopping.restore_best=false")
    assert result.code == 0, result.err
    results, rows = result.results(), metrics_rows(result.run_dir())
    last = rows[-1]
    assert results["tested_weights"] == "last" and results["tested_epoch"] == 6 == results["epochs_run"]
    assert results["train"] == {"loss": float(last["train/loss"]), "accuracy": float(last["train/accuracy"])}
    assert results["val"] == {"loss": float(last["val/loss"]), "accuracy": float(last["val/accuracy"])}
    assert results["best_epoch"] < 6  # this recipe's best val accuracy comes earlier: the old report mixed epochs
    assert "(epoch 6 weights)" in result.out + result.err


def test_restore_best_true_reports_the_best_epochs_train_and_val(cli):
    result = cli("train", *TINY, "trainer.epochs=6", "early_stopping=none")
    results, rows = result.results(), metrics_rows(result.run_dir())
    best = rows[results["best_epoch"] - 1]
    assert results["tested_weights"] == "best" and results["tested_epoch"] == results["best_epoch"]
    assert results["val"]["loss"] == float(best["val/loss"]) and results["train"]["loss"] == float(best["train/loss"])


def test_weights_stopped_inside_an_epoch_have_no_train_metrics_and_a_measured_val(cli):
    """Diverged in epoch 1 with restore_best=false: the tested weights are those of the stop, not of any epoch."""
    result = cli("train", *TINY, "optimizer.lr=1e6", "early_stopping=none", "early_stopping.restore_best=false")
    results = result.results()
    assert results["stop_reason"] == "diverged" and results["tested_epoch"] is None
    assert results["train"] == {"loss": None, "accuracy": None}
    assert results["val"]["loss"] is not None and results["val"]["accuracy"] is not None
    assert "weights from inside the last epoch" in result.out + result.err


# --- 20: the console says which stopping rule can end the run ---------------------------------


def test_the_first_lines_name_the_default_stopping_rule_and_a_chosen_epoch_count_gets_a_notice(cli):
    result = cli("train", *TINY, "trainer.epochs=20")
    lines = console_lines(result)
    head = lines[:4]
    assert "early stopping: patience 3 on val/accuracy (early_stopping=none to train all 20 epochs)" in head, lines
    notices = [line for line in lines if line.startswith("notice: trainer.epochs=20")]
    assert len(notices) == 1 and "early_stopping=none trains all 20" in notices[0]


def test_no_notice_without_a_chosen_epoch_count_or_with_a_chosen_stopper(cli):
    default_epochs = [a for a in TINY if not a.startswith("trainer.epochs=")]
    plain = cli("train", *default_epochs, "trainer.epochs=10")  # the default value, but typed: still a choice
    assert any(line.startswith("notice: trainer.epochs=10") for line in console_lines(plain))
    untouched = cli("train", *default_epochs)
    assert "early stopping: patience 3 on val/accuracy (early_stopping=none to train all 10 epochs)" in console_lines(
        untouched
    )
    assert not any(line.startswith("notice:") for line in console_lines(untouched))
    for chosen in ("early_stopping=patience", "early_stopping.patience=5"):
        result = cli("train", *TINY, "trainer.epochs=20", chosen)
        assert not any(line.startswith("notice:") for line in console_lines(result)), chosen
    none = cli("train", *TINY, "early_stopping=none")
    assert "early stopping: none (all 3 epochs; the best val/accuracy epoch is tested)" in console_lines(none)
    assert not any(line.startswith("notice:") for line in console_lines(none))


@pytest.fixture
def experiment_file():
    """experiments/_tmp_<unique>.yaml (Hydra finds experiments there); removed afterwards."""
    written = []

    def write(text: str) -> str:
        path = EXPERIMENTS_DIR / f"_tmp_{uuid.uuid4().hex[:10]}.yaml"
        path.write_text(text)
        written.append(path)
        return path.stem

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def test_an_experiment_files_epoch_count_under_the_default_stopper_gets_the_notice(cli, experiment_file):
    name = experiment_file("# @package _global_\ntrainer: {epochs: 20}\n")
    args = [a for a in TINY if not a.startswith("trainer.epochs=")]
    result = cli("train", f"+experiment={name}", *args)
    assert result.code == 0, result.err
    assert any(
        line.startswith("notice: trainer.epochs=20, but the default early stopping") for line in console_lines(result)
    )
    chosen = experiment_file("# @package _global_\ntrainer: {epochs: 20}\nearly_stopping: {patience: 20}\n")
    quiet = cli("train", f"+experiment={chosen}", *args)
    assert quiet.code == 0, quiet.err
    assert not any(line.startswith("notice:") for line in console_lines(quiet))


# --- 22: the thread count is recorded -----------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_results_record_the_torch_threads_the_run_used(cli, threads):
    args = [a for a in TINY if not a.startswith("trainer.threads=")]
    before = torch.get_num_threads()
    try:
        result = cli("train", *args, f"trainer.threads={threads}", "trainer.epochs=1")
    finally:
        torch.set_num_threads(before)  # the run set it for this whole test process
    assert result.results()["threads"] == threads
