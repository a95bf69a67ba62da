"""The per-layer checks: gradient norms at initialisation (Nielsen ch. 5), dead ReLUs and saturated
sigmoid/tanh units over a batch, and the update-to-weight ratio after a few optimizer steps
(Karpathy, CS231n). Thresholds: runner/analyse/diagnose/checks.py and docs/diagnose.md."""

import math
from typing import Dict, List

import torch
from torch import nn

from runner.analyse.diagnose.checks import (
    DEAD_OK,
    DEAD_WARN,
    GRAD_RATIO_OK,
    GRAD_RATIO_WARN,
    NA,
    OK,
    PROBLEM,
    SATURATED_OK,
    SATURATED_WARN,
    UPDATE_OK,
    UPDATE_WARN,
    WARNING,
    Check,
    band,
)
from runner.analyse.diagnose.probe import MIN_EXAMPLES, Probe, train_steps, weights

SIGMOID_TAIL = 0.01  # sigmoid below 0.01 or above 0.99: its slope s(1-s) < 0.0099, 4% of its 0.25 peak
TANH_TAIL = 0.99  # |tanh| above 0.99: its slope 1 - t^2 < 0.02, 2% of its peak 1


def gradient_norms(probe: Probe) -> Check:
    """RMS gradient of each weight tensor on the examples; the first layer's against the last
    hidden layer's (the output layer's where there is one hidden layer or none)."""
    model, _, _ = probe.fresh()
    model.zero_grad(set_to_none=True)
    probe.loss(model, probe.x, probe.target).backward()
    rms = {name: rms_of(p.grad) for name, p in weights(model)}
    if len(rms) < 2:
        return Check("gradient ratio", "-", "-", NA, "one weight layer: nothing to compare", details={"rms": rms})
    names = list(rms)
    last = names[-2] if len(names) >= 3 else names[-1]
    first_rms, last_rms = rms[names[0]], rms[last]
    ratio = first_rms / last_rms if last_rms > 0 else (1.0 if first_rms == 0 else math.inf)
    spread = max(ratio, 1 / ratio) if ratio > 0 else math.inf
    verdict = band(spread, GRAD_RATIO_OK, GRAD_RATIO_WARN)
    pair = f"{names[0]} vs {last}"
    advice = {
        OK: f"{pair}: gradients at a similar scale",
        WARNING: f"{pair}: gradient scale drifts with depth",
        PROBLEM: f"{pair}: " + ("vanishing" if ratio < 1 else "exploding") + ": try relu, batch norm, fewer layers",
    }[verdict]
    measured = f"{ratio:.3g}"
    expected = f"{1 / GRAD_RATIO_OK:g} .. {GRAD_RATIO_OK:g}"
    details = {"rms": rms, "first": names[0], "last": last}
    return Check("gradient ratio", measured, expected, verdict, advice, ratio, details)


def rms_of(grad) -> float:
    return 0.0 if grad is None else grad.detach().pow(2).mean().sqrt().item()


def activations(probe: Probe) -> Check:
    """Run the examples once with hooks on every ReLU, sigmoid and tanh module."""
    model, _, _ = probe.fresh()
    seen: Dict[str, list] = {"relu": [], "sigmoid": [], "tanh": []}
    kinds = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
    handles = [
        module.register_forward_hook(lambda m, i, out, kind=kinds[type(module)]: seen[kind].append(out.detach()))
        for module in model.modules()
        if type(module) in kinds
    ]
    with torch.no_grad():
        model(probe.x)
    for handle in handles:
        handle.remove()
    if not any(seen.values()):
        return Check("dead/saturated units", "-", "-", NA, "no ReLU, sigmoid or tanh modules")
    dead = fraction([(out.reshape(len(out), -1) == 0).all(0) for out in seen["relu"]])
    tails = [(out - 0.5).abs() > 0.5 - SIGMOID_TAIL for out in seen["sigmoid"]]
    saturated = fraction(tails + [out.abs() > TANH_TAIL for out in seen["tanh"]])
    few = len(probe.x) < MIN_EXAMPLES  # a small data set: too few examples to call a unit dead
    dead_verdict = NA if few else band(dead, DEAD_OK, DEAD_WARN)
    verdict = worst(dead_verdict, band(saturated, SATURATED_OK, SATURATED_WARN))
    advice = {
        OK: "units respond to the inputs",
        WARNING: "many units are flat: check biases and init scale",
        PROBLEM: "most units are flat (zero or saturated): no gradient flows through them",
    }[verdict]
    measured = f"dead {'-' if few else f'{100 * dead:.3g}%'}, sat {100 * saturated:.3g}%"
    expected = f"<= {100 * DEAD_OK:g}% each"
    details = {"dead_relu_fraction": dead, "saturated_fraction": saturated}
    return Check("dead/saturated units", measured, expected, verdict, advice, max(dead, saturated), details)


