"""data=fashion_mnist, kmnist and cifar10 on tiny files in the official formats (tests/dataset_files.py):
trained through the real CLI, split as documented (the last val_size training images validate), read
from every layout a user or torchvision's download leaves, decoded once into a cache that new files
never hit, and a model that does not fit the data refused before anything is read."""

import csv

import numpy as np
import pytest
import torch
from dataset_files import cifar_batches, learnable, write_cifar_folder, write_cifar_tar, write_idx

from runner.build.data import load_dataset
from runner.config.data import Cifar10Config, FashionMnistConfig, KmnistConfig

QUICK = ["trainer.epochs=1", "trainer.batch_size=4", "trainer.threads=1", "optimizer=sgd", "optimizer.lr=0.1"]
SMALL_CNN = ["model=cnn", "model.conv=[{channels:4,kernel:5,pool:2}]", "model.fc=[16]"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """The decoded-dataset cache of each test in its own folder (never the user's)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(folder))
    return folder


def pixels(split) -> torch.Tensor:
    """A split's float inputs, as the model sees them (images held as bytes convert here: Split.inputs)."""
    return split.inputs()


def trained(result, train: int, test: int) -> dict:
    assert result.code == 0, result.err[-3000:]
    assert f"{train} training examples" in result.out + result.err
    with open(result.run_dir() / "test_predictions.csv") as f:
        assert len(list(csv.DictReader(f))) == test
    return result.results()


def test_fashion_mnist_trains_an_mlp_one_epoch(cli, tmp_path):
    write_idx(tmp_path / "fm", train=12, test=4)
    result = cli("train", "data=fashion_mnist", f"data.root={tmp_path / 'fm'}", "data.val_size=4", "model=mlp", *QUICK)
    results = trained(result, train=8, test=4)
    assert results["epochs_run"] == 1 and np.isfinite(results["val"]["loss"])


def test_kmnist_reads_torchvisions_layout_with_extracted_files(cli, tmp_path):
    write_idx(tmp_path / "data" / "KMNIST" / "raw", train=12, test=4, gz=False)  # where download=true puts them
    result = cli("train", "data=kmnist", f"data.root={tmp_path / 'data'}", "data.val_size=3", "model=mlp", *QUICK)
    trained(result, train=9, test=4)


@pytest.mark.parametrize("form", ["archive", "folder"])
def test_cifar10_trains_a_cnn_one_epoch_from_the_archive_or_the_folder(cli, tmp_path, form):
    (write_cifar_tar if form == "archive" else write_cifar_folder)(tmp_path / "c10")
    result = cli("train", "data=cifar10", f"data.root={tmp_path / 'c10'}", "data.val_size=5", *SMALL_CNN, *QUICK)
    trained(result, train=15, test=4)  # 5 batches of 4 images, the last 5 validate


def test_the_splits_are_the_files_images_in_order(tmp_path):
    paths = write_idx(tmp_path / "fm", train=12, test=4, seed=3)
    data = load_dataset(FashionMnistConfig(root=str(tmp_path / "fm"), val_size=4, train_size=5))
    (x, y), (_, test_y) = learnable(12, (28, 28), 3), learnable(4, (28, 28), 4)
    assert torch.equal(data.val.y, torch.from_numpy(y[8:]).long())  # the last val_size validate
    assert torch.equal(pixels(data.val), torch.from_numpy(x[8:]).float().unsqueeze(1) / 255)  # byte / 255
    assert torch.equal(data.train.y, torch.from_numpy(y[:5]).long())  # train_size: the first n of the rest
    assert torch.equal(data.test.y, torch.from_numpy(test_y).long()) and data.input_shape == (1, 28, 28)
    assert paths["train_x"].name == "train-images-idx3-ubyte.gz"


def test_torchvision_reads_the_same_images_from_the_layout_its_download_leaves(tmp_path):
    """data.download=true runs torchvision's downloader into data.root; offline, torchvision's own reader
    and this loader must then agree on where the files are and what they hold (no network here)."""
    from torchvision.datasets import FashionMNIST

    write_idx(tmp_path / "FashionMNIST" / "raw", train=12, test=4, gz=False, seed=9)
    ours = load_dataset(FashionMnistConfig(root=str(tmp_path), val_size=4))
    theirs = FashionMNIST(str(tmp_path), train=True, download=False)
    assert torch.equal(torch.cat([ours.train.y, ours.val.y]), theirs.targets)
    assert torch.equal(torch.cat([pixels(ours.train), pixels(ours.val)]), theirs.data.unsqueeze(1).float() / 255)


def test_cifar10s_archive_and_folder_give_the_same_splits(tmp_path):
    batches = cifar_batches(per_batch=4, seed=7)
    write_cifar_tar(tmp_path / "a", batches)
    write_cifar_folder(tmp_path / "b", batches)
    a, b = (load_dataset(Cifar10Config(root=str(tmp_path / n), val_size=6)) for n in "ab")
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(a, split).x, getattr(b, split).x) and torch.equal(
            getattr(a, split).y, getattr(b, split).y
        )
    assert (len(a.train), len(a.val), len(a.test)) == (14, 6, 4) and a.input_shape == (3, 32, 32)


