"""Check a command line before any compute: compose every point of the run or
sweep with Hydra's compose API and validate it, so that a typo, a wrong type,
an out-of-range value or an unknown choice fails at once with one clear message
(a bad value in sweep point 7 fails before point 1 runs)."""

import itertools
import os
import re
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException, ValidationError

from hydra_plugins.runner_job_list_sweeper.job_list_sweeper import TARGET as JOB_LIST_SWEEPER
from hydra_plugins.runner_job_list_sweeper.job_list_sweeper import expand
from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import TARGET as OPTUNA_SWEEPER
from runner.build.assemble import check_parts
from runner.build.data import prepare_data
from runner.build.device import resolve_device
from runner.config import policy as config_policy
from runner.config.schema import CODE_KEYS, validate
from runner.config.trainer import check_cuda_graphs
from runner.errors import ConfigError, PreflightError
from runner.launch import yaml_guard
from runner.launch.compose import compose, config_tree
from runner.paths import CONF_DIR, REPO_ROOT


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


def check(
    overrides: List[str], multirun: bool = False, keep_hydra: bool = False, config_dir: Optional[str] = None
) -> List[DictConfig]:
    """Compose and validate every point; returns the composed configs, or raises PreflightError.
    keep_hydra: leave each config's hydra node in, so that a single run can be launched from
    it without composing the command line again (runner.launch.app.run_one). config_dir: Hydra's
    --config-dir, searched as Hydra will search it."""
    strip = (lambda cfg: cfg) if keep_hydra else _without_hydra
    try:
        OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as err:
        raise PreflightError(_explain(err, overrides, "")) from None
    _refuse_unsafe_overrides(overrides)
    search = _search_path(config_dir)
    with config_tree("preflight"):
        fixed = _fixed_part(overrides) if multirun else overrides
        _refuse_placeholders(fixed)
        # The hydra node is composed too: it is where launchers and callbacks name code (checked by validate).
        base = _compose([*search, *fixed], fixed, return_hydra_config=True)
        if not multirun:
            _required_in_experiments(overrides, config_dir=config_dir)
            validate_point(base, overrides, multirun=False)
            return [strip(base)]
        if base.hydra.sweeper.get("_target_") == OPTUNA_SWEEPER:
            _check_search(base, overrides, fixed, search, config_dir)
            return [base]
        params_node = base.hydra.sweeper.get("params")
        params = OmegaConf.to_container(params_node) if params_node is not None else {}
        try:
            if base.hydra.sweeper.get("_target_") == JOB_LIST_SWEEPER:
                points = _listed_jobs(list(base.hydra.sweeper.jobs), overrides)
            else:
                points = sweep_points(overrides, params)
        except HydraException:
            # A non-grid sweep (ranges, intervals for optuna): check the fixed part, and that
            # every searched key exists, so a typo fails now rather than at the first trial.
            _required_in_experiments(fixed, config_dir=config_dir)
            validate_point(base, fixed, multirun=True)
            _searched_keys_exist(
                base, list(params) + [o.split("=", 1)[0].lstrip("+~") for o in overrides if o not in fixed]
            )
            return [base]
        _refuse_huge_sweep(len(points), base)
        configs = []
        for number, point in sweep_progress(points):
            shown = " ".join(o for o in point if not o.startswith(("hydra.sweeper.jobs=", "hydra/sweeper=")))
            where = f"sweep point {number} of {len(points)} ({shown})" if len(points) > 1 else ""
            _refuse_placeholders(point, where)
            cfg = _compose([*search, *point], point, where=where, return_hydra_config=True)
            _required_in_experiments(point, where, config_dir=config_dir)
            validate_point(cfg, point, where, multirun=True)
            configs.append(strip(cfg))
        return configs


