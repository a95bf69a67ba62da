"""A sweep cut off mid-way and launched again with the same command (trainer.resume=auto)
skips its finished points and resumes the cut-off one."""

import json

import pytest
import torch
from conftest import TINY, dies_at_epoch_call

import runner.fit.loop
from runner.launch.resumable_sweep import RECORD, command_key, folder_for

SWEEP = ["-m", *TINY, "trainer.epochs=4", "optimizer.lr=0.2,0.5", "seed=0,1", "trainer.resume=auto"]


def test_a_relaunched_sweep_skips_finished_points_and_resumes_the_cut_off_one(cli, outputs, monkeypatch):
    # points run in order, 4 epochs each: call 10 is point 2's epoch 2
    real_epoch = dies_at_epoch_call(10, monkeypatch)
    first = cli("train", *SWEEP)
    assert first.code != 0
    sweep = outputs / "sweeps" / "resumable" / f"sweep-{command_key(SWEEP)}"
    assert f"resumable sweep in {sweep}" in first.out
    points = [sweep / str(n) for n in range(4)]
    assert [(p / "results.json").exists() for p in points] == [True, True, False, True]
    assert torch.load(points[2] / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 1
    for p in (0, 1, 3):  # a marker: a run that trained again would rewrite results.json without it
        results = json.loads((points[p] / "results.json").read_text())
        (points[p] / "results.json").write_text(json.dumps({**results, "marker": p}))
    stamps = {p: (points[p] / "results.json").stat().st_mtime_ns for p in (0, 1, 3)}

    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    again = cli("train", *SWEEP)
    assert again.code == 0, again.err
    assert f"resumable sweep in {sweep}" in again.out
    log = again.out + again.err
    assert log.count("already finished") == 3
    assert f"resuming {points[2]} after epoch 1" in log
    for p in (0, 1, 3):
        assert (points[p] / "results.json").stat().st_mtime_ns == stamps[p]
        assert json.loads((points[p] / "results.json").read_text())["marker"] == p
    resumed = json.loads((points[2] / "results.json").read_text())
    assert resumed["status"] == "finished" and resumed["epochs_run"] == 4
    assert "optimizer.lr=0.5" in resumed["overrides"] and "seed=0" in resumed["overrides"]
    assert not list((outputs / "sweeps").glob("2*"))  # nothing went to a dated sweep folder


def test_the_folder_depends_on_what_the_command_computes_not_how_it_runs():
    a = ["data=synthetic", "trainer.resume=auto", "seed=0,1", "optimizer.lr=0.1,0.5"]
    # launcher, trainer.resume and the order of fixed overrides do not change the folder...
    same = [
        "seed=0,1",
        "trainer.resume=auto",
        "data=synthetic",
        "optimizer.lr=0.1,0.5",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    ]
    assert command_key(same) == command_key(a)
    # ...the sweep axes' order does (it decides which point gets which number), and so does any setting
    assert command_key(["data=synthetic", "trainer.resume=auto", "optimizer.lr=0.1,0.5", "seed=0,1"]) != command_key(a)
    assert command_key([*a, "trainer.epochs=3"]) != command_key(a)
    assert folder_for(["+experiment=tanh_vs_relu", *a], "out").parent.as_posix() == "out/sweeps/resumable"
    assert folder_for(["+experiment=tanh_vs_relu", *a], "out").name.startswith("tanh_vs_relu-")


def test_a_sweep_whose_points_changed_is_refused(cli, outputs):
    sweep = ["-m", *TINY, "trainer.epochs=1", "seed=0,1", "trainer.resume=auto"]
    folder = folder_for(sweep[1:])
    folder.mkdir(parents=True)
    # as if the experiment's sweep list had been edited since the first launch
    (folder / RECORD).write_text(json.dumps({"command": sweep[1:], "points": [["seed=1"], ["seed=0"]]}))
    refused = cli("train", *sweep)
    assert refused.code == 2
    assert "was started with other sweep points" in refused.err and "hydra.sweep.dir" in refused.err
    assert not list(folder.glob("[0-9]*"))


@pytest.mark.slow  # two searches; tests/test_optuna.py relaunches one in the default run
def test_an_optuna_search_resumes_from_its_study_without_a_fixed_sampler_seed(cli):
    pytest.importorskip("optuna")
    # the study in its storage says which trials ran: a relaunch continues it whatever the sampler proposes
    args = ["-m", "+experiment=search_lr_l2", *TINY, "trainer.epochs=1", "hydra.sweeper.sampler.seed=null"]
    first = cli("train", *args, "hydra.sweeper.n_trials=1", "trainer.resume=auto")
    assert first.code == 0, first.err
    again = cli("train", *args, "hydra.sweeper.n_trials=2", "trainer.resume=auto")
    assert again.code == 0, again.err
    assert [run.name for run in again.run_dirs()] == ["0", "1"]
