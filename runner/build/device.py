"""trainer.device as a torch.device: what training, evaluation and the preflight all ask."""

import torch

from runner.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            "trainer.device", f"'{name}' was asked for but no CUDA device is available; use trainer.device=cpu or auto"
        )
    return torch.device(name)
