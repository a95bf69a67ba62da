"""scheduler.momentum: the momentum (SGD's, RMSprop's) or beta1 (Adam's) follows its schedule beside
any learning-rate schedule, is logged next to lr in metrics.csv, and a run cut off mid-schedule
resumes to exactly the momentum column and metrics of an uninterrupted run."""

import csv

import pytest
import torch
from conftest import TINY
from test_determinism import metrics_without_time

import runner.fit.loop


def momentum_args(start, end, start_epoch, end_epoch, shape="linear", per="epoch"):
    return [
        f"scheduler.momentum.start={start}",
        f"scheduler.momentum.end={end}",
        f"scheduler.momentum.start_epoch={start_epoch}",
        f"scheduler.momentum.end_epoch={end_epoch}",
        f"scheduler.momentum.shape={shape}",
        f"scheduler.momentum.per={per}",
    ]


def column(run_dir, name):
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return [float(row[name]) for row in rows], list(rows[0])


def test_a_linear_momentum_schedule_is_logged_next_to_lr_and_used_by_sgd(cli):
    result = cli(
        "train", *TINY, "optimizer=momentum", "trainer.epochs=5", "early_stopping=none", "scheduler=step",
        "scheduler.step_size=2", "scheduler.gamma=0.5", *momentum_args(0.5, 0.9, 2, 4),
    )  # fmt: skip
    assert result.code == 0, result.err
    momentum, header = column(result.run_dir(), "momentum")
    assert header.index("momentum") == header.index("lr") + 1
    assert momentum == pytest.approx([0.5, 0.5, 0.7, 0.9, 0.9])
    assert "lr 0.25  momentum 0.7  " in result.out + result.err  # epoch 3's line on the console
    assert column(result.run_dir(), "lr")[0] == pytest.approx([0.5, 0.5, 0.25, 0.25, 0.125])  # lr schedule too
    saved = torch.load(result.run_dir() / "checkpoints" / "last.pt", weights_only=True)["optimizer"]
    assert [group["momentum"] for group in saved["param_groups"]] == [pytest.approx(0.9)]


def test_an_exponential_schedule_moves_adams_beta1_by_equal_factors_of_one_minus_it(cli):
    result = cli(
        "train",
        *TINY,
        "optimizer=adam",
        "optimizer.lr=0.01",
        "early_stopping=none",
        *momentum_args(0.5, 0.9, 1, 3, "exponential"),
    )
    assert result.code == 0, result.err
    beta1, _ = column(result.run_dir(), "momentum")
    assert beta1 == pytest.approx([0.5, 1 - 0.5 * 0.2**0.5, 0.9])
    saved = torch.load(result.run_dir() / "checkpoints" / "last.pt", weights_only=True)["optimizer"]
    assert [tuple(g["betas"]) for g in saved["param_groups"]] == [(pytest.approx(0.9), 0.999)]


def test_without_a_schedule_metrics_have_no_momentum_column(cli):
    result = cli("train", *TINY, "optimizer=momentum", "trainer.epochs=1")
    assert result.code == 0, result.err
    assert "momentum" not in column(result.run_dir(), "lr")[1]


def dies_after_steps(epoch_call: int, steps: int, monkeypatch):
    """The epoch_call-th call of train_epoch dies after `steps` optimizer steps (weights and
    momentum moved past the last checkpoint); returns the real train_epoch to put back."""
    real_epoch, calls = runner.fit.loop.train_epoch, []

    def train_epoch(model, step, *args, **kwargs):
        calls.append(1)
        if len(calls) != epoch_call:
            return real_epoch(model, step, *args, **kwargs)
        taken = []

        def dying(split, idx):
            if len(taken) == steps:
                raise RuntimeError("killed")
            taken.append(1)
            return step(split, idx)

        return real_epoch(model, dying, *args, **kwargs)

    monkeypatch.setattr(runner.fit.loop, "train_epoch", train_epoch)
    return real_epoch


def test_cut_off_mid_schedule_a_per_step_schedule_resumes_exactly(cli, outputs, monkeypatch):
    args = [
        *TINY,
        "optimizer=momentum",
        "trainer.epochs=3",
        "early_stopping=none",
        "seed=3",
        *momentum_args(0.2, 0.95, 1, 3, "linear", "step"),
    ]
    whole = outputs / "whole"
    assert cli("train", *args, f"hydra.run.dir={whole}").code == 0

    cut = outputs / "cut"
    real_epoch = dies_after_steps(2, 3, monkeypatch)  # killed 3 steps into epoch 2: its momentum had moved on
    assert cli("train", *args, f"hydra.run.dir={cut}", "trainer.resume=auto").code != 0
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    resumed = cli("train", *args, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert resumed.code == 0 and "resuming" in resumed.out + resumed.err

    momentum, _ = column(whole, "momentum")
    # Each epoch's last step (8 steps of 32) is 7/8 of an epoch on from its first; 0.95 from epoch 3 on.
    assert momentum == pytest.approx([0.2 + 0.375 * (e - 1 + 7 / 8) for e in (1, 2)] + [0.95])
    assert metrics_without_time(cut) == metrics_without_time(whole)
    a = torch.load(whole / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(cut / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert a["scheduler"] == b["scheduler"]
