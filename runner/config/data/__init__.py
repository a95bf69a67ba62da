"""Schemas of the data group, one module per member (`data=<name>`): each knows its input shape
and number of classes without loading anything (`shape()`), so the config check can fit the model
to the data before compute. The loaders are in runner/build/data/, one module per member too."""

from runner.config.data.arrays import ArraysConfig
from runner.config.data.cifar10 import Cifar10Config
from runner.config.data.common import check_folds
from runner.config.data.csv import CsvConfig
from runner.config.data.digits import DigitsConfig
from runner.config.data.fashion_mnist import FashionMnistConfig
from runner.config.data.image_folder import ImageFolderConfig
from runner.config.data.kmnist import KmnistConfig
from runner.config.data.mnist import MnistConfig
from runner.config.data.mnist1d import Mnist1dConfig
from runner.config.data.synthetic import SyntheticConfig
from runner.config.data.text import TextConfig
from runner.config.data.text_classification import TextClassificationConfig
from runner.config.members import Members

DATA_MEMBERS = Members(
    "dataset",
    {
        "mnist": MnistConfig,
        "synthetic": SyntheticConfig,
        "fashion_mnist": FashionMnistConfig,
        "kmnist": KmnistConfig,
        "cifar10": Cifar10Config,
        "mnist1d": Mnist1dConfig,
        "digits": DigitsConfig,
        "arrays": ArraysConfig,
        "csv": CsvConfig,
        "image_folder": ImageFolderConfig,
        "text": TextConfig,
        "text_classification": TextClassificationConfig,
    },
)

__all__ = [
    "ArraysConfig",
    "CsvConfig",
    "ImageFolderConfig",
    "Cifar10Config",
    "FashionMnistConfig",
    "KmnistConfig",
    "DATA_MEMBERS",
    "DigitsConfig",
    "Mnist1dConfig",
    "MnistConfig",
    "SyntheticConfig",
    "TextClassificationConfig",
    "TextConfig",
    "check_folds",
]
