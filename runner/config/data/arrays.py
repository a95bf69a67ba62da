"""Schema of `data=arrays`: the user's own arrays, an .npz holding `x` and `y` (and, optionally,
the given splits `x_val`/`y_val`, `x_test`/`y_test`) or a pair of .npy files (data.path the
inputs, data.labels the labels). Inputs of any shape (N, ...), used as they are (as float32);
labels integers 0..C-1. The loader is runner/build/data/arrays.py.

The config check reads the arrays' headers (shape, dtype) and the labels alone: an .npz's
members load one by one, so the inputs are not read to count the classes."""

import functools
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from runner.config.data.own_files import (
    KEY,
    Header,
    OwnSplitConfig,
    identity,
    npy_header,
    npz_headers,
    regular_file,
)
from runner.errors import ConfigError

GIVEN_SPLITS = {"train": ("x", "y"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}


@dataclass
class ArraysConfig(OwnSplitConfig):
    name: str = "arrays"
    labels: Optional[str] = None  # with a .npy in data.path: the .npy of its labels; with an .npz: null

    WHAT = "give data.path=<file.npz> (arrays x, y) or data.path=<x.npy> data.labels=<y.npy>"

    def shape(self):
        """(input shape, number of classes) from the headers and the labels."""
        files = self.files()
        headers = array_headers(files)
        for split, (x_key, y_key) in GIVEN_SPLITS.items():
            if (x_key in headers) != (y_key in headers):
                have, lack = (x_key, y_key) if x_key in headers else (y_key, x_key)
                raise ConfigError(KEY, f"{files[0]}: holds '{have}' but not '{lack}'; give both, or neither")
        shapes = {split: _checked_pair(headers, x, y, files) for split, (x, y) in GIVEN_SPLITS.items() if x in headers}
        inputs = shapes["train"]
        for split, shape in shapes.items():
            if shape != inputs:
                raise ConfigError(
                    KEY,
                    f"{files[0]}: '{GIVEN_SPLITS[split][0]}' holds inputs of shape {shape}, 'x' of shape {inputs}; make them agree",
                )
        largest = {y: largest_label(files, y) for split, (_, y) in GIVEN_SPLITS.items() if split in shapes}
        top = max(largest, key=largest.get)  # the labels that name the most classes, named if they are too many
        return inputs, self.classes_of(largest[top], f"{files[-1]}: '{top}'")

    def files(self):
        """(the .npz,) or (the inputs' .npy, the labels' .npy), each a regular file."""
        path = regular_file(self.path)
        if path.suffix == ".npy":
            if self.labels is None:
                raise ConfigError(
                    "data.labels", f"not set: data.path is an .npy of inputs ({path}); name its labels' .npy"
                )
            return path, regular_file(self.labels, "data.labels")
        if self.labels is not None:
            raise ConfigError(
                "data.labels",
                f"only with an .npy in data.path; {path} holds its own labels ('y'): set data.labels=null",
            )
        return (path,)


def array_headers(files) -> Dict[str, Header]:
    """{x, y, ...: (shape, dtype)}: an .npz's members, or the pair of .npy files as x and y."""
    if len(files) == 2:
        return {"x": npy_header(files[0]), "y": npy_header(files[1])}
    headers = npz_headers(files[0])
    missing = [key for key in ("x", "y") if key not in headers]
    if missing:
        held = ", ".join(sorted(headers)) or "no arrays"
        raise ConfigError(
            KEY,
            f"{files[0]}: has no array {' or '.join(repr(k) for k in missing)} (it holds: {held});"
            " save inputs as x and labels as y: numpy.savez(file, x=..., y=...)",
        )
    return headers


def _checked_pair(headers, x_key: str, y_key: str, files) -> Tuple[int, ...]:
    (x_shape, x_dtype), (y_shape, y_dtype) = headers[x_key], headers[y_key]
    x_file, y_file = (files[0], files[-1])
    if len(x_shape) < 2 or x_dtype.kind not in "buif":
        raise ConfigError(
            KEY,
            f"{x_file}: '{x_key}' is {x_dtype} of shape {x_shape}; inputs are numbers of shape (N, ...), one row an example",
        )
    if len(y_shape) != 1 or y_dtype.kind not in "iu":
        raise ConfigError(
            KEY if len(files) == 1 else "data.labels",
            f"{y_file}: '{y_key}' is {y_dtype} of shape {y_shape}; labels are integers 0..C-1 of shape (N,) (e.g. y.astype('int64'))",
        )
    if x_shape[0] != y_shape[0]:
        raise ConfigError(
            KEY,
            f"{x_file}: '{x_key}' holds {x_shape[0]} examples but '{y_key}' {y_shape[0]} labels; give one label per example",
        )
    return tuple(int(s) for s in x_shape[1:])


def read_labels(files, y_key: str) -> np.ndarray:
    """The labels array alone (np.load never unpickles here)."""
    if len(files) == 2:
        return np.load(files[1], allow_pickle=False)
    with np.load(files[0], allow_pickle=False) as archive:
        return archive[y_key]


def largest_label(files, y_key: str) -> int:
    return _largest_label(tuple(identity(f) for f in files), y_key)


@functools.lru_cache(maxsize=32)
def _largest_label(key, y_key: str) -> int:
    files = [k[0] for k in key]
    y = read_labels(files, y_key)
    where = f"{files[-1]}: '{y_key}'"
    if y.size == 0:
        raise ConfigError(KEY, f"{where} is empty: give at least one example")
    if int(y.min()) < 0:
        bad = int(np.flatnonzero(y < 0)[0])
        raise ConfigError(KEY, f"{where}: label {int(y[bad])} at index {bad} is negative; labels are 0..C-1")
    return int(y.max())
