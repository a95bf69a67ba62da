"""`runner gradcheck [overrides...]`: check the configured model's gradients by finite differences.

The config is composed and validated exactly as for `runner train`. The model
and loss it names are built in float64 on the CPU and run on the first few
training examples of the configured data; for a few sampled entries of every
parameter tensor, the autograd gradient of

    loss(model(x), target) + penalties (L1, a model's own penalty)

is compared with the central difference (f(w + h) - f(w - h)) / 2h. Dropout is
switched off (rates set to 0) and every evaluation replays the same random
numbers, so a model that draws noise in training (a denoising autoencoder) is
one fixed, differentiable function. The model stays in training mode, so
penalties computed from the training forward are checked too.

relative error = |autograd - numeric| / max(|autograd|, |numeric|, floor):
entries whose gradient is below `floor` are judged by their absolute error.
Exit status 0 when every checked entry is within the tolerance, 1 otherwise,
2 for a bad command line.
"""

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Callable, List

import torch
from torch import nn

SEED = 0  # the random numbers every evaluation replays
# compose(overrides): the config of a command line, composed and checked as `runner train` checks
# it; raises PreflightError. runner/cli.py hands it over (runner/launch/ sits above analyse/).
Compose = Callable[[List[str]], object]


@dataclass
class TensorCheck:
    name: str
    shape: tuple
    checked: int
    max_grad: float
    max_abs_error: float
    max_rel_error: float


def parse_args(args: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="runner gradcheck",
        description="Compare autograd gradients with central finite differences for the configured model and loss.",
        epilog="example: runner gradcheck model=cnn data=synthetic data.image_size=12 loss=cross_entropy",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for `runner train`")
    parser.add_argument("--examples", type=int, default=4, help="training examples in the batch (default 4)")
    parser.add_argument("--entries", type=int, default=5, help="entries sampled per parameter tensor (default 5)")
    parser.add_argument("--eps", type=float, default=1e-6, help="finite-difference step h (default 1e-6)")
    parser.add_argument("--tol", type=float, default=1e-5, help="largest relative error that passes (default 1e-5)")
    parser.add_argument("--floor", type=float, default=1e-3, help="relative-error denominator floor (default 1e-3)")
    parsed = parser.parse_intermixed_args(args)
    for key in ("examples", "entries"):
        if getattr(parsed, key) < 1:
            parser.error(f"--{key} must be at least 1")
    for key in ("eps", "tol", "floor"):
        if not getattr(parsed, key) > 0:
            parser.error(f"--{key} must be > 0")
    return parsed


def main(args: List[str], compose: Compose) -> int:
    if any(a in ("-m", "--multirun") for a in args):  # before argparse, which would answer with its usage
        print("runner: gradcheck checks one config; drop -m and the sweep lists", file=sys.stderr)
        return 2
    opts = parse_args(args)
    from runner.config.schema import validate
    from runner.errors import ConfigError, PreflightError

    try:
        composed = compose(opts.overrides)
    except PreflightError as err:
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2

    cfg = validate(composed)
    try:
        rows, value = run_gradcheck(cfg, opts.examples, opts.entries, opts.eps, opts.floor)
    except ConfigError as err:  # found while building (e.g. a kernel larger than the image)
        print(f"runner: config error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    worst = max(rows, key=lambda r: r.max_rel_error, default=None)
    largest = worst.max_rel_error if worst else 0.0
    passed = math.isfinite(value) and largest <= opts.tol
    entries = sum(r.checked for r in rows)
    what = f"model {cfg.model.name}, loss {cfg.loss}, {opts.examples} examples, float64, h={opts.eps:g}, objective {value:.6g}"
    if passed:
        print(
            f"gradcheck passed: largest relative error {largest:.3g} <= {opts.tol:g} over {entries} entries of {len(rows)} parameter tensors ({what})"
        )
        return 0
    where = f" (in {worst.name})" if worst else ""
    print(
        f"gradcheck FAILED: largest relative error {largest:.3g}{where} > {opts.tol:g} over {entries} entries of {len(rows)} parameter tensors ({what})"
    )
    return 1


def run_gradcheck(cfg, n_examples: int, n_entries: int, eps: float, floor: float):
    """Returns (one TensorCheck per trainable parameter tensor, the objective's value)."""
    from runner.build.assemble import model_and_task
    from runner.build.data import load_dataset
    from runner.build.losses import build_loss
    from runner.build.regularization import build_hooks

    torch.set_num_threads(cfg.trainer.threads or 1)  # a few examples: more threads only add overhead
    torch.manual_seed(cfg.seed)  # the model's initial weights
    reg = dataclasses.replace(cfg.regularization, dropout=0.0, input_dropout=0.0)
    data = load_dataset(cfg.data)  # on the CPU, as stored: the batch becomes float64 below
    model, task = model_and_task(
        cfg, data.input_shape, data.num_classes, regularization=reg, vocabulary=data.vocabulary
    )
    disable_dropout(model)
    model = model.double().train()
    x = data.train.inputs(slice(0, n_examples), torch.float64)
    target = task.target(x, data.train.y[:n_examples])
    loss_fn = task.adapt_loss(build_loss(cfg.loss, reg))  # a language model: over every position
    penalties = build_hooks(reg, model).penalties  # batch transforms (noise, augmentation) are left out

    def objective() -> torch.Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            total = loss_fn(model(x), target)
            for penalty in penalties:
                total = total + penalty()
        return total

    model.zero_grad(set_to_none=True)
    value = objective()
    value.backward()
    picker = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        grad = param.grad if param.grad is not None else torch.zeros_like(param)
        picks = torch.randperm(param.numel(), generator=picker)[:n_entries].tolist()
        abs_errors, rel_errors, sizes = [], [], []
        for flat in picks:
            where = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), param.shape))
            numeric = central_difference(objective, param, where, eps)
            analytic = grad[where].item()
            abs_error = abs(analytic - numeric)
            abs_errors.append(abs_error)
            rel_errors.append(
                abs_error / max(abs(analytic), abs(numeric), floor) if math.isfinite(abs_error) else math.inf
            )
            sizes.append(max(abs(analytic), abs(numeric)))
        rows.append(TensorCheck(name, tuple(param.shape), len(picks), max(sizes), max(abs_errors), max(rel_errors)))
    return rows, value.item()


def central_difference(objective, param: nn.Parameter, where: tuple, eps: float) -> float:
    with torch.no_grad():
        original = param[where].item()
        param[where] = original + eps
    plus = objective().item()
    with torch.no_grad():
        param[where] = original - eps
    minus = objective().item()
    with torch.no_grad():
        param[where] = original
    return (plus - minus) / (2 * eps)


def disable_dropout(model: nn.Module) -> None:
    """Rate 0 for every dropout layer, including per-layer rates a model config sets
    (nn.Dropout*, and any module with a `p` whose class name says Dropout)."""
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) or (
            "Dropout" in type(module).__name__ and hasattr(module, "p")
        ):
            module.p = 0.0


def format_table(rows: List[TensorCheck]) -> str:
    header = ("parameter", "shape", "checked", "max |grad|", "max abs err", "max rel err")
    lines = [
        (
            r.name,
            "x".join(map(str, r.shape)) or "scalar",
            str(r.checked),
            f"{r.max_grad:.3e}",
            f"{r.max_abs_error:.3e}",
            f"{r.max_rel_error:.3e}",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *(fmt(line) for line in lines)])
