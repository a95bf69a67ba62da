"""runner.train / sweep / load / compare from Python (issue 26): the CLI's checks, folders and
numbers, as objects; several calls in one process behave alike; Ctrl-C returns the interrupted
run; no SystemExit ever escapes."""

import csv
import errno
import logging
import signal

import pytest
import torch
from conftest import dies_at_epoch_call

import runner

QUICK = ("data=synthetic", "trainer.threads=1", "trainer.batch_size=32")


def process_state():
    from hydra.core.global_hydra import GlobalHydra

    root, ours = logging.getLogger(), logging.getLogger("runner")
    return {
        "root handlers": list(root.handlers),
        "runner handlers": list(ours.handlers),
        "runner filters": list(ours.filters),
        "signals": [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)],
        "threads": torch.get_num_threads(),
        "hydra initialized": GlobalHydra.instance().is_initialized(),
    }


def test_train_returns_the_run_and_three_calls_behave_like_the_first(outputs):
    before = process_state()
    runs = []
    for _ in range(3):
        runs.append(runner.train(*QUICK, "model.activation=tanh", trainer__epochs=2, seed=3))
        assert process_state() == before  # handlers (train.log's too), signals, threads, Hydra: as they were
    first = runs[0]
    assert first.dir.parent.parent.name == "runs" and first.dir.is_relative_to(outputs)
    assert first.results["status"] == "finished" and first.config["model"]["activation"] == "tanh"
    assert [row["epoch"] for row in first.metrics] == [1.0, 2.0]
    for other in runs[1:]:  # the same numbers: nothing left over from the call before
        assert other.dir != first.dir
        assert [r["val/loss"] for r in other.metrics] == [r["val/loss"] for r in first.metrics]
        assert other.results["test"] == first.results["test"]
    frame = first.frame()
    assert list(frame["epoch"]) == [1.0, 2.0] and "val/accuracy" in frame.columns
    figure = first.plot("val/accuracy")
    assert figure.axes[0].get_lines()[0].get_ydata().tolist() == [r["val/accuracy"] for r in first.metrics]
    assert runner.load(first.dir).results == first.results


def test_a_bad_key_raises_the_clis_line_before_anything_runs(outputs, cli):
    with pytest.raises(runner.ConfigError) as raised:
        runner.train(*QUICK, trainer__epochz=2)
    assert not outputs.exists() or not list(outputs.rglob("config.yaml"))
    line = cli("train", *QUICK, "trainer.epochz=2").err.strip().splitlines()[-1]
    assert line == f"runner: {raised.value}"
    with pytest.raises(runner.ConfigError, match="runner.sweep"):
        runner.train(*QUICK, "-m", "seed=0,1")


def test_ctrl_c_returns_the_interrupted_run(outputs, monkeypatch):
    dies_at_epoch_call(2, monkeypatch, KeyboardInterrupt())
    run = runner.train(*QUICK, trainer__epochs=4)
    assert run.results["stop_reason"] == "interrupted" and run.status == "interrupted"
    assert len(run.metrics) == 1  # epoch 1 whole; the best weights so far tested


def test_a_failing_run_raises_and_never_exits(outputs, monkeypatch):
    dies_at_epoch_call(1, monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(runner.RunError, match="No space left on device") as raised:
        runner.train(*QUICK, trainer__epochs=2)
    assert raised.value.exit_code == 1
    dies_at_epoch_call(1, monkeypatch, ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError):  # a bug is the exception itself, not a SystemExit
        runner.train(*QUICK, trainer__epochs=2)


def test_sweep_and_compare_give_the_numbers_runner_compare_writes(outputs, cli):
    runs = runner.sweep(*QUICK, "model.activation=tanh,relu", "seed=0,1", trainer__epochs=2)
    assert len(runs) == 4 and all(r.status == "finished" for r in runs)
    assert {r.config["model"]["activation"] for r in runs} == {"tanh", "relu"}
    comparison = runner.compare(*runs)
    sweep = runs[0].dir.parent
    assert cli("compare", str(sweep)).code == 0
    with open(sweep / "comparison.csv") as f:
        written = list(csv.DictReader(f))
    assert [row["group"] for row in comparison.table] == [row["group"] for row in written]
    for ours, theirs in zip(comparison.table, written):
        assert float(theirs["test_acc_mean"]) == pytest.approx(ours["test_acc_mean"])
    assert [t["group"] for t in comparison.tests] == [row["group"] for row in comparison.table]
    assert comparison.figures and all(f.exists() for f in comparison.figures)
    assert "model.activation=tanh" in comparison.markdown
