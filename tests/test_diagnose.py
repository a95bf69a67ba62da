"""`runner diagnose [overrides...]`: the pre-training checks pass on a healthy model and each fails
on a model built to fail it (real configs where one does it; a patched model where none can)."""

import json

import pytest
import torch
from torch import nn

import runner.build.assemble as assembly

FAST = ("data=synthetic", "--examples", "128", "--steps", "60")


def checks_of(result) -> dict:
    """The JSON report's checks by name."""
    return {c["name"]: c for c in json.loads(result.out)["checks"]}


def test_default_experiment_on_synthetic_data_passes(cli_process):
    result = cli_process("diagnose", "data=synthetic")
    assert result.code == 0, result.err
    for name in ("initial loss", "overfit one batch", "real vs zeroed input", "batch independence"):
        assert name in result.out
    assert "0 problem(s)" in result.out
    assert "measured on 256 training examples" in result.out  # the sizes are said
    table = result.out[: result.out.index("layer ")]
    assert max(len(line) for line in table.splitlines()) <= 80


def test_json_says_measured_expected_verdict_advice(cli):
    result = cli("diagnose", *FAST, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["problems"] == 0 and report["sizes"]["examples"] == 128
    initial = checks_of(result)["initial loss"]
    assert initial["verdict"] == "ok"
    assert initial["details"]["expected"] == pytest.approx(torch.log(torch.tensor(4.0)).item())  # ln C, C = 4
    assert abs(initial["value"] - initial["details"]["expected"]) < 0.2
    for check in report["checks"]:
        assert check["verdict"] in ("ok", "warning", "problem", "n/a") and check["advice"]


def test_wrong_initial_loss_from_a_huge_init_scale(cli):
    result = cli("diagnose", *FAST, "model.init=nielsen_large", "--json")  # N(0, 1) weights
    assert result.code == 1
    initial = checks_of(result)["initial loss"]
    assert initial["verdict"] == "problem"
    assert initial["value"] > 5 * initial["details"]["expected"]


def test_deep_sigmoid_chain_has_vanishing_gradients(cli):
    deep = "model.hidden_sizes=[32,32,32,32,32,32,32,32,32,32]"
    result = cli("diagnose", *FAST, deep, "model.activation=sigmoid", "--json")
    assert result.code == 1
    ratio = checks_of(result)["gradient ratio"]
    assert ratio["verdict"] == "problem" and "vanishing" in ratio["advice"]
    assert ratio["value"] < 1e-4  # the first layer's gradient next to the last hidden layer's
    assert checks_of(result)["overfit one batch"]["verdict"] != "ok"


def test_far_too_high_learning_rate_shows_in_the_update_ratio(cli):
    result = cli("diagnose", *FAST, "optimizer=sgd", "optimizer.lr=100", "--json")
    assert result.code == 1
    update = checks_of(result)["update/weight ratio"]
    assert update["verdict"] == "problem" and "lower the lr" in update["advice"]
    assert update["value"] > 0.1


def test_batch_norm_mixes_the_batch_as_expected_not_a_problem(cli):
    result = cli("diagnose", *FAST, "model.batch_norm=true", "--json")
    check = checks_of(result)["batch independence"]
    assert check["verdict"] == "ok" and "batch norm" in check["advice"]
    assert check["details"]["train_mode"] > 1e-3 and check["details"]["eval_mode"] == 0


class MixesTheBatch(nn.Module):
    """The bug the check exists for: each example's output depends on the others'."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        return out + out.mean(0, keepdim=True)


class IgnoresItsInput(MixesTheBatch):
    def forward(self, x):
        return self.inner(x * 0)


def patch_model(monkeypatch, change):
    """The assembled parts with change(model) applied (in place, or returning a wrapper whose
    parameters are the optimizer's)."""
    real = assembly.assemble

    def assemble(cfg, device, world_size=1):
        parts = real(cfg, device, world_size)
        return parts._replace(model=change(parts.model) or parts.model)

    monkeypatch.setattr(assembly, "assemble", assemble)


def test_a_model_that_mixes_the_batch_is_a_problem(cli, monkeypatch):
    patch_model(monkeypatch, MixesTheBatch)
    result = cli("diagnose", *FAST, "--json")
    assert result.code == 1
    check = checks_of(result)["batch independence"]
    assert check["verdict"] == "problem" and check["value"] > 1e-3


def test_a_model_that_ignores_its_input_learns_no_more_than_from_zeros(cli, monkeypatch):
    patch_model(monkeypatch, IgnoresItsInput)
    result = cli("diagnose", *FAST, "--json")
    assert result.code == 1
    check = checks_of(result)["real vs zeroed input"]
    assert check["verdict"] == "problem"
    assert check["details"]["real"] == pytest.approx(check["details"]["zeroed"], rel=1e-4)


def dead_relu_init(model):
    """A large negative bias on every hidden layer: each ReLU outputs 0 for every example."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer in linears[:-1]:
            layer.bias.fill_(-100.0)


def test_dead_relu_init_is_a_problem(cli, monkeypatch):
    patch_model(monkeypatch, dead_relu_init)
    result = cli("diagnose", *FAST, "model.hidden_sizes=[64,64]", "--json")
    assert result.code == 1
    check = checks_of(result)["dead/saturated units"]
    assert check["verdict"] == "problem" and check["details"]["dead_relu_fraction"] == 1.0


def test_saturated_sigmoids_are_a_problem(cli):
    big = ("model.activation=sigmoid", "model.init=nielsen_large", "data.image_size=16")  # N(0,1) over 256 inputs
    result = cli("diagnose", *FAST, *big, "--json")
    check = checks_of(result)["dead/saturated units"]
    assert check["verdict"] == "problem" and check["details"]["saturated_fraction"] > 0.5


def test_a_bad_config_is_one_line_and_exit_2(cli):
    result = cli("diagnose", "data=synthetic", "model.hidden_sizes=[0]")
    assert result.code == 2
    assert result.err.startswith("runner: config error:") and len(result.err.strip().splitlines()) == 1
    assert result.out == "" and not result.run_dirs()


def test_a_sweep_is_refused(cli):
    result = cli("diagnose", "-m", "data=synthetic", "seed=0,1")
    assert result.code == 2 and "one config" in result.err


def test_a_language_model_reads_token_ids(cli, tmp_path):
    """Token ids have no gradient: the embedding's output stands in for the input; the expected
    initial loss is ln V over the vocabulary."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. a dog ran far. " * 200)
    small = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2", "data.context=16", "model.block_size=16"]
    result = cli(
        "diagnose", f"data.path={corpus}", "data=text", "model=transformer", *small, "--examples", "32", "--json"
    )
    checks = checks_of(result)
    assert checks["batch independence"]["verdict"] == "ok" and checks["batch independence"]["value"] == 0
    initial = checks["initial loss"]
    assert initial["verdict"] == "ok" and "ln C" in initial["expected"]


@pytest.mark.parametrize(
    "flags, named", [(("--examples", "16"), "--examples must be at least 32"), (("--bogus",), "--bogus")]
)
def test_a_bad_flag_is_one_line_and_exit_2(cli, flags, named):
    result = cli("diagnose", "data=synthetic", *flags)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("runner: diagnose:") and named in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_an_autoencoder_has_no_expected_initial_loss_and_a_loss_floor(cli):
    result = cli("diagnose", *FAST, "model=autoencoder", "loss=mse", "--json")
    checks = checks_of(result)
    assert checks["initial loss"]["verdict"] == "n/a"
    overfit = checks["overfit one batch"]
    assert overfit["verdict"] in ("ok", "warning")  # a reconstruction through a code never reaches 0
    assert overfit["details"]["losses"][-1] < 0.9 * overfit["details"]["losses"][0]
