"""trainer.strategy=ddp: two CPU processes (torchrun, gloo) train one model into one run folder,
and take the same steps as one process whose batch is both ranks' batches together."""

import csv
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import TINY

from runner.fit import distributed

DDP = [*TINY, "trainer.strategy=ddp", "seed=7"]


def torchrun(outputs, *args, processes=2, timeout=240):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "runner",
        "train",
        *args,
    ]
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_two_processes_train_one_run_like_one_process_with_their_batches_together(cli, outputs):
    # 2 ranks x 16 examples per step: the same global batches as one process at 32 (TINY's batch).
    proc = torchrun(outputs, *DDP, "trainer.batch_size=16")
    assert proc.returncode == 0, proc.stderr[-3000:]

    # One run folder, one of each file, written by rank 0 alone.
    (config,) = outputs.rglob(".hydra/config.yaml")
    run = config.parent.parent
    assert [p.name for p in outputs.rglob("metrics.csv")] == ["metrics.csv"]
    assert len(list(outputs.rglob("results.json"))) == 1
    assert len(list(outputs.rglob("events.out.tfevents*"))) == 1
    assert len(list(outputs.rglob("last.pt"))) == 1
    console = proc.stdout + proc.stderr
    assert console.count("epoch 1/3") == 1 and console.count("epoch 3/3") == 1 and console.count("test loss") == 1
    assert (run / "train.log").read_text().count("epoch 2/3") == 1

    ddp_rows = rows(run)
    assert float(ddp_rows[-1]["train/loss"]) < float(ddp_rows[0]["train/loss"])
    results = json.loads((run / "results.json").read_text())
    assert results["world_size"] == 2 and results["stop_reason"] == "completed" and results["test"]["accuracy"] > 0.5

    # The single-process run at batch 32: averaged gradients give the same steps (up to float
    # reduction order), and the metrics reduced over ranks are those of the whole data.
    assert cli("train", *TINY, "seed=7").code == 0
    (single,) = {p.parent for p in outputs.rglob("results.json")} - {run}
    for ddp_row, one_row in zip(ddp_rows, rows(single), strict=True):
        for key in ("train/loss", "train/accuracy", "val/loss", "val/accuracy"):
            assert float(ddp_row[key]) == pytest.approx(float(one_row[key]), rel=1e-5, abs=1e-6), key
    ddp_weights = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]
    one_weights = torch.load(single / "checkpoints" / "last.pt", weights_only=True)["model"]
    for name, value in one_weights.items():
        assert torch.allclose(ddp_weights[name], value, rtol=1e-5, atol=1e-6), name


def test_torchrun_without_ddp_or_with_a_sweep_is_refused_before_training(cli, outputs, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun sets; refused before any process group forms
    result = cli("train", *TINY)
    assert result.code == 2 and "trainer.strategy=ddp" in result.err
    result = cli("train", "-m", *TINY, "trainer.strategy=ddp", "seed=1,2")
    assert result.code == 2 and "one torchrun per sweep point" in result.err
    assert not outputs.exists() or not list(outputs.rglob("metrics.csv"))


def test_ddp_with_lbfgs_is_a_config_error(cli):
    result = cli("train", *TINY, "trainer.strategy=ddp", "optimizer=lbfgs")
    assert result.code == 2 and "trainer.strategy" in result.err and "lbfgs" in result.err


@pytest.mark.parametrize("n", [12, 13, 1])
def test_shards_cover_the_epoch_in_equal_steps(monkeypatch, n):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    shards = []
    for r in range(3):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        shards.append(distributed.shard(order))
    assert len({len(s) for s in shards}) == 1  # the same number of steps on every rank
    assert set(torch.cat(shards).tolist()) == set(range(n)) and len(torch.cat(shards)) < n + 3
    # batch k of each rank together = positions [3bk, 3b(k+1)) of the order: one process's batch of 3b
    assert torch.equal(torch.stack(shards, 1).flatten()[:n], order)


@pytest.mark.slow  # two torchrun processes, ~15 s
def test_a_word_language_model_under_ddp_reports_the_whole_splits_perplexity(outputs, tmp_path):
    """Perplexity is e^(loss), not a mean over examples: the ranks' perplexities averaged would
    overstate it; the reduced loss's exponential is the whole split's."""
    import math
    import random

    rng = random.Random(1)
    words = " ".join(rng.choice(["the cat sat .", "a dog ran !", "the dog sat , a cat ran ."]) for _ in range(300))
    (tmp_path / "words.txt").write_text(words)
    proc = torchrun(
        outputs, "data=text", f"data.path={tmp_path / 'words.txt'}", "data.tokens=word", "data.context=8",
        "model=gru", "model.hidden_size=8", "trainer.epochs=1", "trainer.batch_size=8", "trainer.threads=1",
        "optimizer=adam", "optimizer.lr=0.01", "early_stopping=none", "trainer.strategy=ddp",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results,) = outputs.rglob("results.json")
    tested = json.loads(results.read_text())
    for split in ("val", "test"):
        assert tested[split]["perplexity"] == pytest.approx(math.exp(tested[split]["loss"]), rel=1e-9), split
    (row,) = rows(results.parent)
    assert float(row["val/perplexity"]) == pytest.approx(math.exp(float(row["val/loss"])), rel=1e-6)
