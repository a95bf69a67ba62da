"""Early stopping stops when the monitored metric stalls, and the tested weights are the best epoch's."""

import pytest
import torch

from runner.build.data import load_dataset
from runner.build.early_stopping import EarlyStopping, EarlyStoppingConfig
from runner.build.losses import build_loss
from runner.build.models import build_model
from runner.build.tasks import Classification
from runner.config.schema import validate
from runner.fit.loop import evaluate
from runner.launch.preflight import check


def test_patience_counts_epochs_without_improvement():
    stopper = EarlyStopping(EarlyStoppingConfig(policy="patience", monitor="val/loss", patience=2, min_delta=0.01))
    history = [1.0, 0.5, 0.495, 0.6, 0.4, 0.45, 0.41]
    stops = []
    for epoch, loss in enumerate(history, 1):
        stopper.update(epoch, {"val/loss": loss})
        stops.append(stopper.should_stop)
    # 0.495 is not better than 0.5 by more than min_delta; 0.4 resets the count.
    assert stopper.best_epoch == 5 and stopper.best_value == 0.4
    assert stops == [False, False, False, True, False, False, True]


def test_mode_auto_maximises_accuracy_and_minimises_loss():
    assert EarlyStoppingConfig(monitor="val/accuracy").maximize
    assert not EarlyStoppingConfig(monitor="val/loss").maximize
    assert not EarlyStoppingConfig(monitor="val/accuracy", mode="min").maximize


def test_policy_none_never_stops_but_tracks_best():
    stopper = EarlyStopping(EarlyStoppingConfig(policy="none"))
    for epoch, acc in enumerate([0.5, 0.4, 0.3, 0.2], 1):
        stopper.update(epoch, {"val/accuracy": acc})
    assert not stopper.should_stop and stopper.best_epoch == 1


# Validation loss on this tiny problem bottoms out early, then rises as the net overfits.
OVERFITTING = [
    "data=synthetic",
    "data.train_size=32",
    "data.noise=1.0",
    "optimizer=adam",
    "optimizer.lr=0.05",
    "model.hidden_sizes=[256]",
    "trainer.batch_size=8",
    "early_stopping.monitor=val/loss",
]


def test_run_stops_after_patience_and_tests_the_best_weights(cli):
    args = ["train", *OVERFITTING, "trainer.epochs=60", "early_stopping=patience", "early_stopping.patience=3"]
    result = cli(*args)
    assert result.code == 0, result.err
    results = result.results()
    assert results["stop_reason"] == "early_stopping"
    assert results["epochs_run"] == results["best_epoch"] + 3 < 60
    assert results["tested_weights"] == "best"
    assert f"(epoch {results['best_epoch']} weights)" in result.out + result.err

    # Re-evaluate best.pt on the test split: it must be the model that produced results.json's test numbers.
    (cfg,) = check(args[1:])
    run_cfg = validate(cfg)
    data = load_dataset(run_cfg.data)
    model = build_model(run_cfg.model, run_cfg.regularization, data.input_shape, data.num_classes)
    state = torch.load(result.run_dir() / "checkpoints" / "best.pt", weights_only=True)
    assert state["epoch"] == results["best_epoch"]
    model.load_state_dict(state["model"])
    again = evaluate(model, Classification, data.test, build_loss("cross_entropy"), 1000)
    assert again["accuracy"] == pytest.approx(results["test"]["accuracy"])
    assert again["loss"] == pytest.approx(results["test"]["loss"], rel=1e-5)


def test_without_restore_best_the_last_weights_are_tested_and_the_log_says_which(cli):
    # Keras' habit (K2): report the final weights. The log line names the epoch whose weights were tested.
    result = cli("train", *OVERFITTING, "trainer.epochs=15", "early_stopping=none", "early_stopping.restore_best=false")
    assert result.code == 0, result.err
    results = result.results()
    assert results["best_epoch"] < 15 and results["tested_weights"] == "last"
    assert "(epoch 15 weights)" in result.out + result.err
