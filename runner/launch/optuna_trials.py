"""The trials of a study shared by processes: who may ask the next one, how many there may be,
and what becomes of a trial whose process died (docs/tuning.md, "Resuming").

- Asking is serialised by a file lock in the sweep folder (`.optuna.lock`): every worker (this
  command launched again, n_jobs' extra processes, SLURM worker jobs) counts the study's trials
  and asks the next one under it, so that none asks past n_trials.
- A worker holds a lock on `<sweep>/.workers/<host>-<pid>/` for as long as it runs, and each
  trial's job holds its run folder's lock (runner/record/run_lock.py: flock, released by the
  kernel however the holder dies). A trial RUNNING in the study is alive while either lock is
  held; when neither is, its process died: the trial is marked FAIL with user attribute
  `requeued`, and its parameters are queued again (study.enqueue_trial), to be trained afresh
  as the next trial, in that trial's own folder.
- n_trials counts the study's trials except those requeued ones: a relaunch continues to the
  total, and trial numbers continue."""

import contextlib
import os
import socket
from pathlib import Path
from typing import Any, Iterator, List

from filelock import FileLock

from runner.record import run_lock
from runner.record.run_lock import FolderBusy

ASK_LOCK = ".optuna.lock"
WORKERS = ".workers"
REQUEUED = "requeued"  # user attribute of a trial whose process died (not counted in n_trials)
ASK_TIMEOUT_S = 600


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@contextlib.contextmanager
def working(sweep_dir: Path) -> Iterator[str]:
    """This process's worker lock for the block; yields its name (the trials' `worker` attribute)."""
    name = worker_name()
    with run_lock.holding(Path(sweep_dir) / WORKERS / name, "hydra.sweep.dir"):
        yield name


@contextlib.contextmanager
def asking(sweep_dir: Path):
    """One worker at a time counts and asks."""
    with FileLock(str(Path(sweep_dir) / ASK_LOCK), timeout=ASK_TIMEOUT_S):
        yield


def _held(folder: Path) -> bool:
    try:
        run_lock.refuse_if_busy(folder)
    except FolderBusy:
        return True
    return False


def is_alive(trial: Any, sweep_dir: Path, me: str) -> bool:
    worker = trial.user_attrs.get("worker")
    if worker == me:
        return True
    if worker and _held(Path(sweep_dir) / WORKERS / worker):
        return True
    folder = Path(sweep_dir) / str(trial.user_attrs.get("folder", trial.number))
    return _held(folder) or any(_held(sub) for sub in folder.glob("repeat*"))


def requeue_dead(study: Any, storage: Any, sweep_dir: Path, me: str) -> List[int]:
    """Mark the RUNNING trials whose processes died FAIL and queue their parameters again;
    returns their numbers. Call under `asking`."""
    from optuna.trial import Trial, TrialState

    dead = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if not is_alive(t, sweep_dir, me)]
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in dead:
        live = Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))
        live.set_user_attr(REQUEUED, True)
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return [t.number for t in dead]


def counted(study: Any) -> int:
    return sum(not t.user_attrs.get(REQUEUED) for t in study.get_trials(deepcopy=False))


def waiting(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def ask_next(study: Any, distributions: dict, n_trials: int, count: int, folder_of, worker: str) -> List[Any]:
    """Up to `count` new trials (queued ones first) while the study holds fewer than n_trials;
    each gets its `folder` and `worker` attributes before any job runs. Call under `asking`."""
    trials = []
    for _ in range(count):
        if not waiting(study) and counted(study) >= n_trials:
            break
        trial = study.ask(distributions)
        trial.set_user_attr("folder", folder_of(trial.number))
        trial.set_user_attr("worker", worker)
        trials.append(trial)
    return trials
