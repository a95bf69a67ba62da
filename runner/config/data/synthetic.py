"""Schema of `data=synthetic` (tiny learnable images for tests); the loader is runner/build/data/synthetic.py."""

from dataclasses import dataclass

from runner.config.data.common import check_folds
from runner.errors import require


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