def fraction(masks: List[torch.Tensor]) -> float:
    total = sum(m.numel() for m in masks)
    return sum(m.sum().item() for m in masks) / total if total else 0.0


def worst(*verdicts: str) -> str:
    order = [NA, OK, WARNING, PROBLEM]
    return max(verdicts, key=order.index)


def update_ratios(probe: Probe) -> Check:
    """||W after - W before|| / ||W before|| of each weight tensor, the mean over the first few steps,
    each on the next training batch of the configured size (cycling through the examples), as
    training goes. The mean, not the last step: a far too large lr can blow the weights up on the
    first step, after which each step is small next to the blown-up weights."""
    model, optimizer, hooks = probe.fresh()
    if getattr(optimizer, "needs_closure", False):
        return Check("update/weight ratio", "-", "-", NA, "L-BFGS sizes its own steps (line search): no lr to judge")
    n = min(probe.cfg.trainer.batch_size, len(probe.x))
    starts = range(0, len(probe.x) - n + 1, n)
    sums = {name: 0.0 for name, _ in weights(model)}
    steps = probe.sizes.update_steps
    for i in range(steps):
        before = {name: p.detach().clone() for name, p in weights(model)}
        rows = slice(starts[i % len(starts)], starts[i % len(starts)] + n)
        train_steps(probe, model, optimizer, hooks, probe.x[rows], probe.target[rows], 1)
        for name, p in weights(model):
            sums[name] += ratio(p.detach(), before[name])
    ratios = {name: total / steps for name, total in sums.items()}
    if not ratios:
        return Check("update/weight ratio", "-", "-", NA, "no weight tensors")
    low, high = min(ratios.values()), max(ratios.values())
    finite = all(math.isfinite(r) for r in ratios.values())
    verdict = worst(ratio_verdict(low), ratio_verdict(high)) if finite else PROBLEM
    advice = {
        OK: "learning rate is in the healthy range",
        WARNING: "updates "
        + (
            "fast: lower the lr if the loss is unstable"
            if high > UPDATE_OK[1]
            else "slow: raise the lr if it learns slowly"
        ),
        PROBLEM: "updates "
        + ("too large: lower the lr" if high > UPDATE_WARN[1] or not finite else "vanish: raise the lr"),
    }[verdict]
    measured = f"{low:.2g} .. {high:.2g}"
    expected = f"{UPDATE_OK[0]:g} .. {UPDATE_OK[1]:g}"
    return Check("update/weight ratio", measured, expected, verdict, advice, high, {"ratios": ratios, "batch": n})


def ratio(after: torch.Tensor, before: torch.Tensor) -> float:
    norm = before.norm().item()
    change = (after - before).norm().item()
    return change / norm if norm > 0 else (0.0 if change == 0 else math.inf)


def ratio_verdict(value: float) -> str:
    if UPDATE_OK[0] <= value <= UPDATE_OK[1]:
        return OK
    return WARNING if UPDATE_WARN[0] <= value <= UPDATE_WARN[1] else PROBLEM
