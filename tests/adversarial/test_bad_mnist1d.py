"""data=mnist1d and data=digits against damaged caches and settings that cannot fit: a damaged
MNIST-1D cache is reported and the signals generated afresh (never trained on); keys out of range
and models that cannot read a 1 x 40 signal are one `runner:` line, exit 2, no run folder."""

import pytest
import torch
from adversarial_support import refused

from runner.build.data import load_dataset
from runner.config.data import Mnist1dConfig

SMALL = Mnist1dConfig(num_samples=100, val_size=10)


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[:200]),  # truncated
        lambda path: path.write_bytes(b"not a torch file"),
        lambda path: torch.save({"format": "runner-mnist-cache/2", "splits": {}}, path),  # no splits
    ],
    ids=["truncated", "garbage", "no-splits"],
)
def test_a_damaged_mnist1d_cache_is_reported_and_generated_afresh(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path))
    fresh = load_dataset(SMALL)
    (cache,) = tmp_path.glob("mnist1d-*.pt")
    damage(cache)
    again = load_dataset(SMALL)
    assert torch.equal(again.train.x, fresh.train.x) and torch.equal(again.test.y, fresh.test.y)
    assert any("unusable" in r.message and "MNIST-1D" in r.message for r in caplog.records)


def test_an_mnist1d_cache_holding_other_signals_is_not_trained_on(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(tmp_path))
    fresh = load_dataset(SMALL)
    (cache,) = tmp_path.glob("mnist1d-*.pt")
    stored = torch.load(cache, weights_only=True)
    stored["splits"]["train"]["x"] = stored["splits"]["train"]["x"] + 1.0  # header no longer matches
    torch.save(stored, cache)
    again = load_dataset(SMALL)
    assert torch.equal(again.train.x, fresh.train.x)
    assert any("do not match its header" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    "args,words",
    [
        (["data=mnist1d", "data.num_samples=10"], ["data.num_samples", "at least 50"]),
        (["data=mnist1d", "data.train_size=3600"], ["data.train_size", "between 1 and 3500"]),
        (["data=mnist1d", "data.shuffle_features=maybe"], ["data.shuffle_features"]),
        (["data=mnist1d", "model=cnn", "model.conv=[{channels: 2, kernel: 80}]"], ["model.conv[0].kernel", "(1, 40)"]),
        (["data=mnist1d", "model=autoencoder", "model.kind=conv"], ["(1, 40)"]),
        (["data=digits", "data.test_size=1700"], ["data.test_size", "1797"]),
        (["data=digits", "model=lenet5"], ["model.conv[1].kernel", "(1, 8, 8)"]),
    ],
    ids=[
        "too-few-samples",
        "train_size",
        "not-a-bool",
        "kernel-80",
        "conv-autoencoder",
        "digits-test_size",
        "lenet5-on-8x8",
    ],
)
def test_mnist1d_and_digits_settings_that_cannot_work_are_refused(cli, args, words):
    result = cli("train", *args, "trainer.epochs=1", "trainer.threads=1")
    refused(result, *words)
    assert not result.run_dirs()
