"""Images held as bytes and converted batch by batch (runner/build/data/splits.py) give the numbers
float32 storage gives; the colour-image augmentation (regularization=augment_crop_flip: shift/crop
and flip, each image its own draw) changes training batches only, and is refused before any
compute on inputs that are not images."""

import json

import pytest
import torch
from dataset_files import write_cifar_folder
from torchvision.transforms.v2 import functional as TF

import runner.build.data.splits as splits
from runner.build.data.splits import Dataset, Split, byte_images
from runner.build.regularization import check_augmentation, random_affine, random_flip
from runner.config.regularization import RegularizationConfig
from runner.errors import ConfigError

QUICK = ["trainer.epochs=1", "trainer.batch_size=4", "trainer.threads=1", "early_stopping=none"]
SMALL_CNN = ["model=cnn", "model.conv=[{channels:4,kernel:5,pool:2}]", "model.fc=[16]"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))


def colour_bytes(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


# ---------------------------------------------------------------- storage


def test_colour_images_are_held_as_bytes_and_each_batch_is_byte_over_scale():
    x = colour_bytes()
    split = byte_images(x, torch.arange(6), 255)
    assert split.x.dtype == torch.uint8 and split.x.data_ptr() == x.data_ptr()  # no float copy held
    idx = torch.tensor([4, 0, 2])
    assert torch.equal(split.inputs(idx), x[idx].float() / 255) and split.inputs(idx).dtype == torch.float32
    assert torch.equal(split.inputs(slice(1, 3)), x[1:3].float() / 255)
    part = split.take(slice(0, 2))
    assert part.x.dtype == torch.uint8 and torch.equal(part.inputs(), x[:2].float() / 255)
    # fp64 runs: the data keep their bytes on the device, batches come out in float64
    on_fp64 = Dataset(split, split, split, 10).to("cpu", torch.float64)
    assert on_fp64.train.x.dtype == torch.uint8
    assert torch.equal(on_fp64.train.inputs(idx), x[idx].double() / 255)


def test_small_images_stay_float_and_bytes_need_a_scale():
    mnist_like = byte_images(torch.full((2, 1, 28, 28), 128, dtype=torch.uint8), torch.zeros(2), 256)
    assert mnist_like.x.dtype == torch.float32 and mnist_like.scale is None and mnist_like.x.max() == 0.5
    with pytest.raises(TypeError, match="needs a scale"):
        Split(colour_bytes(), torch.arange(6))


def results_numbers(result) -> dict:
    assert result.code == 0, result.err[-3000:]
    folder = result.run_dirs()[-1]
    record = json.loads((folder / "results.json").read_text())
    rows = (folder / "metrics.csv").read_text().splitlines()
    per_epoch = [row.rsplit(",", 1)[0] for row in rows]  # all but the seconds column
    return {"train": record["train"], "val": record["val"], "test": record["test"], "epochs": per_epoch}


def test_training_on_bytes_gives_exactly_the_numbers_of_float_storage(cli, tmp_path, monkeypatch):
    write_cifar_folder(tmp_path / "c10")
    args = ["train", "data=cifar10", f"data.root={tmp_path / 'c10'}", "data.val_size=5", *SMALL_CNN, *QUICK]
    on_bytes = results_numbers(cli(*args, "trainer.epochs=2", "optimizer=sgd", "seed=3"))
    monkeypatch.setattr(splits, "BYTES_FROM", 10**9)  # every image dataset held as float32, as before #21
    on_floats = results_numbers(cli(*args, "trainer.epochs=2", "optimizer=sgd", "seed=3"))
    assert on_bytes == on_floats and on_bytes["test"]["loss"] > 0


@pytest.mark.parametrize("precision", ["fp64", "bf16"])
def test_batches_of_bytes_take_the_runs_precision(cli, tmp_path, precision):
    write_cifar_folder(tmp_path / "c10")
    args = ["train", "data=cifar10", f"data.root={tmp_path / 'c10'}", "data.val_size=5", *SMALL_CNN, *QUICK]
    numbers = results_numbers(cli(*args, f"trainer.precision={precision}"))
    assert numbers["test"]["loss"] > 0 and numbers["train"]["loss"] > 0


def test_mnist_held_as_bytes_trains_to_the_same_numbers(cli, monkeypatch):
    args = ["train", "data=mnist", "data.train_size=200", "model=mlp", "model.hidden_sizes=[16]", *QUICK, "seed=1"]
    as_floats = results_numbers(cli(*args))
    monkeypatch.setattr(splits, "BYTES_FROM", 1)
    as_bytes = results_numbers(cli(*args))
    assert as_bytes == as_floats


# ---------------------------------------------------------------- the transforms


def test_flip_mirrors_each_image_by_its_own_draw():
    torch.manual_seed(0)
    x = torch.rand(64, 3, 8, 8)
    out = random_flip(x)
    assert out.shape == x.shape
    mirrored = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    assert all(m != k for m, k in zip(mirrored, kept))  # every image exactly mirrored or exactly kept
    assert 16 < sum(mirrored) < 48  # about half, each its own draw


def test_shift_is_torchvisions_random_crop_of_the_zero_padded_image_per_image():
    torch.manual_seed(1)
    x = torch.rand(48, 3, 32, 32) + 1  # no zeros inside: the padding shows
    out = random_affine(x.contiguous(memory_format=torch.channels_last), 4, 0.0)
    padded = TF.pad(x, [4])
    crops = {(top, left): TF.crop(padded, top, left, 32, 32) for top in range(9) for left in range(9)}
    which = [next(key for key, crop in crops.items() if torch.equal(crop[i], out[i])) for i in range(len(x))]
    assert len(set(which)) > 20  # each image its own crop
    assert out.shape == x.shape


def test_augment_crop_flip_changes_training_batches_only(cli, tmp_path):
    # A learning rate too small to move a float32 weight: both runs keep their initial weights, so
    # the validation loss is the same to the bit, while the training loss, taken on the augmented
    # batches, differs.
    write_cifar_folder(tmp_path / "c10")
    args = ["train", "data=cifar10", f"data.root={tmp_path / 'c10'}", "data.val_size=5", *SMALL_CNN, *QUICK]
    args += ["optimizer=sgd", "optimizer.lr=1e-30", "seed=2"]
    plain = results_numbers(cli(*args, "regularization=none"))
    augmented = results_numbers(cli(*args, "regularization=augment_crop_flip"))
    assert augmented["val"] == plain["val"] and augmented["test"] == plain["test"]
    assert augmented["train"]["loss"] != plain["train"]["loss"]


def test_crop_or_flip_on_signals_is_refused_before_any_compute(cli):
    for keys in (["regularization=augment_crop_flip"], ["regularization.augment_flip=true"]):
        result = cli("train", "data=mnist1d", "model=mlp", *QUICK, *keys)
        lines = [line for line in result.err.splitlines() if line.startswith("runner")]
        assert result.code == 2 and len(lines) == 1 and "Traceback" not in result.err, result.err[-2000:]
        assert "regularization.augment_" in lines[0] and "(1, 40)" in lines[0]
        assert not result.outputs.exists() or not result.run_dirs()


def test_the_shape_check_names_the_key():
    check_augmentation(RegularizationConfig(augment_flip=True, augment_shift=4), (3, 32, 32))
    with pytest.raises(ConfigError, match="regularization.augment_shift"):
        check_augmentation(RegularizationConfig(augment_shift=2), (784,))
