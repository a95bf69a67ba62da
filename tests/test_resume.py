"""A run cut off mid-way and relaunched with trainer.resume=auto ends exactly like an uninterrupted one (CPU)."""

import json

import torch
from conftest import TINY, dies_at_epoch_call
from test_determinism import metrics_without_time

import runner.fit.loop

ARGS = [*TINY, "trainer.epochs=4", "regularization=dropout", "regularization.dropout=0.3", "seed=5"]


def test_cut_off_run_resumes_to_the_same_metrics_and_weights(cli, outputs, monkeypatch):
    whole = outputs / "whole"
    assert cli("train", *ARGS, f"hydra.run.dir={whole}").code == 0

    cut = outputs / "cut"
    real_epoch = dies_at_epoch_call(3, monkeypatch)
    assert cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto").code != 0
    assert not (cut / "results.json").exists()
    state = torch.load(cut / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and state["elapsed_s"] > 0
    # Pretend the first process worked 1000 s: the run's wall time goes on from there.
    torch.save(dict(state, elapsed_s=1000.0), cut / "checkpoints" / "last.pt")

    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    resumed = cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert resumed.code == 0
    assert "resuming" in resumed.out + resumed.err
    assert metrics_without_time(cut) == metrics_without_time(whole)
    results = json.loads((cut / "results.json").read_text())
    assert results["resumed_after_epoch"] == 2 and 1000 < results["wall_time_s"] < 1000 + 600
    assert json.loads((whole / "results.json").read_text())["resumed_after_epoch"] is None
    a = torch.load(whole / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(cut / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    # Launching it again skips the finished run.
    again = cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert again.code == 0 and "already finished" in again.out + again.err


def test_resume_from_a_run_folder_reuses_its_command_line(cli, outputs, monkeypatch):
    whole = outputs / "whole"
    assert cli("train", *ARGS, f"hydra.run.dir={whole}").code == 0

    cut = outputs / "cut"
    real_epoch = dies_at_epoch_call(3, monkeypatch)
    assert cli("train", *ARGS, f"hydra.run.dir={cut}").code != 0
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)

    resumed = cli("train", f"trainer.resume={cut}")  # nothing else: the folder's own overrides are reused
    assert resumed.code == 0, resumed.err
    assert metrics_without_time(cut) == metrics_without_time(whole)


def test_resume_from_a_folder_without_a_run_is_refused(cli, tmp_path):
    result = cli("train", f"trainer.resume={tmp_path}")
    assert result.code == 2 and "holds no run to continue" in result.err


def test_resume_with_an_optimizer_state_that_does_not_fit_is_refused_and_loses_nothing(cli, outputs, monkeypatch):
    """A checkpoint from another runner version (here: its optimizer split into two parameter groups)."""
    cut = outputs / "cut"
    dies_at_epoch_call(3, monkeypatch)
    assert cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto").code != 0
    last = cut / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    group = state["optimizer"]["param_groups"][0]
    state["optimizer"]["param_groups"] = [
        dict(group, params=group["params"][:1]),
        dict(group, params=group["params"][1:]),
    ]
    torch.save(state, last)
    before = {p.name: p.read_bytes() for p in [last, cut / "metrics.csv"]}

    result = cli("train", *ARGS, f"hydra.run.dir={cut}", "trainer.resume=auto")
    assert result.code == 2
    line = [text for text in result.err.splitlines() if text.strip()][-1]
    assert str(last) in line and "2 parameter group(s) in the file, 1 in this run" in line, result.err
    assert "Traceback" not in result.err
    assert {p.name: p.read_bytes() for p in [last, cut / "metrics.csv"]} == before
