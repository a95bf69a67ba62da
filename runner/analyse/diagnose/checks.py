"""The pre-training checks. Each takes the Probe and returns one Check: what was measured, what was
expected, a verdict (ok / warning / problem; n/a where the check does not apply) and one line of
advice. Thresholds and their sources: docs/diagnose.md, "Before training"."""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn

from runner.analyse.diagnose.probe import Probe, train_steps

OK, WARNING, PROBLEM, NA = "ok", "warning", "problem", "n/a"

INIT_LOSS_OK, INIT_LOSS_WARN = 0.2, 1.0  # relative distance from the expected initial loss
OVERFIT_OK, OVERFIT_WARN = 0.1, 0.5  # final / initial loss on the one batch
OVERFIT_FLAT = 0.9  # a reconstruction's loss has a floor above 0 (its code): a problem only when it barely moves
ZERO_OK = 0.5  # real-input loss at most half the zeroed-input loss
INDEPENDENT = 1e-6  # largest cross-example input gradient, relative to the example's own
GRAD_RATIO_OK, GRAD_RATIO_WARN = 10.0, 100.0  # first/last layer gradient RMS, either way
DEAD_OK, DEAD_WARN = 0.1, 0.5  # fraction of ReLU units zero on every example
SATURATED_OK, SATURATED_WARN = 0.1, 0.5  # fraction of sigmoid/tanh outputs in their flat tails
UPDATE_OK, UPDATE_WARN = (1e-4, 1e-2), (1e-5, 1e-1)  # update / weight norm per step (Karpathy: ~1e-3)


@dataclass
class Check:
    name: str
    measured: str
    expected: str
    verdict: str
    advice: str
    value: Optional[float] = None  # the measured number, for --json
    details: Dict[str, object] = field(default_factory=dict)


def band(value: float, ok: float, warn: float) -> str:
    """ok when value <= ok, warning when <= warn, otherwise (or not finite) problem."""
    if not math.isfinite(value) or value > warn:
        return PROBLEM
    return OK if value <= ok else WARNING


def expected_initial_loss(loss: str, task_name: str, classes: int) -> Optional[float]:
    """The loss of outputs that are all zero (scores that favour no class), the state a well
    initialised classifier starts near; None where no value holds for every data set."""
    if task_name == "reconstruction":
        return None
    return {
        "cross_entropy": math.log(classes),  # -ln(1/C) for every example
        "mse": 1.0 / classes,  # mean over C entries of (0 - onehot)^2
        "quadratic": classes / 8.0,  # 1/2 sum_j (sigmoid(0) - y_j)^2 = 1/2 * C * 1/4
        "sigmoid_cross_entropy": classes * math.log(2.0),  # -ln(1/2) for each of C sigmoid outputs
        "hinge": (classes - 1) / classes,  # margin 1 missed by every other class, averaged over C
    }.get(loss)


FORMULAS = {
    "cross_entropy": "ln C",
    "mse": "1/C",
    "quadratic": "C/8",
    "sigmoid_cross_entropy": "C ln 2",
    "hinge": "(C-1)/C",
}


def initial_loss(probe: Probe) -> Check:
    model, _, _ = probe.fresh()
    with torch.no_grad():
        measured = probe.loss(model, probe.x, probe.target).item()
    classes = probe.parts.data.num_classes
    expected = expected_initial_loss(probe.cfg.loss, probe.task.name, classes)
    if expected is None:
        return Check("initial loss", f"{measured:.4g}", "none", NA, "no reference value for this loss", measured)
    distance = abs(measured - expected) / expected
    verdict = band(distance, INIT_LOSS_OK, INIT_LOSS_WARN)
    advice = {
        OK: "starts where uniform predictions do",
        WARNING: "off the uniform start: check the output layer's init scale",
        PROBLEM: "far off the uniform start: init scale too large, or wrong loss/labels",
    }[verdict]
    what = f"{expected:.4g} ({FORMULAS[probe.cfg.loss]}, C={classes})"
    return Check("initial loss", f"{measured:.4g}", what, verdict, advice, measured, {"expected": expected})


def overfit_and_zero_input(probe: Probe) -> List[Check]:
    """Train one batch with its real inputs, and a copy with the inputs zeroed (the same targets)."""
    n, steps = probe.sizes.batch, probe.sizes.steps
    x, target = probe.x[:n], probe.target[:n]
    real = train_steps(probe, *probe.fresh(), x, target, steps + 1)  # the loss after the last step, too
    zeros = train_steps(probe, *probe.fresh(), torch.zeros_like(x), target, steps + 1)
    floored = probe.task.name == "reconstruction"
    return [overfit_check(real, n, steps, floored), zero_input_check(real[-1], zeros[-1], steps)]


