"""The model zoo: every member builds from its shipped YAML, has the documented
shape, learns on tiny synthetic data, and fails with a clear ConfigError when a
config cannot fit the input."""

import csv
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from torch import nn

from runner.build.losses import LOSSES
from runner.build.models import MODELS, build_model, check_model
from runner.build.models.activations import Maxout
from runner.build.models.autoencoder import reconstruction_grid
from runner.build.models.layers import ScaleAtTestDropout, make_dropout
from runner.config.schema import validate
from runner.errors import ConfigError
from runner.fit.loop import fit
from runner.paths import CONF_DIR

MODEL_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
MNIST = (1, 28, 28)
FAST = [
    "data=synthetic",
    "trainer.batch_size=32",
    "trainer.threads=1",
    "trainer.progress=false",
    "trainer.checkpoints=false",
    "early_stopping=none",
]


def config(*overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="test_models"):
        return validate(compose(config_name="config", overrides=list(overrides)))


def reg(**values):
    base = dict(dropout=0.0, input_dropout=0.0, dropout_style="inverted")
    return SimpleNamespace(**{**base, **values})


def metrics(run_dir: Path):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- every shipped config


def test_every_model_has_a_config_and_every_key_a_comment():
    assert {
        "mlp",
        "cnn",
        "lenet5",
        "keras_cnn",
        "rnn",
        "lstm",
        "gru",
        "autoencoder",
        "conv_autoencoder",
        "softmax_regression",
        "linear_svm",
    } <= set(MODEL_CONFIGS)
    assert set(MODELS.names()) <= set(MODEL_CONFIGS)
    for name in MODEL_CONFIGS:
        text = (CONF_DIR / "model" / f"{name}.yaml").read_text()
        assert text.startswith("#"), f"{name}.yaml: starts with a comment saying what the model is"
        for line in text.splitlines():
            if re.match(r"^[a-z_]+:", line) and not line.startswith("defaults:"):
                assert "#" in line, f"{name}.yaml: key without a comment: {line!r}"


# The transformer and text_cnn read token ids only (tests/test_transformer.py, tests/test_text_classification.py).
@pytest.mark.parametrize("name", [n for n in MODEL_CONFIGS if n not in ("transformer", "text_cnn")])
def test_shipped_config_builds_for_mnist_with_the_right_output_shape(name):
    cfg = config(f"model={name}")
    check_model(cfg.model, cfg.regularization, MNIST, 10)  # on the meta device
    model = build_model(cfg.model, cfg.regularization, MNIST, 10)
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(3, *MNIST))
    if getattr(model, "task", "classification") == "reconstruction":
        assert out.shape == (3, *MNIST) and 0 <= out.min() and out.max() <= 1
        assert isinstance(model.encoder, nn.Module)
    else:
        assert out.shape == (3, 10)


def test_nielsen_and_keras_nets_have_the_documented_shapes():
    nielsen = build_model(config("model=cnn").model, reg(), MNIST, 10)
    convs = [m for m in nielsen.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in nielsen.modules() if isinstance(m, nn.Linear)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(20, (5, 5)), (40, (5, 5))]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(640, 100), (100, 10)]
    assert sum(isinstance(m, nn.MaxPool2d) for m in nielsen.modules()) == 2

    keras = build_model(config("model=keras_cnn").model, reg(dropout=0.3), MNIST, 10)
    assert [m.p for m in keras.modules() if isinstance(m, nn.Dropout)] == [0.25, 0.5]  # the model's own rates win
    assert [(lin.in_features, lin.out_features) for lin in keras.modules() if isinstance(lin, nn.Linear)] == [
        (9216, 128),
        (128, 10),
    ]

    lenet = build_model(config("model=lenet5").model, reg(), MNIST, 10)
    assert sum(isinstance(m, nn.AvgPool2d) for m in lenet.modules()) == 2
    assert [lin.in_features for lin in lenet.modules() if isinstance(lin, nn.Linear)] == [120, 84]


