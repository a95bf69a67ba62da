"""`runner diagnose RUN_DIR`: real short runs on data=synthetic, each built to show one verdict
(over-fitting, under-fitting, a plateau, early stopping, divergence), and run folders written
by hand with runner/record's own writers for the thresholds (loss spikes, plateau tolerance,
the gap's trend), so that those cases do not hang on a training run's numbers."""

import json
import math
import subprocess
import sys

import pytest

from runner.analyse import run_findings
from runner.record.results import Results, status_of
from runner.record.run_folder import RunFolder

QUICK = ["data=synthetic", "trainer.batch_size=32", "trainer.threads=1", "trainer.checkpoints=false"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))


def trained(cli, *overrides):
    result = cli("train", *QUICK, *overrides)
    assert result.code == 0, result.err[-2000:]
    return result.run_dir()


def diagnosed(cli, run_dir) -> dict:
    """`runner diagnose RUN_DIR --json`: {check: finding}; the command exits 0 whatever it finds."""
    result = cli("diagnose", str(run_dir), "--json")
    assert result.code == 0, result.err[-2000:]
    report = json.loads(result.out)
    return {finding["check"]: finding for finding in report["findings"]}


def test_a_big_model_on_32_examples_over_fits_and_the_gap_is_measured(cli):
    run = trained(
        cli, "data.train_size=32", "data.noise=1.5", "model=mlp", "model.hidden_sizes=[256]",
        "trainer.epochs=30", "early_stopping=none", "optimizer=adam", "optimizer.lr=0.01",
    )  # fmt: skip
    found = diagnosed(cli, run)
    rows = RunFolder(run).metric_rows()
    last = rows[-1]
    assert last["train/accuracy"] - last["val/accuracy"] > 0.3  # measured: 100% vs 51.6%
    assert found["fit"]["verdict"] == "over-fitting", found["fit"]
    assert (
        f"{100 * (last['train/accuracy'] - last['val/accuracy']):+.1f} points at the last epoch 30"
        in found["fit"]["facts"]
    )
    assert found["training"]["verdict"] == "fits the training data"
    best = json.loads(RunFolder(run).results_file.read_text())["best_epoch"]
    assert best < 30 and f"epoch {best}" in found["best epoch"]["facts"]
    assert found["ending"]["verdict"] == "completed" and "peaked" in found["ending"]["means"]


def test_a_tiny_learning_rate_under_fits_against_ln_c(cli):
    run = trained(cli, "optimizer=sgd", "optimizer.lr=1e-5", "trainer.epochs=5", "early_stopping=none")
    found = diagnosed(cli, run)
    assert found["training"]["verdict"] == "under-fitting", found["training"]
    assert f"ln 4 (4 classes) = {math.log(4):.4g}" in found["training"]["facts"]
    assert found["fit"]["verdict"] == "no over-fitting"  # the gap of a model at chance is noise


def test_a_converged_run_plateaus(cli):
    plateaued = trained(cli, "optimizer=sgd", "optimizer.lr=0.5", "trainer.epochs=10", "early_stopping=none")
    found = diagnosed(cli, plateaued)
    assert found["plateau"]["verdict"] == "plateau", found["plateau"]
    assert "val/accuracy over the last 5 epochs" in found["plateau"]["facts"]


def test_early_stopping_ending_a_run_is_named_with_the_epochs_after_the_best(cli):
    stopped = trained(cli, "optimizer=sgd", "optimizer.lr=0.5", "trainer.epochs=20")
    found = diagnosed(cli, stopped)
    results = json.loads(RunFolder(stopped).results_file.read_text())
    assert results["stop_reason"] == "early_stopping"
    assert found["ending"]["verdict"] == "early_stopping"
    after = results["epochs_run"] - results["best_epoch"]
    assert after == 3  # conf/early_stopping/patience.yaml's patience
    assert found["best epoch"]["verdict"] == f"no improvement for {after} epoch(s)"


