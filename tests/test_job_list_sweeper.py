"""hydra/sweeper=job_list: a multirun over an explicit list of jobs (not a grid), which
`runner reproduce` uses to put every row's missing seeds in one queue."""

import json

from conftest import TINY


def results(folder):
    return json.loads((folder / "results.json").read_text())


def test_exactly_the_listed_jobs_run_with_the_common_overrides(cli, outputs):
    sweep = outputs / "jobs"
    run = cli(
        "train",
        "-m",
        *TINY,
        "trainer.epochs=1",
        "hydra/sweeper=job_list",
        "hydra.sweeper.jobs=['seed=0 model.activation=tanh','seed=3']",
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=s${seed}-${model.activation}",
    )
    assert run.code == 0, run.err
    # Not a grid: seed 0 with tanh and seed 3 with the default, nothing else.
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["s0-tanh", "s3-relu"]
    first, second = results(sweep / "s0-tanh"), results(sweep / "s3-relu")
    assert first["status"] == second["status"] == "finished"
    assert "model.activation=tanh" in first["overrides"] and "seed=3" in second["overrides"]
    assert all("trainer.epochs=1" in r["overrides"] for r in (first, second))
    assert first["epochs_run"] == second["epochs_run"] == 1
    # Each point's lines name its folder: side by side (joblib) they interleave.
    log = run.out + run.err
    assert "[s0-tanh] epoch 1/1" in log and "[s3-relu] epoch 1/1" in log and "[s3-relu] test loss" in log


def test_a_command_line_sweep_multiplies_the_list(cli, outputs):
    sweep = outputs / "grid"
    run = cli(
        "train",
        "-m",
        *TINY,
        "trainer.epochs=1",
        "optimizer.lr=0.1,0.2",
        "hydra/sweeper=job_list",
        "hydra.sweeper.jobs=['seed=0','seed=1']",
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${seed}-${optimizer.lr}",
    )
    assert run.code == 0, run.err
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0-0.1", "0-0.2", "1-0.1", "1-0.2"]


def test_a_sweep_inside_a_job_or_an_empty_list_is_refused_before_anything_runs(cli, outputs):
    inner = cli(
        "train",
        "-m",
        *TINY,
        "hydra/sweeper=job_list",
        "hydra.sweeper.jobs=['seed=0,1']",
        f"hydra.sweep.dir={outputs / 'a'}",
    )
    assert inner.code != 0
    assert "job 'seed=0,1' holds a sweep (seed=0,1)" in inner.out + inner.err
    empty = cli("train", "-m", *TINY, "hydra/sweeper=job_list", f"hydra.sweep.dir={outputs / 'b'}")
    assert empty.code != 0 and "hydra.sweeper.jobs is empty" in empty.out + empty.err
    assert not list(outputs.glob("*/*/results.json"))


def test_a_relaunched_job_list_lands_in_the_same_folders_and_skips_what_finished(cli, outputs):
    from runner.launch.resumable_sweep import RECORD, folder_for

    sweep = [
        "-m",
        *TINY,
        "trainer.epochs=1",
        "hydra/sweeper=job_list",
        "hydra.sweeper.jobs=['seed=2','seed=0']",
        "trainer.resume=auto",
    ]
    first = cli("train", *sweep)
    assert first.code == 0, first.err
    folder = folder_for(sweep[1:])
    points = json.loads((folder / RECORD).read_text())["points"]
    assert [[o for o in p if o.startswith("seed=")] for p in points] == [["seed=2"], ["seed=0"]]  # the list's order
    assert results(folder / "0")["seed"] == 2 and results(folder / "1")["seed"] == 0
    again = cli("train", *sweep)
    assert again.code == 0 and (again.out + again.err).count("already finished") == 2


def test_a_bad_value_in_a_later_job_fails_before_the_first_runs(cli, outputs):
    run = cli(
        "train",
        "-m",
        *TINY,
        "hydra/sweeper=job_list",
        "hydra.sweeper.jobs=['seed=0','seed=1 trainer.epochs=-4']",
        f"hydra.sweep.dir={outputs / 'bad'}",
    )
    assert run.code == 2
    assert "sweep point 1 of 2" in run.err and "seed=1 trainer.epochs=-4" in run.err and "trainer.epochs" in run.err
    assert "hydra.sweeper.jobs=" not in run.err.split("sweep point 1 of 2")[1].split(")")[0]
    assert not (outputs / "bad").exists()
