"""`runner <command> [args]`: the first word picks the command."""

import os
import sys
from dataclasses import dataclass
from typing import Any, List

USAGE = """usage: runner <command> [args...]

commands:
  train [overrides...]   train a run, or a sweep with -m (runner train --help)
  compare PATH... [--sort COLUMN] [--out DIR]
                         compare a sweep's runs: mean ± std, Welch tests, plots
  evaluate RUN_DIR [overrides...]
                         re-test a run's best checkpoint: accuracy, confusion
  reproduce [ROWS...] [--seeds N] [--quick] [--report]
                         train documented MNIST/MNIST-1D results, compare
  gradcheck [overrides...] [--examples N] [--entries N] [--tol X]
                         check autograd gradients against finite differences
  diagnose [overrides...] [--json]
                         check a model before training: init loss, overfit,
                         gradients, dead units, update ratio (exit 1: problem)
  diagnose RUN_DIR       diagnose a finished run from its folder
  sample RUN_DIR [--prompt TEXT] [--length N] [--temperature T] [--seed S]
                         draw text from a language model's best checkpoint
  lr-find [overrides...] [--start LR] [--end LR] [--steps N] [--out DIR]
                         learning-rate range test: plot, suggested lr

examples:
  runner train                               # the default: an MLP on MNIST
  runner train model.hidden_sizes=[256,128] optimizer=momentum optimizer.lr=0.1
  runner train data=synthetic trainer.epochs=3         # seconds: a smoke test
  runner train -m model.activation=tanh,relu seed=0,1,2
  runner train -m hydra/launcher=joblib +experiment=tanh_vs_relu  # 2 at a time
  runner compare outputs/sweeps/<date>/<time>
  runner evaluate outputs/sweeps/<date>/<time>/0
  runner gradcheck model=cnn data=synthetic      # check a model's gradients
  runner diagnose model.activation=sigmoid       # checks before training
  runner lr-find optimizer=sgd                   # the lr to train with

Runs land in outputs/; watch them with `tensorboard --logdir outputs`.
"""


HYDRA_INFO_FLAGS = ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c")
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
# Hydra's flags that take the next word as their value (unless given as --flag=value).
VALUED_FLAGS = (
    *CONFIG_DIR_FLAGS,
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--info",
    "-i",
    "--experimental-rerun",
)


def flag_value(args, names):
    """The value of the last of `names` in args (`--flag=value` or `--flag value`), or None."""
    value = None
    for i, arg in enumerate(args):
        flag, eq, rest = arg.partition("=")
        if flag in names:
            value = rest if eq else (args[i + 1] if i + 1 < len(args) else None)
    return value


def hydra_overrides_of(args):
    """The overrides among Hydra's arguments: not the flags, nor the words that are a flag's value."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in VALUED_FLAGS
        else:
            out.append(arg)
    return out


def train(args) -> int:
    """Check the whole command line first (runner/launch/preflight.py: every point of a sweep, before
    any runs), then launch it from what the check composed (runner/launch/app.py)."""
    if _plain_help(args):
        from runner.launch.train_help import train_help

        print(train_help())  # Hydra's rendering of the same text takes 20 s and more: runner/launch/train_help.py
        return 0
    try:
        launch = prepare_train(args)
    except TrainRefused as refused:
        print(f"runner: {refused}", file=sys.stderr)
        return refused.code
    if launch.by_hydra:
        return _hydra_app(launch.args)
    from runner.launch.app import run_one, run_sweep

    if launch.multirun:
        run_sweep(launch.overrides, launch.sweep_dir)
    else:
        run_one(launch.config)  # the config checked above: composed once
    return 0


class TrainRefused(Exception):
    """A command line refused before anything runs: str() is the line after `runner: `."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


@dataclass
class TrainLaunch:
    """What `runner train` (and runner.train/sweep from Python) launch after the checks."""

    args: List[str]  # the arguments as Hydra gets them
    overrides: List[str]
    multirun: bool
    config: Any = None  # the first (for a single run: the) composed and checked config
    sweep_dir: Any = None  # a sweep folder to lock for the whole sweep (see _chosen_sweep_dir)
    by_hydra: bool = False  # Hydra's own flags (--cfg, --info, -cn, ...): @hydra.main answers


