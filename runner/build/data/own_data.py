"""The preflight's look at the user's own data (arrays, csv, image_folder): read and checked in
full now, so that a NaN, a label out of range, a text cell or an unreadable image is one
`runner:` line with exit code 2 before any run folder exists. An image folder is decoded into
the cache, which the run then reads; arrays and tables are read again by the run (as fast as a
cache: see runner/build/data/arrays.py and csv.py). Each file is checked once a process: a
sweep's points that share their data (and the files unchanged since) are not read again."""

import contextlib
import dataclasses
import logging

from runner.build.data.arrays import load_arrays
from runner.build.data.csv import load_csv
from runner.build.data.image_folder import prepare_image_folder
from runner.config.data.own_files import identity, user_path

CHECKERS = {"arrays": load_arrays, "csv": load_csv, "image_folder": prepare_image_folder}
_checked = set()  # (the data config, its files' identity) already checked in this process


def prepare_own(cfg) -> None:
    check = CHECKERS.get(cfg.name)
    if check is None:
        return
    if cfg.name == "image_folder":  # keyed on every image by the cache itself
        with quiet():
            check(cfg)
        return
    paths = [p for p in (cfg.path, getattr(cfg, "labels", None)) if p is not None]
    try:
        key = (repr(dataclasses.astuple(cfg)), tuple(identity(user_path(p)) for p in paths))
    except OSError:  # a missing file: the check names it
        key = None
    if key is None or key not in _checked:
        with quiet():
            check(cfg)
        _checked.add(key)


@contextlib.contextmanager
def quiet():
    """The loaders' log lines (split sizes) belong to the run's log: before the run, Hydra has not set
    up logging, and a handler left by an earlier run in this process may write to a closed stream."""
    logger = logging.getLogger("runner")
    was, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = was
