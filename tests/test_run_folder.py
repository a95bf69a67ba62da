"""A tiny config trains end to end through the real CLI and leaves the documented run folder."""

import csv
import json

import torch
from conftest import TINY
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from runner.record.run_folder import RunFolder


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_run_leaves_config_metrics_results_checkpoints_and_events(cli_process):
    result = cli_process("train", *TINY, "seed=7")
    assert result.code == 0, result.err
    run = result.run_dir()

    config = OmegaConf.load(run / ".hydra" / "config.yaml")
    assert config.data.name == "synthetic" and config.trainer.epochs == 3 and config.seed == 7

    rows = read_metrics(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "lr", "seconds"} <= set(rows[0])
    assert float(rows[-1]["train/loss"]) < float(rows[0]["train/loss"])

    results = json.loads((run / "results.json").read_text())
    best = rows[results["best_epoch"] - 1]
    assert results["val"]["accuracy"] == float(best["val/accuracy"])
    assert results["stop_reason"] == "completed" and results["epochs_run"] == 3
    assert 0 <= results["test"]["accuracy"] <= 1 and results["test"]["accuracy"] > 0.5
    assert results["seed"] == 7 and results["device"] == "cpu"
    assert results["params"] == sum(
        t.numel() for t in torch.load(run / "checkpoints" / "best.pt", weights_only=True)["model"].values()
    )
    assert {"python", "torch", "hydra"} <= set(results["versions"]) and results["wall_time_s"] > 0

    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 3 and {"model", "optimizer", "early_stopping", "rng"} <= set(last)

    (events_file,) = RunFolder(
        run
    ).events()  # in a folder that names the run by its overrides (trainer.threads: how it runs)
    assert events_file.parent.name == ",".join(o for o in [*TINY, "seed=7"] if not o.startswith("trainer.threads"))
    events = EventAccumulator(str(events_file.parent)).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/train", "loss/val", "accuracy/train", "accuracy/val"} <= scalars
    assert len(events.Scalars("loss/train")) == 3
    assert "_hparams_/experiment" in events.summary_metadata or any("hparams" in t for t in events.Tags()["tensors"])

    # The console shows one line per epoch and the test result; no progress bar when not a terminal.
    assert "epoch 1/3" in result.out + result.err and "test loss" in result.out + result.err
    assert "it/s" not in result.err


def test_each_run_gets_its_own_folder(cli):
    assert cli("train", *TINY, "trainer.epochs=1").code == 0
    assert cli("train", *TINY, "trainer.epochs=1").code == 0
    dirs = [p.parent for p in cli("train", *TINY, "trainer.epochs=1").outputs.rglob("results.json")]
    assert len(set(dirs)) == 3


def test_multirun_makes_one_folder_per_point(cli):
    result = cli("train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", "model.activation=relu,tanh")
    assert result.code == 0, result.err
    assert len(result.run_dirs()) == 4
    assert all((d / "results.json").exists() for d in result.run_dirs())
