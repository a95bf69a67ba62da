"""Which folder a run (or a sweep) may write in, checked before Hydra writes anything there.

- An empty hydra.run.dir / hydra.sweep.dir / hydra.sweep.subdir would put run files in the
  current folder (or every sweep point in one folder): refused.
- A folder that already holds a run (results.json, metrics.csv or checkpoints/) is not
  written over: trainer.resume=auto continues it, trainer.overwrite=true starts it over
  (deleting that run's results first, so that the folder never mixes two runs).
"""

import contextlib
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from runner.errors import RunFault
from runner.record import run_lock
from runner.record.run_folder import CHECKPOINTS, HYDRA, RUN_OUTPUTS, TRAIN_LOG, RunFolder
from runner.record.run_folders import folders_holding_runs, run_markers

CHOICES = "trainer.resume=auto continues {it}, trainer.overwrite=true starts {it} over, or choose another {key}"


def _folder(cfg: DictConfig, key: str) -> Path:
    value = OmegaConf.select(cfg, key)
    if value is None or not str(value).strip():
        raise RunFault(
            f"{key} is empty: it would scatter the run's files into the current folder; name a folder, or leave {key} out for a new one under outputs/",
            2,
        )
    return Path(str(value))


def run_dir(cfg: DictConfig) -> Path:
    return _folder(cfg, "hydra.run.dir")


def sweep_dir(cfg: DictConfig) -> Path:
    folder = _folder(cfg, "hydra.sweep.dir")
    subdir = OmegaConf.to_container(cfg.hydra.sweep).get("subdir")  # unresolved: ${hydra.job.num} is set per point
    if subdir is None or not str(subdir).strip():
        raise RunFault(
            "hydra.sweep.subdir is empty: every point of the sweep would write in the same folder; leave it out (one folder per point: ${hydra.job.num})",
            2,
        )
    return folder


def _reuse_allowed(cfg: DictConfig) -> bool:
    return OmegaConf.select(cfg, "trainer.resume") == "auto" or bool(OmegaConf.select(cfg, "trainer.overwrite"))


def refuse_reuse(cfg: DictConfig, folder: Path) -> None:
    """RunFault (exit 2) when `folder` holds a run and the command neither resumes nor overwrites it."""
    found = run_markers(folder)
    if found and not _reuse_allowed(cfg):
        names = ", ".join(f"{name}/" if name == CHECKPOINTS else name for name in found)
        raise RunFault(f"{folder} already holds a run ({names}): " + CHOICES.format(it="it", key="hydra.run.dir"), 2)


def refuse_sweep_reuse(cfg: DictConfig, folder: Path) -> None:
    runs = folders_holding_runs(folder) if folder.is_dir() else []
    if runs and not _reuse_allowed(cfg):
        names = ", ".join(str(p.relative_to(folder)) for p in runs[:3]) + (", ..." if len(runs) > 3 else "")
        raise RunFault(
            f"{folder} already holds the runs of a sweep ({len(runs)}: {names}): "
            + CHOICES.format(it="them", key="hydra.sweep.dir"),
            2,
        )


# What a run writes in its folder: a link among them (in a folder someone shared) would send the
# write elsewhere, e.g. checkpoints -> ~/.ssh.
WRITTEN = (*RUN_OUTPUTS, CHECKPOINTS, HYDRA, TRAIN_LOG, run_lock.LOCK_FILE, run_lock.OWNER_FILE)


def refuse_links(folder: Path) -> None:
    run = RunFolder(folder)
    entries = [folder / name for name in WRITTEN] + sorted(run.checkpoints.glob("*")) + sorted(run.hydra.glob("*"))
    for path in entries:
        if path.is_symlink():
            raise RunFault(
                f"{path} is a symbolic link: a run writes only plain files in its own folder; remove the link (or copy the folder without it)",
                2,
            )


def check(cfg: DictConfig, multirun: bool) -> None:
    """The command line's folder, before anything is launched: RunFault (exit 2) if refused."""
    if multirun:
        folder = sweep_dir(cfg)
        run_lock.refuse_if_busy(folder, "hydra.sweep.dir")
        refuse_sweep_reuse(cfg, folder)
    else:
        folder = run_dir(cfg)
        refuse_links(folder)
        run_lock.refuse_if_busy(folder, "hydra.run.dir")
        refuse_reuse(cfg, folder)


def start_over_if_asked(trainer, folder: Path) -> None:
    """trainer.overwrite=true: the old run's results, checkpoints and TensorBoard events go before
    the new run writes its own, so that no reader sees one run's curves beside another's results."""
    if not getattr(trainer, "overwrite", False) or trainer.resume == "auto" or not run_markers(folder):
        return
    folder, run = Path(folder), RunFolder(folder)
    events = run.events()
    old = [folder / name for name in RUN_OUTPUTS] + events + sorted(run.checkpoints.glob("*.pt"))
    for path in old:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    for named in {path.parent for path in events} - {folder}:  # the old run's TensorBoard name
        with contextlib.suppress(OSError):
            named.rmdir()  # only when empty
    with contextlib.suppress(OSError):
        run.checkpoints.rmdir()  # only when empty: anything else in it is not ours to delete
