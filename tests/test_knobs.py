"""Training knobs: optimizers, schedules, regularizers, losses and stopping rules,
each run through the real CLI on tiny synthetic data and checked for doing what
its documentation says (or checked against a hand computation)."""

import csv
import json
import math

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from runner.build.early_stopping import EarlyStopping, EarlyStoppingConfig
from runner.build.losses import LOSSES, build_loss
from runner.build.optim import build_optimizer
from runner.build.regularization import RegularizationConfig, WeightNoise, build_hooks, param_groups, random_affine
from runner.build.schedulers import build_scheduler
from runner.config.optim import OPTIMIZER_MEMBERS
from runner.config.schedulers import SCHEDULER_MEMBERS
from runner.config.schema import validate
from runner.launch.preflight import check
from runner.paths import CONF_DIR

# 256 training examples of 4 classes, 8x8 images; one thread; no progress bar.
BASE = [
    "data=synthetic",
    "trainer.batch_size=32",
    "trainer.threads=1",
    "trainer.progress=false",
    "early_stopping=none",
    "model.hidden_sizes=[16]",
]


def train(cli, *args, epochs=3):
    """One CLI run (SGD unless an optimizer is named); fails the test unless it exits 0."""
    sgd = [] if any(a.startswith("optimizer=") for a in args) else ["optimizer=sgd"]
    result = cli("train", *BASE, *sgd, f"trainer.epochs={epochs}", *args)
    assert result.code == 0, result.err
    result.folder = result.run_dirs()[-1]  # the newest (a test may train several times)
    return result


def sweep(cli, *args, epochs=3):
    """One `runner train -m` sweep (cheaper than separate runs): {sweep override: run folder}."""
    result = cli("train", "-m", *BASE, f"trainer.epochs={epochs}", *args)
    assert result.code == 0, result.err
    swept = [a for a in args if "," in a and "[" not in a]
    runs = {}
    for folder in result.run_dirs():
        overrides = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
        key = " ".join(o for o in overrides if o.split("=")[0] in {a.split("=")[0] for a in swept})
        runs[key] = folder
    return runs


def folder_of(run):
    return run if not hasattr(run, "folder") else run.folder


def metrics(run):
    with open(folder_of(run) / "metrics.csv") as f:
        return [{k: float(v) if v not in ("", None) else None for k, v in row.items()} for row in csv.DictReader(f)]


def results_of(run):
    return json.loads((folder_of(run) / "results.json").read_text())


def last_checkpoint(run):
    return torch.load(folder_of(run) / "checkpoints" / "last.pt", weights_only=True)


def member(group, name, **overrides):
    """A member's YAML file checked against its schema, without composing the whole config."""
    node = OmegaConf.load(CONF_DIR / group / f"{name}.yaml")
    node.pop("defaults", None)
    if "t_max" in node:  # `${trainer.epochs}` has nothing to point at outside a composed config
        node.t_max = 10
    members = {"optimizer": OPTIMIZER_MEMBERS, "scheduler": SCHEDULER_MEMBERS}[group]
    schema_name = {"momentum": "sgd", "nesterov": "sgd"}.get(name, name)
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(members.schemas[schema_name]), node, overrides))


def composed(*overrides):
    (cfg,) = check([*BASE, *overrides])
    return validate(cfg)


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4))


# ---------------------------------------------------------------- optimizers

OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"momentum": 0.0, "nesterov": False}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9, "nesterov": False}),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {"lr": 0.01}),
    "adadelta": (torch.optim.Adadelta, {"lr": 1.0, "rho": 0.9}),
    "rmsprop": (torch.optim.RMSprop, {"alpha": 0.99}),
    "adam": (torch.optim.Adam, {"betas": (0.9, 0.999)}),
    "adamw": (torch.optim.AdamW, {"weight_decay": 0.01}),
    "lbfgs": (torch.optim.LBFGS, {"history_size": 100, "line_search_fn": "strong_wolfe"}),
}


