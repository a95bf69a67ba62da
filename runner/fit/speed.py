"""Speed options of the training step: trainer.compile, precision, channels_last, cuda_graphs.

`runner/fit/loop.py` builds one step function per run and calls it for every batch. By
default it is the plain eager step and nothing here adds work to it. The options change
how the step runs, never what is trained or saved: checkpoints hold the plain module's
state dict (no `_orig_mod.` prefix), and evaluation (validation, test, `runner evaluate`)
always runs the plain module in fp32, so results.json and `runner evaluate` agree.
The dtype (fp64) and the memory layout (channels_last) are set when the parts are assembled,
for evaluation too: runner/build/layout.py.
"""

import warnings
from typing import Callable

import torch
from torch import nn

from runner.errors import ConfigError

# ---------------------------------------------------------------- checks that need the device


def check_device(trainer, device: torch.device) -> None:
    """What the config alone cannot tell (trainer.cuda_graphs is checked with the config)."""
    if (
        trainer.precision == "bf16"
        and device.type == "cuda"
        and not torch.cuda.is_bf16_supported(including_emulation=False)
    ):
        name = torch.cuda.get_device_name(device)
        raise ConfigError(
            "trainer.precision",
            f"bf16 needs a GPU with bfloat16 support (compute capability 8.0 or later), and {name} has none; use trainer.precision=fp32",
        )


# ---------------------------------------------------------------- the forward pass: compile, bf16


def training_forward(model: nn.Module, trainer, device: torch.device) -> Callable:
    """What the step calls for the model's outputs: the module itself by default."""
    forward = torch.compile(model) if trainer.compile else model  # shares the module's parameters
    if trainer.precision == "bf16":
        forward = in_bf16(forward, device.type, cache=not trainer.cuda_graphs)
    return forward


def in_bf16(forward: Callable, device_type: str, cache: bool) -> Callable:
    """The forward pass under autocast with bfloat16, its outputs back in fp32: the loss is
    computed outside autocast (bce is refused inside it on CUDA), in fp32 like autocast
    would for the others, and the epoch's records stay fp32. A CUDA graph needs the cast
    weights made inside it, not taken from autocast's cache."""

    def forward_bf16(x):
        with torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=cache):
            out = forward(x)
        return out.float()

    return forward_bf16


# ---------------------------------------------------------------- CUDA graphs


def set_capturable(optimizer: torch.optim.Optimizer, on: bool) -> None:
    """Optimizers with a step count (Adam, RMSprop, Adadelta, ...) keep it on the GPU when
    `capturable`, where a replayed graph advances it; otherwise on the CPU (what their eager
    step expects). Call after restoring a checkpoint, which brings the flag of the run saved."""
    for group in optimizer.param_groups:
        if "capturable" not in group:
            continue
        group["capturable"] = on
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(param.device if on else "cpu", torch.float32)


class CudaGraphStep:
    """The training step captured once as a CUDA graph and replayed for every full batch:
    one launch instead of a few hundred small kernels, which is what bounds small-batch
    runs on a GPU. The graph holds the whole step: gathering the batch from the resident
    data by index, batch transforms, forward, loss, backward, gradient hooks, optimizer
    step; a replay only copies the batch's indices in.

    The first WARMUP full batches run eagerly on a side stream (lazy set-up: optimizer
    state, cuDNN plans, compiled kernels), as capture requires. A batch of another size
    (an epoch's last partial batch) runs eagerly: every epoch trains on the same examples
    as without graphs. A graph bakes the learning rate in, so a schedule that changes it
    makes the next full batch capture the step again."""

    WARMUP = 3

    def __init__(self, step: Callable, optimizer: torch.optim.Optimizer, batch_size: int):
        self.step, self.optimizer, self.batch_size = step, optimizer, batch_size
        self.warmed = 0
        self.graph = self.captured_for = self.idx = self.record = None

    def __call__(self, split, idx: torch.Tensor) -> torch.Tensor:
        if len(idx) != self.batch_size:
            return self.eager(split, idx)
        if self.warmed < self.WARMUP:
            self.warmed += 1
            return on_side_stream(self.eager, split, idx)
        if self.captured_for != self.capture_key(split):
            self.capture(split, idx)
        self.idx.copy_(idx)
        self.graph.replay()
        return self.record.clone()  # the next replay overwrites the graph's own output

    def eager(self, split, idx: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():  # torch's notice that a capturable optimizer steps outside a graph: meant
            warnings.filterwarnings("ignore", message="This instance was constructed with capturable=True")
            return self.step(split, idx)

    def capture_key(self, split):
        return split.x.data_ptr(), tuple(group["lr"] for group in self.optimizer.param_groups)

    def capture(self, split, idx: torch.Tensor) -> None:
        self.graph = None  # release the old graph's memory before capturing anew
        self.idx = idx.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # records the kernels without running them: replay runs this batch
            self.record = self.step(split, self.idx)
        self.graph, self.captured_for = graph, self.capture_key(split)


def on_side_stream(fn: Callable, *args):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = fn(*args)
    torch.cuda.current_stream().wait_stream(side)
    return out
