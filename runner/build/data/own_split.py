"""How the user's own data (arrays, csv, image_folder) are split when they come without a
validation or test split: seeded (data.split_seed, the same split whatever the run's seed) and
stratified by class with scikit-learn's train_test_split, so that each split holds the classes
in the proportions of the whole. Stratifying needs two examples of every class and at least one
example per class in each part; where that cannot be, the split is a plain seeded shuffle (said
in the log). Fractions are of all the examples in the training data, rounded, at least one.
A given training split is shuffled once with the same seed (see `shuffled`)."""

import logging
from typing import Dict, Optional

import numpy as np

from runner.errors import ConfigError

log = logging.getLogger("runner")


def held_out_count(n: int, fraction: float) -> int:
    return max(1, round(n * fraction))


def carve(y: np.ndarray, fractions: Dict[str, float], seed: int, where: str) -> Dict[str, np.ndarray]:
    """{"train": rows, <split>: rows for each split in `fractions`} of the examples labelled `y`."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    counts = {split: held_out_count(n, f) for split, f in fractions.items()}
    if n - sum(counts.values()) < 1:
        raise ConfigError(
            "data.path",
            f"{where}: {n} examples are too few to hold out {', '.join(f'{c} to {s}' for s, c in counts.items())} and train on the rest",
        )
    rows, parts = np.arange(n), {}
    for split, count in counts.items():
        stratify = _stratify(y[rows], count)
        rows, parts[split] = train_test_split(rows, test_size=count, stratify=stratify, random_state=seed)
    return {"train": rows, **parts}  # in train_test_split's shuffled order: cross-validation's folds are contiguous


def shuffled(n: int, seed: int) -> np.ndarray:
    """A given training split's rows in a seeded order: a file sorted by class would otherwise give
    cross-validation (contiguous folds) a fold of one class."""
    return np.random.default_rng(seed).permutation(n)


def _stratify(y: np.ndarray, held_out: int) -> Optional[np.ndarray]:
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() >= 2 and len(classes) <= held_out <= len(y) - len(classes):
        return y
    log.info(
        f"split not stratified: {'a class has a single example' if counts.min() < 2 else f'{held_out} held out of {len(y)} cannot hold each of {len(classes)} classes'}"
    )
    return None


def check_labels(y: np.ndarray, num_classes: int, where: str) -> None:
    """Labels integers 0..num_classes-1, or ConfigError naming the first that is not."""
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        raise ConfigError(
            "data.path",
            f"{where}: label {y[bad[0]]} at index {bad[0]} is outside 0..{num_classes - 1}; labels are class numbers 0..C-1",
        )


def log_sizes(where: str, sizes: Dict[str, int], carved) -> None:
    """One line in the run's log: how many examples each split holds, and which were held out here."""
    how = f"; {' and '.join(carved)} held out of the training data (data.split_seed)" if carved else ""
    log.info(f"data {where}: {sizes['train']} train, {sizes['val']} val, {sizes['test']} test examples{how}")
