"""`runner train`: the Hydra application. Hydra composes conf/ + overrides, picks the
run folder, and runs sweeps (-m); this function validates and calls `fit`."""

import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from runner.config import validate
from runner.paths import CONF_DIR
from runner.train import fit


def config_groups() -> str:
    """`group: option, option` lines for `runner train --help` (the schema groups are internal)."""
    lines = []
    folders = sorted(Path(root) for root, _, _ in os.walk(CONF_DIR, followlinks=True))  # conf/experiment is a link
    for folder in folders[1:]:
        group = folder.relative_to(CONF_DIR).as_posix()
        if group.startswith("hydra") or "results" in group:
            continue
        options = sorted(f.stem for f in folder.glob("*.yaml"))
        if options:
            lines.append(f"  {group}: {', '.join(options)}")
    return "\n".join(lines)


OmegaConf.register_new_resolver("runner_config_groups", config_groups, replace=True)


def hparams_of(cfg: DictConfig) -> dict:
    """Flat {dotted.key: scalar} view of the config for TensorBoard's hparams tab."""
    flat = {}

    def walk(node, prefix):
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, name + ".")
            else:
                flat[name] = value if isinstance(value, (int, float, str, bool)) else str(value)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def train_app(cfg: DictConfig) -> float:
    run_cfg = validate(cfg)
    hydra_cfg = HydraConfig.get()
    results = fit(run_cfg, Path(hydra_cfg.runtime.output_dir), hparams_of(cfg), hydra_cfg.overrides.task)
    return results["val"]["loss"]  # what a sweeper (e.g. optuna) minimises
