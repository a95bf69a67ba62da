"""`data=cifar10`: the official python-version files in data.root, extracted (data.root/cifar-10-batches-py/,
or the batches flat in data.root) or the archive itself (cifar-10-python.tar.gz, read in memory, never
extracted), or torchvision's download there with data.download=true. The five training batches in order
(50,000 images), the last val_size (5,000) validate; test_batch tests; pixels = byte/255.

The batches are pickles, and a file a config names is untrusted: they are read with the data-only
unpickler (runner/build/data/safe_pickle.py), which refuses any pickle that calls code."""

import io
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
import torch

from runner.build.data.official import LOCATORS, Located, check_labels, load_official, locate
from runner.build.data.registry import DATASETS
from runner.build.data.safe_pickle import load_data_pickle
from runner.build.data.source_files import KEY, find_in, first_present, lacking, read_file, tar_members
from runner.config.data import Cifar10Config
from runner.errors import ConfigError

TITLE = "CIFAR-10"
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32  # a row of a batch's data: 1024 red, then 1024 green, then 1024 blue bytes


@LOCATORS.register("cifar10")
def locate_cifar10(cfg: Cifar10Config) -> Located:
    return locate(cfg, TITLE, _find, _download, _expected)


@DATASETS.register("cifar10")
def load_cifar10(cfg: Cifar10Config):
    return load_official(cfg)


BATCHES = {name: (name,) for name in [*TRAIN_BATCHES, TEST_BATCH]}


def _expected(root: Path):
    described = f"{ARCHIVE} in {root}, or data_batch_1..data_batch_5 and {TEST_BATCH} in {root / FOLDER} (or in {root})"
    return described, lacking([root / FOLDER, root], BATCHES)


def _find(root: Path) -> Optional[Located]:
    names = list(BATCHES)
    found = find_in([root / FOLDER, root], BATCHES)
    if found:  # the extracted files: quicker to read than the archive
        read = lambda: {name: (read_file(path), str(path)) for name, path in found.items()}  # noqa: E731
        return Located(TITLE, list(found.values()), IMAGE_SHAPE, partial(_decode, read))
    archive = first_present(root, [ARCHIVE])
    if archive is None:
        return None

    def read_archive():
        members = tar_members(archive, {name: f"{FOLDER}/{name}" for name in names})
        return {name: (raw, f"{archive}: member {FOLDER}/{name}") for name, raw in members.items()}

    return Located(TITLE, [archive], IMAGE_SHAPE, partial(_decode, read_archive))


def _download(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(root), train=True, download=True)  # the archive (md5-checked), extracted to root/cifar-10-batches-py


def _decode(read: Callable[[], Dict[str, tuple]]) -> dict:
    raw = read()
    train = [_batch(*raw[name]) for name in TRAIN_BATCHES]
    return {
        "train": (torch.cat([x for x, _ in train]), torch.cat([y for _, y in train])),
        "test": _batch(*raw[TEST_BATCH]),
    }


def _batch(raw: bytes, where: str):
    """(uint8 images (N, 3, 32, 32), int64 labels) of one pickled batch: a dict with 'data', a uint8
    N x 3072 array, and 'labels', N integers (keys as str or, from Python 3 pickles, bytes)."""
    entry = load_data_pickle(io.BytesIO(raw), where)
    if not isinstance(entry, dict):
        raise ConfigError(KEY, f"{where}: holds a {type(entry).__name__}, not a CIFAR-10 batch (a dict)")
    data = entry.get("data", entry.get(b"data"))
    labels = entry.get("labels", entry.get(b"labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        shown = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ConfigError(KEY, f"{where}: its 'data' is {shown}, not a uint8 N x {PIXELS} array")
    y = np.asarray(labels) if isinstance(labels, (list, np.ndarray)) else None
    if y is None or y.dtype.kind not in "iu" or y.shape != (len(data),):
        shown = f"{y.dtype} {y.shape}" if y is not None else type(labels).__name__
        raise ConfigError(KEY, f"{where}: its 'labels' are {shown}, not {len(data)} integers (one an image)")
    check_labels(y, where)
    return torch.from_numpy(data.reshape(-1, *IMAGE_SHAPE).copy()), torch.from_numpy(y.astype(np.int64))
