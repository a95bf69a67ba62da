"""The sweep manifest: manifest.csv / manifest.json in the sweep folder, one row
per run (number, folder, status, overrides), kept current while the sweep runs.

A Hydra callback (configured under `hydra.callbacks` in conf/config.yaml). With
the joblib launcher `on_job_end` runs inside the worker processes, so no state
is kept in memory: each finishing job rescans the sweep folder and rewrites the
whole manifest under a file lock, and `on_multirun_end` writes the final one.
A sweep that is cut off (or whose last job fails, which makes Hydra raise before
`on_multirun_end`) still leaves a manifest that is right up to its last job.

A job that raises also leaves error.txt (the traceback) in its run folder, so
the manifest and `runner compare` can tell "failed" from "still running".
"""

import contextlib
import csv
import io
import logging
import traceback
from datetime import datetime
from pathlib import Path
from typing import List

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from runner.io import atomic_write_json, atomic_write_text
from runner.record.run_folders import ERROR_FILE, find_runs, read_run
from runner.record.run_lock import FolderBusy

log = logging.getLogger("runner")

COLUMNS = ["number", "folder", "status", "stop_reason", "test_accuracy", "overrides"]


def manifest_rows(sweep_dir: Path) -> List[dict]:
    rows = []
    for folder in find_runs(sweep_dir):
        if folder == sweep_dir:
            continue
        run = read_run(folder)
        results = run.results or {}
        relative = folder.relative_to(sweep_dir).as_posix()
        rows.append(
            {
                "number": int(folder.name) if folder.name.isdigit() else relative,
                "folder": relative,
                "status": manifest_status(run),
                "stop_reason": results.get("stop_reason", ""),
                "test_accuracy": (results.get("test") or {}).get("accuracy", ""),
                "overrides": run.overrides,
            }
        )
    return rows


def manifest_status(run) -> str:
    """The run's status; "pruned" for a trial its search's pruner stopped (finished, but shorter)."""
    return "pruned" if (run.results or {}).get("stop_reason") == "pruned" else run.status


def write_manifest(sweep_dir: Path) -> List[dict]:
    sweep_dir = Path(sweep_dir)
    with _locked(sweep_dir):
        rows = manifest_rows(sweep_dir)
        atomic_write_json(
            sweep_dir / "manifest.json",
            {"sweep_dir": str(sweep_dir), "updated": datetime.now().isoformat(timespec="seconds"), "runs": rows},
        )
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "overrides": " ".join(row["overrides"])} for row in rows)
        atomic_write_text(sweep_dir / "manifest.csv", out.getvalue())
    return rows


@contextlib.contextmanager
def _locked(folder: Path):
    """Serialise rescan+write between jobs finishing at the same moment (parallel launchers)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: last writer wins, on_multirun_end still writes the final manifest
        yield
        return
    with open(folder / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SweepManifest(Callback):
    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        try:
            error_file = Path(config.hydra.runtime.output_dir) / ERROR_FILE
            error = (
                job_return._return_value if job_return.status == JobStatus.FAILED else None
            )  # .return_value would re-raise it
            if isinstance(error, FolderBusy):
                pass  # the folder is another run's, which holds its lock: nothing of this point goes in it
            elif error is not None:
                text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                atomic_write_text(error_file, text)
            else:
                error_file.unlink(missing_ok=True)  # a point that failed before and finished on resume
            if config.hydra.mode == RunMode.MULTIRUN:
                write_manifest(Path(str(config.hydra.sweep.dir)))
        except Exception as err:  # bookkeeping must never break a sweep
            log.warning(f"sweep manifest not updated: {err}")

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
            if sweep_dir.is_dir():
                rows = write_manifest(sweep_dir)
                done, pruned = (sum(r["status"] == status for r in rows) for status in ("finished", "pruned"))
                also = f", {pruned} pruned" if pruned else ""
                log.info(f"sweep manifest: {done}/{len(rows)} runs finished{also}, {sweep_dir / 'manifest.csv'}")
        except Exception as err:
            log.warning(f"sweep manifest not written: {err}")
