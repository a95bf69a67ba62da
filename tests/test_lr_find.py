"""`runner lr-find`: the learning-rate range test writes its plot and TensorBoard events, prints
a suggestion that is a valid override inside the swept range and, on a problem whose stable
learning rates are known, inside them; it leaves the model as it found it; bad input is refused."""

import copy
import re

import pytest
import torch

import runner.build.assemble as assemble_module
from runner.cli import _checked_config
from runner.config.schema import validate

SYNTHETIC = ["data=synthetic", "data.train_size=128", "data.val_size=8", "data.test_size=8"]
# Least squares (a linear model, mse on its outputs): a quadratic loss, whose stable SGD learning rates are known.
LINEAR_SGD = [*SYNTHETIC, "model=softmax_regression", "loss=mse", "optimizer=sgd", "trainer.batch_size=32"]
SUGGESTED = re.compile(r"^suggested \(.*\): (optimizer\.lr=(\S+))$", re.M)


def suggestion(out: str) -> tuple:
    match = SUGGESTED.search(out)
    assert match, out
    return match.group(1), float(match.group(2))


def test_writes_plot_and_events_and_prints_a_valid_override(cli, outputs):
    folder = outputs / "lrf"
    result = cli("lr-find", *SYNTHETIC, "--steps", "60", "--out", str(folder))
    assert result.code == 0, result.err
    assert (folder / "lr_find.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    assert {"lr_find/loss", "lr_find/smoothed_loss", "lr_find/lr"} <= set(events.Tags()["scalars"])
    lrs = [e.value for e in events.Scalars("lr_find/lr")]
    assert lrs[0] == pytest.approx(1e-7) and all(b > a for a, b in zip(lrs, lrs[1:]))
    override, value = suggestion(result.out)
    assert lrs[0] <= value <= lrs[-1] * 1.01  # printed to 3 digits
    assert validate(_checked_config([*SYNTHETIC, override])).optimizer.lr == value
    assert "minimum of the smoothed loss / 10" in result.out
    assert not list(outputs.rglob("results.json")) and not list(outputs.rglob("metrics.csv"))  # not a run


def test_works_for_a_reconstruction_model(cli):
    result = cli("lr-find", *SYNTHETIC, "model=autoencoder", "loss=mse", "--steps", "40")
    assert result.code == 0, result.err
    _, value = suggestion(result.out)
    assert 1e-7 <= value <= 10


def stable_sgd_bound() -> float:
    """Gradient descent on a quadratic loss is stable for lr < 2 / lambda_max of its Hessian. The
    mean over N examples and C outputs of (W x + b - onehot)^2 has Hessian (2 / C) E[x x^T] for
    each output's row (the bias as a constant input): stable for lr < C / lambda_max(E[x x^T])."""
    from runner.build.data import load_dataset

    cfg = validate(_checked_config(LINEAR_SGD))
    data = load_dataset(cfg.data)
    x = data.train.inputs().flatten(1).double()
    x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    second_moment = x.T @ x / len(x)
    return data.num_classes / torch.linalg.eigvalsh(second_moment).max().item()


def test_suggestion_lies_in_the_stable_range_of_a_linear_model(cli):
    bound = stable_sgd_bound()
    result = cli("lr-find", *LINEAR_SGD, "--steps", "200")
    assert result.code == 0, result.err
    _, value = suggestion(result.out)
    # Below the divergence bound, and not so far below it that 200 steps barely move the loss.
    assert bound / 100 < value < bound, (value, bound)
    min_over_10 = float(re.search(r"minimum of the smoothed loss / 10: +lr (\S+)", result.out).group(1))
    assert bound / 100 < min_over_10 < bound, (min_over_10, bound)


def test_model_and_optimizer_are_restored(cli, monkeypatch):
    built = []
    real = assemble_module.assemble

    def keep(cfg, device, *args):
        parts = real(cfg, device, *args)
        built.append((parts, copy.deepcopy(parts.model.state_dict())))
        return parts

    monkeypatch.setattr(assemble_module, "assemble", keep)
    result = cli("lr-find", *SYNTHETIC, "--steps", "30", "optimizer=adam", "optimizer.lr=0.002")
    assert result.code == 0, result.err
    ((parts, before),) = built
    after = parts.model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert not parts.optimizer.state  # Adam's moments of the sweep are gone
    assert all(group["lr"] == 0.002 for group in parts.optimizer.param_groups)


def test_a_flat_curve_is_called_noise(cli):
    """Learning rates too small to move the loss in the sweep: no value read off it means anything."""
    result = cli("lr-find", *SYNTHETIC, "--steps", "30", "--start", "1e-9", "--end", "1e-7")
    assert result.code == 0, result.err
    assert re.search(r"^warning: the smoothed loss fell only -?[0-9.]+% over the sweep", result.out, re.M), result.out
    normal = cli("lr-find", *SYNTHETIC, "--steps", "60")
    assert "warning" not in normal.out


def test_a_sweep_that_blows_up_at_once_says_so(cli, outputs):
    result = cli("lr-find", *SYNTHETIC, "--steps", "10", "--start", "1e6", "--end", "1e9")
    assert result.code == 1
    assert re.fullmatch(
        r"runner: the sweep stopped after \d steps \(.*\): too few to read; lower --start\n", result.err
    )
    assert not outputs.exists() or not any(outputs.iterdir())


@pytest.mark.parametrize(
    "args, names",
    [
        (["--steps", "5"], "--steps"),
        (["--start", "1", "--end", "0.1"], "--start"),
        (["optimizer=lbfgs"], "lbfgs"),
        (["--out", "/tmp/not_the_outputs_folder"], "outside the outputs folder"),
    ],
    ids=["few-steps", "start-above-end", "lbfgs", "out-outside"],
)
def test_bad_input_is_one_line_exit_2(cli, outputs, args, names):
    result = cli("lr-find", *SYNTHETIC, *args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runner: ") and names in lines[0], result.err
    assert "Traceback" not in result.err and not result.out
    assert not outputs.exists() or not any(outputs.iterdir())  # nothing written
