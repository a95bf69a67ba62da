"""model=hrnn, the hierarchical RNN of images, through the real CLI: it trains, has the parameter
count its two recurrent levels and classifier give by hand, learns MNIST above chance in one
epoch on 500 images, and is refused (one line, before compute) on inputs without rows."""

import pytest
import torch

from runner.build.models import build_model
from runner.config.models.hrnn import HRNNConfig
from runner.errors import ConfigError
from tests.adversarial.adversarial_support import refused

QUICK = ["trainer.epochs=1", "trainer.batch_size=32", "trainer.threads=1", "trainer.progress=false"]


def gated_params(cell: str, inputs: int, hidden: int) -> int:
    """A one-layer PyTorch recurrent net: per gate an input matrix, a hidden matrix and two biases."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    return gates * (hidden * inputs + hidden * hidden + 2 * hidden)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_hrnn_trains_one_epoch_on_synthetic_with_the_hand_computed_parameter_count(cli, cell):
    result = cli(
        "train",
        "data=synthetic",
        "model=hrnn",
        f"model.cell={cell}",
        "model.row_hidden=6",
        "model.image_hidden=5",
        *QUICK,
    )
    assert result.code == 0, result.err[-2000:]
    summary = result.results()
    # synthetic images are (1, 8, 8) in 4 classes: rows read 8 steps of 1 value, the image 8 row vectors
    expected = gated_params(cell, 1, 6) + gated_params(cell, 6, 5) + (5 * 4 + 4)
    assert summary["params"] == expected
    assert 0 <= summary["test"]["accuracy"] <= 1


def test_each_row_is_read_into_its_own_vector():
    """A change to one row reaches the image level only through that row's vector."""
    model = build_model(HRNNConfig(row_hidden=4, image_hidden=3), _reg(), (2, 5, 6), 7).eval()
    x = torch.rand(1, 2, 5, 6)
    seen = {}
    model.image.register_forward_hook(lambda mod, args, out: seen.update(rows=args[0].detach().clone()))
    model(x)
    before = seen["rows"]
    x[0, :, 3, :] += 1.0  # row 3, every channel
    assert model(x).shape == (1, 7)
    changed = (seen["rows"] - before).abs().amax(dim=2)[0] > 0
    assert changed.tolist() == [False, False, False, True, False]


def test_lstm_forget_gates_start_at_the_configured_bias_and_gru_has_none():
    lstm = build_model(HRNNConfig(row_hidden=4, image_hidden=3, forget_bias=2.0), _reg(), (1, 5, 6), 7)
    for rnn in (lstm.rows, lstm.image):
        h = rnn.hidden_size
        total = rnn.bias_ih_l0 + rnn.bias_hh_l0
        assert torch.all(total[h : 2 * h] == 2.0) and torch.all(total[:h] == 0)  # glorot_uniform zeroes the rest
    gru = build_model(HRNNConfig(cell="gru", row_hidden=4, image_hidden=3), _reg(), (1, 5, 6), 7)
    assert torch.all(gru.rows.bias_ih_l0 == 0)


def test_hrnn_is_refused_on_a_signal_before_compute(cli):
    result = cli("train", "data=mnist1d", "model=hrnn", *QUICK)
    refused(result, "model", "hrnn needs images", "(1, 40)")
    assert not result.run_dirs()


@pytest.mark.parametrize(
    "override,key",
    [
        ("model.cell=lstmm", "model.cell"),
        ("model.row_hidden=0", "model.row_hidden"),
        ("model.dropout=1.0", "model.dropout"),
    ],
)
def test_hrnn_settings_out_of_range_are_refused_in_one_line(cli, override, key):
    result = cli("train", "data=synthetic", "model=hrnn", override, *QUICK)
    refused(result, key)
    assert not result.run_dirs()


def test_the_builder_refuses_flat_features():
    with pytest.raises(ConfigError, match=r"\(6,\)"):
        build_model(HRNNConfig(), _reg(), (6,), 3)


@pytest.mark.slow
def test_hrnn_learns_mnist_above_chance_in_one_epoch_on_500_images(cli):
    result = cli(
        "train",
        "data=mnist",
        "data.train_size=500",
        "model=hrnn",
        "model.row_hidden=32",
        "model.image_hidden=32",
        "optimizer=adam",
        "optimizer.lr=0.003",
        "trainer.eval_batch_size=2000",
        *QUICK,
        "trainer.batch_size=5",  # 100 steps; seeds 0-3 reached 23-39% on 2,000 validation images
    )
    assert result.code == 0, result.err[-2000:]
    assert result.results()["test"]["accuracy"] > 0.15  # chance is 0.1 over ten digits (10,000 test images)


def _reg():
    from types import SimpleNamespace

    return SimpleNamespace(dropout=0.0, input_dropout=0.0, dropout_style="inverted")