def prepare_train(args) -> TrainLaunch:
    """Every check of `runner train ARGS` before anything runs; TrainRefused names what is wrong."""
    multirun = any(a in ("-m", "--multirun") for a in args)
    asks_info = any(a in HYDRA_INFO_FLAGS or a.startswith("--info") for a in args)
    if not asks_info:
        from runner.launch.startup import import_run_modules

        import_run_modules()  # before anything else imports torch: see runner/launch/startup.py
    from runner.fit.resume import ResumeFolderError, expand_resume_folder

    try:
        args = expand_resume_folder(args, multirun)  # trainer.resume=<run dir>
    except ResumeFolderError as err:
        raise TrainRefused(f"config error: {err}") from None
    if asks_info:
        return TrainLaunch(args, hydra_overrides_of(args), multirun, by_hydra=True)  # nothing runs
    from runner.fit import distributed  # under torchrun (trainer.strategy=ddp): rank 0 alone writes the run folder
    from runner.launch.preflight import PreflightError, check

    args = [*args, *distributed.hydra_overrides(args)]
    args, overrides = _models_for_data(args, hydra_overrides_of(args), flag_value(args, CONFIG_DIR_FLAGS))
    try:
        configs = check(overrides, multirun=multirun, keep_hydra=True, config_dir=flag_value(args, CONFIG_DIR_FLAGS))
    except PreflightError as err:
        raise TrainRefused(f"config error: {err}") from None
    problem = distributed.launch_problem(configs[0].trainer.strategy, multirun)
    if problem:
        raise TrainRefused(f"config error: {problem}")
    problem = _folder_problem(configs[0], multirun)
    if problem:
        raise TrainRefused(problem)
    sweep_dir = None
    if multirun:
        from runner.launch.resumable_sweep import ResumableSweepError

        try:
            chosen = _search_sweep_dir(overrides, configs[0]) or _resumable_sweep_dir(overrides)
        except ResumableSweepError as err:
            raise TrainRefused(str(err)) from None
        sweep_dir = _chosen_sweep_dir(overrides, configs[0])
        args, overrides = [*args, *chosen], [*overrides, *chosen]
    by_hydra = not _plain_command(args, configs[0])
    return TrainLaunch(args, overrides, multirun, configs[0], sweep_dir, by_hydra)


def _models_for_data(args, overrides, config_dir):
    """`model=cnn` with sentence data reads as model=text_cnn (runner/launch/model_for_data.py), in the
    overrides and in the arguments that Hydra may be handed."""
    from runner.launch.model_for_data import for_sentences

    read, note = for_sentences(overrides, config_dir)
    if note is None:
        return args, overrides
    print(f"runner: {note}", file=sys.stderr, flush=True)
    renamed = dict(zip(overrides, read))
    return [renamed.get(a, a) for a in args] + read[len(overrides) :], read


def _plain_help(args) -> bool:
    """-h/--help with overrides or -m at most: the help does not depend on them (it lists conf/'s
    groups). With Hydra's other flags (--config-dir adds groups, --hydra-help, --cfg) Hydra answers."""
    flags = [a for a in args if a.startswith("-")]
    return any(a in ("-h", "--help") for a in flags) and all(a in ("-h", "--help", "-m", "--multirun") for a in flags)


def _folder_problem(cfg, multirun: bool):
    """Why the run (or sweep) folder cannot be used (empty, or holding a run nobody asked to
    resume or overwrite: runner/record/run_guard.py), or None. Ranks other than 0 write no folder."""
    from runner.errors import RunFault
    from runner.fit import distributed
    from runner.record import run_guard

    if distributed.launched_rank() != 0 or (multirun and _is_search(cfg)):
        return None  # an optuna search continues its study in its folder; each trial locks its own
    try:
        run_guard.check(cfg, multirun)
    except RunFault as fault:
        return str(fault)
    return None


def _chosen_sweep_dir(overrides, cfg):
    """The sweep folder to lock for the whole sweep, so that a second sweep there is refused: one
    named on the command line. Not the dated default (this process's own, by its name), nor one
    that reads the clock (preflight and Hydra read it apart), nor a sweep with trainer.resume=auto,
    which may share its folder with another that runs other points (`runner reproduce` of other
    rows): there each point's own lock keeps two processes out of one point's folder."""
    from pathlib import Path

    named = [o for o in overrides if o.lstrip("+").startswith("hydra.sweep.dir=")]
    if not named or "now:" in named[-1] or cfg.trainer.resume == "auto" or _is_search(cfg):
        return None
    return Path(str(cfg.hydra.sweep.dir))


