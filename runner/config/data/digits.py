"""Schema of `data=digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, pixels
0..16), split once, seeded and stratified; the loader is runner/build/data/digits.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.data.common import check_folds
from runner.errors import require

DIGITS_IMAGES = 1797  # sklearn.datasets.load_digits()


@dataclass
class DigitsConfig:
    name: str = "digits"
    val_size: int = 180  # images held out to validate (stratified by class)
    test_size: int = 360  # images held out to test (stratified by class), about 20%
    seed: int = 0  # the split's seed: the same split whatever the run's seed
    train_size: Optional[int] = None  # keep only the first n training images (the rest of the 1,797)
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    def __post_init__(self):
        for key in ("val_size", "test_size"):
            require(getattr(self, key) >= 10, key, f"at least 10 (one image per class), got {getattr(self, key)}")
        train = DIGITS_IMAGES - self.val_size - self.test_size
        require(
            train >= 10,
            "test_size",
            f"val_size + test_size leave {train} of the {DIGITS_IMAGES} images to train; keep at least 10",
        )
        require(
            self.train_size is None or 1 <= self.train_size <= train,
            "train_size",
            f"between 1 and {train} (the images left after val_size and test_size), got {self.train_size}",
        )
        check_folds(self.cv_folds, self.cv_fold)

    def shape(self):
        return (1, 8, 8), 10
