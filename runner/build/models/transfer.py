"""`model.init_from=<run dir>`: start a classifier from a trained autoencoder's encoder.

The autoencoder run's checkpoints/best.pt holds its state dict; the encoder's
weight layers (Linear/Conv, in order) are copied into the classifier's first
weight layers of the same shapes. An mlp classifier whose hidden_sizes start
with the autoencoder's hidden_sizes + [code_size] takes the whole encoder; a cnn
takes a conv autoencoder's conv layers (and its bottleneck when fc[0] = code_size).
"""

from pathlib import Path
from typing import List, Tuple

import torch
from torch import nn

from runner.errors import CheckpointError, ConfigError
from runner.record.checkpoint import load_checkpoint

KEY = "model.init_from"
_WEIGHT_LAYERS = (nn.Linear, nn.Conv2d)


def checkpoint_path(run: str) -> Path:
    path = Path(run).expanduser()
    return path if path.is_file() else path / "checkpoints" / "best.pt"


def encoder_layers(state: dict) -> List[Tuple[str, torch.Tensor, torch.Tensor]]:
    """(prefix, weight, bias) of each Linear/Conv layer under `encoder.`, in order."""
    layers = []
    for key, value in state.items():
        if (
            isinstance(key, str)
            and key.startswith("encoder.")
            and key.endswith(".weight")
            and isinstance(value, torch.Tensor)
            and value.dim() >= 2
        ):
            prefix = key[: -len(".weight")]
            bias = state.get(prefix + ".bias")
            layers.append((prefix, value, bias if isinstance(bias, torch.Tensor) else None))
    return layers


def _shape(t) -> str:
    return "x".join(str(s) for s in t.shape)


def load_encoder(model: nn.Module, run: str) -> None:
    path = checkpoint_path(run)
    if not path.is_file():
        raise ConfigError(
            KEY, f"no checkpoint at {path} (give the folder of a finished autoencoder run, or a .pt file)"
        )
    try:
        state = load_checkpoint(path)  # data only: a file that would run code is refused
    except CheckpointError as err:  # torn, tampered or foreign
        raise ConfigError(KEY, str(err)) from None
    state = state.get("model", state) if isinstance(state, dict) else state
    source = encoder_layers(state) if isinstance(state, dict) else []
    if not source:
        raise ConfigError(KEY, f"{path} holds no encoder weights: init_from needs a run of model=autoencoder")
    targets = [m for m in model.modules() if isinstance(m, _WEIGHT_LAYERS)]
    if len(targets) <= len(source):
        raise ConfigError(
            KEY,
            f"the encoder has {len(source)} weight layers but this model has only {len(targets)} (the last one is the classifier): add hidden layers (checkpoint {path})",
        )
    for number, ((name, weight, bias), layer) in enumerate(zip(source, targets), start=1):
        if (
            layer.weight.shape != weight.shape
            or (bias is None) != (layer.bias is None)
            or (bias is not None and layer.bias.shape != bias.shape)
        ):
            raise ConfigError(
                KEY,
                f"encoder layer {number} ({name}) has weights {_shape(weight)} but this model's layer {number} ({type(layer).__name__}) has {_shape(layer.weight)}; "
                "make the model's first layers match the autoencoder (mlp: hidden_sizes = the autoencoder's hidden_sizes + [code_size], same activation, no maxout/batch_norm)"
                f" (checkpoint {path})",
            )
        with torch.no_grad():
            layer.weight.copy_(weight)
            if bias is not None:
                layer.bias.copy_(bias)
