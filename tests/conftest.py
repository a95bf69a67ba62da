"""Shared helpers: run the real CLI (in this process, or as a subprocess) into a temp outputs folder."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import runner.fit.loop
from runner.cli import main

ADVERSARIAL = Path(__file__).parent / "adversarial"


def pytest_collection_modifyitems(items):
    """Every test under tests/adversarial/ carries the `adversarial` marker (`pytest -m adversarial`)."""
    for item in items:
        if ADVERSARIAL in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.adversarial)


# Tiny, fast settings used by most end-to-end tests.
TINY = [
    "data=synthetic",
    "trainer.epochs=3",
    "trainer.batch_size=32",
    "optimizer=sgd",
    "optimizer.lr=0.5",
    "trainer.threads=1",
]


class CliResult:
    def __init__(self, code: int, out: str, err: str, outputs: Path):
        self.code, self.out, self.err, self.outputs = code, out, err, outputs

    def run_dirs(self):
        return sorted(p.parent.parent for p in self.outputs.rglob(".hydra/config.yaml"))

    def run_dir(self) -> Path:
        dirs = self.run_dirs()
        assert len(dirs) == 1, f"expected one run folder, found {dirs}"
        return dirs[0]

    def results(self) -> dict:
        return json.loads((self.run_dir() / "results.json").read_text())


@pytest.fixture
def outputs(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "outputs"
    monkeypatch.setenv("RUNNER_OUTPUTS", str(folder))
    return folder


@pytest.fixture
def experiment_file():
    """Write experiments/_tmp_<unique>.yaml (where users put experiments; Hydra finds them
    there); removed afterwards. Returns the name for `+experiment=`."""
    from runner.paths import EXPERIMENTS_DIR

    written = []

    def write(text: str) -> str:
        name = f"_tmp_{uuid.uuid4().hex[:10]}"
        path = EXPERIMENTS_DIR / f"{name}.yaml"
        path.write_text(text)
        written.append(path)
        return name

    yield write
    for path in written:
        path.unlink(missing_ok=True)


@pytest.fixture
def cli(outputs, capsys):
    """Run `runner <args>` in this process; returns a CliResult (never raises SystemExit)."""

    def run(*args) -> CliResult:
        try:
            main(list(args))
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err, outputs)

    return run


@pytest.fixture
def cli_process(outputs):
    """Run `runner <args>` as a real subprocess (what a user types)."""

    def run(*args, timeout=300) -> CliResult:
        env = {**os.environ, "RUNNER_OUTPUTS": str(outputs)}
        proc = subprocess.run(
            [sys.executable, "-m", "runner", *args], capture_output=True, text=True, env=env, timeout=timeout
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr, outputs)

    return run


def dies_at_epoch_call(n, monkeypatch, error=RuntimeError("killed")):
    """Make the n-th call of runner.fit.loop.train_epoch (counted across runs) raise `error`,
    as a run killed or interrupted mid-training; returns the real function to put back."""
    real_epoch = runner.fit.loop.train_epoch
    calls = []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise error
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(runner.fit.loop, "train_epoch", dies)
    return real_epoch
