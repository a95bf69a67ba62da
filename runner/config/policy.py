"""What a config may name: the refusal policy for code, interpolations, environment variables
and paths. Imports no torch and no builder.

Every config is untrusted: an experiment file from a classmate, the overrides replayed from a
shared run folder (`trainer.resume=<dir>`), a command line pasted from a forum. Outside the
`hydra` node a config names nothing but registered builders (checked in runner/config/schema.py).
Inside it, Hydra instantiates launchers, sweepers and callbacks and configures logging, so
this module holds what may appear there, by exact name, never by prefix: Hydra's `_locate`
resolves `hydra.experimental.callbacks.Path` attribute by attribute, to `pathlib.Path`.

Interpolations are checked too, because a resolver can turn a string into a node
(`${oc.decode:"{_target_: ...}"}`): only the resolvers listed here may appear in a config.
Paths are resolved (os.path.realpath) and must lie inside the outputs folder
(RUNNER_OUTPUTS, default ./outputs) and, for what a run writes, inside its own folder."""

import os
import re
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from runner.errors import ConfigError
from runner.paths import CONF_DIR

# Everything Hydra may instantiate from a config: the launchers, sweepers and callbacks that
# runner documents (conf/hydra/, docs/cluster.md, docs/tuning.md). runner's optuna sweeper makes
# its samplers and pruners by name (hydra.sweeper.sampler.name): no _target_ of theirs.
HYDRA_TARGETS = frozenset(
    {
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
        "hydra_plugins.runner_optuna_sweeper.optuna_sweeper.OptunaSweeper",
        "hydra_plugins.runner_job_list_sweeper.job_list_sweeper.JobListSweeper",
        "hydra.experimental.callbacks.LogJobReturnCallback",
        "runner.launch.sweep_manifest.SweepManifest",
    }
)
# Keys with which Hydra's `instantiate` would call code with arguments of the config's choosing.
CODE_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")
# What logging.config.dictConfig may construct (`class`, `()`) and the streams `ext://` may name.
LOGGING_CLASSES = frozenset(
    {
        "logging.StreamHandler",
        "logging.FileHandler",
        "logging.NullHandler",
        "logging.Formatter",
        "logging.Filter",
        "colorlog.ColoredFormatter",
    }
)
LOGGING_STREAMS = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
LOGGING_NODES = ("job_logging", "hydra_logging")
# Environment variables a config may set for its job (hydra.job.env_set): thread counts, which
# GPUs, allocator and determinism settings. Not CUDA_INJECTION64_PATH, NCCL_NET_PLUGIN or
# LD_PRELOAD, which make a library load; not RUNNER_*, which move where runs and caches go.
ENV_NAMES = frozenset(
    {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES",
        "CUDA_LAUNCH_BLOCKING",
        "CUBLAS_WORKSPACE_CONFIG",
        "PYTORCH_CUDA_ALLOC_CONF",
        "NCCL_DEBUG",
        "NCCL_P2P_DISABLE",
        "NCCL_IB_DISABLE",
        "NCCL_SOCKET_IFNAME",
    }
)
# Resolvers a config may use. Each returns a string or a reference to a node that is itself
# checked; none parses a string into a new node (oc.decode, oc.create do).
RESOLVERS = frozenset({"now", "runner_pid", "oc.env", "oc.select", "hydra", "runner_config_groups"})
RESOLVER_USE = re.compile(r"\$\{\s*([^\s:{}$]+)\s*:")
JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
# A stand-in for the run folder while checking the paths that Hydra derives from it.
RUN_FOLDER = "/runner-run-folder"


