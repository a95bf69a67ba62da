"""`runner gradcheck`: autograd gradients agree with finite differences for every
model config shipped in conf/model, and a wrong gradient is caught."""

import re

import pytest
import torch
from torch import nn

from runner.analyse.gradcheck import disable_dropout
from runner.build.losses import LOSSES
from runner.build.models import build_model
from runner.build.regularization import RegularizationConfig
from runner.config import schema as config_schema
from runner.config.schema import validate
from runner.launch.preflight import check
from runner.paths import CONF_DIR
from runner.registry import Entry

SYNTHETIC = ["data=synthetic", "data.train_size=8", "data.val_size=4", "data.test_size=4"]


def table_rows(out: str):
    """{parameter: max relative error} from the printed table."""
    rows = {}
    for line in out.splitlines():
        cells = line.split()
        if len(cells) == 6 and re.fullmatch(r"[0-9.]+e[+-][0-9]+", cells[-1]):
            rows[cells[0]] = float(cells[-1])
    return rows


def test_mlp_gradients_pass(cli):
    result = cli("gradcheck", *SYNTHETIC, "model=mlp", "model.hidden_sizes=[8,8]", "model.activation=sigmoid")
    assert result.code == 0, result.err
    rows = table_rows(result.out)
    assert set(rows) == {"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"}
    assert max(rows.values()) < 1e-5
    assert "gradcheck passed" in result.out and "float64" in result.out


def test_penalties_and_nielsen_losses_pass(cli):
    result = cli(
        "gradcheck",
        *SYNTHETIC,
        "model.hidden_sizes=[8]",
        "loss=sigmoid_cross_entropy",
        "regularization=[l1,label_smoothing]",
    )
    assert result.code == 0, result.out + result.err


class WrongBackward(torch.autograd.Function):
    """Squared error whose backward is off by a factor of 2."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return (z**2).sum() / len(z)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * z / len(z)  # the true gradient is 2 z / n


class WrongLoss(nn.Module):
    def forward(self, output, target):
        return WrongBackward.apply(output)


def test_a_wrong_gradient_fails(cli, monkeypatch):
    monkeypatch.setitem(LOSSES._entries, "wrong", Entry("wrong", WrongLoss))
    monkeypatch.setattr(
        config_schema, "LOSS_NAMES", (*config_schema.LOSS_NAMES, "wrong")
    )  # the names configs may choose
    result = cli("gradcheck", *SYNTHETIC, "model.hidden_sizes=[8]", "loss=wrong")
    assert result.code == 1
    assert "gradcheck FAILED" in result.out
    assert min(table_rows(result.out).values()) > 0.1


def test_bad_configs_exit_2(cli):
    assert cli("gradcheck", *SYNTHETIC, "model.hidden_sizes=[0]").code == 2
    assert cli("gradcheck", *SYNTHETIC, "--entries", "0").code == 2


def test_dropout_is_switched_off():
    reg = RegularizationConfig(dropout=0.5, input_dropout=0.2, dropout_style="scale_at_test")
    (cfg,) = check([*SYNTHETIC, "model.hidden_sizes=[8]"])
    model = build_model(validate(cfg).model, reg, (1, 8, 8), 4)
    assert any("Dropout" in type(m).__name__ for m in model.modules())
    disable_dropout(model)
    model.train()
    x = torch.rand(16, 1, 8, 8)
    assert torch.equal(model(x), model(x))  # deterministic in training mode


def _model_configs():
    # The transformer and text_cnn read token ids only, not data=synthetic's images (tests/test_transformer.py).
    return sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml") if p.stem not in ("transformer", "text_cnn"))


@pytest.mark.parametrize("name", _model_configs())
def test_every_shipped_model_config_passes(cli, name):
    extra = ["loss=bce"] if "autoencoder" in name else []
    result = cli("gradcheck", *SYNTHETIC, "data.image_size=28", f"model={name}", "--entries", "3", *extra)
    assert result.code == 0, result.out + result.err
