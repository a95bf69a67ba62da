"""The run's config schema: dataclasses registered in Hydra's ConfigStore.

Groups with one shape (regularization, early_stopping, trainer) are typed
fields of RunConfig. Groups whose members differ (data, model, optimizer,
scheduler) have one schema per member, in their tables (runner/config/data/,
models/, optim.py, schedulers.py), stored as `schema/<group>/<name>`; each member's YAML
names its schema in its defaults list, so Hydra rejects unknown keys and wrong
types while composing. Range checks live in each schema's __post_init__ and run
in `validate`, before any data is loaded.
"""

import math
import os
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from runner.config import policy as config_policy
from runner.config.data import DATA_MEMBERS
from runner.config.early_stopping import EarlyStoppingConfig
from runner.config.losses import LOSS_KIND, LOSS_NAMES
from runner.config.models import MODEL_MEMBERS
from runner.config.optim import OPTIMIZER_MEMBERS
from runner.config.policy import CODE_KEYS
from runner.config.reference import ReferenceConfig
from runner.config.regularization import RegularizationConfig
from runner.config.sample import SampleConfig
from runner.config.schedulers import SCHEDULER_MEMBERS
from runner.config.trainer import TrainerConfig
from runner.errors import ConfigError, require
from runner.registry import check_name

# What a captured CUDA graph cannot replay (trainer.cuda_graphs), and why: checked in `validate`.
NOT_CAPTURABLE = {
    "optimizer=lbfgs": "its step re-evaluates a closure a data-dependent number of times",
    "optimizer=adagrad": "torch's Adagrad keeps its step count on the CPU, where a replayed graph cannot advance it",
    "trainer.strategy=ddp": "DistributedDataParallel's gradient all-reduce is not captured here",
    "regularization.weight_noise": "weight noise keeps Python-side copies of the clean weights from step to step",
}
MEMBER_GROUPS = {
    "data": DATA_MEMBERS,
    "model": MODEL_MEMBERS,
    "optimizer": OPTIMIZER_MEMBERS,
    "scheduler": SCHEDULER_MEMBERS,
}


def check_speed_options(run: dict) -> None:
    """trainer.compile or cuda_graphs with what they cannot run: one line naming it."""
    trainer = run["trainer"]
    contractive = getattr(run["model"], "variant", None) == "contractive"
    require(
        not (trainer.compile and contractive),
        "trainer.compile",
        "cannot compile a contractive autoencoder: its penalty differentiates the encoder twice (double backward), which torch.compile does not support; set trainer.compile=false",
    )
    if not trainer.cuda_graphs:
        return
    in_use = {f"optimizer={run['optimizer'].name}", f"trainer.strategy={trainer.strategy}"}
    if run["regularization"].weight_noise:
        in_use.add("regularization.weight_noise")
    for what, why in NOT_CAPTURABLE.items():
        require(
            what not in in_use,
            "trainer.cuda_graphs",
            f"cannot capture a training step with {what}: {why}; set trainer.cuda_graphs=false",
        )


@dataclass
class RunConfig:
    data: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loss: str = "cross_entropy"
    seed: int = 0
    reference: Optional[ReferenceConfig] = None
    # How a language model's text is drawn (trainer.sample_every, runner sample).
    sample: SampleConfig = field(default_factory=SampleConfig)


def register_schemas() -> None:
    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    for group, members in MEMBER_GROUPS.items():
        for name, schema in members.schemas.items():
            store.store(group=f"schema/{group}", name=name, node=schema)


register_schemas()

# Run and sweep folders are named by the clock and the process id (conf/config.yaml), so two
# `runner train` started in the same microsecond never share or overwrite a folder. Cached like
# Hydra's `now`: a sweep's joblib workers keep the launching process's value (Hydra copies the cache).
OmegaConf.register_new_resolver("runner_pid", lambda: os.getpid(), use_cache=True, replace=True)


def _member(group: str, node) -> Any:
    """Check one member-group node against the schema its `name` selects."""
    members = MEMBER_GROUPS[group]
    name = node.get("name") if isinstance(node, DictConfig) else None
    if name is None:
        raise ConfigError(f"{group}.name", f"missing; choose one of: {', '.join(members.names())}")
    schema = members.schema(name, f"{group}.name")
    return _checked(schema, node)


def _checked(schema: type, node) -> Any:
    """A fresh schema instance filled with the node's values: an unknown key (even one added
    with `+group.key=...`, which Hydra lets into typed nodes) or a wrong type is refused."""
    # Resolve first: a member may interpolate other groups (`t_max: ${trainer.epochs}`).
    values = OmegaConf.to_container(node, resolve=True)
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))


