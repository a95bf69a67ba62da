"""Schema of `data=cifar10` (50,000 training and 10,000 test images, 32x32 colour, 10 classes;
the last 5,000 training images validate); the loader is runner/build/data/cifar10.py."""

from dataclasses import dataclass
from typing import ClassVar

from runner.config.data.official_files import OfficialFilesConfig


@dataclass
class Cifar10Config(OfficialFilesConfig):
    name: str = "cifar10"
    val_size: int = 5000  # the last val_size training images validate

    TRAIN_IMAGES: ClassVar[int] = 50000

    def shape(self):
        """(input shape, number of classes), known without loading anything."""
        return (3, 32, 32), 10