def walk(node, path: str = "") -> Iterator[Tuple[str, Any, Any]]:
    """(dotted key, key, value) of every entry of a plain container, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        where = f"{path}[{key}]" if isinstance(node, list) else f"{path}.{key}" if path else str(key)
        yield where, key, value
        yield from walk(value, where)


def check_resolvers(plain: dict) -> None:
    """No resolver outside RESOLVERS in any string of the (unresolved) config."""
    for where, _, value in walk(plain):
        if not isinstance(value, str) or "${" not in value:
            continue
        for name in RESOLVER_USE.findall(value):
            if name not in RESOLVERS:
                raise ConfigError(
                    where,
                    f"the resolver '{name}' is refused in configs (it could turn text into code to run); allowed: {', '.join(sorted(RESOLVERS))}",
                )


def check_hydra(hydra: DictConfig) -> None:
    """The hydra node, as written and as it resolves: exact targets, logging classes, env names."""
    plain = OmegaConf.to_container(hydra, resolve=False)
    _check_hydra_plain(plain)
    _check_hydra_plain(resolved_hydra(hydra))


def resolved_hydra(hydra: DictConfig) -> dict:
    """The parts of the hydra node that Hydra instantiates or configures, resolved, with the run
    folder stood in for (it is chosen only when the job starts)."""
    copy = OmegaConf.create({"hydra": OmegaConf.to_container(hydra, resolve=False)})
    OmegaConf.update(copy, "hydra.runtime.output_dir", RUN_FOLDER, force_add=True)
    out = {"job": {}}
    # Not the rest of hydra.job: override_dirname is the command line's text, interpolations included.
    for key in ("callbacks", "launcher", "sweeper", "job.env_set", "job.name", *LOGGING_NODES):
        node = OmegaConf.select(copy.hydra, key, default=None)
        if node is None:
            continue
        try:
            value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        except Exception as err:  # noqa: BLE001 (Hydra would fail on it too, later, or resolve it to something unchecked)
            raise ConfigError(f"hydra.{key}", f"cannot be resolved: {str(err).strip().splitlines()[0]}") from None
        parent, _, leaf = key.rpartition(".")
        (out[parent] if parent else out)[leaf] = value
    return out


def _check_hydra_plain(plain: dict) -> None:
    for where, key, value in walk(plain, "hydra"):
        if key == "_target_" and not (isinstance(value, str) and value in HYDRA_TARGETS):
            raise ConfigError(
                where,
                f"'{value}' is not a launcher, sweeper or callback that runner offers; allowed here: {', '.join(_targets_for(where))}",
            )
        if key in CODE_KEYS[1:]:
            raise ConfigError(where, f"'{key}' is refused: configs cannot pass arguments to code")
        logging = where.startswith(tuple(f"hydra.{node}." for node in LOGGING_NODES))
        if logging and key in ("class", "()") and not (isinstance(value, str) and value in LOGGING_CLASSES):
            raise ConfigError(
                where, f"'{value}' is not a logging class runner allows; allowed: {', '.join(sorted(LOGGING_CLASSES))}"
            )
        if isinstance(value, str) and value.startswith("ext://") and value not in LOGGING_STREAMS:
            raise ConfigError(
                where, f"'{value}' is refused: ext:// may name only {' or '.join(sorted(LOGGING_STREAMS))}"
            )
        if where.startswith("hydra.job.env_set.") and where.count(".") == 3 and str(key) not in ENV_NAMES:
            raise ConfigError(
                where, f"configs may set only these environment variables: {', '.join(sorted(ENV_NAMES))}"
            )
    _check_job_name(plain)


def _targets_for(where: str):
    """The allowed targets that fit this place (hydra.callbacks.x: the callbacks), by short name."""
    kind = next((k for k in ("sampler", "launcher", "sweeper", "callbacks") if k in where), "")
    hint = {"sampler": "samplers", "launcher": "Launcher", "sweeper": "Sweeper", "callbacks": "allback"}.get(kind, "")
    return sorted(t for t in HYDRA_TARGETS if hint in t or hint == "allback" and t.endswith("Manifest"))


def _check_job_name(plain: dict) -> None:
    name = (plain.get("job") or {}).get("name")
    if isinstance(name, str) and "${" not in name and not JOB_NAME.fullmatch(name):
        raise ConfigError(
            "hydra.job.name",
            f"1 to 64 letters, digits, '_', '-' or '.' (it names the log file), got '{name[:40]}{'...' if len(name) > 40 else ''}'",
        )


# ---------------------------------------------------------------- paths


def outputs_root() -> Path:
    """The folder every run and sweep lies in: RUNNER_OUTPUTS, or ./outputs."""
    return Path(os.path.realpath(os.environ.get("RUNNER_OUTPUTS") or "outputs"))


def inside(path: str, folder: Path) -> bool:
    """`path` (resolved: links followed, `..` removed) lies inside `folder`, and is not `folder` itself."""
    real = Path(os.path.realpath(path))
    return real != folder and real.is_relative_to(folder)


def check_paths(cfg: DictConfig, multirun: bool) -> None:
    """Where the run writes: its folder inside the outputs folder, and everything else inside it."""
    root, hydra = outputs_root(), cfg.hydra
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    folder = _resolved(hydra, key.partition(".")[2])
    if not folder or not str(folder).strip():
        raise ConfigError(
            key, "empty: a run needs a folder of its own (leave the key out for a fresh folder under RUNNER_OUTPUTS)"
        )
    if not inside(folder, root):
        raise ConfigError(
            key,
            f"'{folder}' is outside the outputs folder {root}; runs and sweeps go inside it (set RUNNER_OUTPUTS=<folder> to move it)",
        )
    if multirun:
        _check_inside(cfg, "sweep.subdir", os.path.realpath(folder), "the sweep folder")
    if OmegaConf.select(hydra, "output_subdir") is not None:
        _check_inside(cfg, "output_subdir", RUN_FOLDER, "the run folder")
    check_launcher_setup(hydra)
    check_sbatch_options(hydra)
    check_parallel_jobs(hydra)
    check_sweeper_storage(hydra, root)
    resolved = resolved_hydra(hydra)
    _check_log_files(resolved)
    _check_launcher_folders(resolved.get("launcher") or {}, root)


def _resolved(hydra: DictConfig, key: str) -> Optional[str]:
    try:
        value = OmegaConf.select(hydra, key, throw_on_missing=True)
    except Exception as err:  # noqa: BLE001 (an interpolation that cannot resolve)
        raise ConfigError(f"hydra.{key}", f"cannot be resolved: {str(err).splitlines()[0]}") from None
    return None if value is None else str(value)


def _check_inside(cfg: DictConfig, key: str, folder: str, what: str) -> None:
    """A relative folder Hydra joins to another (sweep.subdir may interpolate the run's keys: `s${seed}`)."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    OmegaConf.update(copy, "hydra.job.num", 0, force_add=True)
    value = _resolved(copy.hydra, key)
    if value is None or os.path.isabs(value) or not inside(os.path.join(folder, value), Path(folder)):
        raise ConfigError(f"hydra.{key}", f"'{value}' leaves {what}: give a relative path without '..'")


def _check_log_files(resolved: dict) -> None:
    for node in LOGGING_NODES:
        for where, key, value in walk(resolved.get(node) or {}, f"hydra.{node}"):
            if key == "filename" and not inside(str(value), Path(RUN_FOLDER)):
                raise ConfigError(
                    where,
                    f"log files stay in the run folder: ${{hydra.runtime.output_dir}}/<name> without '..' (got '{value}')",
                )


LAUNCHER_FOLDERS = ("submitit_folder", "temp_folder")


def check_parallel_jobs(hydra: DictConfig) -> None:
    """joblib's n_jobs: -1 (all cores) up to 4 x the cores; 100,000 workers would exhaust the machine."""
    n_jobs = OmegaConf.select(hydra, "launcher.n_jobs", default=None)
    most = 4 * (os.cpu_count() or 1)
    if isinstance(n_jobs, int) and not (n_jobs == -1 or 1 <= n_jobs <= most):
        raise ConfigError(
            "hydra.launcher.n_jobs",
            f"-1 (one per core) or 1 to {most} (4 x this machine's {os.cpu_count()} cores), got {n_jobs}",
        )


def _check_launcher_folders(launcher: dict, root: Path) -> None:
    for key in LAUNCHER_FOLDERS:
        value = launcher.get(key)
        if value is not None and not inside(str(value), root):
            raise ConfigError(f"hydra.launcher.{key}", f"'{value}' is outside the outputs folder {root}")


def check_launcher_setup(hydra: DictConfig) -> None:
    """hydra.launcher.setup holds shell lines that SLURM jobs run: only the project's own
    (conf/hydra/launcher/slurm.yaml). Set up modules and environments before `runner train`:
    the jobs inherit the environment."""
    setup = OmegaConf.select(hydra, "launcher.setup", default=None)
    if setup is None:
        return
    own = OmegaConf.load(CONF_DIR / "hydra" / "launcher" / "slurm.yaml").get("setup")
    if OmegaConf.to_container(setup, resolve=False) != OmegaConf.to_container(own, resolve=False):
        raise ConfigError(
            "hydra.launcher.setup",
            "shell lines for SLURM jobs cannot come from a config; run `module load ...` or activate the environment before `runner train` (the jobs inherit it)",
        )


# Optuna storages on a server: the study is rows there, no file of ours (runner/launch/optuna_study.py).
NETWORK_STORAGES = ("postgresql", "mysql")


def check_sweeper_storage(hydra: DictConfig, root: Path) -> None:
    """An Optuna study's storage: null (SQLite in the sweep folder), a SQLite or journal FILE
    inside the outputs folder, or a postgresql/mysql server URL."""
    storage = OmegaConf.select(hydra, "sweeper.storage", default=None)
    if storage is None or not str(storage).strip():
        return
    text = str(storage)
    scheme, sep, _ = text.partition("://")
    if sep and scheme.partition("+")[0] in NETWORK_STORAGES:
        return
    if sep and scheme != "sqlite":
        raise ConfigError(
            "hydra.sweeper.storage",
            f"'{scheme}://' is not a storage runner opens: use sqlite:///<file>, postgresql://..., mysql://..., or a journal file path",
        )
    path = text.removeprefix("sqlite:///") if sep else text
    if (sep and not text.startswith("sqlite:///")) or not path or not inside(path, root):
        raise ConfigError(
            "hydra.sweeper.storage",
            f"'{storage}' is refused: a study file (sqlite:///<file> or a journal file path) must lie inside the outputs folder {root}",
        )


# sbatch directives a config may add (hydra.launcher.additional_parameters): scheduling only,
# not --output/--chdir (files anywhere) or --prolog-like options (scripts to run).
SBATCH_PARAMETERS = frozenset(
    {
        "requeue",
        "qos",
        "account",
        "constraint",
        "exclusive",
        "reservation",
        "nodelist",
        "exclude",
        "gres",
        "time",
        "mail_type",
        "mail_user",
        "comment",
        "partition",
    }
)


def check_sbatch_options(hydra: DictConfig) -> None:
    extra = OmegaConf.select(hydra, "launcher.additional_parameters", default=None) or {}
    for key in extra:
        if key not in SBATCH_PARAMETERS:
            raise ConfigError(
                f"hydra.launcher.additional_parameters.{key}",
                f"not an sbatch option a config may set; allowed: {', '.join(sorted(SBATCH_PARAMETERS))}",
            )
    if OmegaConf.select(hydra, "launcher.srun_args", default=None):
        raise ConfigError(
            "hydra.launcher.srun_args", "srun options cannot come from a config (some run scripts); leave it empty"
        )
