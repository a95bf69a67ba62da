"""`data=fashion_mnist` (Fashion-MNIST): the official IDX files in data.root (runner/build/data/idx_images.py),
or torchvision's download there with data.download=true; the last val_size (10,000) of the 60,000
training images validate, the 10,000 test images test; pixels = byte/255."""

from runner.build.data.idx_images import locate_idx
from runner.build.data.official import LOCATORS, load_official
from runner.build.data.registry import DATASETS
from runner.config.data import FashionMnistConfig


@LOCATORS.register("fashion_mnist")
def locate_fashion_mnist(cfg: FashionMnistConfig):
    return locate_idx(cfg, "Fashion-MNIST", torchvision_class="FashionMNIST")


@DATASETS.register("fashion_mnist")
def load_fashion_mnist(cfg: FashionMnistConfig):
    return load_official(cfg)