def _check_search(base: DictConfig, overrides, fixed, search, config_dir) -> None:
    """hydra/sweeper=optuna: the fixed part, then the space, settings and every value a trial
    may be given (runner/launch/search_check.py), before the first trial."""
    from runner.launch.search_check import check_search

    _required_in_experiments(fixed, config_dir=config_dir)
    validate_point(base, fixed, multirun=True)

    def check_point(point, where):
        key, _, text = point[-1].partition("=")
        if _is_group(key) or key.startswith(("+", "~")):  # another config file: compose it
            return _compose_and_validate([*search, *point], point, where)
        value = OverridesParser.create().parse_overrides([point[-1]])[0].value()
        cfg = base.copy()  # one key set on the composed config: what composing the point gives, 5x faster
        try:
            with read_write(cfg), open_dict(cfg):
                OmegaConf.update(cfg, key, value, merge=True)
        except OmegaConfBaseException as err:
            raise PreflightError(_prefix(where) + _omegaconf_message(err)) from None
        validate_point(cfg, point, where, multirun=True)

    try:
        check_search(base, overrides, check_point)
    except ConfigError as err:
        raise PreflightError(str(err)) from None


def _compose_and_validate(overrides, shown, where: str) -> None:
    cfg = _compose(overrides, shown, where=where, return_hydra_config=True)
    validate_point(cfg, shown, where, multirun=True)


def check_one(overrides: List[str]) -> DictConfig:
    """The one config of a single-run command line (no hydra node), composed and checked as
    `runner train` checks it: what runner/cli.py hands to `runner evaluate` and `runner gradcheck`."""
    (cfg,) = check(overrides)
    return cfg


MAX_KEY_LENGTH = 200  # longer keys become file names Hydra cannot create (override_dirname, log lines)


