"""What the model schemas share: the names a model may choose for its activation and its
init scheme (the builders register one under each: runner/build/models/activations.py and
init.py), and the check of a per-layer dropout list."""

from typing import Optional, Sequence

from runner.errors import ConfigError
from runner.registry import check_name

ACTIVATION_KIND = "activation"
ACTIVATION_NAMES = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "linear", "maxout")
INIT_KIND = "init scheme"
INIT_NAMES = (
    "default",
    "xavier_uniform",
    "xavier_normal",
    "glorot_uniform",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "nielsen_large",
    "nielsen_fan_in",
    "nielsen3",
)
RECURRENT_INITS = ("default", "orthogonal")
SEQUENCE_MODES = ("rows", "pixels")


def check_activation(name: str, key: str) -> None:
    check_name(ACTIVATION_KIND, name, ACTIVATION_NAMES, key)


def check_init(name: str, key: str) -> None:
    check_name(INIT_KIND, name, INIT_NAMES, key)


def check_rates(rates: Optional[Sequence[float]], n_expected: int, key: str, what: str) -> None:
    """Range and length checks for a per-layer dropout list (None = use the regularization group)."""
    if rates is None:
        return
    if len(rates) != n_expected:
        raise ConfigError(
            key, f"needs {n_expected} rates, one per layer input ({what}), got {len(rates)}: {list(rates)}"
        )
    for i, rate in enumerate(rates):
        if not 0 <= rate < 1:
            raise ConfigError(f"{key}[{i}]", f"a drop probability in [0, 1), got {rate}")