def test_every_optimizer_config_builds_its_torch_optimizer():
    for name, (cls, expected) in OPTIMIZERS.items():
        optimizer = build_optimizer(
            member("optimizer", name), param_groups(tiny_model(), RegularizationConfig(), 256, 32)
        )
        assert isinstance(optimizer, cls), name
        group = optimizer.param_groups[0]
        for key, value in expected.items():
            assert group[key] == value, (name, key)


def test_every_optimizer_trains_from_the_cli_with_its_default_settings(cli):
    names = [n for n in OPTIMIZERS if n != "lbfgs"]
    runs = sweep(cli, f"optimizer={','.join(names)}", "trainer.checkpoints=false")
    assert len(runs) == len(names)
    for key, run in runs.items():
        rows = metrics(run)
        assert rows[-1]["train/loss"] < rows[0]["train/loss"], key


def test_lbfgs_runs_through_the_closure_with_l2(cli):
    # Full batch: one L-BFGS step (up to 20 closure evaluations) per epoch.
    result = train(cli, "optimizer=lbfgs", "trainer.batch_size=256", "regularization=l2", epochs=2)
    rows = metrics(result)
    assert rows[-1]["train/loss"] < 0.5 * math.log(4) and rows[-1]["val/accuracy"] > 0.8
    state = last_checkpoint(result)["optimizer"]
    assert state["state"][0]["func_evals"] > 2  # the closure really ran several times per step


def test_lbfgs_l2_is_added_to_the_gradient_and_the_loss():
    model = tiny_model()
    groups = param_groups(model, RegularizationConfig(l2=0.5), 256, 32)
    optimizer = build_optimizer(member("optimizer", "lbfgs", max_iter=1, line_search_fn=None), groups)
    params = optimizer._params  # L-BFGS's flat order: weights, then biases
    x, y = torch.randn(8, 1, 8, 8), torch.randint(4, (8,))
    seen = []

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        seen.append((loss.item(), [p.grad.clone() for p in params]))
        return loss

    before = [p.detach().clone() for p in params]
    returned = optimizer.step(closure)
    loss, grads = seen[0]
    # L-BFGS saw the decayed loss and gradient: + 0.5 * l2 * ||w||^2, + l2 * w, for weights only.
    assert returned.item() == pytest.approx(loss + 0.25 * sum(p.pow(2).sum().item() for p in before if p.dim() > 1))
    expected = torch.cat([(g + 0.5 * p if p.dim() > 1 else g).reshape(-1) for g, p in zip(grads, before)])
    assert torch.allclose(optimizer.state[params[0]]["prev_flat_grad"], expected, atol=1e-6)


def test_adamw_weight_decay_is_decoupled_and_only_on_weights():
    optimizer = build_optimizer(
        member("optimizer", "adamw", weight_decay=0.05), param_groups(tiny_model(), RegularizationConfig(), 256, 32)
    )
    assert [(g["decay"], g["weight_decay"]) for g in optimizer.param_groups] == [(True, 0.05), (False, 0.0)]


# ---------------------------------------------------------------- schedulers


def lrs(result):
    return [row["lr"] for row in metrics(result)]


def test_step_exponential_and_cosine_schedules(cli):
    assert lrs(
        train(
            cli,
            "optimizer.lr=0.4",
            "scheduler=step",
            "scheduler.step_size=2",
            "scheduler.gamma=0.5",
            "trainer.checkpoints=false",
            epochs=5,
        )
    ) == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1])
    assert lrs(
        train(cli, "optimizer.lr=0.4", "scheduler=exponential", "scheduler.gamma=0.5", "trainer.checkpoints=false")
    ) == pytest.approx([0.4, 0.2, 0.1])
    expected = [0.4 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)]
    assert lrs(
        train(cli, "optimizer.lr=0.4", "scheduler=cosine", "scheduler.t_max=4", "trainer.checkpoints=false", epochs=4)
    ) == pytest.approx(expected)