def overfit_check(losses: List[float], n: int, steps: int, floored: bool = False) -> Check:
    """floored: the loss cannot reach 0 (a reconstruction through a smaller code)."""
    first, last = losses[0], losses[-1]
    ratio = last / first if first > 0 else math.inf
    reached = next((i for i, loss in enumerate(losses) if loss <= OVERFIT_OK * first), None)
    verdict = band(ratio, OVERFIT_OK, OVERFIT_FLAT if floored else OVERFIT_WARN) if math.isfinite(last) else PROBLEM
    advice = {
        OK: f"fits {n} examples" + (f" (10% of the start by step {reached})" if reached is not None else ""),
        WARNING: "fits slowly: raise the learning rate or capacity, then re-check",
        PROBLEM: "cannot fit one small batch: a bug, a broken loss, or lr far off",
    }[verdict]
    measured = f"{last:.3g} ({100 * ratio:.3g}% of start)" if math.isfinite(ratio) else f"{last:.3g}"
    expected = f"<= {100 * OVERFIT_OK:g}% of {first:.3g} in {steps}"
    return Check("overfit one batch", measured, expected, verdict, advice, last, {"losses": losses})


def zero_input_check(real: float, zero: float, steps: int) -> Check:
    ratio = real / zero if zero > 0 else (0.0 if real == 0 else math.inf)
    if not math.isfinite(ratio):
        verdict = PROBLEM
    else:
        verdict = OK if ratio <= ZERO_OK else WARNING if ratio < 1 else PROBLEM
    advice = {
        OK: "the inputs carry what the model learns",
        WARNING: "inputs help only a little: check the data reaches the model",
        PROBLEM: "learns as much from zeros as from the data: inputs ignored?",
    }[verdict]
    measured = f"{real:.3g} vs {zero:.3g}"
    expected = f"real <= {ZERO_OK:g} x zeroed"
    return Check("real vs zeroed input", measured, expected, verdict, advice, ratio, {"real": real, "zeroed": zero})


def batch_independence(probe: Probe) -> Check:
    """Karpathy's test: the gradient of example 0's outputs reaches example 0's input only."""
    model, _, _ = probe.fresh()
    n = min(8, len(probe.x))
    if n < 2:
        return Check("batch independence", "-", "0", NA, "needs two examples or more")
    train_ratio = cross_example_gradient(model, probe.x[:n])
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    details = {"train_mode": train_ratio, "batch_norm": has_bn}
    if train_ratio <= INDEPENDENT:
        return Check("batch independence", f"{train_ratio:.2g}", "0", OK, "examples do not mix", train_ratio, details)
    if has_bn:
        eval_ratio = cross_example_gradient(model.eval(), probe.x[:n])
        details["eval_mode"] = eval_ratio
        if eval_ratio <= INDEPENDENT:
            measured = f"{train_ratio:.2g} / {eval_ratio:.2g}"
            advice = "batch norm mixes a batch in train mode (expected); eval mode: independent"
            return Check("batch independence", measured, "train >0, eval 0", OK, advice, train_ratio, details)
    advice = "example 0's outputs depend on other examples: a reshape/view mixes the batch"
    return Check("batch independence", f"{train_ratio:.2g}", "0", PROBLEM, advice, train_ratio, details)


def cross_example_gradient(model: nn.Module, x: torch.Tensor) -> float:
    """max |d out[0] / d x[j]| over j > 0, relative to max |d out[0] / d x[0]|. Token ids have no
    gradient: the first embedding's output stands in for the input."""
    captured = []
    if x.is_floating_point():
        x = x.detach().clone().requires_grad_(True)
        captured.append(x)
        handle = None
    else:
        embedding = next(m for m in model.modules() if isinstance(m, nn.Embedding))

        def keep(module, inputs, out):  # returns None: a forward hook's return value replaces the output
            out.retain_grad()
            captured.append(out)

        handle = embedding.register_forward_hook(keep)
    try:
        model.zero_grad(set_to_none=True)
        model(x)[0].sum().backward()
    finally:
        if handle is not None:
            handle.remove()
    grad = captured[0].grad
    own, others = grad[0].abs().max().item(), grad[1:].abs().max().item()
    return others / own if own > 0 else (0.0 if others == 0 else math.inf)