# ---------------------------------------------------------------- each model learns


LEARNS = [
    ("mlp", "cross_entropy", ["model.hidden_sizes=[32]"]),
    (
        "mlp",
        "cross_entropy",
        [
            "model.hidden_sizes=[16,16,16]",
            "model.residual=true",
            "model.batch_norm=true",
            "model.activation=maxout",
            "model.dropout=[0.1,0.2,0.2,0.2]",
        ],
    ),
    (
        "cnn",
        "cross_entropy",
        [
            "model.conv=[{channels:4,kernel:3,pool:2},{channels:8,kernel:3,padding:1}]",
            "model.fc=[16]",
            "regularization.dropout=0.2",
        ],
    ),
    (
        "cnn",
        "cross_entropy",
        [
            "model.conv=[{channels:4,kernel:3,pool:2}]",
            "model.fc=[16]",
            "model.pooling=avg",
            "model.init=nielsen3",
            "model.activation=sigmoid",
            "model.dropout=[0.5,0.5]",
            "regularization.dropout_style=scale_at_test",
            "optimizer=sgd",
            "optimizer.lr=0.5",
        ],
    ),
    ("rnn", "cross_entropy", ["model.hidden_size=16", "model.recurrent_init=orthogonal"]),
    (
        "lstm",
        "cross_entropy",
        ["model.hidden_size=16", "model.num_layers=2", "model.bidirectional=true", "model.dropout=0.1"],
    ),
    ("gru", "cross_entropy", ["model.hidden_size=8", "model.sequence=pixels", "data.image_size=4"]),
    ("softmax_regression", "cross_entropy", []),
    ("linear_svm", "hinge", ["regularization=l2"]),
    ("autoencoder", "bce", ["model.code_size=8"]),
    (
        "denoising_autoencoder",
        "bce",
        ["model.hidden_sizes=[16]", "model.code_size=8", "model.noise=masking", "model.noise_level=0.3"],
    ),
    (
        "sparse_autoencoder",
        "bce",
        ["model.code_size=8", "model.sparsity=kl", "model.code_activation=sigmoid", "model.sparsity_weight=0.01"],
    ),
    ("contractive_autoencoder", "mse", ["model.code_size=4"]),
    (
        "conv_autoencoder",
        "bce",
        ["model.conv=[{channels:4,kernel:3,pool:2},{channels:4,kernel:3,pool:2}]", "model.code_size=8"],
    ),
    (
        "conv_autoencoder",
        "bce",
        [
            "model.conv=[{channels:4,kernel:3,pool:2},{channels:4,kernel:3,pool:2}]",
            "model.code=feature_map",
            "model.pool_padding=same",
            "data.image_size=7",
        ],
    ),
]


@pytest.mark.parametrize(
    "name,loss,overrides", LEARNS, ids=[f"{n}-{loss}-{i}" for i, (n, loss, _) in enumerate(LEARNS)]
)
def test_model_trains_and_its_loss_falls(name, loss, overrides, tmp_path):
    reconstruction = "autoencoder" in name
    cfg = config(
        *FAST,
        f"model={name}",
        f"loss={loss}",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "trainer.epochs=3",
        *overrides,
        *(["early_stopping.monitor=val/loss"] if reconstruction else []),
    )
    results = fit(cfg, tmp_path, {"model": name})
    rows = metrics(tmp_path)
    first, last = float(rows[0]["train/loss"]), float(rows[-1]["train/loss"])
    assert math.isfinite(last) and last < first, f"{name}: train loss {first} -> {last}"
    assert results["task"] == ("reconstruction" if reconstruction else "classification")


# ---------------------------------------------------------------- shape errors, caught at build time


