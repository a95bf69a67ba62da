"""Bad command lines fail before any data is loaded, with one message naming the key and what is allowed."""

import pytest

import runner.train

CASES = [
    # (override, words the message must contain)
    ("optimizer.lrr=0.1", ["optimizer.lrr", "unknown key", "lr"]),
    ("trainer.epochs=ten", ["trainer.epochs", "ten", "Integer"]),
    ("optimizer.lr=-1", ["optimizer.lr", "> 0", "-1"]),
    ("regularization.dropout=1.5", ["regularization.dropout", "[0, 1)", "1.5"]),
    ("model=transformer", ["model/transformer", "Available options", "mlp"]),
    ("model.activation=swish", ["model.activation", "swish", "relu", "tanh", "sigmoid"]),
    ("model.hidden_sizes=[0]", ["model.hidden_sizes", "at least 1 unit"]),
    ("model.hidden_sizes=[a]", ["model.hidden_sizes", "Integer"]),
    ("early_stopping.patience=-2", ["early_stopping.patience", ">= 0"]),
    ("early_stopping.monitor=val/acc", ["early_stopping.monitor", "val/accuracy"]),
    ("trainer.device=tpu", ["trainer.device", "cpu", "cuda"]),
    ("trainer.batch_size=0", ["trainer.batch_size", "at least 1"]),
    ("+learning_rate=3", ["learning_rate", "unknown top-level key", "optimizer"]),
    ("loss=hinge_squared", ["loss", "hinge_squared", "cross_entropy"]),
    ("optimizer=adam optimizer.momentum=0.9", ["optimizer.momentum", "unknown key", "betas"]),
    ("data.train_size=0", ["data.train_size", "between 1 and 50000"]),
]


@pytest.fixture
def no_data_loading(monkeypatch):
    calls = []
    monkeypatch.setattr(runner.train, "load_dataset", lambda cfg: calls.append(cfg) or pytest.fail("data loaded"))
    return calls


@pytest.mark.parametrize("override,words", CASES, ids=[c[0] for c in CASES])
def test_bad_override_is_explained_before_any_work(cli, no_data_loading, override, words):
    result = cli("train", *override.split())
    assert result.code == 2
    message = result.err.strip()
    assert message.startswith("runner: config error:"), message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert "Traceback" not in message
    assert not result.outputs.exists(), "nothing may be written for a bad config"
    assert no_data_loading == []


def test_bad_point_in_a_sweep_fails_before_the_first_run(cli, no_data_loading):
    result = cli("train", "-m", "data=synthetic", "optimizer.lr=0.1,0.2,-1", "seed=0,1")
    assert result.code == 2
    assert "sweep point 4 of 6" in result.err and "optimizer.lr=-1" in result.err
    assert not result.outputs.exists()
    assert no_data_loading == []


def test_malformed_override_syntax(cli):
    result = cli("train", "model.hidden_sizes=[100")
    assert result.code == 2
    assert "model.hidden_sizes=[100" in result.err
