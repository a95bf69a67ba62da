"""`runner diagnose RUN_DIR` on folders that are not an ended run: one `runner diagnose: ...`
line naming the file and what is wrong, exit 2, no traceback, and the folder left as it was."""

import json
import subprocess
import sys

import pytest
from adversarial_support import refused, snapshot

from runner.record.run_folder import RunFolder

QUICK = ["data=synthetic", "trainer.epochs=2", "trainer.batch_size=32", "trainer.threads=1", "early_stopping=none"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One real finished run, copied by each test that damages a file of it."""
    import os

    outputs = tmp_path_factory.mktemp("outputs")
    env = {**os.environ, "RUNNER_OUTPUTS": str(outputs), "RUNNER_CACHE_DIR": str(outputs / "cache")}
    run = outputs / "run"
    cmd = [sys.executable, "-m", "runner", "train", *QUICK, f"hydra.run.dir={run}", "trainer.progress=false"]
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=300)
    return run


@pytest.fixture
def run(finished_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def diagnose_refused(cli, folder, *words):
    before = snapshot(folder) if folder.exists() else None
    line = refused(cli("diagnose", str(folder)), *words)
    assert line.startswith("runner diagnose: ")
    if before is not None:
        assert snapshot(folder) == before, "the folder changed"
    return line


def test_the_real_run_is_diagnosed(cli, run):
    assert cli("diagnose", str(run)).code == 0  # the copies below are damaged from a folder that works


def test_no_such_folder(cli, tmp_path):
    diagnose_refused(cli, tmp_path / "nowhere", "no such folder", "nowhere")


def test_a_folder_that_holds_no_run(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("not a run")
    diagnose_refused(cli, tmp_path, "not a run folder", "results.json")


def test_a_sweep_folder_names_a_run_in_it_and_runner_compare(cli, run):
    line = diagnose_refused(cli, run.parent, "not a run folder", str(run), "runner compare")
    assert "1 run folder(s)" in line


def test_a_run_without_results_has_not_ended(cli, run):
    RunFolder(run).results_file.unlink()
    diagnose_refused(cli, run, "results.json", "has not ended")


def test_a_run_still_going_holds_its_lock(cli, run):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print(1, flush=True); sys.stdin.read()", str(run / ".lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "1"  # the lock is held
        diagnose_refused(cli, run, "in use by another run", "when it has ended")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert cli("diagnose", str(run)).code == 0  # released: the run is diagnosed


@pytest.mark.parametrize(
    "text, words",
    [
        ("{not json", ("results.json", "not valid JSON")),
        ("[1, 2]", ("results.json", "not a JSON object")),
        ('{"status": "finished"}', ("results.json", "missing", "best_epoch")),
    ],
)
def test_a_damaged_results_json(cli, run, text, words):
    RunFolder(run).results_file.write_text(text)
    diagnose_refused(cli, run, *words)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda text: text.replace("\n2,", "\n2,x,"), ("metrics.csv", "more fields than the header")),
        (lambda text: text.replace("\n2,", "\nsecond,"), ("metrics.csv", "line 3")),
        (lambda text: text.splitlines()[0] + "\n", ("metrics.csv", "missing or empty", "2 epoch(s)")),
    ],
)
def test_a_damaged_metrics_csv(cli, run, edit, words):
    file = RunFolder(run).metrics_file
    file.write_text(edit(file.read_text()))
    diagnose_refused(cli, run, *words)


def test_a_missing_metrics_csv_of_a_run_that_trained(cli, run):
    RunFolder(run).metrics_file.unlink()
    assert json.loads(RunFolder(run).results_file.read_text())["epochs_run"] == 2
    diagnose_refused(cli, run, "metrics.csv", "missing")