def test_kernel_larger_than_the_map_names_the_layer():
    cfg = config("model=cnn")  # Nielsen's net: fits 28x28, not 8x8 after two pools
    check_model(cfg.model, cfg.regularization, MNIST, 10)
    with pytest.raises(ConfigError) as err:
        check_model(cfg.model, cfg.regularization, (1, 8, 8), 4)
    assert err.value.key == "model.conv[1].kernel"
    assert "5x5 kernel of conv layer 1 is larger than the 2x2 feature map" in str(err.value)

    with pytest.raises(ConfigError, match=r"model.conv\[0\].kernel: the 9x9 kernel of conv layer 0 .* 8x8"):
        check_model(config("model=cnn", "model.conv=[{channels:4,kernel:9}]").model, reg(), (1, 8, 8), 4)
    with pytest.raises(ConfigError, match=r"model.conv\[1\].kernel: the 5x5 kernel .* 4x4 feature map"):
        check_model(config("model=lenet5").model, reg(), (1, 8, 8), 4)  # 8x8 -> pad, conv, pool -> 4x4


def test_pool_larger_than_the_map_names_the_layer():
    cfg = config("model=cnn", "model.conv=[{channels:4,kernel:3,pool:4},{channels:4,kernel:1,pool:2}]")
    with pytest.raises(
        ConfigError, match=r"model.conv\[1\].pool: the 2x2 pooling window of conv layer 1 is larger than the 1x1 map"
    ):
        check_model(cfg.model, reg(), (1, 6, 6), 4)
    with pytest.raises(ConfigError, match=r"model.conv\[1\].pool: .* larger than its 1x1 feature map"):
        check_model(config("model=conv_autoencoder").model, reg(), (1, 3, 3), 4)  # 3x3 -> pool 2 -> 1x1


def test_padding_and_stride_change_the_map_size():
    cfg = config("model=cnn", "model.conv=[{channels:2,kernel:3,padding:1,stride:2}]", "model.fc=[]")
    model = build_model(cfg.model, reg(), (1, 8, 8), 3)
    assert [m.in_features for m in model.modules() if isinstance(m, nn.Linear)] == [2 * 4 * 4]


def test_check_model_builds_on_the_meta_device_without_memory():
    cfg = config("model=mlp", "model.hidden_sizes=[100000,100000]")  # 10^10 weights: only possible on meta
    check_model(cfg.model, cfg.regularization, MNIST, 10)


# ---------------------------------------------------------------- layers, activations, init


def test_scale_at_test_dropout_does_not_rescale_in_training_and_scales_at_test():
    x = torch.ones(1000)
    drop = make_dropout(0.25, reg(dropout_style="scale_at_test"))
    assert isinstance(drop, ScaleAtTestDropout)
    drop.train()
    kept = drop(x)
    assert set(kept.unique().tolist()) <= {0.0, 1.0} and 0.6 < kept.mean() < 0.9
    drop.eval()
    assert torch.allclose(drop(x), torch.full_like(x, 0.75))
    assert isinstance(make_dropout(0.25, SimpleNamespace(dropout=0.0)), nn.Dropout)  # no dropout_style key: inverted
    assert isinstance(make_dropout(0.0, reg()), nn.Identity)
    with pytest.raises(ConfigError, match="dropout_style"):
        make_dropout(0.5, reg(dropout_style="sideways"))


def test_maxout_takes_the_max_of_k_pieces_and_widens_the_layer_before_it():
    assert Maxout(2)(torch.tensor([[1.0, 5.0, -2.0, -3.0]])).tolist() == [[5.0, -2.0]]
    assert Maxout(3)(torch.zeros(2, 12, 5, 5)).shape == (2, 4, 5, 5)
    mlp = build_model(
        config("model=mlp", "model.hidden_sizes=[8]", "model.activation=maxout", "model.maxout_pieces=3").model,
        reg(),
        (1, 4, 4),
        5,
    )
    assert [(m.in_features, m.out_features) for m in mlp.modules() if isinstance(m, nn.Linear)] == [(16, 24), (8, 5)]
    cnn = build_model(
        config("model=cnn", "model.conv=[{channels:3,kernel:3}]", "model.fc=[4]", "model.activation=maxout").model,
        reg(),
        (1, 5, 5),
        2,
    )
    assert [m.out_channels for m in cnn.modules() if isinstance(m, nn.Conv2d)] == [6]
    assert cnn(torch.rand(2, 1, 5, 5)).shape == (2, 2)


