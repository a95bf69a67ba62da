"""One process at a time in a run folder (or a sweep folder chosen by hand).

A run holds an exclusive lock on `<folder>/.lock` from before Hydra writes into the
folder until it ends; a second run aimed at the same folder is refused at once with
one line naming the holder (`.lock.owner`: pid, host, start time), and writes nothing.

The lock is filelock's: flock(2) on Unix, which the kernel releases when the holder
dies however it dies (kill -9, a lost node), so a crashed run never leaves a stale lock
behind. The `.lock` file itself stays (removing a flock file while another process
opens it would let two processes lock two different files of the same name); it is
empty and hidden, and run-folder discovery (runner/record/run_folders.py) ignores it.
"""

import contextlib
import os
import socket
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from runner.errors import RunFault

LOCK_FILE = ".lock"
OWNER_FILE = ".lock.owner"

_held = {}  # folder -> FileLock: the folders this process holds (a run's job runs inside run_one's lock)


class FolderBusy(RunFault):
    """Another process holds the folder; str() names the folder and the holder."""

    def __init__(self, folder: Path, holder: str, key: str = "hydra.run.dir"):
        super().__init__(
            f"{folder} is in use by another run ({holder}): wait for it to end, or choose another {key}", 2
        )


@contextlib.contextmanager
def holding(folder, key: str = "hydra.run.dir"):
    """Hold `folder`'s lock for the block (creating the folder); FolderBusy when another process holds it."""
    folder = Path(os.path.abspath(folder))  # as Hydra's runtime.output_dir spells it: the job finds it in _held
    if folder in _held:  # already ours: the job of a run whose launch took the lock
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(folder, _holder(folder), key) from None
    _held[folder] = lock
    try:
        _write_owner(folder)
        yield
    finally:
        del _held[folder]
        with contextlib.suppress(OSError):
            (folder / OWNER_FILE).unlink()
        lock.release()


def refuse_if_busy(folder, key: str = "hydra.run.dir") -> None:
    """FolderBusy now if another process holds `folder` (a check before launching, so that a run
    going on is named as such rather than as a finished one). Creates nothing: a folder without
    a lock file has no holder."""
    folder = Path(os.path.abspath(folder))
    if folder in _held or not (folder / LOCK_FILE).is_file():
        return
    probe = FileLock(str(folder / LOCK_FILE), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        raise FolderBusy(folder, _holder(folder), key) from None
    probe.release()


def _write_owner(folder: Path) -> None:
    """Who holds the lock, for the message a second run prints. Best effort: a full disk must
    not stop the run here (its own first write will say so)."""
    since = datetime.now().isoformat(timespec="seconds")
    with contextlib.suppress(OSError):
        (folder / OWNER_FILE).write_text(f"pid {os.getpid()} on {socket.gethostname()}, since {since}\n")


def _holder(folder: Path) -> str:
    try:
        return (folder / OWNER_FILE).read_text().strip() or "a process that has not said who it is yet"
    except OSError:
        return "a process that has not said who it is yet"
