"""The data group's loaders, one module per member (`data=<name>` -> runner/build/data/<name>.py),
each registered in DATASETS under its schema's name (runner/config/data/). `load_dataset` is
the one entry point: the member's loader, then cross-validation's fold when asked."""

from runner.build.cross_validation import cross_validation_fold
from runner.build.data import cifar10, digits, fashion_mnist, kmnist, mnist, mnist1d, synthetic  # noqa: F401 (each registers its loader)
from runner.build.data.official import prepare_data as prepare_official
from runner.build.data.own_data import prepare_own  # and the loaders of arrays, csv, image_folder
from runner.build.data.registry import DATASETS
from runner.build.data.splits import Dataset, Split, batches, cache_dir
from runner.build.data.text import prepare_text  # and the loader of data=text
from runner.build.data.text_classification import prepare_text_classification  # and its loader


def load_dataset(cfg) -> Dataset:
    dataset = DATASETS.get(cfg.name, "data")(cfg)
    if getattr(cfg, "cv_folds", 0):  # k-fold cross-validation: one fold of the training split validates
        dataset = cross_validation_fold(dataset, cfg.cv_folds, cfg.cv_fold)
    return dataset


def prepare_data(cfg) -> None:
    """For the preflight: data read from files are found, checked and decoded (or cached) now, so
    that a missing or bad file is refused before any run folder exists; other members need nothing."""
    prepare_official(cfg)
    prepare_own(cfg)
    prepare_text(cfg)
    prepare_text_classification(cfg)


__all__ = ["DATASETS", "Dataset", "Split", "batches", "cache_dir", "load_dataset", "prepare_data"]