def _refuse_unsafe_overrides(overrides: List[str]) -> None:
    """Before anything is read: no overlong key, no search path of the command line's own
    (--config-dir is the flag for that), no config chosen from outside the config tree."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if len(key) > MAX_KEY_LENGTH:
            raise PreflightError(
                f"an override key of {len(key):,} characters ('{key[:40]}...'): keys are at most {MAX_KEY_LENGTH} characters"
            )
        if key == "hydra.searchpath" or key.startswith("hydra.searchpath"):
            raise PreflightError(
                "hydra.searchpath: configs are read from conf/ and experiments/; for a folder of your own use --config-dir=DIR"
            )
        if _is_group(key):
            for value in _choice_values(override):
                _check_choice(key, value)


def _choice_values(override) -> list:
    if not override.is_sweep_override():
        return [override.value()]
    try:
        return list(override.sweep_string_iterator())
    except HydraException:  # interval(...) is a search space, not a list of options
        return []


def _is_group(key: str) -> bool:
    return "/" in key or key == "experiment" or (CONF_DIR / key).is_dir()


def _check_choice(group: str, value) -> None:
    """A group's option is a name in its folder: `+experiment=../../tmp/x` would read any file."""
    if isinstance(value, str) and (value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/")):
        raise PreflightError(
            f"{group}: '{value}' is not an option name (no '..' and no absolute paths: options are files in conf/{group}/ or experiments/)"
        )


def _check_choices(hydra: DictConfig) -> None:
    """The same for the options that experiment files pick in their defaults lists."""
    choices = OmegaConf.select(hydra, "runtime.choices", default=None) or {}
    for group, value in choices.items():
        try:
            _check_choice(group, value)
        except PreflightError as err:
            raise ConfigError("", str(err)) from None


def _search_path(config_dir: Optional[str]) -> List[str]:
    """Hydra's --config-dir as an override, so that the check composes what Hydra will."""
    if not config_dir:
        return []
    folder = os.path.abspath(config_dir)
    if not os.path.isdir(folder):
        raise PreflightError(f"--config-dir: '{config_dir}' is not a folder")
    return [f"hydra.searchpath=[file://{folder}]"]


def _refuse_huge_sweep(count: int, base: DictConfig) -> None:
    limit = OmegaConf.select(base, "trainer.max_sweep_points", default=None)
    if isinstance(limit, int) and count > limit:
        raise PreflightError(
            f"the sweep has {count:,} points, more than trainer.max_sweep_points={limit:,}; "
            f"checking them takes a while and running them far longer: narrow the grid, or set trainer.max_sweep_points={count} to go ahead"
        )


QUIET_BELOW = 50  # sweeps with fewer points are checked without a word (a few seconds)


def sweep_progress(points: List[List[str]]):
    """(number, point) pairs; for a big sweep, a line with the count and the time the check will take, then a bar."""
    if len(points) < QUIET_BELOW:
        yield from enumerate(points)
        return
    from tqdm.auto import tqdm

    started = time.perf_counter()
    bar = None
    for number, point in enumerate(points):
        yield number, point
        if number == 4:
            left = (time.perf_counter() - started) / 5 * (len(points) - 5)
            print(
                f"runner: checking {len(points):,} sweep points before the first runs (about {_duration(left)} more)",
                file=sys.stderr,
                flush=True,
            )
            bar = tqdm(
                total=len(points),
                initial=5,
                desc="checking",
                unit="point",
                disable=not sys.stderr.isatty(),
                file=sys.stderr,
            )
        elif bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _listed_jobs(jobs: List[str], overrides: List[str]) -> List[List[str]]:
    """hydra/sweeper=job_list's points; a malformed list is the user's error, said plainly."""
    try:
        return expand(jobs, overrides)
    except HydraException as err:
        raise PreflightError(str(err)) from None


def _without_hydra(cfg: DictConfig) -> DictConfig:
    """What compose(return_hydra_config=False) returns: the run's config alone."""
    if "hydra" in cfg:
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
    return cfg


def _fixed_part(overrides: List[str]) -> List[str]:
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [o.input_line for o in parsed if not o.is_sweep_override()]


def _compose(overrides, shown, where: str = "", return_hydra_config: bool = False) -> DictConfig:
    try:
        return compose(overrides, return_hydra_config=return_hydra_config)
    except (HydraException, OmegaConfBaseException) as err:
        raise PreflightError(_explain(err, overrides, where)) from None
    except yaml.YAMLError as err:  # a malformed YAML file: name the file and the line
        raise PreflightError(_prefix(where) + _yaml_message(err)) from None
    except Exception as err:  # Hydra/OmegaConf internals refusing an override (`model=null`, `reference.id=x`)
        raise PreflightError(_prefix(where) + _unexpected(err, overrides, return_hydra_config)) from None


def _unexpected(err: Exception, overrides, return_hydra_config: bool) -> str:
    """Name the override that breaks composition: the shortest prefix of the command line that fails."""
    culprit = None
    for count in range(1, len(overrides) + 1):
        try:
            compose(overrides[:count], return_hydra_config=return_hydra_config)
        except Exception:  # noqa: BLE001 (any failure: this prefix already breaks)
            culprit = overrides[count - 1]
            break
    what = f"override '{culprit}'" if culprit else f"the overrides ({' '.join(overrides)})"
    message = f"cannot apply {what}: {_first_line(err) or type(err).__name__}"
    key = culprit.split("=", 1)[0].lstrip("+~") if culprit else ""
    if key and (CONF_DIR / key).is_dir():
        options = sorted(f.stem for f in (CONF_DIR / key).glob("*.yaml"))
        message += f"; options of {key}: {', '.join(options)}"
    elif "NoneType" in message and key:
        # Hydra cannot fill a node that is null in the composed config (`reference` outside a
        # reproduction row) from the command line, neither key by key nor whole: an experiment file can
        node = key.partition(".")[0]
        message += (
            f" ({node} is null in this config and cannot be filled from the command line:"
            f" set it in an experiment file's YAML, or choose one that defines it)"
        )
    return message


def _refuse_placeholders(overrides, where: str = "") -> None:
    """`key=???` on the command line: ??? marks a value someone still has to give."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return  # compose reports the syntax error
    for override in parsed:
        if not override.is_sweep_override() and override.value() == "???":
            raise PreflightError(
                _prefix(where)
                + f"{override.key_or_group}: '???' marks a required value; give the value itself, e.g. {override.key_or_group}=<value>"
            )


def _searched_keys_exist(cfg: DictConfig, keys) -> None:
    missing = object()
    for key in keys:
        if key.startswith("hydra.") or key in ("hydra", "seed"):
            continue
        if OmegaConf.select(cfg, key, default=missing) is missing:
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            valid = (
                f"; valid keys of {parent or 'the config'}: {', '.join(sorted(node.keys()))}"
                if isinstance(node, DictConfig)
                else ""
            )
            raise PreflightError(f"{key}: unknown key in the search space{valid}")


def _required_in_experiments(overrides, where: str = "", config_dir: Optional[str] = None) -> None:
    """A `???` in an experiment file means "required": the command line must give it.
    (Merged over a default, OmegaConf would silently keep the default.)"""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    given = [o.key_or_group for o in parsed if not o.is_delete()]
    for override in parsed:
        if (
            override.key_or_group != "experiment"
            or override.is_sweep_override()
            or not isinstance(override.value(), str)
        ):
            continue
        folders = [Path(config_dir) / "experiment"] if config_dir else []
        path = next(
            (f / f"{override.value()}.yaml" for f in folders if (f / f"{override.value()}.yaml").is_file()),
            CONF_DIR / "experiment" / f"{override.value()}.yaml",
        )
        for key, line in _yaml_keys(path, placeholders_only=True).items():
            if not any(key == g or key.startswith((f"{g}.", f"{g}[")) for g in given):
                raise PreflightError(
                    _prefix(where) + f"{_shown_path(path)}, line {line}: {key} is ??? (a required value): "
                    f"give it on the command line, e.g. {key.split('[')[0]}=<value>"
                )


def _yaml_keys(path: Path, placeholders_only: bool = False) -> Dict[str, int]:
    """{dotted key: 1-based line} of a config file's entries (under its `# @package`), best effort."""
    try:
        yaml_guard.check_file(str(path))  # walking an alias bomb's nodes would take hours
        text = path.read_text()
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError, ValueError):
        return {}
    header = re.search(r"^#\s*@package\s+(\S+)", text, re.MULTILINE)
    if header:
        package = header.group(1)
    else:  # Hydra's default package: the config group's path (experiment/x.yaml -> experiment)
        package = (
            path.parent.relative_to(CONF_DIR).as_posix().replace("/", ".") if path.is_relative_to(CONF_DIR) else ""
        )
    prefix = "" if package == "_global_" else package
    found: Dict[str, int] = {}

    def walk(node, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = str(k.value)
                if not key and name == "defaults":
                    continue
                child = f"{key}.{name}" if key else name
                if not placeholders_only:
                    found[child] = k.start_mark.line + 1
                walk(v, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{key}[{i}]")
        elif placeholders_only and isinstance(node, yaml.ScalarNode) and node.value == "???":
            found[key] = node.start_mark.line + 1

    walk(root, prefix)
    return found


def _shown_path(path) -> str:
    """experiments/x.yaml rather than /…/conf/experiment/x.yaml (conf/experiment is a link)."""
    path = Path(path)
    for candidate in (path.resolve(), path):
        try:
            return candidate.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            pass
    return str(path)


def _yaml_message(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = " ".join(str(part) for part in (getattr(err, "context", None), getattr(err, "problem", None)) if part)
    kind = "" if isinstance(err, yaml_guard.UnsafeYAML) else "malformed YAML: "
    if mark is None:
        return f"{kind}{_first_line(err)}"
    return (
        f"{_shown_path(mark.name)}, line {mark.line + 1}, column {mark.column + 1}: {kind}{problem or _first_line(err)}"
    )


def validate_point(cfg: DictConfig, overrides, where: str = "", multirun: bool = False) -> None:
    """Schema and range checks, where the run may write, then the model and loss against the
    data's shape (runner/build/assemble.py: the model built once, on the meta device, by check_model),
    then a dataset's files (runner/build/data/official.py: missing or damaged files refused here)."""
    try:
        run = validate(cfg)  # first: it refuses resolvers that the path checks would otherwise call
        # Whether trainer.device=auto finds a GPU: torch's answer, which the config floor does not import.
        check_cuda_graphs(run.trainer, torch.cuda.is_available(), "trainer.cuda_graphs")
        if "hydra" in cfg:
            _check_choices(cfg.hydra)
            config_policy.check_paths(cfg, multirun)
        input_shape, num_classes = run.data.shape()
        check_parts(run, input_shape, num_classes)
        if _runs_here(cfg):
            check_device(run.trainer.device)
        prepare_data(run.data)  # a dataset read from files: found and decoded (or cached) now, not in the run
    except ConfigError as err:
        raise PreflightError(_prefix(where) + str(err)) from None
    except OmegaConfBaseException as err:
        raise PreflightError(_prefix(where) + _omegaconf_message(err)) from None


def _runs_here(cfg: DictConfig) -> bool:
    """Local launchers (basic, joblib) run on this machine; a SLURM job's devices are not ours to check."""
    target = OmegaConf.select(cfg, "hydra.launcher._target_", default=None) if "hydra" in cfg else None
    return target is None or "basic_launcher" in target or "joblib" in target


def check_device(name: str) -> None:
    """trainer.device=cuda (or cuda:N) on a machine without it fails now, not after the run folder is made."""
    if not name.startswith("cuda"):
        return
    resolve_device(name)  # ConfigError when there is no CUDA at all
    index = name.partition(":")[2]
    count = torch.cuda.device_count()
    if index.isdigit() and int(index) >= count:
        raise ConfigError(
            "trainer.device",
            f"'{name}' was asked for but this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}",
        )


def _prefix(where: str) -> str:
    return f"in {where}: " if where else ""


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0]


def _omegaconf_message(err: OmegaConfBaseException) -> str:
    first = _first_line(err)
    key = getattr(err, "full_key", None)
    return f"{key}: {first}" if key else first


def _causes(err: BaseException):
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def _explain(err: Exception, overrides, where: str) -> str:
    """Hydra's message, trimmed to one line naming the key (and the file it came from), plus
    the valid keys when an unknown key was given."""
    if isinstance(err, OverrideParseException):
        return (
            _prefix(where) + f"cannot parse override '{err.override}': {_first_line(err)} (see `runner train --help`)"
        )
    causes = list(_causes(err))
    for cause in causes:
        if isinstance(cause, yaml.YAMLError):
            return _prefix(where) + _yaml_message(cause)
    cause = next((c for c in causes if getattr(c, "full_key", None)), err)
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    lines = [
        line
        for line in lines
        if not line.strip().startswith(("Config search path", "provider=", "object_type", "reference_type", "full_key"))
    ]
    source = re.match(r"In '([^']+)'", str(err))
    file = CONF_DIR / f"{source.group(1)}.yaml" if source else None
    file = file if file is not None and file.is_file() and source.group(1) != "config" else None
    key = getattr(cause, "full_key", None)
    if key:
        where_in_file = ""
        if file is not None:
            line = _yaml_keys(file).get(key)
            where_in_file = f"{_shown_path(file)}" + (f", line {line}" if line else "") + ": "
        leaf = key.rpartition(".")[2]
        if leaf in CODE_KEYS:
            return (
                _prefix(where)
                + where_in_file
                + f"{key}: configs cannot name code to import or call; select a registered builder by name instead (`runner train --help` lists them)"
            )
        if isinstance(cause, ValidationError):
            return _prefix(where) + where_in_file + f"{key}: {_first_line(cause)}"
        if "not in" in str(cause) or "Could not override" in str(err):
            parent = key.rpartition(".")[0]
            valid = _schema_keys(cause) or _valid_keys(parent, overrides, key)
            return (
                _prefix(where)
                + where_in_file
                + f"{key}: unknown key '{leaf}'"
                + (f"; valid keys of {parent or 'the config'}: {', '.join(valid)}" if valid else "")
            )
        return _prefix(where) + where_in_file + f"{key}: {_first_line(cause)}"
    if file is not None and lines:
        lines[0] = re.sub(r"^In '[^']+': ", f"{_shown_path(file)}: ", lines[0])
    else:
        lines = [re.sub(r"^In '[^']+': ", "", line) for line in lines]
    heading = next((i for i, line in enumerate(lines) if line.startswith("Available options")), None)
    if heading is not None:  # an unknown option: `model/transformer ... Available options in 'model': a, b, c`
        options = ", ".join(line.strip() for line in lines[heading + 1 :])
        lines = [*lines[:heading], f"{lines[heading].strip()} {options}"]
        return _prefix(where) + "; ".join(line.strip() for line in lines)
    return _prefix(where) + " ".join(line.strip() for line in lines)


def _schema_keys(err) -> List[str]:
    schema = getattr(err, "object_type", None)
    fields = getattr(schema, "__dataclass_fields__", None)
    return sorted(fields) if fields else []


def _valid_keys(parent: str, overrides, bad_key: str) -> List[str]:
    keep = [o for o in overrides if not o.lstrip("+~").startswith(bad_key)]
    try:
        cfg = compose(keep)
        node = OmegaConf.select(cfg, parent) if parent else cfg
        return sorted(node.keys()) if isinstance(node, DictConfig) else []
    except Exception:  # the hint is best-effort; the error itself is already known
        return []