def test_mlp_per_layer_dropout_batch_norm_and_residual():
    cfg = config(
        "model=mlp",
        "model.hidden_sizes=[8,8]",
        "model.dropout=[0.1,0.2,0.3]",
        "model.batch_norm=true",
        "model.residual=true",
    )
    model = build_model(cfg.model, reg(dropout=0.9, input_dropout=0.9), (1, 4, 4), 3)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.1, 0.2, 0.3]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 2
    assert sum(type(m).__name__ == "Residual" for m in model.modules()) == 1
    defaults = build_model(
        config("model=mlp", "model.hidden_sizes=[8,8]").model, reg(dropout=0.5, input_dropout=0.2), (1, 4, 4), 3
    )
    assert [m.p for m in defaults.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.5, 0.5]


def test_nielsen3_init_matches_network3():
    torch.manual_seed(0)
    cfg = config("model=cnn", "model.init=nielsen3", "model.fc=[1000]")
    model = build_model(cfg.model, reg(), MNIST, 10)
    conv1, conv2 = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    fc, softmax = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert conv1.weight.std().item() == pytest.approx(math.sqrt(1 / (20 * 25 / 4)), rel=0.1)
    assert conv2.weight.std().item() == pytest.approx(math.sqrt(1 / (40 * 25 / 4)), rel=0.05)
    assert fc.weight.std().item() == pytest.approx(math.sqrt(1 / 1000), rel=0.05)
    assert fc.bias.std().item() == pytest.approx(1.0, rel=0.1)
    assert softmax.weight.abs().sum() == 0 and softmax.bias.abs().sum() == 0


def test_other_init_schemes():
    torch.manual_seed(0)
    big = ["model.hidden_sizes=[400]"]
    large = build_model(config("model=mlp", "model.init=nielsen_large", *big).model, reg(), MNIST, 10)
    assert large[1].weight.std().item() == pytest.approx(1.0, rel=0.05) and large[1].bias.std().item() == pytest.approx(
        1.0, rel=0.2
    )
    fan_in = build_model(config("model=mlp", "model.init=nielsen_fan_in", *big).model, reg(), MNIST, 10)
    assert fan_in[1].weight.std().item() == pytest.approx(1 / math.sqrt(784), rel=0.05)
    xavier = build_model(
        config("model=mlp", "model.init=xavier_normal", "model.activation=sigmoid", *big).model, reg(), MNIST, 10
    )
    assert xavier[1].weight.std().item() == pytest.approx(4 * math.sqrt(2 / (784 + 400)), rel=0.05)
    glorot = build_model(
        config("model=mlp", "model.init=glorot_uniform", "model.activation=relu", *big).model, reg(), MNIST, 10
    )
    bound = math.sqrt(6 / (784 + 400))  # Keras: gain 1 whatever the activation, zero biases
    assert glorot[1].weight.abs().max().item() <= bound and glorot[1].weight.std().item() == pytest.approx(
        bound / math.sqrt(3), rel=0.05
    )
    assert glorot[1].bias.abs().sum() == 0
    lstm = build_model(
        config("model=lstm", "model.hidden_size=16", "model.recurrent_init=orthogonal").model, reg(), MNIST, 10
    )
    for gate in lstm.rnn.weight_hh_l0.detach().split(16):
        assert torch.allclose(gate @ gate.T, torch.eye(16), atol=1e-5)


