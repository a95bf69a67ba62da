"""`runner evaluate`: the saved best weights, tested again from the run folder alone."""

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import TINY


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run, trained once for this module by a real `runner train` process."""
    outputs = tmp_path_factory.mktemp("outputs")
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs)}
    command = [sys.executable, "-m", "runner", "train", *TINY, "seed=3", "early_stopping=none"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (config,) = outputs.rglob(".hydra/config.yaml")
    return config.parent.parent


def test_evaluate_reproduces_the_test_accuracy_in_results_json(trained, cli):
    result = cli("evaluate", str(trained))
    assert result.code == 0, result.err
    recorded = json.loads((trained / "results.json").read_text())["test"]
    evaluation = json.loads((trained / "evaluation" / "evaluation.json").read_text())
    assert evaluation["test"]["accuracy"] == recorded["accuracy"]  # exactly: same weights, same data
    assert evaluation["test"]["loss"] == pytest.approx(recorded["loss"], rel=1e-5)
    assert "matches results.json" in result.out

    matrix = evaluation["confusion_matrix"]
    assert len(matrix) == 4 and sum(map(sum, matrix)) == 64  # synthetic: 4 classes, 64 test images
    assert sum(matrix[i][i] for i in range(4)) / 64 == recorded["accuracy"]
    with open(trained / "evaluation" / "confusion_matrix.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["true \\ predicted", "0", "1", "2", "3"] and [int(c) for c in rows[1][1:]] == matrix[0]
    assert (trained / "evaluation" / "confusion_matrix.png").stat().st_size > 0
    assert "| **0** |" in (trained / "evaluation" / "confusion_matrix.md").read_text()


def test_evaluate_on_other_data_writes_beside_and_leaves_the_run_alone(trained, cli):
    before = (trained / "results.json").read_text()
    result = cli("evaluate", str(trained), "data.noise=2.0")
    assert result.code == 0, result.err
    evaluation = json.loads((trained / "evaluation_data.noise=2.0" / "evaluation.json").read_text())
    assert evaluation["overrides"] == ["data.noise=2.0"]
    assert (trained / "results.json").read_text() == before


def test_evaluate_refuses_to_change_the_model(trained, cli):
    result = cli("evaluate", str(trained), "model.hidden_sizes=[8]")
    assert result.code == 2
    assert "overrides may change data and trainer only" in result.err


def test_evaluate_names_a_missing_folder_or_checkpoint(trained, cli, tmp_path):
    result = cli("evaluate", "/no/such/run")
    assert result.code == 2 and result.err.strip() == "runner evaluate: no such folder: /no/such/run"
    copy = shutil.copytree(trained, tmp_path / "run")
    (copy / "checkpoints" / "best.pt").unlink()
    result = cli("evaluate", str(copy))
    assert result.code == 2 and "best.pt: no such checkpoint" in result.err
