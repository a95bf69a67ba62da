"""Every use of Hydra's private code (hydra._internal, and one private function), in one place.

Hydra has no public API for these; each says why it is needed. Moving to another Hydra release
(pyproject.toml pins hydra-core 1.3) means checking this file, and only this file, in runner/ and
hydra_plugins/. (runner/config/policy.py names BasicLauncher and BasicSweeper as text, in the list
of code a config may name: no import.)"""

import hydra.core.utils

# Running one job from a config composed already (runner.launch.app.run_one): @hydra.main's own
# steps, Hydra.run, compose the command line again; the public API has no "run this config".
from hydra._internal.callbacks import Callbacks  # noqa: F401  (re-exported)

# The basic sweeper's expansion of a grid into jobs (split_arguments): the resumable sweep numbers
# its folders as Hydra will (runner/launch/resumable_sweep.py), and hydra/sweeper=job_list
# multiplies its jobs by the command line's grid. Its module path is also the sweeper's _target_.
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper  # noqa: F401

# The class that reads config files from disk: runner/launch/yaml_guard.py checks every file before
# it is parsed. Besides the copy plugin discovery returns, this regular import is the class that
# joblib workers get when Hydra hands its registry of config sources over (pickled by reference).
from hydra._internal.core_plugins.file_config_source import FileConfigSource  # noqa: F401
from hydra._internal.hydra import Hydra  # noqa: F401
from hydra._internal.utils import create_config_search_path  # noqa: F401


def replace_config_writer(write) -> None:
    """run_job writes .hydra/config.yaml, hydra.yaml and overrides.yaml through the private
    hydra.core.utils._save_config, looked up at each call: the only way to make those writes
    atomic (runner/launch/app.py, _save_config_atomically)."""
    hydra.core.utils._save_config = write
