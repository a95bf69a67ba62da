"""`data=synthetic`: tiny learnable images for tests and smoke runs."""

import torch

from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split
from runner.config.data import SyntheticConfig


@DATASETS.register("synthetic")
def load_synthetic(cfg: SyntheticConfig) -> Dataset:
    gen = torch.Generator().manual_seed(cfg.seed)
    shape = (1, cfg.image_size, cfg.image_size)
    prototypes = torch.rand((cfg.num_classes, *shape), generator=gen)

    def split(n: int) -> Split:
        y = torch.randint(cfg.num_classes, (n,), generator=gen)
        x = (prototypes[y] + cfg.noise * torch.randn((n, *shape), generator=gen)).clamp(0, 1)
        return Split(x, y)

    return Dataset(split(cfg.train_size), split(cfg.val_size), split(cfg.test_size), cfg.num_classes)
