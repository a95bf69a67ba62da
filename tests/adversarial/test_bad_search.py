"""hydra/sweeper=optuna with a search that cannot run: one line naming the key, exit 2, before
the first trial (no run folder)."""

import pytest
from adversarial_support import refused

SEARCH = [
    "train",
    "-m",
    "hydra/sweeper=optuna",
    "data=synthetic",
    "data.train_size=128",
    "trainer.epochs=2",
    "trainer.threads=1",
    "hydra.sweeper.n_trials=2",
]
LR = "hydra.sweeper.params.optimizer.lr"


def no_runs(outputs) -> bool:
    return not list(outputs.rglob(".hydra/config.yaml"))


@pytest.mark.parametrize(
    "overrides, words",
    [
        (
            ["+hydra.sweeper.params.optimizer.lrr='interval(0.01, 0.1)'"],
            ["optimizer.lrr", "did you mean optimizer.lr"],
        ),
        (["optimizer.lrr=tag(log,interval(0.001,0.1))"], ["optimizer.lrr", "did you mean optimizer.lr"]),
        ([f"+{LR}='interval(0.1, 0.1)'"], [LR, "empty interval(0.1, 0.1)"]),
        ([f"+{LR}='interval(0.1, 0.01)'"], [LR, "inverted interval(0.1, 0.01)"]),
        ([f"+{LR}='tag(log, interval(0, 0.1))'"], [LR, "positive low bound"]),
        (["model.activation=relu,sigmoidd"], ["model.activation=sigmoidd", "model.activation"]),
        (["optimizer.lr=choice(0.1,-1)"], ["optimizer.lr=-1", "optimizer.lr"]),
        (["optimizer.lr=interval(0.1,1)", "hydra.sweeper.sampler.name=tpee"], ["hydra.sweeper.sampler.name", "tpe"]),
        (
            ["optimizer.lr=interval(0.1,1)", "hydra.sweeper.pruner.name=meadian"],
            ["hydra.sweeper.pruner.name", "median"],
        ),
        (["optimizer.lr=interval(0.1,1)", "hydra.sweeper.sampler.name=grid"], ["optimizer.lr", "grid"]),
        (
            ["optimizer.lr=interval(0.1,1)", "hydra.sweeper.pruner.name=median", "early_stopping.monitor=train/loss"],
            ["hydra.sweeper.pruner.name", "train/loss"],
        ),
        (
            ["optimizer.lr=interval(0.1,1)", "hydra.sweeper.pruner.name=median", "trainer.epochs=1"],
            ["hydra.sweeper.pruner.name", "trainer.epochs=1"],
        ),
        (["optimizer.lr=interval(0.1,1)", "hydra.sweeper.pruner.patience=3"], ["hydra.sweeper.pruner.patience"]),
        (["hydra.sweeper.n_trials=3"], ["hydra.sweeper.params", "nothing to search"]),
    ],
    ids=[
        "unknown-key-in-params",
        "unknown-key-on-command-line",
        "empty-interval",
        "inverted-interval",
        "log-of-zero",
        "choice-the-schema-refuses",
        "negative-learning-rate-choice",
        "unknown-sampler",
        "unknown-pruner",
        "grid-over-an-interval",
        "pruner-without-validation-metric",
        "pruner-with-one-epoch",
        "unknown-pruner-key",
        "empty-space",
    ],
)
def test_a_search_that_cannot_run_is_refused_before_its_first_trial(cli, outputs, overrides, words):
    refused(cli(*SEARCH, *overrides), *words)
    assert no_runs(outputs)


@pytest.mark.parametrize(
    "storage, words",
    [
        ("postgresql://nobody@127.0.0.1:1/study", ["hydra.sweeper.storage", "cannot open"]),
        ("redis://127.0.0.1/0", ["hydra.sweeper.storage", "redis://"]),
        ("/tmp/elsewhere/study.journal", ["hydra.sweeper.storage", "inside the outputs folder"]),
    ],
    ids=["unreachable-server", "unsupported-scheme", "journal-outside-outputs"],
)
def test_a_storage_the_search_cannot_use_is_refused(cli, outputs, storage, words):
    refused(cli(*SEARCH, "optimizer.lr=interval(0.1,1)", f"hydra.sweeper.storage={storage}"), *words)
    assert no_runs(outputs)
