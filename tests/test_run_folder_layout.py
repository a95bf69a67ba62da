"""One owner of the run folder's layout (issue #20): RunFolder knows every name, Results is
results.json, and metric names are written once (runner/config/metric_names.py)."""

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest
from conftest import TINY

from runner.config import metric_names
from runner.errors import RunFault
from runner.record.results import Results
from runner.record.run_folder import RunFolder
from runner.record.run_log import METRIC_COLUMNS

# results.json of a run on data=synthetic, written before RunFolder and Results existed.
BEFORE = json.loads((Path(__file__).parent / "fixtures" / "results_before_run_folder.json").read_text())
PACKAGE = Path(__file__).resolve().parent.parent / "runner"


def test_results_json_keeps_its_keys_and_their_order(cli):
    result = cli("train", *TINY)
    assert result.code == 0, result.err
    results = result.results()
    assert list(results) == list(BEFORE)
    for part in ("train", "val", "test", "versions", "machine"):
        assert set(results[part]) == set(BEFORE[part]), part
    assert [f.name for f in dataclasses.fields(Results)] == list(BEFORE)


def test_a_run_folder_is_read_back_through_run_folder(cli):
    result = cli("train", *TINY)
    run = RunFolder(result.run_dir())
    problems = []
    assert run.read_results(problems) == run.finished_results() == result.results() and not problems
    rows = run.metric_rows()
    assert [row[metric_names.EPOCH] for row in rows] == [1, 2, 3]
    assert list(rows[0]) == list(METRIC_COLUMNS)
    assert [row[metric_names.VAL_LOSS] for row in run.metric_rows_to_show(problems)] == [
        row[metric_names.VAL_LOSS] for row in rows
    ]
    assert run.overrides() == run.overrides_to_show(problems) == TINY
    assert run.config().trainer.epochs == 3
    assert run.checkpoint("last").exists() and run.checkpoint("best").exists() and run.events()
    labels, predicted = run.test_predictions()
    assert len(labels) == len(predicted) > 0
    assert run.error() is None and not problems


def test_damaged_files_are_problems_not_tracebacks(tmp_path):
    run = RunFolder(tmp_path)
    run.results_file.write_text("{not json")
    run.metrics_file.write_text("epoch,val/loss\n1,0.5,extra\n")
    run.hydra.mkdir()
    run.overrides_file.write_text("a: mapping\n")
    problems = []
    assert run.read_results(problems) is None and run.results_json() is None and run.finished_results() is None
    assert run.overrides_to_show(problems) == []
    assert problems[0].startswith(f"{run.results_file}: not valid JSON (") and problems[0].endswith("); run left out")
    assert problems[1:] == [f"{run.overrides_file}: expected a list of overrides"]
    with pytest.raises(RunFault, match="line 2 has more fields than the header"):
        run.metric_rows()  # resuming from it: refused, exit 2
    with pytest.raises(ValueError, match="expected a list of overrides"):
        run.overrides()


def test_a_run_that_stopped_early_is_not_finished(tmp_path):
    run = RunFolder(tmp_path)
    run.results_file.write_text(json.dumps({**BEFORE, "status": "preempted"}))
    assert run.finished_results() is None and run.results_json()["status"] == "preempted"
    with pytest.raises(ValueError):
        run.checkpoint("../elsewhere")  # a name from a hand-edited file must not reach the disk


def test_metric_names_are_written_only_in_metric_names_py():
    """A bare "val/accuracy" elsewhere in the package (docstrings aside) would drift from the column it names."""
    name = re.compile(r"^(train|val|test)/(loss|accuracy)$")
    bare = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "metric_names.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        bare += [
            f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and name.match(node.value)
        ]
    assert not bare, f"use runner/config/metric_names.py: {bare}"