def test_a_short_run_still_improving_is_told_to_train_longer_in_a_table_within_80_columns(cli):
    run = trained(cli, "optimizer=adam", "optimizer.lr=0.001", "trainer.epochs=3")
    result = cli("diagnose", str(run))
    assert result.code == 0, result.err[-2000:]
    path, *lines = result.out.splitlines()
    assert path == str(run) and max(len(line) for line in lines) <= 80
    assert "improving to the end" in result.out and "train longer" in result.out


def test_a_huge_learning_rate_diverges_and_says_where(cli):
    run = trained(cli, "optimizer=sgd", "optimizer.lr=1e4", "trainer.epochs=5")
    results = json.loads(RunFolder(run).results_file.read_text())
    assert results["stop_reason"] == "diverged"
    found = diagnosed(cli, run)
    where = results["diverged_at"]
    assert f"epoch {where['epoch']}, step {where['step']}" in found["ending"]["facts"]
    assert "optimizer.lr" in found["ending"]["means"]


def test_an_autoencoder_is_judged_on_its_loss_alone(cli):
    run = trained(cli, "model=autoencoder", "loss=mse", "trainer.epochs=6", "early_stopping=none")
    found = diagnosed(cli, run)
    assert "% of val loss" in found["fit"]["facts"]
    assert "epoch 1's" in found["training"]["facts"]  # no ln C for a reconstruction loss
    assert "val/loss over the last 5 epochs" in found["plateau"]["facts"]


def test_a_character_language_model_gets_ln_vocabulary_and_bits_per_character(cli, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 150)
    run = trained(
        cli, "data=text", f"data.path={corpus}", "data.context=16", "model=lstm", "model.hidden_size=16",
        "trainer.epochs=2", "trainer.batch_size=16", "optimizer=adam", "optimizer.lr=0.01",
    )  # fmt: skip
    found = diagnosed(cli, run)
    size = len(RunFolder(run).vocabulary()["itos"])
    assert f"ln {size} ({size} tokens)" in found["training"]["facts"]
    loss = RunFolder(run).metric_rows()[-1]["train/loss"]
    assert f"({loss / math.log(2):.4g} bits per character)" in found["training"]["facts"]


# ---------------------------------------------------------------- run folders written by hand


def hand_written_run(folder, train_loss, val_accuracy, train_accuracy=None, stop_reason="completed"):
    """A finished run folder with these curves, through RunFolder's own writers."""
    train_accuracy = train_accuracy or [0.9] * len(train_loss)
    rows = [
        {"epoch": e + 1, "train/loss": t, "train/accuracy": ta, "val/loss": 0.5, "val/accuracy": v}
        for e, (t, ta, v) in enumerate(zip(train_loss, train_accuracy, val_accuracy))
    ]
    best = max(range(len(rows)), key=lambda i: val_accuracy[i]) + 1
    run = RunFolder(folder)
    run.path.mkdir(parents=True)
    run.write_metric_rows(rows)
    run.write_results(
        Results(
            status=status_of(stop_reason),
            stop_reason=stop_reason,
            task="classification",
            epochs_run=len(rows),
            diverged_at=None,
            best_epoch=best,
            monitor="val/accuracy",
            tested_weights="best",
            tested_epoch=best,
            train={"loss": 0.1},
            val={"loss": 0.5, "accuracy": val_accuracy[best - 1]},
            test={"loss": 0.5, "accuracy": 0.8},
            wall_time_s=1.0,
            resumed_after_epoch=None,
            params=1,
            device="cpu",
            world_size=1,
            seed=0,
            threads=1,
        )  # fmt: skip
    )
    return run.path