def test_recurrent_models_read_rows_or_pixels():
    rows = build_model(config("model=gru", "model.hidden_size=8").model, reg(), MNIST, 10)
    pixels = build_model(config("model=gru", "model.hidden_size=8", "model.sequence=pixels").model, reg(), MNIST, 10)
    assert rows.rnn.input_size == 28 and pixels.rnn.input_size == 1
    assert rows.to_sequence(torch.rand(2, *MNIST)).shape == (2, 28, 28)
    assert pixels.to_sequence(torch.rand(2, *MNIST)).shape == (2, 784, 1)
    bi = build_model(
        config(
            "model=rnn",
            "model.hidden_size=8",
            "model.bidirectional=true",
            "model.num_layers=2",
            "model.nonlinearity=relu",
        ).model,
        reg(),
        MNIST,
        10,
    )
    assert bi.head.in_features == 16 and bi(torch.rand(2, *MNIST)).shape == (2, 10)


# ---------------------------------------------------------------- autoencoders


def test_autoencoder_variants_and_penalties():
    x = torch.rand(4, 1, 8, 8)
    sparse = build_model(config("model=sparse_autoencoder", "model.code_size=6").model, reg(), (1, 8, 8), 4)
    assert sparse.task == "reconstruction"
    sparse.train()
    sparse(x)
    code = sparse.encoder(x)
    assert sparse.penalty().item() == pytest.approx(1e-4 * code.abs().sum(1).mean().item(), rel=1e-5)

    contractive = build_model(config("model=contractive_autoencoder", "model.code_size=3").model, reg(), (1, 8, 8), 4)
    contractive.train()
    contractive(x)
    penalty = contractive.penalty()
    jac = torch.autograd.functional.jacobian(lambda v: contractive.encoder(v), x)  # (4, 3, 4, 1, 8, 8)
    exact = sum(jac[i, :, i].pow(2).sum() for i in range(4)) / 4
    assert penalty.item() == pytest.approx(1e-3 * exact.item(), rel=1e-4)
    penalty.backward()  # differentiable with respect to the weights
    assert contractive.encoder[1].weight.grad is not None

    denoising = build_model(
        config("model=denoising_autoencoder", "model.hidden_sizes=[8]", "model.code_size=4").model, reg(), (1, 8, 8), 4
    )
    denoising.eval()
    assert torch.equal(denoising(x), denoising(x))  # no noise at evaluation
    denoising.train()
    torch.manual_seed(0)
    assert not torch.equal(denoising(x), denoising(x))
    assert denoising.penalty().item() == 0


def test_conv_autoencoder_with_the_keras_blog_geometry():
    """code: feature_map + pool_padding: same is the blog's 4,385-parameter network: 'same'
    pooling 28 -> 14 -> 7 -> 4, the 8x4x4 map is the code, four decoder convolutions."""
    cfg = config("model=conv_autoencoder", "model.code=feature_map", "model.pool_padding=same")
    model = build_model(cfg.model, reg(), MNIST, 10)
    x = torch.rand(3, *MNIST)
    assert model.encoder(x).shape == (3, 8 * 4 * 4)
    assert model(x).shape == x.shape
    assert sum(p.numel() for p in model.parameters()) == 4385
    convs = [m for m in model.decoder if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(8, 8), (8, 8), (8, 16), (16, 1)]
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    # valid pooling drops the ragged edge (7 -> 3) and keeps the Linear code
    dense = build_model(config("model=conv_autoencoder").model, reg(), MNIST, 10)
    assert [m.in_features for m in dense.modules() if isinstance(m, nn.Linear)] == [8 * 3 * 3, cfg.model.code_size]
    # 'same' pooling fits a map smaller than its window: 3x3 -> 2x2 -> 1x1, where valid pooling cannot
    check_model(config("model=conv_autoencoder", "model.pool_padding=same").model, reg(), (1, 3, 3), 4)
    with pytest.raises(ConfigError, match=r"model.code: choose one of: dense, feature_map \(got 'map'\)"):
        config("model=conv_autoencoder", "model.code=map")


