"""`data=digits`: scikit-learn's bundled 8x8 handwritten digits (UCI; 1,797 images, pixels 0..16),
offline. One fixed split, seeded and stratified by class (train_test_split twice: test, then
validation out of the rest), whatever the run's seed; pixels = value / 16 (held as bytes)."""

import numpy as np
import torch

from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split, byte_images
from runner.config.data.digits import DigitsConfig


@DATASETS.register("digits")
def load_digits(cfg: DigitsConfig) -> Dataset:
    from sklearn.datasets import load_digits as bundled_digits
    from sklearn.model_selection import train_test_split

    images, labels = bundled_digits(return_X_y=True)
    index = np.arange(len(labels))
    rest, test = train_test_split(index, test_size=cfg.test_size, stratify=labels, random_state=cfg.seed)
    train, val = train_test_split(rest, test_size=cfg.val_size, stratify=labels[rest], random_state=cfg.seed)
    if cfg.train_size:
        train = train[: cfg.train_size]

    def split(rows: np.ndarray) -> Split:
        x = torch.from_numpy(images[rows].astype(np.uint8)).view(-1, 1, 8, 8)  # pixels 0..16, held as bytes
        return byte_images(x, torch.from_numpy(labels[rows]).long(), scale=16.0)

    return Dataset(split(train), split(val), split(test), num_classes=10)
