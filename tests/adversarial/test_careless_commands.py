"""Commands a careless user types: a pipe that closes early, a sweep handed to a one-config
command, a node that only an experiment file can fill. Each gets its one line, no traceback."""

import pytest
from adversarial_support import refused


def test_help_read_by_a_pipe_that_closes_early_prints_no_traceback():
    """`runner --help | head -1`: head leaves after one line; runner must not answer with a traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        f"'{sys.executable}' -m runner --help | head -1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.startswith("usage: runner"), done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_gradcheck_refuses_a_sweep_in_one_line(cli):
    """`runner gradcheck -m ...` checks one config: one line saying so, not argparse's usage."""
    result = cli("gradcheck", "-m", "data=synthetic", "model.activation=tanh,relu")
    assert result.code == 2, result.err
    assert result.err.strip().splitlines() == ["runner: gradcheck checks one config; drop -m and the sweep lists"]


@pytest.mark.parametrize("override", ["reference.id=x", "reference={id:x}"])
def test_a_null_node_says_it_is_filled_by_an_experiment_file(cli, override):
    """`reference` is null outside a reproduction row: Hydra cannot fill it from the command line at all."""
    refused(
        cli("train", "data=synthetic", override), override, "cannot be filled from the command line", "experiment file"
    )


def test_a_run_trained_on_a_relative_data_path_evaluates_from_another_folder(cli, tmp_path, monkeypatch):
    """`data.path=d.npz` was read from the folder `runner train` started in; `runner evaluate` run
    from elsewhere reads the same file (Hydra records that folder in .hydra/hydra.yaml)."""
    import numpy as np

    start, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    start.mkdir(), elsewhere.mkdir()
    rng = np.random.default_rng(0)
    np.savez(start / "d.npz", x=rng.normal(size=(60, 3)).astype(np.float32), y=np.arange(60) % 2)
    monkeypatch.chdir(start)
    trained = cli("train", "data=arrays", "data.path=d.npz", "model=mlp", "model.hidden_sizes=[4]",
                  "trainer.epochs=1", "trainer.batch_size=8", "trainer.threads=1")  # fmt: skip
    assert trained.code == 0, trained.err[-2000:]
    monkeypatch.chdir(elsewhere)
    evaluated = cli("evaluate", str(trained.run_dir()))
    assert evaluated.code == 0, evaluated.err[-2000:]
    assert "matches results.json" in evaluated.out
