"""The run's config schema: dataclasses registered in Hydra's ConfigStore.

Groups with one shape (regularization, early_stopping, trainer) are typed
fields of RunConfig. Groups whose members differ (data, model, optimizer) have
one schema per member, stored as `schema/<group>/<name>`; each member's YAML
names its schema in its defaults list, so Hydra rejects unknown keys and wrong
types while composing. Range checks live in each schema's __post_init__ and run
in `validate`, before any data is loaded.
"""

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runner.data import DATASETS
from runner.early_stopping import EarlyStoppingConfig
from runner.errors import ConfigError, require
from runner.losses import LOSSES
from runner.models import MODELS
from runner.optim import OPTIMIZERS
from runner.regularization import RegularizationConfig
from runner.schedulers import SCHEDULERS

DEVICES = ("auto", "cpu", "cuda")
RESUME_MODES = ("never", "auto")
MEMBER_GROUPS = {"data": DATASETS, "model": MODELS, "optimizer": OPTIMIZERS, "scheduler": SCHEDULERS}


@dataclass
class TrainerConfig:
    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int = 1000
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    deterministic: bool = False  # torch.use_deterministic_algorithms
    shuffle: bool = True  # reshuffle the training set every epoch
    progress: bool = True  # progress bar (shown only on a terminal)
    checkpoints: bool = True  # write checkpoints/{best,last}.pt
    resume: str = "never"  # auto: continue this run folder from checkpoints/last.pt, skip it if finished
    test_every_epoch: bool = False  # also log test loss/accuracy each epoch (for "peak test" reporting)

    def __post_init__(self):
        require(self.epochs >= 1, "epochs", f"at least 1, got {self.epochs}")
        require(self.batch_size >= 1, "batch_size", f"at least 1, got {self.batch_size}")
        require(self.eval_batch_size >= 1, "eval_batch_size", f"at least 1, got {self.eval_batch_size}")
        require(self.threads >= 0, "threads", f"0 (torch's default) or more, got {self.threads}")
        require(self.resume in RESUME_MODES, "resume", f"choose one of: {', '.join(RESUME_MODES)} (got '{self.resume}')")
        base = self.device.split(":")[0]
        require(base in DEVICES, "device", f"choose one of: auto, cpu, cuda, cuda:N (got '{self.device}')")


REFERENCE_METRICS = ("peak_test", "test_at_best_val", "best_val", "final_test", "test_loss", "ensemble_test")


@dataclass
class ReferenceConfig:
    """A documented result this run reproduces (experiments/reproduce/*.yaml)."""

    id: str = MISSING
    group: str = ""  # e.g. nielsen-ch1; `runner reproduce nielsen` selects every nielsen-* row
    description: str = ""
    value: Optional[float] = None  # percent for accuracies, raw for losses; null when the source gives no number
    metric: str = "test_at_best_val"  # how the source reported it (see REFERENCE_METRICS)
    tolerance: Optional[float] = None  # default: 0.15 points above 99%, 0.3 below (MNIST_RESULTS.md)
    seeds: int = 3
    documented_epochs: Optional[int] = None  # the source's epoch count; runs shorter than this are flagged
    source: str = ""
    notes: str = ""
    ensemble_of: Optional[str] = None  # for ensemble_test: the row whose runs vote
    compare_with: Optional[str] = None  # a row to set this one beside when it has no number

    def __post_init__(self):
        require(self.metric in REFERENCE_METRICS, "metric", f"choose one of: {', '.join(REFERENCE_METRICS)} (got '{self.metric}')")
        require(self.seeds >= 1, "seeds", f"at least 1, got {self.seeds}")


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


def register_schemas() -> None:
    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    for group, registry in MEMBER_GROUPS.items():
        for entry in registry.entries():
            store.store(group=f"schema/{group}", name=entry.name, node=entry.schema)


register_schemas()


def _member(group: str, node) -> Any:
    """Check one member-group node against the schema its `name` selects."""
    registry = MEMBER_GROUPS[group]
    name = node.get("name") if isinstance(node, DictConfig) else None
    if name is None:
        raise ConfigError(f"{group}.name", f"missing; choose one of: {', '.join(registry.names())}")
    schema = registry.schema(name, f"{group}.name")
    # Resolve first: a member may interpolate other groups (`t_max: ${trainer.epochs}`).
    values = OmegaConf.to_container(node, resolve=True)
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))


def validate(cfg: DictConfig) -> RunConfig:
    """Turn a composed config into checked dataclasses, or raise ConfigError naming the key."""
    values = {}
    for group in ("data", "model", "optimizer", "scheduler", "regularization", "early_stopping", "trainer"):
        if group not in cfg or OmegaConf.is_missing(cfg, group):
            raise ConfigError(group, "missing; select one, e.g. `{0}=<name>`".format(group))
        try:
            if group in MEMBER_GROUPS:
                values[group] = _member(group, cfg[group])
            else:
                values[group] = OmegaConf.to_object(cfg[group])
        except ConfigError as err:
            raise err if err.key.startswith(f"{group}.") else err.under(group)
        except OmegaConfBaseException as err:  # a wrong type or missing value found while checking the member
            key = getattr(err, "full_key", "") or ""
            key = key if key.startswith(f"{group}.") else f"{group}.{key}".rstrip(".")
            raise ConfigError(key, str(err).strip().splitlines()[0]) from None
    known = set(RunConfig.__dataclass_fields__) | {"hydra"}
    for key in cfg:
        require(key in known, key, f"unknown top-level key; valid keys: {', '.join(sorted(known - {'hydra'}))}")
    LOSSES.check(cfg.loss, "loss")
    reference = None
    if cfg.get("reference") is not None:
        try:
            reference = OmegaConf.to_object(cfg.reference)
        except ConfigError as err:
            raise err.under("reference")
    return RunConfig(**values, loss=cfg.loss, seed=cfg.seed, reference=reference)
