"""Schema of `data=mnist1d` (Greydanus 2020, "Scaling down deep learning"): 1-D signals of 40
positions, generated offline by the `mnist1d` package; the loader is runner/build/data/mnist1d.py."""

from dataclasses import dataclass
from typing import Optional

from runner.config.data.common import check_folds
from runner.errors import require

SEQUENCE_LENGTH = 40  # the package's final_seq_length (get_dataset_args())
TRAIN_FRACTION = 0.8  # the package's train_split: 4,000 train / 1,000 test of the default 5,000


@dataclass
class Mnist1dConfig:
    name: str = "mnist1d"
    num_samples: int = 5000  # the package's default (get_dataset_args()); 80% train, 20% test
    seed: int = 42  # the package's default seed: the data the paper used (its frozen mnist1d_data.pkl)
    val_size: int = 500  # the last n training examples validate (the package shuffled them once, seeded)
    train_size: Optional[int] = None  # keep only the first n of the remaining training examples
    train_on_validation: bool = False  # the paper's setting: train on all 4,000, validate on the test set
    shuffle_features: bool = False  # the paper's "shuffled" variant: one fixed permutation of the 40 positions
    shuffle_seed: int = 42  # that permutation: numpy's RandomState(shuffle_seed).permutation(40), as the notebook's
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    def __post_init__(self):
        require(
            self.num_samples >= 50, "num_samples", f"at least 50 (10 classes, train and test), got {self.num_samples}"
        )
        train = self.train_examples()
        if self.train_on_validation:
            require(not self.train_size, "train_on_validation", "cannot be combined with train_size")
        else:
            require(
                1 <= self.val_size < train,
                "val_size",
                f"between 1 and {train - 1} (the {train} training examples of num_samples={self.num_samples}), got {self.val_size}",
            )
            require(
                self.train_size is None or 1 <= self.train_size <= train - self.val_size,
                "train_size",
                f"between 1 and {train - self.val_size} (training examples left after val_size), got {self.train_size}",
            )
        check_folds(self.cv_folds, self.cv_fold)

    def train_examples(self) -> int:
        """How many of num_samples the package puts in its training part (before validation is carved)."""
        return int(self.num_samples // 10 * 10 * TRAIN_FRACTION)

    def shape(self):
        """(input shape, number of classes), known without generating anything: one channel of 40 positions."""
        return (1, SEQUENCE_LENGTH), 10
