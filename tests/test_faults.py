"""Faults lose nothing: a diverging run stops with a reason (and a sweep goes on), Ctrl-C
writes results and a resumable checkpoint, result files are always valid JSON."""

import json

import torch
from conftest import TINY, dies_at_epoch_call

import runner.fit.loop


def strict_json(path):
    def refuse(token):
        raise ValueError(f"non-standard JSON number {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_divergence_stops_the_run_and_the_sweep_goes_on(cli):
    result = cli("train", "-m", *TINY, "trainer.epochs=5", "optimizer.lr=0.5,1e12")
    assert result.code == 0, result.err
    runs = {strict_json(d / "results.json")["stop_reason"]: strict_json(d / "results.json") for d in result.run_dirs()}
    assert set(runs) == {"completed", "diverged"}
    diverged = runs["diverged"]
    assert diverged["status"] == "finished" and diverged["diverged_at"]["epoch"] >= 1
    assert diverged["diverged_at"]["step"] >= 1 and diverged["epochs_run"] < 5
    assert "diverged" in result.out + result.err


def test_ctrl_c_writes_results_and_a_checkpoint_to_resume_from(cli, outputs, monkeypatch):
    real_epoch = dies_at_epoch_call(3, monkeypatch, KeyboardInterrupt())
    run_dir = outputs / "run"
    args = ["train", *TINY, "trainer.epochs=4", f"hydra.run.dir={run_dir}", "trainer.resume=auto"]
    first = cli(*args)
    assert first.code == 0, first.err
    results = strict_json(run_dir / "results.json")
    assert results["status"] == "interrupted" and results["stop_reason"] == "interrupted"
    assert results["epochs_run"] == 2 and results["test"]["accuracy"] is not None
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 2

    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    second = cli(*args)
    assert second.code == 0
    results = strict_json(run_dir / "results.json")
    assert results["status"] == "finished" and results["epochs_run"] == 4


def test_results_json_never_holds_nan(tmp_path):
    from runner.io import atomic_write_json

    atomic_write_json(tmp_path / "r.json", {"loss": float("nan"), "curve": [1.0, float("inf")]})
    assert strict_json(tmp_path / "r.json") == {"loss": None, "curve": [1.0, None]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind
