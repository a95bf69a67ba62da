"""`data=kmnist` (KMNIST): the official IDX files in data.root (runner/build/data/idx_images.py),
or torchvision's download there with data.download=true; the last val_size (10,000) of the 60,000
training images validate, the 10,000 test images test; pixels = byte/255."""

from runner.build.data.idx_images import locate_idx
from runner.build.data.official import LOCATORS, load_official
from runner.build.data.registry import DATASETS
from runner.config.data import KmnistConfig


@LOCATORS.register("kmnist")
def locate_kmnist(cfg: KmnistConfig):
    return locate_idx(cfg, "KMNIST", torchvision_class="KMNIST")


@DATASETS.register("kmnist")
def load_kmnist(cfg: KmnistConfig):
    return load_official(cfg)
