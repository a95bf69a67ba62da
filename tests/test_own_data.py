"""data=arrays, csv and image_folder: the user's own files, written here in each real format
(an .npz with and without given splits, a pair of .npy files, a CSV with a header, a folder of
PNGs of mixed sizes), trained one epoch through the real CLI; split sizes, shapes, the shape
check before compute, the seeded stratified split, standardisation and the image cache."""

import csv
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

from runner.build.data.csv import load_csv
from runner.build.data.own_split import carve
from runner.config.data import CsvConfig

QUICK = ["trainer.epochs=1", "trainer.batch_size=16", "trainer.threads=1", "model=mlp", "model.hidden_sizes=[8]"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def examples(n=200, features=6, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    return x, (np.arange(n) % classes).astype(np.int64)


def write_csv(path, x, y, label="label"):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([f"f{i}" for i in range(x.shape[1])] + [label])
        out.writerows([*(f"{v:.5f}" for v in row), int(c)] for row, c in zip(x, y))
    return path


def write_images(root, classes=("cat", "dog", "emu"), per_class=10, seed=0):
    """PNGs of mixed sizes and modes (RGB, greyscale, palette), one folder per class."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            w, h = 9 + 3 * i, 12 + i
            pixels = (rng.random((h, w, 3)) * 60 + 90 * c).astype(np.uint8)
            image = Image.fromarray(pixels)
            image = image.convert(["RGB", "L", "P"][i % 3])
            image.save(root / name / f"{i}.png")
    return root


def sizes(result):
    """(train, val, test) from the run's `data ...: a train, b val, c test examples` line."""
    found = re.search(r"(\d+) train, (\d+) val, (\d+) test examples", result.err + result.out)
    assert found, result.err[-2000:]
    return tuple(int(n) for n in found.groups())


def test_an_npz_without_given_splits_is_split_by_the_fractions(cli, tmp_path):
    x, y = examples()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    result = cli("train", "data=arrays", f"data.path={tmp_path / 'd.npz'}", "data.val_fraction=0.15", *QUICK)
    assert result.code == 0, result.err[-2000:]
    assert sizes(result) == (150, 30, 20)
    assert "mlp: " in result.err + result.out and "150 training examples" in result.err + result.out
    run = result.run_dir()
    assert len((run / "test_predictions.csv").read_text().strip().splitlines()) - 1 == 20
    assert set(result.results()["test"]) >= {"loss", "accuracy"}


def test_an_npz_with_given_splits_uses_them_as_given(cli, tmp_path):
    x, y = examples(n=120)
    np.savez(tmp_path / "g.npz", x=x[:70], y=y[:70], x_val=x[70:100], y_val=y[70:100], x_test=x[100:], y_test=y[100:])
    result = cli("train", "data=arrays", f"data.path={tmp_path / 'g.npz'}", *QUICK)
    assert result.code == 0, result.err[-2000:]
    assert sizes(result) == (70, 30, 20)


def test_given_validation_without_test_carves_only_the_test_split(cli, tmp_path):
    x, y = examples(n=120)
    np.savez(tmp_path / "v.npz", x=x[:100], y=y[:100], x_val=x[100:], y_val=y[100:])
    result = cli("train", "data=arrays", f"data.path={tmp_path / 'v.npz'}", *QUICK)
    assert result.code == 0, result.err[-2000:]
    assert sizes(result) == (90, 20, 10)


def test_a_pair_of_npy_files_trains_on_inputs_of_any_shape(cli, tmp_path):
    x, y = examples(n=100, features=2 * 5 * 5)
    np.save(tmp_path / "x.npy", x.reshape(-1, 2, 5, 5))
    np.save(tmp_path / "y.npy", y)
    args = ["data=arrays", f"data.path={tmp_path / 'x.npy'}", f"data.labels={tmp_path / 'y.npy'}"]
    result = cli("train", *args, *QUICK[:-2], "model=cnn", "model.conv=[{channels:3,kernel:3}]", "model.fc=[8]")
    assert result.code == 0, result.err[-2000:]
    assert sizes(result) == (80, 10, 10)


def test_a_csv_trains_and_a_cnn_is_refused_on_its_flat_features_before_compute(cli, tmp_path):
    x, y = examples()
    path = write_csv(tmp_path / "t.csv", x, y, label="species")
    args = ["data=csv", f"data.path={path}", "data.label=species"]
    result = cli("train", *args, *QUICK)
    assert result.code == 0, result.err[-2000:]
    assert sizes(result) == (160, 20, 20)
    refused = cli("train", *args, *QUICK[:-2], "model=cnn")
    assert refused.code == 2 and "runner: config error: model" in refused.err and "(6,)" in refused.err, refused.err
    assert len(refused.run_dirs()) == 1  # only the first run's folder


def test_a_csv_is_standardised_with_training_statistics_and_constant_columns_only_centred(tmp_path):
    x, y = examples(n=300, features=3)
    x = x * np.array([1.0, 50.0, 0.0], np.float32) + np.array([0.0, 1000.0, 7.0], np.float32)
    data = load_csv(CsvConfig(path=str(write_csv(tmp_path / "t.csv", x, y))))
    train = data.train.x.numpy()
    assert np.allclose(train.mean(axis=0), 0, atol=1e-4) and np.allclose(train[:, :2].std(axis=0), 1, atol=1e-3)
    assert np.all(train[:, 2] == 0) and torch.isfinite(data.test.x).all()  # the constant column: centred, not divided
    assert abs(float(data.val.x[:, 1].mean())) < 0.5  # validation scaled by the same (training) statistics


def test_the_split_is_seeded_and_stratified():
    y = np.repeat(np.arange(4), [100, 60, 30, 10])
    rows = carve(y, {"val": 0.1, "test": 0.2}, seed=3, where="t")
    assert sorted(np.concatenate(list(rows.values())).tolist()) == list(range(200))
    assert np.bincount(y[rows["test"]]).tolist() == [20, 12, 6, 2]  # every class in its proportion
    assert np.bincount(y[rows["val"]]).tolist() == [10, 6, 3, 1]
    again, other = carve(y, {"val": 0.1, "test": 0.2}, 3, "t"), carve(y, {"val": 0.1, "test": 0.2}, 4, "t")
    assert all(np.array_equal(rows[s], again[s]) for s in rows)
    assert not np.array_equal(rows["test"], other["test"])


def test_an_image_folder_of_mixed_sizes_trains_and_is_decoded_once(cli, tmp_path, cache):
    root = write_images(tmp_path / "images")
    os.symlink(root / "cat" / "0.png", tmp_path / "outside.png")  # a linked image pointing outside the folder
    os.symlink(tmp_path / "outside.png", root / "dog" / "linked.png")
    os.symlink(root, root / "emu" / "loop")  # a linked folder (to a parent): not entered, the walk ends
    args = ["data=image_folder", f"data.path={root}", "data.image_size=8", "data.channels=1", *QUICK]
    first = cli("train", *args)
    assert first.code == 0, first.err[-2000:]
    assert sizes(first) == (25, 3, 3)  # 31 images: 10% held out to validate, 10% to test, stratified
    (cached,) = cache.glob("image_folder-*.pt")
    written = cached.stat().st_mtime_ns
    second = cli("train", *args)
    assert second.code == 0 and cached.stat().st_mtime_ns == written  # read back, not decoded and written again
    assert sizes(second) == (25, 3, 3)
    Image.new("L", (5, 5), 200).save(root / "cat" / "3.png")  # a changed image: a new key, never the stale cache
    third = cli("train", *args)
    assert third.code == 0 and len(list(cache.glob("image_folder-*.pt"))) == 2, third.err[-2000:]
    assert cached.stat().st_mtime_ns == written


def test_image_folder_shape_follows_image_size_and_channels(cli, tmp_path):
    root = write_images(tmp_path / "images", classes=("a", "b"), per_class=6)
    args = ["data=image_folder", f"data.path={root}", "data.image_size=12", "data.channels=3"]
    result = cli("train", *args, *QUICK[:-2], "model=cnn", "model.conv=[{channels:2,kernel:13}]")
    assert result.code == 2 and "12x12 feature map" in result.err and "(3, 12, 12)" in result.err, result.err
    assert not result.run_dirs()