def test_an_epoch_whose_train_loss_jumps_above_the_factor_is_a_spike(cli, tmp_path):
    factor = run_findings.SPIKE_FACTOR
    losses = [1.0, 0.5, 0.4, 0.4 * factor * 1.01, 0.3, 0.3 * factor * 0.99]  # epoch 4 above, epoch 6 just under
    found = diagnosed(cli, hand_written_run(tmp_path / "spiky", losses, [0.8] * 6))
    assert found["stability"]["verdict"] == "loss spikes"
    assert f"epoch 4 x{factor * 1.01:.2f}" in found["stability"]["facts"]
    assert "epoch 6" not in found["stability"]["facts"]

    calm = hand_written_run(tmp_path / "calm", [1.0, 0.5, 0.4, 0.3, 0.3 * factor * 0.99], [0.8] * 5)
    assert diagnosed(cli, calm)["stability"]["verdict"] == "stable"


def test_a_non_finite_train_loss_is_a_spike(cli, tmp_path):
    found = diagnosed(cli, hand_written_run(tmp_path / "nan", [1.0, 0.5, math.nan], [0.5, 0.6, 0.6]))
    assert "epoch 3 non-finite" in found["stability"]["facts"]


def test_the_plateau_tolerance_is_on_the_validation_accuracy_of_the_last_epochs(cli, tmp_path):
    within = run_findings.PLATEAU_ACCURACY * 0.9
    flat = [0.3, 0.5, 0.7, 0.80, 0.80 + within, 0.80, 0.80 + within / 2, 0.80]
    found = diagnosed(cli, hand_written_run(tmp_path / "flat", [1.0 - 0.1 * i for i in range(8)], flat))
    assert found["plateau"]["verdict"] == "plateau", found["plateau"]
    rising = flat[:-1] + [0.80 + run_findings.PLATEAU_ACCURACY * 1.5]
    found = diagnosed(cli, hand_written_run(tmp_path / "rising", [1.0 - 0.1 * i for i in range(8)], rising))
    assert found["plateau"]["verdict"] == "no plateau"


def test_a_widening_gap_is_growing_and_a_closing_one_shrinking(cli, tmp_path):
    losses = [0.9, 0.6, 0.4, 0.3, 0.2, 0.1]
    train = [0.7, 0.8, 0.9, 0.95, 0.98, 1.0]
    widening = hand_written_run(tmp_path / "wide", losses, [0.7, 0.75, 0.76, 0.74, 0.72, 0.70], train)
    found = diagnosed(cli, widening)
    assert "(growing)" in found["fit"]["facts"] and found["fit"]["verdict"] == "over-fitting"
    assert "+30.0 points at the last epoch 6" in found["fit"]["facts"]
    closing = hand_written_run(tmp_path / "close", losses, [0.5, 0.62, 0.76, 0.86, 0.93, 0.98], train)
    found = diagnosed(cli, closing)
    assert "(shrinking)" in found["fit"]["facts"] and found["fit"]["verdict"] == "no over-fitting"


@pytest.mark.parametrize(
    "stop_reason, means",
    [
        ("completed", "still improving at the end: train longer"),
        ("time_limit", "still improving at the end: train longer"),
        ("schedule_done", "still improving at the end: train longer"),
        ("interrupted", "trainer.resume=auto"),
        ("preempted", "trainer.resume=auto"),
    ],
)
def test_what_ended_a_run_still_improving_says_what_to_do(cli, tmp_path, stop_reason, means):
    run = hand_written_run(tmp_path / stop_reason, [1.0, 0.8, 0.6], [0.5, 0.6, 0.7], stop_reason=stop_reason)
    found = diagnosed(cli, run)
    assert found["ending"]["verdict"] == stop_reason and means in found["ending"]["means"]
    assert found["best epoch"]["verdict"] == "improving to the end"


def test_reading_a_run_folder_loads_no_torch(tmp_path):
    run = hand_written_run(tmp_path / "run", [1.0, 0.8, 0.6], [0.5, 0.6, 0.7])
    code = (
        "import sys; from runner.cli import main\n"
        "try:\n    main(['diagnose', sys.argv[1]])\nexcept SystemExit as stop:\n    assert not stop.code\n"
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "False", done.stderr[-2000:]
    assert "ending:" in done.stdout
