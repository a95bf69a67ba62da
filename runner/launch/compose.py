"""Composing conf/ with Hydra: the one place that sets up and clears Hydra's global state.

    with config_tree("preflight"):     Hydra initialised on conf/ for a block of compositions
        cfg = compose(overrides)       conf/config.yaml with the overrides (inside the block)
    compose_once(overrides)            the same for a single composition, block included
    with hydra_app("train") as app:    the Hydra instance @hydra.main makes, to run jobs with

Each clears what an earlier composition in this process left (a test, another command, a sweep's
point), and leaves Hydra cleared after it, as @hydra.main does. Every config file read passes
the YAML guard (runner/launch/yaml_guard.py)."""

import contextlib
from typing import List

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from runner.launch import yaml_guard
from runner.launch.hydra_internals import Hydra, create_config_search_path
from runner.paths import CONF_DIR

CONFIG_NAME = "config"
VERSION_BASE = "1.3"

yaml_guard.install()  # every config file is scanned for aliases before Hydra builds nodes from it


@contextlib.contextmanager
def config_tree(job_name: str):
    """Hydra initialised on conf/ (job_name: hydra.job.name of what is composed inside)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=VERSION_BASE, job_name=job_name):
        yield  # on leaving, initialize_config_dir puts back the cleared state


def compose(overrides: List[str], return_hydra_config: bool = False) -> DictConfig:
    """conf/config.yaml with `overrides`, inside config_tree(); Hydra's exceptions pass through."""
    return hydra_compose(config_name=CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config)


def compose_once(overrides: List[str], job_name: str, return_hydra_config: bool = False) -> DictConfig:
    with config_tree(job_name):
        return compose(overrides, return_hydra_config=return_hydra_config)


@contextlib.contextmanager
def hydra_app(task_name: str):
    """The Hydra instance @hydra.main would make (same config search path), cleared afterwards as it does."""
    GlobalHydra.instance().clear()
    try:
        yield Hydra.create_main_hydra2(task_name=task_name, config_search_path=create_config_search_path(str(CONF_DIR)))
    finally:
        GlobalHydra.instance().clear()
