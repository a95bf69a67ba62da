"""What TensorBoard shows of a run's config: its name and its HPARAMS entry, both made of
what the command line overrode (the whole config stays in .hydra/config.yaml).

- The name: a single run's overrides (`model=autoencoder,trainer.epochs=3`, or `defaults`);
  a sweep point's overrides less those all its points share (`model.activation=tanh,seed=0`).
  Which keys a sweep's points share is Hydra's own setting for naming folders by their
  overrides, hydra.job.config.override_dirname.exclude_keys, which run_sweep fills in
  (`sweep_name_override`) unless the command line sets it.
- The hparams: every overridden key with its value as the config holds it (a bool, a number,
  a string; a list as its text; a group as the member chosen), so that TensorBoard's columns
  are what was chosen, with their types, and it can tell which differ between runs.
"""

import json
from typing import List

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from runner.record.run_name import folder_name

EXCLUDE_KEYS = "hydra.job.config.override_dirname.exclude_keys"
# Overrides that change how a run goes, not what it computes: neither in its name nor in its hparams.
OPERATIONAL = frozenset(
    {"trainer.resume", "trainer.overwrite", "trainer.progress", "trainer.threads", "trainer.checkpoints"}
)


def _parsed(lines):
    return OverridesParser.create().parse_overrides([str(line) for line in lines if not str(line).startswith("-")])


def _chosen(hydra_cfg) -> list:
    """The task overrides of this run, less the operational ones and deletions (~key)."""
    return [o for o in _parsed(hydra_cfg.overrides.task) if o.key_or_group not in OPERATIONAL and not o.is_delete()]


def run_name(hydra_cfg) -> str:
    """TensorBoard's name for the run (runner/record/run_name.py makes it a safe folder name)."""
    shared = set(OmegaConf.select(hydra_cfg, "job.config.override_dirname.exclude_keys", default=None) or ())
    return folder_name(o.input_line for o in _chosen(hydra_cfg) if o.key_or_group not in shared)


def hparams_of(cfg: DictConfig, hydra_cfg) -> dict:
    """{overridden key: its value} for TensorBoard's HPARAMS tab."""
    choices = hydra_cfg.runtime.choices
    flat = {}
    for override in _chosen(hydra_cfg):
        key = override.key_or_group
        value = choices.get(key) if key in choices else OmegaConf.select(cfg, key, default=None)
        flat[key] = _typed(value)
    return flat


def _typed(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    if OmegaConf.is_config(value):
        return json.dumps(OmegaConf.to_container(value, resolve=True), separators=(",", ":"))
    return "null" if value is None else str(value)


def sweep_name_override(overrides: List[str]) -> List[str]:
    """[hydra.job.config.override_dirname.exclude_keys=[...]]: the keys the command line fixes for every
    point (not swept), so that each point's name says only what differs; [] if the command line sets it."""
    parsed = _parsed(overrides)
    if any(o.key_or_group == EXCLUDE_KEYS for o in parsed):
        return []
    fixed = sorted({o.key_or_group for o in parsed if not o.is_sweep_override() and not o.is_hydra_override()})
    return [f"{EXCLUDE_KEYS}=[{','.join(repr(key) for key in fixed)}]"]
