"""The preflight of an optuna search (hydra/sweeper=optuna), before its first trial: the space
can be searched (runner/launch/search_space.py), every searched key exists (with a close match
when it does not), every choice value and both bounds of every interval compose and pass the
schema, and the sampler, pruner, direction and storage are ones the search can use
(runner/launch/search_settings.py). Each problem is one line naming the key."""

import difflib
from typing import Callable, List

from omegaconf import DictConfig, OmegaConf

from runner.errors import ConfigError
from runner.launch import search_settings, search_space
from runner.launch.optuna_study import is_rdb, open_storage

_MISSING = object()


def check_search(base: DictConfig, overrides: List[str], check_point: Callable[[List[str], str], None]) -> None:
    """base: the composed config of the fixed overrides (hydra node included); check_point(point,
    where) composes and validates one point (the preflight's own check), raising on a problem."""
    sweeper = base.hydra.sweeper
    params = OmegaConf.to_container(sweeper.params) if sweeper.get("params") is not None else {}
    space = search_space.build(params, [o for o in overrides if not o.startswith("hydra")])
    for dim in space.dimensions.values():
        _key_exists(base, dim.key, dim.where)
    search_settings.check_settings(sweeper, base)
    _server_answers(sweeper.get("storage"))
    if sweeper.sampler.name == "grid":
        space.grid()  # an interval has no grid points: refused, naming its key
    hydra_part = [o for o in overrides if o.startswith("hydra")]
    for dim in space.dimensions.values():
        for value in dim.bounds_as_values():
            line = f"{dim.key}={search_space.value_text(value)}"
            check_point([*space.fixed, *hydra_part, line], f"the search space's value {line} ({dim.where})")


def _server_answers(storage) -> None:
    """A postgresql/mysql storage is opened now: a server that does not answer, or a driver that
    is not installed, is said before the first trial rather than after the sweep has begun."""
    url = str(storage or "")
    if not is_rdb(url) or url.startswith("sqlite"):
        return
    try:
        open_storage(url)
    except Exception as err:  # noqa: BLE001 (sqlalchemy's, the driver's: any of them means "cannot use it")
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError("hydra.sweeper.storage", f"cannot open '{url}': {first[:300]}") from None


def _key_exists(cfg: DictConfig, key: str, where: str) -> None:
    if key.startswith(("hydra.", "+", "~")) or key == "seed" or "/" in key:
        return  # a group choice (model=choice(mlp,cnn)) is checked by composing its values
    if OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING:
        return
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None) if parent else cfg
    keys = sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []
    close = difflib.get_close_matches(leaf, keys, n=1)
    hint = f"; did you mean {parent + '.' if parent else ''}{close[0]}?" if close else ""
    valid = f" (valid keys of {parent or 'the config'}: {', '.join(keys)})" if keys else ""
    raise ConfigError(where, f"unknown key '{key}' in the search space{hint}{valid}")
