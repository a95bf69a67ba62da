"""The models through the real CLI (`runner train ...`, in this process): they train
from the shipped configs with command-line overrides, an autoencoder's encoder
starts a classifier, and a bad model config exits 2 with one clear line."""

import csv
import inspect
import json

import pytest
from conftest import TINY

import runner.launch.preflight

# The preflight composes and validates every config; shape errors (a kernel larger
# than its feature map) need the model built, which `runner.build.models.check_model` does.
PREFLIGHT_BUILDS_MODELS = "check_model" in inspect.getsource(runner.launch.preflight)
needs_model_preflight = pytest.mark.xfail(
    not PREFLIGHT_BUILDS_MODELS, reason="the preflight does not call runner.build.models.check_model yet", strict=False
)


def train_losses(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [float(row["train/loss"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize(
    "args",
    [
        [
            "model=cnn",
            "model.conv=[{channels:8,kernel:3,padding:1,pool:2}]",
            "model.fc=[32]",
            "regularization=dropout",
            "optimizer=adam",
            "optimizer.lr=0.01",
        ],
        ["model=lstm", "model.hidden_size=16", "optimizer=adam", "optimizer.lr=0.01"],
        ["model=linear_svm", "loss=hinge", "regularization=l2", "optimizer.lr=0.1"],
    ],
    ids=["cnn", "lstm", "linear_svm"],
)
def test_model_trains_from_the_command_line(cli, args):
    result = cli("train", *TINY, *args)
    assert result.code == 0, result.err
    losses = train_losses(result.run_dir())
    assert losses[-1] < losses[0]
    assert result.results()["test"]["accuracy"] > 0.4  # 4 classes: better than chance


def test_classifier_starts_from_an_autoencoders_encoder(cli, outputs):
    ae = cli(
        "train",
        *TINY,
        "model=autoencoder",
        "model.hidden_sizes=[32]",
        "model.code_size=16",
        "loss=bce",
        "early_stopping.monitor=val/loss",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "trainer.epochs=1",
    )
    assert ae.code == 0, ae.err
    ae_dir = ae.run_dir()
    assert ae.results()["task"] == "reconstruction" and (ae_dir / "checkpoints" / "best.pt").exists()

    clf = cli("train", *TINY, "model=mlp", "model.hidden_sizes=[32,16]", f"model.init_from={ae_dir}")
    assert clf.code == 0, clf.err
    (clf_dir,) = [d for d in clf.run_dirs() if d != ae_dir]
    assert json.loads((clf_dir / "results.json").read_text())["task"] == "classification"


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["model=mlp", "model.hidden_sizes=[64,0]"],
            "model.hidden_sizes: every layer needs at least 1 unit, got [64, 0]",
        ),
        (["model=cnn", "model.fc=[0]"], "model.fc: every fully-connected layer needs at least 1 unit"),
        (["model=lstm", "model.hidden_size=0"], "model.hidden_size: at least 1 unit, got 0"),
        (["model=autoencoder", "model.code_size=0"], "model.code_size: at least 1 unit, got 0"),
        (
            ["model=cnn", "model.activation=swish"],
            "model.activation: unknown activation 'swish'; choose one of: elu, gelu, leaky_relu, linear, maxout, relu",
        ),
        (
            ["model=autoencoder", "model.variant=stacked"],
            "model.variant: choose one of: plain, denoising, sparse, contractive",
        ),
        (["model=cnn", "model.conv.0.kernel=0"], "model.conv[0].kernel: at least 1, got 0"),
        (["model=keras_cnn", "model.dropout=[0.5]"], "model.dropout: needs 2 rates"),
        (
            ["model=mlp", "model.residual=true", "model.hidden_sizes=[8,16]"],
            "model.residual: skip connections need equal hidden widths",
        ),
    ],
)
def test_bad_model_config_exits_2_with_one_clear_line(cli, args, message):
    result = cli("train", "data=synthetic", *args)
    assert result.code == 2
    assert result.err.startswith("runner: config error: ") and message in result.err, result.err
    assert "Traceback" not in result.err and not result.run_dirs()


@needs_model_preflight
@pytest.mark.parametrize(
    "args,message",
    [
        (["model=cnn"], "model.conv[1].kernel: the 5x5 kernel of conv layer 1 is larger than the 2x2 feature map"),
        (
            ["model=cnn", "model.conv=[{channels:4,kernel:9}]"],
            "model.conv[0].kernel: the 9x9 kernel of conv layer 0 is larger than the 8x8 feature map",
        ),
        (
            ["model=lenet5", "data.image_size=12"],
            "model.conv[2].kernel: the 5x5 kernel of conv layer 2 is larger than the 1x1 feature map",
        ),
        (
            ["model=mlp", "model.init_from=/nonexistent/run"],
            "model.init_from: no checkpoint at /nonexistent/run/checkpoints/best.pt",
        ),
    ],
    ids=["nielsen-cnn-on-8x8", "kernel-9-on-8x8", "lenet5-on-12x12", "init_from-missing"],
)
def test_model_that_cannot_fit_the_input_fails_before_training(cli, args, message):
    result = cli("train", "data=synthetic", *args)
    assert result.code == 2, result.err
    assert result.err.startswith("runner: config error: ") and message in result.err, result.err
    assert not result.run_dirs()