def test_reconstruction_grid_is_an_image_of_inputs_over_reconstructions():
    model = build_model(config("model=conv_autoencoder").model, reg(), MNIST, 10)
    model.train()
    x = torch.rand(5, *MNIST)
    grid = reconstruction_grid(model, x, n=4)
    scale, height, width = 3, 2 * 28 + 3 * 2, 4 * 28 + 5 * 2  # two rows of 4, 2 white pixels around each
    margin = grid.shape[2] - scale * width  # where the rows' names are written
    assert grid.shape[:2] == (3, scale * height) and 40 < margin < 120 and 0 <= grid.min() and grid.max() <= 1
    first_input = grid[0, scale * 2 : scale * 30, margin + scale * 2 : margin + scale * 30]  # scaled, nearest neighbour
    assert torch.allclose(first_input, x[0, 0].repeat_interleave(scale, 0).repeat_interleave(scale, 1), atol=1 / 255)
    names = grid[0, :, :margin] < 0.5  # dark text on white: "input" beside the top row, "output" beside the bottom
    assert names[: scale * height // 2].any() and names[scale * height // 2 :].any()
    assert model.training  # mode restored


def test_init_from_copies_a_trained_encoder_into_the_mlp(tmp_path):
    ae_dir = tmp_path / "ae"
    ae = config(
        *FAST,
        "trainer.checkpoints=true",
        "model=autoencoder",
        "model.hidden_sizes=[24]",
        "model.code_size=12",
        "loss=bce",
        "early_stopping.monitor=val/loss",
        "trainer.epochs=1",
    )
    fit(ae, ae_dir, {})
    encoder = torch.load(ae_dir / "checkpoints" / "best.pt", weights_only=True)["model"]

    cfg = config(*FAST, "model=mlp", "model.hidden_sizes=[24,12,16]", f"model.init_from={ae_dir}")
    model = build_model(cfg.model, cfg.regularization, (1, 8, 8), 4)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert torch.equal(linears[0].weight, encoder["encoder.1.weight"]) and torch.equal(
        linears[1].bias, encoder["encoder.3.bias"]
    )
    check_model(cfg.model, cfg.regularization, (1, 8, 8), 4)
    fit(cfg, tmp_path / "clf", {})  # and it trains

    wrong = config("model=mlp", "model.hidden_sizes=[20,12,16]", f"model.init_from={ae_dir}")
    with pytest.raises(
        ConfigError,
        match=r"model.init_from: encoder layer 1 \(encoder.1\) has weights 24x64 but this model's layer 1 .* 20x64",
    ):
        check_model(wrong.model, wrong.regularization, (1, 8, 8), 4)
    short = config("model=mlp", "model.hidden_sizes=[24]", f"model.init_from={ae_dir}")
    with pytest.raises(ConfigError, match="has only 2"):
        build_model(short.model, short.regularization, (1, 8, 8), 4)
    with pytest.raises(ConfigError, match="no checkpoint at"):
        build_model(config("model=mlp", f"model.init_from={tmp_path / 'nowhere'}").model, reg(), (1, 8, 8), 4)


def test_init_from_a_run_without_an_encoder_is_refused(tmp_path):
    torch.save({"model": {"1.weight": torch.zeros(3, 64), "1.bias": torch.zeros(3)}}, tmp_path / "clf.pt")
    with pytest.raises(ConfigError, match="holds no encoder weights"):
        build_model(config("model=mlp", f"model.init_from={tmp_path / 'clf.pt'}").model, reg(), (1, 8, 8), 4)


def test_hinge_loss_is_registered():
    loss = LOSSES.get("hinge")()
    scores = torch.tensor([[3.0, 0.0, 0.0]])
    assert loss(scores, torch.tensor([0])).item() == 0  # margin of 3 > 1
    assert loss(scores, torch.tensor([1])).item() == pytest.approx((4 + 1) / 3)
