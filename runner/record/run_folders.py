"""Reading run folders back: find them under a sweep (or any) folder, and load
what each one holds. Shared by `runner compare` and the sweep manifest.

A reader must cope with sweeps that are still going (no results.json yet), runs
that failed, and files that are missing or corrupt: every such file becomes a
line in `Run.problems`, never an exception.
"""

import csv
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional

import yaml

ERROR_FILE = "error.txt"  # written by the sweep manifest callback when a job raises


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
        if (self.path / "results.json").exists():
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


# What a run has written once it has trained (a folder with only .hydra/ and train.log has lost nothing
# if a new run starts over in it). A second run in such a folder is refused (runner/record/run_guard.py).
RUN_MARKERS = ("results.json", "metrics.csv", "checkpoints")
# A run's own results, which trainer.overwrite=true deletes before the new run starts (.hydra/ and
# train.log are rewritten by Hydra itself).
RUN_OUTPUTS = ("results.json", "metrics.csv", "test_predictions.csv", ERROR_FILE)


def is_run_folder(path: Path) -> bool:
    return (path / ".hydra" / "overrides.yaml").exists() or (path / "results.json").exists()


def run_markers(path: Path) -> List[str]:
    """Which of RUN_MARKERS `path` holds (empty: no run has trained there)."""
    return [name for name in RUN_MARKERS if (Path(path) / name).exists()]


def folders_holding_runs(root: Path) -> List[Path]:
    """Folders at or under `root` that hold a run (see run_markers), in natural order."""
    found = []
    for folder, subfolders, _ in os.walk(root):
        if run_markers(Path(folder)):
            found.append(Path(folder))
            subfolders[:] = []  # a run holds no runs (checkpoints/, .hydra/)
        else:
            subfolders[:] = [s for s in subfolders if not s.startswith(".")]
    return sorted(found, key=_natural_key)


def find_runs(root: Path) -> List[Path]:
    """Run folders at or under `root`, in natural order (sweep job 10 after job 9)."""
    root = Path(root)
    if is_run_folder(root):
        return [root]
    found = []
    for folder, subfolders, _ in os.walk(root):
        path = Path(folder)
        if is_run_folder(path):
            found.append(path)
            subfolders[:] = []  # a run holds no runs (checkpoints/, .hydra/)
        else:
            subfolders[:] = [s for s in subfolders if not s.startswith(".")]
    return sorted(found, key=_natural_key)


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def read_run(path: Path) -> Run:
    run = Run(Path(path))
    run.overrides = _read_overrides(run)
    run.results = _read_results(run)
    run.metrics = _read_metrics(run)
    error_file = run.path / ERROR_FILE
    if error_file.exists():
        run.error = error_file.read_text(errors="replace").strip()
    return run


def read_runs(paths: Iterable[Path]) -> List[Run]:
    return [read_run(p) for p in paths]


def _read_overrides(run: Run) -> List[str]:
    file = run.path / ".hydra" / "overrides.yaml"
    if file.exists():
        try:
            overrides = yaml.safe_load(file.read_text())
            if isinstance(overrides, list):
                return [str(o) for o in overrides]
            run.problems.append(f"{file}: expected a list of overrides")
        except (yaml.YAMLError, OSError) as err:
            run.problems.append(f"{file}: not readable YAML ({_one_line(err)})")
    return []  # results.json also records them; _read_results fills them in


def _read_results(run: Run) -> Optional[dict]:
    file = run.path / "results.json"
    if not file.exists():
        return None
    try:
        results = json.loads(file.read_text())
    except (ValueError, OSError) as err:
        run.problems.append(f"{file}: not valid JSON ({_one_line(err)}); run left out")
        return None
    if not isinstance(results, dict):
        run.problems.append(f"{file}: not a JSON object; run left out")
        return None
    missing = [key for key in ("test", "val") if not isinstance(results.get(key), dict)]
    missing += [] if "best_epoch" in results else ["best_epoch"]
    if missing:
        run.problems.append(f"{file}: missing {', '.join(missing)}; run left out")
        return None
    if not run.overrides and results.get("overrides"):
        run.overrides = [str(o) for o in results["overrides"]]
    return results


def _read_metrics(run: Run) -> List[dict]:
    file = run.path / "metrics.csv"
    if not file.exists():
        if run.results is not None:
            run.problems.append(f"{file}: missing (no curves for this run)")
        return []
    try:
        with open(file, newline="") as f:
            rows = [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(f)]
    except (csv.Error, OSError, UnicodeDecodeError) as err:
        run.problems.append(f"{file}: not readable CSV ({_one_line(err)})")
        return []
    if rows and "epoch" not in rows[0]:
        run.problems.append(f"{file}: no 'epoch' column (no curves for this run)")
        return []
    return [row for row in rows if not math.isnan(row["epoch"])]


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # blank (a metric not computed that epoch), or None
        return math.nan


def _one_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def finished_results(run_dir: Path) -> Optional[dict]:
    path = Path(run_dir) / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) and results.get("status") == "finished" else None


def saved_overrides(file: Path) -> List[str]:
    """A run folder's .hydra/overrides.yaml: a list of override strings, or ValueError naming the file.
    The folder may come from someone else: a YAML list of anything else is refused, not coerced."""
    if not file.exists():
        return []
    try:
        overrides = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if err.problem_mark else ""
        raise ValueError(f"{file}: not readable YAML ({err.problem or err.context}{where})") from None
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"{file}: not readable YAML ({_one_line(err)})") from None
    if overrides is None:
        return []
    if not isinstance(overrides, list):
        raise ValueError(f"{file}: expected a list of overrides (key=value strings), got {type(overrides).__name__}")
    for number, item in enumerate(overrides):
        if not isinstance(item, str):
            raise ValueError(f"{file}: entry {number} ({item!r}) is {type(item).__name__}, not an override string (key=value)")
    return overrides
