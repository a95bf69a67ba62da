"""data=mnist1d (Greydanus 2020, generated offline by the mnist1d package) and data=digits
(scikit-learn's bundled 8x8 digits), and the models adapting to a 1-D signal (C, L): the CNN
with 1-D convolutions, the RNNs with L steps of C values, the MLP/linear flattening it."""

import numpy as np
import pytest
import torch

from runner.build.data import load_dataset
from runner.build.data.mnist1d import position_permutation
from runner.config.data import DigitsConfig, Mnist1dConfig

FAST = ["trainer.epochs=1", "trainer.threads=1", "trainer.batch_size=100", "optimizer.lr=0.01"]
# MNIST-1D's ConvBase (notebooks/models.py): 40 -> 19 -> 10 -> 5 positions, 25 channels, then linear.
CONV_BASE = [
    "model=cnn",
    "model.conv=[{channels: 25, kernel: 5, stride: 2, padding: 1},"
    "{channels: 25, kernel: 3, stride: 2, padding: 1},{channels: 25, kernel: 3, stride: 2, padding: 1}]",
    "model.fc=[]",
]
GRU_BASE = ["model=gru", "model.hidden_size=6", "model.bidirectional=true", "model.readout=all_steps"]


def trained(cli, *args) -> dict:
    result = cli("train", *FAST, *args)
    assert result.code == 0, result.err
    return result.results()


@pytest.mark.parametrize(
    "args,params",
    [
        (["data=mnist1d", "model=mlp", "model.hidden_sizes=[32]"], 40 * 32 + 32 + 32 * 10 + 10),
        (["data=mnist1d", "model=softmax_regression"], 410),
        (["data=mnist1d", *CONV_BASE], 5210),  # the paper's CNN, to the parameter
        (["data=mnist1d", *GRU_BASE], 5134),  # the paper's GRU, to the parameter
        (["data=digits", "model=cnn", "model.conv=[{channels: 8, kernel: 3, padding: 1, pool: 2}]"], None),
    ],
    ids=["mnist1d-mlp", "mnist1d-linear", "mnist1d-cnn-1d", "mnist1d-gru", "digits-cnn"],
)
def test_each_member_and_model_trains_one_epoch_above_chance(cli, args, params):
    results = trained(cli, *args)
    assert results["test"]["accuracy"] > 0.2, results["test"]  # 10 classes: chance is 0.1
    if params is not None:
        assert results["params"] == params


def test_mnist1d_is_the_packages_default_dataset_with_a_validation_split_carved_from_training():
    from mnist1d.data import get_dataset_args, make_dataset

    data = load_dataset(Mnist1dConfig())
    assert data.input_shape == (1, 40) and data.num_classes == 10
    assert (len(data.train), len(data.val), len(data.test)) == (3500, 500, 1000)
    reference = make_dataset(get_dataset_args())
    train = torch.cat([data.train.x, data.val.x]).view(-1, 40)
    assert torch.allclose(train, torch.from_numpy(reference["x"]).float())
    assert torch.equal(torch.cat([data.train.y, data.val.y]), torch.from_numpy(reference["y"]).long())
    assert torch.allclose(data.test.x.view(-1, 40), torch.from_numpy(reference["x_test"]).float())
    everything = load_dataset(Mnist1dConfig(train_on_validation=True))
    assert len(everything.train) == 4000 and torch.equal(everything.val.x, everything.test.x)


def test_mnist1d_is_generated_once_then_read_from_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path))
    first = load_dataset(Mnist1dConfig(num_samples=200, val_size=20))
    assert list(tmp_path.glob("mnist1d-*-n200-seed42.pt"))
    import mnist1d.data

    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda *a, **k: pytest.fail("generated again"))
    again = load_dataset(Mnist1dConfig(num_samples=200, val_size=20))
    assert torch.equal(again.train.x, first.train.x) and torch.equal(again.test.y, first.test.y)


def test_generating_mnist1d_leaves_numpys_global_generator_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path))
    np.random.seed(7)
    expected = np.random.RandomState(7).rand()
    load_dataset(Mnist1dConfig(num_samples=100, val_size=10))
    assert np.random.rand() == expected


def test_shuffled_variant_is_one_fixed_permutation_of_the_positions():
    plain = load_dataset(Mnist1dConfig())
    first, second = (
        load_dataset(Mnist1dConfig(shuffle_features=True)),
        load_dataset(Mnist1dConfig(shuffle_features=True)),
    )
    for name in ("train", "val", "test"):
        assert torch.equal(getattr(first, name).x, getattr(second, name).x)  # the same every time
        assert not torch.equal(getattr(first, name).x, getattr(plain, name).x)
        assert torch.equal(getattr(first, name).y, getattr(plain, name).y)
    order = position_permutation(42)
    assert sorted(order.tolist()) == list(range(40)) and order.tolist() != list(range(40))
    assert order.tolist() == np.random.RandomState(42).permutation(40).tolist()  # the paper's notebook's
    assert torch.equal(first.test.x, plain.test.x[..., order])  # every split, the same order
    other = load_dataset(Mnist1dConfig(shuffle_features=True, shuffle_seed=1))
    assert not torch.equal(other.train.x, first.train.x)


def test_digits_split_is_fixed_stratified_and_disjoint():
    data = load_dataset(DigitsConfig())
    assert data.input_shape == (1, 8, 8) and (len(data.train), len(data.val), len(data.test)) == (1257, 180, 360)
    pixels = data.train.x if data.train.x.is_floating_point() else data.train.inputs()
    assert 0 <= pixels.min() and pixels.max() <= 1
    assert torch.bincount(data.test.y, minlength=10).min() >= 35  # about 36 of each class
    again = load_dataset(DigitsConfig())
    assert torch.equal(again.test.x, data.test.x)
    rows = {
        tuple(x.flatten().tolist()) + (int(y),) for split in (data.train, data.val) for x, y in zip(split.x, split.y)
    }
    test_rows = [tuple(x.flatten().tolist()) + (int(y),) for x, y in zip(data.test.x, data.test.y)]
    assert sum(r in rows for r in test_rows) < 10  # a few digits of the UCI set are exact duplicates


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["model=cnn", "model.conv=[{channels: 4, kernel: 41}]"],
            "model.conv[0].kernel: the 41 kernel of conv layer 0 is larger than the 40 feature map it receives from inputs of shape (1, 40)",
        ),
        (
            ["model=cnn", "model.conv=[{channels: 4, kernel: 5, pool: 2}, {channels: 4, kernel: 5, pool: 16}]"],
            "model.conv[1].pool: the 16 pooling window of conv layer 1 is larger than the 14 map",
        ),
        (["model=conv_autoencoder"], "needs images shaped (channels, height, width), got inputs of shape (1, 40)"),
        (["data.val_size=4000"], "data.val_size: between 1 and 3999"),
        (["data.train_on_validation=true", "data.train_size=100"], "data.train_on_validation: cannot be combined"),
    ],
    ids=["kernel-41", "pool-too-large", "2d-autoencoder", "val_size", "train_size-and-train_on_validation"],
)
def test_what_cannot_fit_mnist1d_is_refused_before_compute_in_one_line(cli, args, message):
    result = cli("train", "data=mnist1d", *FAST, *args)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("runner: ") and message in lines[0], result.err
    assert not result.run_dirs()