def test_plateau_reduces_when_the_monitored_metric_stalls(cli):
    # lr 1e-6: nothing moves, so val/loss never improves by the relative threshold.
    result = train(
        cli,
        "optimizer.lr=1e-6",
        "scheduler=plateau",
        "scheduler.monitor=val/loss",
        "scheduler.patience=1",
        "scheduler.factor=0.5",
        "trainer.checkpoints=false",
        epochs=5,
    )
    assert lrs(result) == pytest.approx([1e-6, 1e-6, 1e-6, 0.5e-6, 0.5e-6])


def test_halving_halves_after_n_stalled_epochs_and_stops_at_the_kth_halving(cli):
    result = train(
        cli,
        "optimizer.lr=1e-6",
        "scheduler=halving",
        "scheduler.patience=2",
        "scheduler.max_halvings=2",
        "trainer.checkpoints=false",
        epochs=20,
    )
    # epoch 1 is the best; epochs 2-3 stall -> halve; epochs 4-5 stall -> second halving -> stop.
    assert lrs(result) == pytest.approx([1e-6, 1e-6, 1e-6, 0.5e-6, 0.5e-6])
    results = results_of(result)
    assert results["stop_reason"] == "schedule_done" and results["epochs_run"] == 5


def test_halving_keeps_the_lr_while_validation_accuracy_improves():
    optimizer = torch.optim.SGD(tiny_model().parameters(), lr=1.0)
    schedule = build_scheduler(member("scheduler", "halving", patience=1, max_halvings=3), optimizer)
    stops = [schedule.step({"val/accuracy": acc}) for acc in (0.5, 0.6, 0.7, 0.7, 0.8, 0.8, 0.8)]
    assert stops == [False, False, False, False, False, False, True]
    assert optimizer.param_groups[0]["lr"] == 0.125


