"""What the members read from a dataset's official files share (fashion_mnist, kmnist, cifar10):
the folder holding the files, whether torchvision may download them there, and how the training
images split (the last `val_size` validate). The loaders are runner/build/data/<member>.py."""

from dataclasses import dataclass
from typing import ClassVar, Optional

from runner.config.data.common import check_folds
from runner.errors import require


@dataclass
class OfficialFilesConfig:
    name: str = ""
    root: Optional[str] = None  # the folder holding the files; default $RUNNER_CACHE_DIR or ~/.cache/runner
    download: bool = False  # fetch the official files into root with torchvision when they are not there (internet)
    val_size: int = 10000  # the last val_size training images validate
    train_size: Optional[int] = None  # keep only the first n of the remaining training images
    cv_folds: int = 0  # k-fold cross-validation (runner/build/cross_validation.py): 0 = off, else k >= 2
    cv_fold: int = 0  # which fold of the training split validates, 0..k-1

    TRAIN_IMAGES: ClassVar[int] = 60000  # in the official training files: the bound of val_size and train_size

    def __post_init__(self):
        most = self.TRAIN_IMAGES - 1
        require(1 <= self.val_size <= most, "val_size", f"between 1 and {most}, got {self.val_size}")
        left = self.TRAIN_IMAGES - self.val_size
        require(
            self.train_size is None or 1 <= self.train_size <= left,
            "train_size",
            f"between 1 and {left} (the training images that val_size={self.val_size} leaves), got {self.train_size}",
        )
        check_folds(self.cv_folds, self.cv_fold)
