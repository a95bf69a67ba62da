"""Reading run folders back: find them under a sweep (or any) folder, and load
what each one holds. Shared by `runner compare` and the sweep manifest.

A reader must cope with sweeps that are still going (no results.json yet), runs
that failed, and files that are missing or corrupt: every such file becomes a
line in `Run.problems`, never an exception. Which file is where: runner/record/run_folder.py.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional

from runner.record.run_folder import ERROR, RUN_MARKERS, RUN_OUTPUTS, RunFolder  # noqa: F401 (RUN_*: read from here too)

ERROR_FILE = ERROR  # the name the sweep manifest writes


@dataclass
class Run:
    path: Path
    overrides: List[str] = field(default_factory=list)  # as on the command line: "optimizer.lr=0.01"
    results: Optional[dict] = None  # results.json; None while running, or if unreadable
    metrics: List[dict] = field(default_factory=list)  # metrics.csv rows, numbers as floats (nan if blank)
    error: Optional[str] = None  # the exception of a failed job (error.txt)
    problems: List[str] = field(default_factory=list)  # "<file>: <what is wrong>"

    @property
    def status(self) -> str:
        """finished | failed | unfinished | unreadable (results.json exists but cannot be read)."""
        if self.results is not None:
            return str(self.results.get("status", "finished"))
        if self.error is not None:
            return "failed"
        if RunFolder(self.path).results_file.exists():
            return "unreadable"
        return "unfinished"

    @property
    def settings(self) -> dict:
        """{key: value} of the overrides; `+key` and `key` are the same setting."""
        out = {}
        for item in self.overrides:
            key, _, value = item.partition("=")
            out[key.lstrip("+")] = value
        return out

    @property
    def seed(self):
        seed = self.settings.get("seed")
        return seed if seed is not None else (self.results or {}).get("seed")


def is_run_folder(path: Path) -> bool:
    return RunFolder(path).is_run()


def run_markers(path: Path) -> List[str]:
    """Which of RUN_MARKERS `path` holds (empty: no run has trained there)."""
    return RunFolder(path).markers()


def folders_holding_runs(root: Path) -> List[Path]:
    """Folders at or under `root` that hold a run (see run_markers), in natural order."""
    return _walk(root, run_markers)


def find_runs(root: Path) -> List[Path]:
    """Run folders at or under `root`, in natural order (sweep job 10 after job 9)."""
    root = Path(root)
    if is_run_folder(root):
        return [root]
    return _walk(root, is_run_folder)


def _walk(root: Path, holds_run) -> List[Path]:
    found = []
    for folder, subfolders, _ in os.walk(root):
        if holds_run(Path(folder)):
            found.append(Path(folder))
            subfolders[:] = []  # a run holds no runs (checkpoints/, .hydra/)
        else:
            subfolders[:] = [s for s in subfolders if not s.startswith(".")]
    return sorted(found, key=_natural_key)


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def read_run(path: Path) -> Run:
    folder = RunFolder(path)
    run = Run(folder.path)
    run.overrides = folder.overrides_to_show(run.problems)
    run.results = folder.read_results(run.problems)
    if not run.overrides and run.results and run.results.get("overrides"):
        run.overrides = [str(o) for o in run.results["overrides"]]  # results.json records them too
    run.metrics = folder.metric_rows_to_show(run.problems)
    run.error = folder.error()
    return run


def read_runs(paths: Iterable[Path]) -> List[Run]:
    return [read_run(p) for p in paths]


def finished_results(run_dir: Path) -> Optional[dict]:
    return RunFolder(run_dir).finished_results()
