"""Training-time diagnostics (trainer.diagnostics=true; docs/diagnose.md, "Training-time diagnostics").

Once an epoch, after its last step, for each parameterised layer (a module holding parameters
of its own, named by its state_dict prefix, e.g. `layers.0`):
- grad_norm: the L2 norm of the layer's gradients from the epoch's last step (they are still
  there: the step clears them only before the next backward pass);
- weight_norm: the L2 norm of its parameters after that step;
- update_ratio: ||W_end - W_start|| / ||W_start|| over the whole epoch (W_start copied before
  its first step): per epoch, not per step, so no work at all is added to the steps.
Also the pictures: a histogram of each parameter, of each activation module's output over one
validation batch of trainer.batch_size examples (forward hooks, in eval mode, no gradients), and the first Conv2d's filters.

Nothing here draws random numbers or touches what trains: a run with diagnostics gives the
same numbers as one without. Built only when asked for (the loop holds None otherwise).
"""

import math
from typing import Dict, List, Tuple

import torch
from torch import nn

from runner.build.models.activations import ACTIVATIONS
from runner.config.metric_names import DIAGNOSTICS

ACTIVATION_MODULES = tuple(
    entry.build for entry in ACTIVATIONS.entries() if isinstance(entry.build, type) and entry.build is not nn.Identity
)
FILTER_PIXELS = 40  # a filter is scaled up (nearest neighbour) to about this many pixels a side: 5x5 -> 40x40
MAX_FILTERS = 64
FILTERS_PER_ROW = 10
ROOT = "model"  # the name of parameters held by the model itself (state_dict prefix "")


def column(quantity: str, layer: str) -> str:
    """("grad_norm", "layers.0") -> "diagnostics/grad_norm/layers.0": metrics.csv's column and TensorBoard's tag."""
    return f"{DIAGNOSTICS}/{quantity}/{layer}"


class TrainingDiagnostics:
    def __init__(self, model: nn.Module, batch_size: int):
        self.model = model  # the unwrapped module (not DDP's or torch.compile's wrapper)
        # The activations are taken over the first `batch_size` validation examples (trainer.batch_size):
        # TensorBoard's histogram of a conv layer's outputs over 1000 MNIST images took 3 s.
        self.batch_size = batch_size
        self.layers: List[Tuple[str, List[nn.Parameter]]] = [
            (name or ROOT, params)
            for name, module in model.named_modules()
            if (params := [p for p in module.parameters(recurse=False) if p.requires_grad])
        ]
        self.activations = [(name, m) for name, m in model.named_modules() if isinstance(m, ACTIVATION_MODULES)]
        self.first_conv = next(((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)
        self.start: List[List[torch.Tensor]] = []

    def epoch_starts(self) -> None:
        """Copy the weights before the epoch's first step (for the update ratio)."""
        self.start = [[p.detach().clone() for p in params] for _, params in self.layers]

    @torch.no_grad()
    def columns(self) -> Dict[str, float]:
        """{column: value} for the epoch's metrics row, computed on the device and read in one go."""
        values = []
        for (_, params), start in zip(self.layers, self.start):
            grads = [p.grad for p in params if p.grad is not None]
            grad = _norm(grads) if grads else params[0].new_zeros(())
            weight, before = _norm(params), _norm(start)
            change = _norm([p - s for p, s in zip(params, start)])
            values += [grad, weight, change / before]
        numbers = torch.stack([v.double() for v in values]).tolist() if values else []
        row = {}
        for i, (name, _) in enumerate(self.layers):
            grad, weight, ratio = numbers[3 * i : 3 * i + 3]
            row[column("grad_norm", name)] = grad
            row[column("weight_norm", name)] = weight
            row[column("update_ratio", name)] = ratio if math.isfinite(ratio) else None  # W_start = 0
        return row

    @torch.no_grad()
    def histograms(self, val) -> Dict[str, torch.Tensor]:
        """{tag: values}: each parameter, and each activation module's output over the first
        validation batch (in eval mode: dropout off, batch norm's running statistics untouched)."""
        found = {f"{DIAGNOSTICS}/weights/{key}": p.detach().float().cpu() for key, p in self.model.named_parameters()}
        outputs: Dict[str, torch.Tensor] = {}

        def keep(name):
            return lambda module, inputs, output: outputs.setdefault(name, output.detach().float().cpu())

        handles = [module.register_forward_hook(keep(name)) for name, module in self.activations]
        was_training = self.model.training
        try:
            self.model.eval()
            with torch.inference_mode():
                self.model(val.inputs(slice(0, self.batch_size)))
        finally:
            self.model.train(was_training)
            for handle in handles:
                handle.remove()
        found.update({f"{DIAGNOSTICS}/activations/{name}": out for name, out in outputs.items()})
        return found

    def images(self) -> Dict[str, torch.Tensor]:
        """{tag: (3, H, W) in [0, 1]}: the first Conv2d's filters, if the model has one."""
        if self.first_conv is None:
            return {}
        name, conv = self.first_conv
        return {f"{DIAGNOSTICS}/filters/{name}": filter_grid(conv.weight.detach())}


def _norm(tensors) -> torch.Tensor:
    """The L2 norm of all of `tensors` together, as a 0-d tensor (nothing waits for the device)."""
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors]))


def filter_grid(weight: torch.Tensor) -> torch.Tensor:
    """Conv2d weights (out, in, kh, kw) -> one image of the (first MAX_FILTERS) filters, each
    stretched to [0, 1] on its own (white = its largest weight), RGB for 3 input channels,
    else the mean over the input channels, scaled up so a 5x5 filter can be seen."""
    from torchvision.utils import make_grid

    w = weight[:MAX_FILTERS].float().cpu()
    w = w if w.shape[1] == 3 else w.mean(dim=1, keepdim=True)
    low = w.amin(dim=(1, 2, 3), keepdim=True)
    high = w.amax(dim=(1, 2, 3), keepdim=True)
    w = (w - low) / (high - low).clamp_min(1e-12)
    scale = max(1, FILTER_PIXELS // max(w.shape[2:]))
    w = nn.functional.interpolate(w, scale_factor=scale, mode="nearest")
    return make_grid(w, nrow=min(len(w), FILTERS_PER_ROW), padding=max(1, scale // 4), pad_value=0.5)
