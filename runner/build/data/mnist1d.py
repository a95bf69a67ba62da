"""`data=mnist1d`: MNIST-1D (Greydanus 2020), generated offline by the `mnist1d` package.

`mnist1d.data.make_dataset` with the package's documented defaults (get_dataset_args(): 5,000
signals of 40 positions, seed 42, 4,000 train / 1,000 test) gives, to 1e-15, the frozen
mnist1d_data.pkl of the paper. Generating takes a few seconds, so the signals are cached as float32
(runner/build/data/cache.py, keyed by the package version and the generation keys); the
validation split and the shuffled variant are cut from the cached signals at load time.

The shuffled variant is the paper's notebook's (mnist1d-classification.ipynb): one permutation of
the 40 positions, numpy's RandomState(42).permutation(40), applied to every split. The package's
own `shuffle_seq` draws a different permutation (from the generator's state after generating),
so it is not used.
"""

import importlib.metadata
from contextlib import contextmanager

import numpy as np
import torch

from runner.build.data.cache import cached_splits
from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split, cache_dir
from runner.config.data.mnist1d import SEQUENCE_LENGTH, Mnist1dConfig

SHAPE = (1, SEQUENCE_LENGTH)


@contextmanager
def _numpy_global_state_kept():
    """make_dataset seeds numpy's (and Python's) global generators: give them back as they were."""
    import random

    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _generate(cfg: Mnist1dConfig) -> dict:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed, args.shuffle_seq = cfg.num_samples, cfg.seed, False
    with _numpy_global_state_kept():
        data = make_dataset(args)
    signals = lambda x: torch.from_numpy(np.asarray(x, dtype=np.float32)).view(-1, *SHAPE)  # noqa: E731
    labels = lambda y: torch.from_numpy(np.asarray(y)).long()  # noqa: E731
    return {
        "train": (signals(data["x"]), labels(data["y"])),
        "val": (torch.zeros((0, *SHAPE)), torch.zeros(0, dtype=torch.long)),  # the package makes none: cut below
        "test": (signals(data["x_test"]), labels(data["y_test"])),
    }


def _signals(cfg: Mnist1dConfig) -> dict:
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError("package 'mnist1d' is not installed (pip install mnist1d)") from None
    cache = cache_dir() / f"mnist1d-{version}-n{cfg.num_samples}-seed{cfg.seed}.pt"
    return cached_splits(cache, SHAPE, lambda: _generate(cfg), "MNIST-1D", dtype=torch.float32)


def position_permutation(seed: int) -> torch.Tensor:
    """The shuffled variant's fixed order of the 40 positions (the paper's notebook's for seed 42)."""
    return torch.from_numpy(np.random.RandomState(seed).permutation(SEQUENCE_LENGTH))


@DATASETS.register("mnist1d")
def load_mnist1d(cfg: Mnist1dConfig) -> Dataset:
    splits = _signals(cfg)
    (x, y), test = splits["train"], Split(*splits["test"])
    if cfg.train_on_validation:
        train, val = Split(x, y), test
    else:
        keep = len(y) - cfg.val_size
        train, val = Split(x[:keep], y[:keep]), Split(x[keep:], y[keep:])
        if cfg.train_size:
            train = Split(train.x[: cfg.train_size], train.y[: cfg.train_size])
    if cfg.shuffle_features:
        order = position_permutation(cfg.shuffle_seed)
        train, val, test = (Split(s.x[..., order], s.y) for s in (train, val, test))
    return Dataset(train, val, test, num_classes=10)