def check_plain_data(cfg: DictConfig) -> None:
    """What no schema can say: no code to import, no value left as ??? (required), no NaN or infinity."""
    plain = OmegaConf.to_container(cfg, resolve=False)  # interpolations stay text, ??? stays ???
    config_policy.check_resolvers(plain)
    for top, raw in plain.items():
        if top == "hydra":
            config_policy.check_hydra(cfg.hydra)
            continue
        for where, key, value in [(str(top), top, raw), *config_policy.walk(raw, str(top))]:
            if key in CODE_KEYS:
                shown = f" ({value})" if isinstance(value, (str, int, float)) else ""
                raise ConfigError(
                    where,
                    f"configs cannot name code to import or call{shown}: '{key}' is refused; "
                    + _builder_hint(str(top)),
                )
            if value == "???":
                raise ConfigError(
                    where,
                    "a required value is not set (???): give it one in the experiment file or on the command line, e.g. "
                    + f"`{where.split('[')[0]}=...`",
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(where, f"a finite number, got {value}")


def _builder_hint(top: str) -> str:
    if top in MEMBER_GROUPS:
        return f"select a registered builder by name: {top}=<name>, one of: {', '.join(MEMBER_GROUPS[top].names())}"
    return "select builders by name from the config groups (`runner train --help` lists them)"


def _unknown_key(err: ConfigKeyError, group: str) -> Optional[ConfigError]:
    """`trainer.epochz`: unknown key, with the valid keys of the schema it was checked against."""
    schema = getattr(err, "object_type", None)
    key = getattr(err, "full_key", "") or ""
    if not (is_dataclass(schema) and getattr(err, "key", None) is not None) or "not in" not in str(err):
        return None
    key = key if key.startswith(f"{group}.") else f"{group}.{key}"
    parent = key.rpartition(".")[0]
    return ConfigError(
        key, f"unknown key '{err.key}'; valid keys of {parent}: {', '.join(sorted(f.name for f in fields(schema)))}"
    )


def validate(cfg: DictConfig) -> RunConfig:
    """Turn a composed config into checked dataclasses, or raise ConfigError naming the key."""
    values = {}
    for group in ("data", "model", "optimizer", "scheduler", "regularization", "early_stopping", "trainer"):
        if group not in cfg or OmegaConf.is_missing(cfg, group):
            raise ConfigError(group, "missing; select one, e.g. `{0}=<name>`".format(group))
    check_plain_data(cfg)
    typed = {"regularization": RegularizationConfig, "early_stopping": EarlyStoppingConfig, "trainer": TrainerConfig}
    for group in ("data", "model", "optimizer", "scheduler", "regularization", "early_stopping", "trainer"):
        try:
            if group in MEMBER_GROUPS:
                values[group] = _member(group, cfg[group])
            else:
                values[group] = _checked(typed[group], cfg[group])
        except ConfigError as err:
            raise err if err.key.startswith(f"{group}.") else err.under(group)
        except ConfigKeyError as err:
            raise (_unknown_key(err, group) or _omegaconf_error(err, group)) from None
        except OmegaConfBaseException as err:  # a wrong type or missing value found while checking the member
            raise _omegaconf_error(err, group) from None
    known = set(RunConfig.__dataclass_fields__) | {"hydra"}
    for key in cfg:
        require(key in known, key, f"unknown top-level key; valid keys: {', '.join(sorted(known - {'hydra'}))}")
    require(
        isinstance(cfg.loss, str), "loss", f"a loss name, one of: {', '.join(sorted(LOSS_NAMES))} (got {cfg.loss!r})"
    )
    check_name(LOSS_KIND, cfg.loss, LOSS_NAMES, "loss")
    # L-BFGS's line search and stopping tests read the loss, which differs between ranks: they would desynchronise.
    require(
        not (values["trainer"].strategy == "ddp" and values["optimizer"].name == "lbfgs"),
        "trainer.strategy",
        "ddp cannot drive optimizer=lbfgs; use another optimizer, or strategy=single",
    )
    check_speed_options(values)
    # Keras-style data validates on the test set: the "best" epoch would be picked by its test score.
    require(
        not (getattr(values["data"], "train_on_validation", False) and values["early_stopping"].restore_best),
        "early_stopping.restore_best",
        "data.train_on_validation=true validates on the test set, so the best epoch would be chosen by its test score"
        " and the reported test result flattered: set early_stopping.restore_best=false (test the final weights, as Keras does)",
    )
    require(
        isinstance(cfg.seed, int) and 0 <= cfg.seed < 2**63, "seed", f"an integer from 0 to 2**63-1, got {cfg.seed!r}"
    )
    try:
        sample = _checked(SampleConfig, cfg.get("sample") or {})
    except ConfigError as err:
        raise err.under("sample")
    except OmegaConfBaseException as err:
        raise _omegaconf_error(err, "sample") from None
    reference = None
    if cfg.get("reference") is not None:
        try:
            reference = OmegaConf.to_object(cfg.reference)
        except ConfigError as err:
            raise err.under("reference")
    return RunConfig(**values, loss=cfg.loss, seed=cfg.seed, reference=reference, sample=sample)


def _omegaconf_error(err: OmegaConfBaseException, group: str) -> ConfigError:
    key = getattr(err, "full_key", "") or ""
    key = key if key.startswith(f"{group}.") else f"{group}.{key}".rstrip(".")
    return ConfigError(key, str(err).strip().splitlines()[0])