@pytest.mark.parametrize("name", ["none", "step", "exponential", "cosine", "plateau", "halving"])
def test_scheduler_state_survives_a_checkpoint(tmp_path, name):
    def fresh():
        optimizer = torch.optim.SGD(tiny_model().parameters(), lr=1.0)
        cfg = member("scheduler", name, **({"patience": 1} if name in ("plateau", "halving") else {}))
        return optimizer, build_scheduler(cfg, optimizer)

    rows = [{"val/loss": v, "val/accuracy": 1 - v} for v in (1.0, 0.9, 0.95, 0.97, 0.99, 0.98)]
    optimizer, schedule = fresh()
    for row in rows[:3]:
        optimizer.step()
        schedule.step(row)
    torch.save({"s": schedule.state_dict(), "o": optimizer.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    optimizer2, schedule2 = fresh()
    optimizer2.load_state_dict(saved["o"])
    schedule2.load_state_dict(saved["s"])
    for row in rows[3:]:
        optimizer.step(), optimizer2.step()
        assert schedule.step(row) == schedule2.step(row)
        assert optimizer.param_groups[0]["lr"] == optimizer2.param_groups[0]["lr"]


# ---------------------------------------------------------------- regularization


def test_l2_conventions_set_the_optimizer_weight_decay(cli):
    # 256 training examples, batch 32, lambda 0.5
    runs = sweep(
        cli,
        "optimizer=sgd",
        "regularization=l2",
        "regularization.l2=0.5",
        "regularization.l2_convention=pytorch,per_example,per_batch",
        epochs=1,
    )
    expected = {"pytorch": 0.5, "per_example": 0.5 / 256, "per_batch": 0.5 * 32 / 256}
    for convention, decay in expected.items():
        weights, biases = last_checkpoint(runs[f"regularization.l2_convention={convention}"])["optimizer"][
            "param_groups"
        ]
        assert weights["weight_decay"] == pytest.approx(decay)
        assert biases["weight_decay"] == 0.0
        assert [len(g["params"]) for g in (weights, biases)] == [
            2,
            2,
        ]  # 784-128-4 MLP: 2 weight matrices, 2 bias vectors


def test_l2_biases_puts_every_parameter_in_the_decayed_group():
    groups = param_groups(
        tiny_model(), RegularizationConfig(l2=0.5, l2_biases=True, l2_convention="per_batch"), 100, 10
    )
    assert len(groups) == 1 and groups[0]["weight_decay"] == pytest.approx(0.05) and len(groups[0]["params"]) == 4


def test_per_example_l2_is_nielsens_update_rule():
    # network2.py: w <- (1 - eta * lambda / n) w - eta * mean gradient
    model, lam, n, eta = tiny_model(), 5.0, 1000, 0.1
    optimizer = torch.optim.SGD(
        param_groups(model, RegularizationConfig(l2=lam, l2_convention="per_example"), n, 10), lr=eta
    )
    x, y = torch.randn(10, 1, 8, 8), torch.randint(4, (10,))
    F.cross_entropy(model(x), y).backward()
    w, b = model[1].weight, model[1].bias
    expected_w = (1 - eta * lam / n) * w.detach() - eta * w.grad
    expected_b = b.detach() - eta * b.grad
    optimizer.step()
    assert torch.allclose(w, expected_w, atol=1e-6) and torch.allclose(b, expected_b, atol=1e-6)


def test_l1_penalty_is_l1_times_the_sum_of_absolute_weights(cli):
    model = tiny_model()
    hooks = build_hooks(RegularizationConfig(l1=0.01), model)
    expected = 0.01 * (model[1].weight.abs().sum() + model[3].weight.abs().sum())
    assert len(hooks.penalties) == 1 and torch.allclose(hooks.penalties[0](), expected)
    runs = sweep(cli, "optimizer=sgd", "regularization=l1", "regularization.l1=0,0.01", epochs=2)
    plain = last_checkpoint(runs["regularization.l1=0"])["model"]
    sparse = last_checkpoint(runs["regularization.l1=0.01"])["model"]
    assert sparse["1.weight"].abs().sum() < 0.8 * plain["1.weight"].abs().sum()


def test_max_norm_and_gradient_clipping_bound_weights_and_gradients(cli, monkeypatch):
    # N(0, 1) initial weights: row norms ~ 8 and large gradients, far above every bound.
    seen = spy_on_sgd(monkeypatch)
    run = train(
        cli,
        "model.init=nielsen_large",
        "regularization=[max_norm,clip]",
        "regularization.max_norm=0.5",
        "regularization.clip_grad_norm=0.01",
        "regularization.clip_grad_value=0.001",
        epochs=1,
    )
    state = last_checkpoint(run)["model"]
    for name in ("1.weight", "3.weight"):
        assert state[name].norm(dim=1).max() <= 0.5 + 1e-5
    assert state["1.bias"].abs().max() > 0.5  # biases are not constrained
    assert len(seen) == 8  # 256 examples / batch 32
    for grads in seen:
        assert torch.cat([g.reshape(-1) for g in grads]).norm() <= 0.01 * (1 + 1e-4)
        assert max(g.abs().max().item() for g in grads) <= 0.001 * (1 + 1e-6)


def test_gradient_clipping_by_norm_rescales_all_gradients_together():
    model = tiny_model()
    hooks = build_hooks(RegularizationConfig(clip_grad_norm=0.01), model)
    F.cross_entropy(model(torch.randn(8, 1, 8, 8)), torch.randint(4, (8,))).backward()
    before = [p.grad.clone() for p in model.parameters()]
    hooks.after_backward[0]()
    ratios = [(p.grad / g)[g != 0] for p, g in zip(model.parameters(), before)]
    assert torch.allclose(torch.cat(ratios), torch.cat(ratios)[0])  # one common factor: the direction is kept
    assert torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm() == pytest.approx(0.01, rel=1e-4)


def spy_on_sgd(monkeypatch):
    """Record every parameter's gradient when SGD steps (after the loop's after_backward hooks)."""
    seen = []
    original = torch.optim.SGD.step

    def step(self, closure=None):
        loss = original(self, closure)  # the loop's closure computes the gradients inside step
        seen.append([p.grad.detach().clone() for g in self.param_groups for p in g["params"]])
        return loss

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    return seen


def test_input_noise_and_augmentation_are_batch_transforms():
    model = tiny_model()
    hooks = build_hooks(RegularizationConfig(input_noise=0.3, augment_shift=1), model)
    assert len(hooks.batch_transforms) == 2
    torch.manual_seed(0)
    x = torch.zeros(4096, 1, 8, 8)
    noisy = hooks.batch_transforms[1](x)
    assert noisy.std().item() == pytest.approx(0.3, rel=0.02) and noisy.mean().abs() < 0.01


def test_weight_noise_perturbs_training_forwards_but_not_the_weights(cli):
    # lr ~ 0: the weights must come back unchanged; the logged train loss (noisy forwards) differs.
    runs = sweep(cli, "optimizer=sgd", "optimizer.lr=1e-12", "regularization.weight_noise=0,0.5", epochs=1)
    clean, noisy = runs["regularization.weight_noise=0"], runs["regularization.weight_noise=0.5"]
    for key, value in last_checkpoint(clean)["model"].items():
        assert torch.allclose(last_checkpoint(noisy)["model"][key], value, atol=1e-6), key
    assert metrics(noisy)[0]["train/loss"] != pytest.approx(metrics(clean)[0]["train/loss"], abs=1e-4)
    assert metrics(noisy)[0]["val/loss"] == pytest.approx(metrics(clean)[0]["val/loss"], abs=1e-5)


def test_weight_noise_gradient_is_taken_at_the_noisy_weights():
    layer = nn.Linear(3, 1, bias=False)
    noise = WeightNoise([layer.weight], std=1.0)
    clean = layer.weight.detach().clone()
    x = noise.add(torch.ones(1, 3))
    noisy = layer.weight.detach().clone()
    (layer(x) ** 2).sum().backward()
    noise.remove()
    assert torch.equal(layer.weight, clean) and not torch.equal(noisy, clean)
    assert torch.allclose(layer.weight.grad, 2 * (noisy.sum()) * torch.ones(1, 3))


def test_random_shifts_are_whole_pixel_translations_with_zero_fill():
    torch.manual_seed(0)
    x = torch.rand(32, 1, 6, 6) + 1  # no zeros inside, so the fill is visible
    out = random_affine(x, max_shift=1, max_degrees=0)
    padded = F.pad(x, (1, 1, 1, 1))
    candidates = torch.stack(
        [padded[:, :, 1 - dy : 7 - dy, 1 - dx : 7 - dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], dim=1
    )
    match = (candidates == out.unsqueeze(1)).flatten(2).all(2)  # (32, 9): which shift each image got
    assert match.any(1).all()
    assert len(set(match.float().argmax(1).tolist())) > 3  # each image draws its own shift


def test_small_rotations_turn_images_about_their_centre():
    size = 15
    yy, xx = torch.meshgrid(torch.arange(size) - 7.0, torch.arange(size) - 7.0, indexing="ij")
    blob = torch.exp(-(xx**2 + yy**2) / 8).expand(16, 1, size, size)
    bar = ((yy.abs() < 1) & (xx.abs() < 5)).float().expand(16, 1, size, size)  # a short horizontal bar
    torch.manual_seed(0)
    assert (random_affine(blob, 0, 20) - blob).abs().max() < 0.05  # round blob: unchanged
    turned = random_affine(bar, 0, 20)
    assert ((turned - bar).abs().amax((1, 2, 3)) > 0.1).sum() >= 8  # the bar tilts, by its own angle in each image
    assert turned.sum((1, 2, 3)).sub(bar.sum((1, 2, 3))).abs().max() < 1.5  # its mass stays on the image
    with pytest.raises(ValueError, match="N x C x H x W"):
        random_affine(torch.rand(4, 64), 1, 0)


def test_augment_and_noise_presets_run_from_the_cli(cli):
    # (The synthetic prototypes are pixel noise, so shifting them is no help here; MNIST is another matter.)
    rows = metrics(train(cli, "regularization=[augment,noise]", "trainer.checkpoints=false", epochs=2))
    assert all(math.isfinite(row["train/loss"]) for row in rows)


def test_regularization_files_compose_and_keys_override():
    cfg = composed(
        "regularization=[l2,dropout,max_norm]", "regularization.dropout_style=scale_at_test", "regularization.l2=0.3"
    )
    reg = cfg.regularization
    assert (reg.l2, reg.dropout, reg.max_norm, reg.dropout_style) == (0.3, 0.5, 4.0, "scale_at_test")
    assert (
        composed("regularization=l2_dropout").regularization == composed("regularization=[l2,dropout]").regularization
    )


def test_label_smoothing_reaches_the_loss():
    reg = composed("regularization=label_smoothing").regularization
    out, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    target = torch.full((5, 4), 0.1 / 4) + 0.9 * F.one_hot(y, 4)
    expected = -(target * out.log_softmax(1)).sum(1).mean()
    assert torch.allclose(build_loss("cross_entropy", reg)(out, y), expected)


@pytest.mark.parametrize(
    "override, words",
    [
        ("regularization.l2_convention=nielsen", ["regularization.l2_convention", "per_example"]),
        ("regularization.dropout_style=dropconnect", ["regularization.dropout_style", "scale_at_test"]),
        ("regularization.max_norm=-1", ["regularization.max_norm", ">= 0"]),
        ("regularization.label_smoothing=1", ["regularization.label_smoothing", "[0, 1)"]),
        ("optimizer=nesterov optimizer.momentum=0", ["optimizer.nesterov", "momentum > 0"]),
        ("optimizer=lbfgs optimizer.line_search_fn=armijo", ["optimizer.line_search_fn", "strong_wolfe"]),
        ("scheduler=halving scheduler.max_halvings=0", ["scheduler.max_halvings", "at least 1"]),
        ("scheduler=plateau scheduler.monitor=val/acc", ["scheduler.monitor", "val/accuracy"]),
        ("early_stopping.max_minutes=0", ["early_stopping.max_minutes", "> 0"]),
        ("early_stopping.policy=never", ["early_stopping.policy", "no_improvement_in_n"]),
    ],
)
def test_bad_knob_values_fail_before_training_naming_the_key(cli, override, words):
    result = cli("train", *BASE, *override.split())
    assert result.code == 2
    for word in words:
        assert word in result.err


# ---------------------------------------------------------------- losses


def test_losses_match_hand_computations():
    z = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
    y = torch.tensor([2, 0])
    onehot = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731

    quadratic = sum(0.5 * sum((sig(z[i, j].item()) - onehot[i, j].item()) ** 2 for j in range(3)) for i in range(2)) / 2
    assert build_loss("quadratic")(z, y).item() == pytest.approx(quadratic)

    xent = (
        sum(
            -sum(
                t * math.log(sig(v)) + (1 - t) * math.log(1 - sig(v)) for v, t in zip(z[i].tolist(), onehot[i].tolist())
            )
            for i in range(2)
        )
        / 2
    )
    assert build_loss("sigmoid_cross_entropy")(z, y).item() == pytest.approx(xent)

    mse = sum((z[i, j].item() - onehot[i, j].item()) ** 2 for i in range(2) for j in range(3)) / 6
    assert build_loss("mse")(z, y).item() == pytest.approx(mse)

    nll = sum(-z[i, y[i]].item() + math.log(sum(math.exp(v) for v in z[i].tolist())) for i in range(2)) / 2
    assert build_loss("cross_entropy")(z, y).item() == pytest.approx(nll)


def test_reconstruction_losses_compare_with_the_input():
    x = torch.tensor([[[[0.0, 1.0], [0.25, 0.5]]]])
    out = torch.tensor([[[[0.1, 0.8], [0.25, 0.6]]]])
    bce = (
        -sum(t * math.log(a) + (1 - t) * math.log(1 - a) for t, a in zip(x.flatten().tolist(), out.flatten().tolist()))
        / 4
    )
    assert build_loss("bce")(out, x).item() == pytest.approx(bce)
    assert build_loss("mse")(out, x).item() == pytest.approx(((out - x) ** 2).mean().item())
    assert build_loss("bce")(out.flatten(1), x).item() == pytest.approx(bce)  # a flat output is fine too
    with pytest.raises(ValueError, match="sigmoid_cross_entropy"):
        build_loss("bce")(out * 3 - 1, x)


@pytest.mark.parametrize("name", ["cross_entropy", "mse", "quadratic", "sigmoid_cross_entropy"])
def test_a_loss_over_the_whole_epoch_is_the_mean_of_its_batches(name):
    torch.manual_seed(0)
    z, y = torch.randn(12, 4), torch.randint(4, (12,))
    loss = build_loss(name)
    batches = torch.stack([loss(z[i : i + 4], y[i : i + 4]) for i in (0, 4, 8)])
    assert loss(z, y).item() == pytest.approx(batches.mean().item(), rel=1e-6)


def test_nielsens_quadratic_is_five_times_mean_mse_on_ten_sigmoid_outputs():
    torch.manual_seed(0)
    z, y = torch.randn(7, 10), torch.randint(10, (7,))
    assert build_loss("quadratic")(z, y).item() == pytest.approx(
        5 * nn.MSELoss()(torch.sigmoid(z), F.one_hot(y, 10).float()).item(), rel=1e-6
    )


def test_every_classification_loss_trains_with_label_smoothing(cli):
    names = ["cross_entropy", "mse", "quadratic", "sigmoid_cross_entropy"]
    runs = sweep(
        cli,
        "optimizer=sgd",
        "optimizer.lr=2",
        f"loss={','.join(names)}",
        "regularization=label_smoothing",
        "trainer.checkpoints=false",
    )
    assert len(runs) == 4
    for key, run in runs.items():
        rows = metrics(run)
        assert rows[-1]["train/loss"] < rows[0]["train/loss"], key
    assert {"cross_entropy", "mse", "quadratic", "sigmoid_cross_entropy", "bce"} <= set(LOSSES.names())


# ---------------------------------------------------------------- early stopping


def test_no_improvement_in_n_is_patience_under_nielsens_name():
    history = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.69]
    stops = {}
    for policy in ("patience", "no_improvement_in_n"):
        stopper = EarlyStopping(EarlyStoppingConfig(policy=policy, patience=3))
        stops[policy] = []
        for epoch, acc in enumerate(history, 1):
            stopper.update(epoch, {"val/accuracy": acc})
            stops[policy].append(stopper.should_stop)
    assert stops["patience"] == stops["no_improvement_in_n"] == [False] * 7 + [True]


def test_no_improvement_in_n_stops_the_run(cli):
    result = train(
        cli,
        "optimizer.lr=1e-6",
        "early_stopping=no_improvement_in_n",
        "early_stopping.patience=2",
        "trainer.checkpoints=false",
        epochs=20,
    )
    results = results_of(result)
    assert results["stop_reason"] == "early_stopping" and results["epochs_run"] == 3 and results["best_epoch"] == 1


def test_a_wall_time_limit_stops_any_policy(cli):
    runs = sweep(
        cli,
        "optimizer=sgd",
        "early_stopping=none,patience,no_improvement_in_n,time_limit",
        "early_stopping.max_minutes=1e-6",
        "trainer.checkpoints=false",
        epochs=20,
    )
    assert len(runs) == 4
    for key, run in runs.items():
        results = results_of(run)
        assert results["stop_reason"] == "time_limit" and results["epochs_run"] == 1, key


def test_stopper_reports_its_reason():
    stopper = EarlyStopping(EarlyStoppingConfig(policy="patience", patience=1, max_minutes=1e-9))
    stopper.update(1, {"val/accuracy": 0.5})
    assert stopper.should_stop and stopper.stop_reason == "time_limit" and "wall-time" in stopper.explanation()
    stopper.update(2, {"val/accuracy": 0.4})
    assert stopper.stop_reason == "early_stopping"
    patient = EarlyStopping(EarlyStoppingConfig(policy="none"))
    assert not patient.should_stop and patient.stop_reason is None


def test_groups_without_l2_are_merged_for_speed():
    from runner.build.optim import merge_equal_groups

    groups = param_groups(tiny_model(), RegularizationConfig(l2=0.0), 100, 10)
    assert len(groups) == 2 and len(merge_equal_groups(groups)) == 1
    assert len(merge_equal_groups(param_groups(tiny_model(), RegularizationConfig(l2=0.1), 100, 10))) == 2
