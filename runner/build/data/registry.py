"""The loaders' registry: one loader per schema of runner/config/data/, under the same name."""

from runner.config.data import DATA_MEMBERS
from runner.registry import Registry

DATASETS = Registry(DATA_MEMBERS.kind)
