"""Check a command line before any compute: compose every point of the run or
sweep with Hydra's compose API and validate it, so that a typo, a wrong type,
an out-of-range value or an unknown choice fails at once with one clear message
(a bad value in sweep point 7 fails before point 1 runs)."""

import itertools
from typing import List

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException, ValidationError

from runner.config import validate
from runner.errors import ConfigError
from runner.losses import check_loss
from runner.models import check_model
from runner.paths import CONF_DIR


class PreflightError(Exception):
    """A command line that cannot run; str() is the message for the user."""


def sweep_points(overrides: List[str], sweeper_params: dict) -> List[List[str]]:
    """The grid a basic multirun launches: comma lists expanded, cartesian product.
    Sweep params held by the config (hydra.sweeper.params) count, the command line wins."""
    parser = OverridesParser.create()
    given = {o.get_key_element() for o in parser.parse_overrides(overrides)}
    extra = [f"{k}={v}" for k, v in sweeper_params.items() if k not in given]
    axes = []
    for override in parser.parse_overrides(overrides + extra):
        key = override.get_key_element()
        if override.is_sweep_override():
            axes.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            axes.append([override.input_line])
    return [list(point) for point in itertools.product(*axes)]


def check(overrides: List[str], multirun: bool = False) -> List[DictConfig]:
    """Compose and validate every point; returns the composed configs, or raises PreflightError."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="preflight"):
        fixed = _fixed_part(overrides) if multirun else overrides
        base = _compose(fixed, fixed, return_hydra_config=multirun)
        if not multirun:
            validate_point(base, overrides)
            return [base]
        params_node = base.hydra.sweeper.get("params")
        params = OmegaConf.to_container(params_node) if params_node is not None else {}
        try:
            points = sweep_points(overrides, params)
        except HydraException:
            # A non-grid sweep (ranges, intervals for optuna): check the fixed part only.
            validate_point(base, fixed)
            return [base]
        configs = []
        for number, point in enumerate(points):
            where = f"sweep point {number} of {len(points)} ({' '.join(point)})" if len(points) > 1 else ""
            cfg = _compose(point, point, where=where)
            validate_point(cfg, point, where)
            configs.append(cfg)
        return configs


def _fixed_part(overrides: List[str]) -> List[str]:
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [o.input_line for o in parsed if not o.is_sweep_override()]


def _compose(overrides, shown, where: str = "", return_hydra_config: bool = False) -> DictConfig:
    try:
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)
    except (HydraException, OmegaConfBaseException) as err:
        raise PreflightError(_explain(err, overrides, where)) from None


def validate_point(cfg: DictConfig, overrides, where: str = "") -> None:
    """Schema and range checks, then the model against the data's shape (built on the meta device)."""
    try:
        run = validate(cfg)
        input_shape, num_classes = run.data.shape()
        check_model(run.model, run.regularization, input_shape, num_classes)
        check_loss(run.loss, run.regularization)
    except ConfigError as err:
        raise PreflightError(_prefix(where) + str(err)) from None
    except OmegaConfBaseException as err:
        raise PreflightError(_prefix(where) + _omegaconf_message(err)) from None


def _prefix(where: str) -> str:
    return f"in {where}: " if where else ""


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


def _omegaconf_message(err: OmegaConfBaseException) -> str:
    first = _first_line(err)
    key = getattr(err, "full_key", None)
    return f"{key}: {first}" if key else first


def _explain(err: Exception, overrides, where: str) -> str:
    """Hydra's message, trimmed, plus the valid keys when an unknown key was given."""
    if isinstance(err, OverrideParseException):
        return _prefix(where) + f"cannot parse override '{err.override}': {_first_line(err)} (see `runner train --help`)"
    cause = err.__cause__ or err
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.strip().startswith(("Config search path", "provider=", "object_type", "reference_type"))]
    key = getattr(cause, "full_key", None)
    if key and isinstance(cause, ValidationError):
        return _prefix(where) + f"{key}: {_first_line(cause)}"
    if key and ("not in" in str(cause) or "Could not override" in str(err)):
        parent, _, leaf = key.rpartition(".")
        valid = _valid_keys(parent, overrides, key)
        lines = [f"{key}: unknown key '{leaf}'" + (f"; valid keys of {parent or 'the config'}: {', '.join(valid)}" if valid else "")]
    return _prefix(where) + "\n".join(lines)


def _valid_keys(parent: str, overrides, bad_key: str) -> List[str]:
    keep = [o for o in overrides if not o.lstrip("+~").startswith(bad_key)]
    try:
        cfg = compose(config_name="config", overrides=keep)
        node = OmegaConf.select(cfg, parent) if parent else cfg
        return sorted(node.keys()) if isinstance(node, DictConfig) else []
    except Exception:  # the hint is best-effort; the error itself is already known
        return []