def _is_search(cfg) -> bool:
    """hydra/sweeper=optuna: several processes may work in one sweep folder on one study."""
    from hydra_plugins.runner_optuna_sweeper.optuna_sweeper import TARGET

    return cfg.hydra.sweeper.get("_target_") == TARGET


def _search_sweep_dir(overrides, cfg) -> List[str]:
    """[hydra.sweep.dir=<folder>] for an optuna search with no folder of its own: the command's
    folder (runner/launch/resumable_sweep.py), where launching it again continues its study."""
    from runner.launch.resumable_sweep import folder_for

    if not _is_search(cfg) or any(o.lstrip("+").startswith("hydra.sweep.dir=") for o in overrides):
        return []
    folder = folder_for(overrides)
    print(f"runner: optuna search in {folder} (launch the same command again to continue its study)", flush=True)
    return [f"hydra.sweep.dir={folder}"]


def _resumable_sweep_dir(overrides) -> List[str]:
    """[hydra.sweep.dir=<folder>] for a sweep with trainer.resume=auto and no folder of its own:
    the same command must find the same numbered folders. Raises ResumableSweepError."""
    from runner.launch.resumable_sweep import prepare, wants_resumable_folder

    if not wants_resumable_folder(overrides):
        return []
    folder = prepare(overrides)
    print(f"runner: resumable sweep in {folder} (launch the same command again to resume it)", flush=True)
    return [f"hydra.sweep.dir={folder}"]


def _plain_command(args, cfg) -> bool:
    """Overrides and -m alone, in the usual mode, not verbose: runner.launch.app can launch it. Hydra's
    other flags (--config-dir, -cn, ...), hydra.mode set by hand and hydra.verbose (which prints
    Hydra's own composition report) go through @hydra.main, which composes again."""
    flags_ok = all(a in ("-m", "--multirun") or not a.startswith("-") for a in args)
    return flags_ok and cfg.hydra.mode is None and not cfg.hydra.verbose


def _hydra_app(args) -> int:
    from runner.launch.app import train_app

    sys.argv = ["runner train", *args]
    train_app()
    return 0


def _config_error(err) -> int:
    print(f"runner: config error: {err}", file=sys.stderr)
    return 2


def compare(args) -> int:
    from runner.analyse.compare import main as compare_main

    return compare_main(args)


def evaluate(args) -> int:
    from runner.analyse.evaluate import main as evaluate_main

    return evaluate_main(args, _checked_config)


def reproduce(args) -> int:
    from runner.launch.reproduce import main as reproduce_main

    return reproduce_main(args)


def sample(args) -> int:
    from runner.analyse.sample import main as sample_main

    return sample_main(args, _checked_config)


def gradcheck(args) -> int:
    from runner.analyse.gradcheck import main as gradcheck_main

    return gradcheck_main(args, _checked_config)


def lr_find(args) -> int:
    from runner.analyse.lr_find import main as lr_find_main

    return lr_find_main(args, _checked_config)


def diagnose(args) -> int:
    """A run folder (results.json or metrics.csv in it): the after-training diagnosis
    (runner/analyse/diagnose_run.py); otherwise the pre-training checks of a config."""
    from pathlib import Path

    # Any folder, and a path that is none (no "=": not an override): diagnose_run says what is wrong
    # with it (no such folder, not a run, a run still going) rather than "cannot parse override".
    first = args[0] if args else ""
    if (first and Path(first).is_dir()) or ("/" in first and "=" not in first):
        from runner.analyse.diagnose_run import main as diagnose_run_main

        return diagnose_run_main(args)
    from runner.analyse.diagnose import main as diagnose_main

    return diagnose_main(args, _checked_config)


def _checked_config(overrides):
    """A single run's config, composed and checked as `runner train` checks it (raises
    PreflightError): handed to the analyse commands, which sit below launch/ and so cannot
    import it. Imported when called, so that `--help` stays quick."""
    from runner.launch.preflight import check_one

    return check_one(overrides)


COMMANDS = {
    "train": train,
    "compare": compare,
    "evaluate": evaluate,
    "reproduce": reproduce,
    "gradcheck": gradcheck,
    "diagnose": diagnose,
    "sample": sample,
    "lr-find": lr_find,
}


def main(argv=None) -> None:
    try:
        _main(argv)
    except BrokenPipeError:  # the reader went away (`runner --help | head`): nothing more to say, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's documented way (signal docs)
        sys.exit(1)


def _main(argv) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"runner: unknown command '{command}'; choose one of: {', '.join(COMMANDS)}\n", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[command](args))
