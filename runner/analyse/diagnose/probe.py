"""What the pre-training checks run on: the parts `runner train` would train with
(runner/build/assemble.py's `assemble`), a few hundred training examples of the real data, and
fresh copies of the model and optimizer so that no check sees another check's steps."""

import copy
from dataclasses import dataclass
from typing import Callable, List, Tuple

import torch
from torch import nn

from runner.analyse.gradcheck import disable_dropout
from runner.build import assemble as assembly
from runner.build.device import resolve_device
from runner.build.optim import build_optimizer
from runner.build.regularization import build_hooks, param_groups

# A healthy ReLU unit is zero on an example about half the time: zero on all of 32 by chance is
# a 2^-32 event, so a unit zero on every one of them is dead. Fewer examples could not tell.
MIN_EXAMPLES = 32


@dataclass
class Sizes:
    examples: int  # training examples for the initial loss, gradient norms and activations
    batch: int  # examples of the one batch the model overfits (and its zeroed copy)
    steps: int  # optimizer steps on that batch
    update_steps: int  # optimizer steps before the update-to-weight ratio is read


@dataclass
class Probe:
    cfg: object
    parts: assembly.Parts
    device: torch.device
    x: torch.Tensor  # the first `examples` training inputs, as training sees them
    target: torch.Tensor  # their targets (labels, or the input itself for a reconstruction)
    sizes: Sizes

    @property
    def task(self):
        return self.parts.task

    def fresh(self) -> Tuple[nn.Module, torch.optim.Optimizer, object]:
        """A copy of the initial model with a new optimizer and regularization hooks over it, built
        as assemble builds them (an optimizer does not survive a deepcopy: its own attributes are lost)."""
        cfg, model = self.cfg, copy.deepcopy(self.parts.model)
        groups = param_groups(model, cfg.regularization, len(self.parts.data.train), cfg.trainer.batch_size)
        return model.train(), build_optimizer(cfg.optimizer, groups), build_hooks(cfg.regularization, model)

    def loss(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.parts.loss_fn(model(x), target)


def make_probe(cfg, sizes: Sizes) -> Probe:
    """Assemble the run's parts as training does, seeded as training is; dropout is switched off
    (rates 0) so that each check measures the model, not the noise of one dropout mask."""
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.trainer.device)
    parts = assembly.assemble(cfg, device)
    disable_dropout(parts.model)
    train = parts.data.train
    n = min(sizes.examples, len(train))
    sizes = Sizes(n, min(sizes.batch, n), sizes.steps, sizes.update_steps)
    x = train.inputs(slice(0, n))
    target = parts.task.target(x, train.y[:n])
    return Probe(cfg, parts, device, x, target, sizes)


def train_steps(probe: Probe, model, optimizer, hooks, x, target, steps: int, after: Callable = None) -> List[float]:
    """`steps` optimizer steps on one fixed batch, as fit's step runs them (penalties, gradient
    hooks, the closure for L-BFGS); returns the loss before each step. after(i): called after step i."""
    losses = []
    for i in range(steps):

        def closure():
            optimizer.zero_grad(set_to_none=True)
            loss = probe.loss(model, x, target)
            total = hooks.backward(loss)
            if len(losses) == i:
                losses.append(loss.item())
            return total

        if getattr(optimizer, "needs_closure", False):
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        for hook in hooks.after_step:
            hook()
        if after is not None:
            after(i)
    return losses


def weights(model: nn.Module) -> List[Tuple[str, nn.Parameter]]:
    """The weight tensors (two or more dimensions: linear, convolution, embedding, recurrent), in
    order from input to output: the layers whose gradients and updates the checks compare."""
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