def test_cifar10_reads_python2_pickles_as_published(tmp_path):
    write_cifar_folder(tmp_path / "py2", cifar_batches(seed=2, python2=True))
    write_cifar_folder(tmp_path / "py3", cifar_batches(seed=2))
    old, new = (load_dataset(Cifar10Config(root=str(tmp_path / n), val_size=4)) for n in ("py2", "py3"))
    assert torch.equal(pixels(old.train), pixels(new.train)) and torch.equal(old.test.y, new.test.y)


def test_new_files_are_never_read_from_a_stale_cache(tmp_path, cache):
    root = tmp_path / "fm"
    write_idx(root, seed=0)
    first = load_dataset(KmnistConfig(root=str(root), val_size=4))
    assert len(list(cache.glob("kmnist-*.pt"))) == 1
    write_idx(root, seed=5)  # other images, same names and sizes
    second = load_dataset(KmnistConfig(root=str(root), val_size=4))
    assert not torch.equal(pixels(first.train), pixels(second.train))
    assert torch.equal(second.train.y, torch.from_numpy(learnable(12, (28, 28), 5)[1][:8]).long())
    assert len(list(cache.glob("kmnist-*.pt"))) == 2


def test_a_model_that_does_not_fit_3x32x32_is_refused_before_any_file_is_read(cli, tmp_path, cache):
    result = cli(
        "train", "data=cifar10", f"data.root={tmp_path / 'nowhere'}", "model=cnn", "model.conv=[{channels:4,kernel:33}]"
    )
    assert result.code == 2 and "model.conv[0].kernel" in result.err and "32x32" in result.err, result.err
    assert not cache.exists() and not result.outputs.exists()  # the missing files were not even looked for


def test_a_val_size_the_files_cannot_hold_is_one_line(cli, tmp_path):
    write_idx(tmp_path / "fm", train=12, test=4)
    result = cli("train", "data=fashion_mnist", f"data.root={tmp_path / 'fm'}", "model=mlp", *QUICK)
    assert result.code == 2, result.err
    line = [line for line in result.err.splitlines() if line.startswith("runner")]
    assert len(line) == 1 and "data.val_size: 10000 leaves no training images" in line[0] and "hold 12" in line[0]


def test_a_train_size_beyond_the_files_is_refused_before_the_run_even_when_cached(cli, tmp_path):
    write_idx(tmp_path / "fm", train=12, test=4)
    common = ["train", "data=kmnist", f"data.root={tmp_path / 'fm'}", "data.val_size=4", "model=mlp", *QUICK]
    trained(cli(*common, "data.train_size=8"), train=8, test=4)  # all there are; the cache is written
    result = cli(*common, "data.train_size=9")
    line = [line for line in result.err.splitlines() if line.startswith("runner")]
    assert result.code == 2 and len(line) == 1 and "data.train_size: at most 8" in line[0], result.err
    assert len(list(result.outputs.rglob(".hydra"))) == 1  # the first run's folder only


def test_cross_validation_folds_the_training_split(cli, tmp_path):
    write_idx(tmp_path / "fm", train=12, test=4)
    result = cli(
        "train", "data=fashion_mnist", f"data.root={tmp_path / 'fm'}", "data.val_size=2",
        "data.cv_folds=5", "data.cv_fold=1", "model=mlp", *QUICK,
    )  # fmt: skip
    trained(result, train=8, test=4)  # 10 training images, one fifth (2) validates
