"""`data=arrays`: the user's .npz (x, y, optionally x_val/y_val and x_test/y_test) or pair of .npy
files, read with allow_pickle=False always (a pickle inside an .npz would run code when loaded).
Given splits are used as given; each missing one is carved out of the training data
(runner/build/data/own_split.py). Inputs as float32, as they are (no scaling); every value finite.

Loading is read-and-check, no cache: np.load reads an .npz at about disk speed, as fast as a
cache would (2-core VM, 2026-12-07: 50,000 x 784 float32, 157 MB: np.load 0.23 s, this loader
with its checks and split 0.32 s). The preflight reads it once more (runner/build/data/own_data.py)."""

import zipfile

import numpy as np
import torch

from runner.build.data.own_split import carve, check_labels, log_sizes, shuffled
from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split
from runner.config.data.arrays import GIVEN_SPLITS, ArraysConfig
from runner.config.data.own_files import KEY
from runner.errors import ConfigError


def read_arrays(files) -> dict:
    """{name: array} of the given splits' arrays (the pair of .npy files as x and y)."""
    try:
        if len(files) == 2:
            return {"x": np.load(files[0], allow_pickle=False), "y": np.load(files[1], allow_pickle=False)}
        with np.load(files[0], allow_pickle=False) as archive:
            return {key: archive[key] for pair in GIVEN_SPLITS.values() for key in pair if key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ConfigError(
            KEY, f"{files[0]}: cannot be read ({str(err).strip()[:160]}); save it with numpy.savez"
        ) from None


def check_finite(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        example = int(np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0])
        raise ConfigError(
            KEY, f"{where}: example {example} holds NaN or infinity; remove or fill it (e.g. numpy.nan_to_num)"
        )


def splits_of(pairs: dict, num_classes: int, cfg, where: str) -> dict:
    """{split: (x, y)} for train, val and test: the given ones checked, the missing ones carved out of train."""
    for split, (x, y) in pairs.items():
        check_finite(x, f"{where}: '{GIVEN_SPLITS[split][0]}'")
        check_labels(y, num_classes, f"{where}: '{GIVEN_SPLITS[split][1]}'")
    x, y = pairs["train"]
    missing = {s: getattr(cfg, f"{s}_fraction") for s in ("val", "test") if s not in pairs}
    rows = carve(y, missing, cfg.split_seed, where) if missing else {"train": shuffled(len(y), cfg.split_seed)}
    splits = {**pairs, **{split: (x[r], y[r]) for split, r in rows.items()}}
    log_sizes(where, {name: len(y) for name, (_, y) in splits.items()}, list(missing))
    return splits


def as_split(x: np.ndarray, y: np.ndarray) -> Split:
    return Split(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64)))


@DATASETS.register("arrays")
def load_arrays(cfg: ArraysConfig) -> Dataset:
    files = cfg.files()
    _, num_classes = cfg.shape()  # the headers' checks (lengths, dtypes, no objects), again: the files may have changed
    arrays = read_arrays(files)
    pairs = {split: (arrays[x], arrays[y]) for split, (x, y) in GIVEN_SPLITS.items() if x in arrays}
    splits = splits_of(pairs, num_classes, cfg, str(files[0]))
    return Dataset(*(as_split(*splits[s]) for s in ("train", "val", "test")), num_classes=num_classes)
