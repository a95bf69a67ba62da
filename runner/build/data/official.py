"""What the members read from a dataset's official files share (fashion_mnist, kmnist, cifar10):
the files located in data.root (or downloaded there first with torchvision), decoded once into
the cache (runner/build/data/cache.py) under a key made of the member, val_size and the files'
identity (path, size, modification time: new files are never answered from a stale cache), and
the training images split: the last val_size validate, the first train_size of the rest train.

The preflight calls prepare_data, so that a missing or damaged file is one `runner:` line with
exit code 2 before any run folder exists; the run itself then reads the cache."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from runner.build.data.cache import cached_splits
from runner.build.data.source_files import KEY, check_folder, data_root, identity
from runner.build.data.splits import Dataset, byte_images, cache_dir
from runner.errors import ConfigError
from runner.registry import Registry

NUM_CLASSES = 10


@dataclass
class Located:
    """A member's files, found: what keys the cache, and how to decode them."""

    title: str  # the dataset's name in messages ("Fashion-MNIST")
    files: List[Path]
    image_shape: Tuple[int, ...]
    decode: Callable[[], Dict[str, Tuple[torch.Tensor, torch.Tensor]]]  # {"train", "test"}: (uint8 x, int64 y)


LOCATORS = Registry("dataset read from files")  # member -> locate(cfg) -> Located


def locate(cfg, title: str, find: Callable[[Path], Optional[Located]], download: Callable[[Path], None], expected):
    """The files of `cfg`'s member in data.root, downloaded first when absent and data.download is set;
    else a ConfigError naming the folder, what it should hold and what it lacks (`expected(root)`: both
    as text) and data.download."""
    root = data_root(cfg.root)
    if root.exists():
        check_folder(root)  # a file or a FIFO named as the folder: refused, not handed to the downloader
        located = find(root)
        if located:
            return located
    if cfg.download:
        _download(download, root, title)
        located = find(root)
        if located:
            return located
        raise ConfigError(KEY, f"torchvision's download of {title} left no readable files in {root}")
    description, lacks = expected(root)
    where = lacks or (f"{root} holds none of them" if root.exists() else f"{root} does not exist")
    raise ConfigError(
        KEY,
        f"{title}'s files not found: expected {description}, and {where}; put them there, set data.root to"
        " their folder, or set data.download=true (needs internet)",
    )


def _download(download: Callable[[Path], None], root: Path, title: str) -> None:
    try:
        download(root)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; torchvision raises RuntimeError after mirrors fail
        text = str(err).strip().splitlines()
        raise ConfigError(
            "data.download",
            f"could not download {title} into {root} ({text[0][:160] if text else type(err).__name__}); without"
            " internet, put the official files in data.root",
        ) from None


def check_labels(y: np.ndarray, where: str) -> None:
    if y.size and (int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES):
        bad = int(np.flatnonzero((y < 0) | (y >= NUM_CLASSES))[0])
        raise ConfigError(KEY, f"{where}: label {int(y[bad])} at index {bad} is outside 0..{NUM_CLASSES - 1}")


def _cache_file(cfg, located: Located) -> Path:
    return cache_dir() / f"{cfg.name}-val{cfg.val_size}-{identity(located.files)}.pt"


def _held_out(cfg, located: Located) -> dict:
    decoded = located.decode()
    x, y = decoded["train"]
    n = len(y)
    if cfg.val_size >= n:
        raise ConfigError(
            "data.val_size",
            f"{cfg.val_size} leaves no training images: {located.title}'s training files in {located.files[0].parent}"
            f" hold {n}; use a val_size below {n}",
        )
    cut = n - cfg.val_size
    return {"train": (x[:cut], y[:cut]), "val": (x[cut:], y[cut:]), "test": decoded["test"]}


def decoded_splits(cfg) -> dict:
    """{split: (uint8 images, int64 labels)}, decoded from the member's files or read from the cache."""
    located = LOCATORS.get(cfg.name, "data")(cfg)
    return cached_splits(_cache_file(cfg, located), located.image_shape, lambda: _held_out(cfg, located), located.title)


def prepare_data(cfg) -> None:
    """For the preflight: a member read from files is located and decoded into the cache unless its cache
    is there (ConfigError on any problem, before a run folder exists); with train_size, the cache is read
    to check it against the images there are. Other members need nothing."""
    if cfg.name not in LOCATORS.names():
        return
    located = LOCATORS.get(cfg.name, "data")(cfg)
    if cfg.train_size or not _cache_file(cfg, located).is_file():
        _cut(cfg, decoded_splits(cfg)["train"][1])  # how many images train is known once the files are read


def _cut(cfg, train: torch.Tensor) -> slice:
    """The training images kept: the first train_size of those val_size leaves (all without train_size)."""
    if cfg.train_size and cfg.train_size > len(train):
        raise ConfigError(
            "data.train_size",
            f"at most {len(train)} (the training images that val_size={cfg.val_size} leaves), got {cfg.train_size}",
        )
    return slice(0, cfg.train_size or len(train))


def load_official(cfg) -> Dataset:
    splits = {name: byte_images(x, y, scale=255) for name, (x, y) in decoded_splits(cfg).items()}
    train, keep = splits["train"], _cut(cfg, splits["train"].y)
    train = dataclasses.replace(train, x=train.x[keep], y=train.y[keep])
    return Dataset(train, splits["val"], splits["test"], num_classes=NUM_CLASSES)
