"""`runner evaluate RUN_DIR [overrides]`: test a run's saved weights again, from
the run folder alone: the model is rebuilt from .hydra/config.yaml, the weights
come from checkpoints/best.pt, and the test split is scored with the same
`evaluate` that `fit` used, so on the same data the accuracy equals results.json's.
Adds a confusion matrix (PNG, Markdown, CSV) in RUN_DIR/evaluation[_<overrides>]/.

Overrides change the data or the trainer's evaluation settings only
(`data.noise=0.8`, `data=mnist`, `trainer.device=cpu`): the model is fixed by
the checkpoint.
"""

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runner.errors import CheckpointError, ConfigError, PreflightError
from runner.record.run_folder import RunFolder

CHANGEABLE = ("data", "trainer")  # top-level keys an override may touch
# compose(overrides): the config of a command line, composed and checked as `runner train` checks
# it; raises PreflightError. runner/cli.py hands it over (runner/launch/ sits above analyse/).
Compose = Callable[[List[str]], DictConfig]


@dataclass
class Evaluation:
    loss: float
    accuracy: Optional[float]  # None for models that do not classify (autoencoders)
    confusion: List[List[int]]  # [true class][predicted class] -> count; [] when not classifying
    checkpoint: Path
    checkpoint_epoch: Optional[int]
    overrides: List[str]
    names: Optional[List[str]] = None  # what each class stands for, when the labels were names (labels.json)

    @property
    def labels(self) -> List[str]:
        if self.names is not None and len(self.names) == len(self.confusion):
            return list(self.names)
        return [str(i) for i in range(len(self.confusion))]


class EvaluateError(Exception):
    """Bad input; str() is the one line shown to the user."""


# ---------------------------------------------------------------- config


def run_config(run_dir: Path, overrides: List[str], compose: Compose) -> DictConfig:
    """The run's own composed config, with `overrides` applied to its data/trainer groups."""
    saved_file = RunFolder(run_dir).config_file
    if not saved_file.exists():
        raise EvaluateError(f"{run_dir}: not a run folder (no .hydra/config.yaml)")
    from runner.config.schema import RunConfig

    saved = _load_config(saved_file)
    try:
        # Typed like a freshly composed config, so that validate() returns dataclasses.
        cfg = OmegaConf.merge(OmegaConf.structured(RunConfig), saved)
    except OmegaConfBaseException as err:
        raise EvaluateError(f"{saved_file}: does not fit the current config schema: {_first_line(err)}") from None
    # A group added to the project after this run was made takes its default (it cannot matter for testing).
    absent = [key for key in cfg if OmegaConf.is_missing(cfg, key)]
    if absent:
        defaults = _compose(compose, [])
        for key in absent:
            cfg[key] = defaults[key]
    _data_paths_from_launch_folder(cfg, RunFolder(run_dir).launch_folder())
    if not overrides:
        return cfg
    touched = _top_level_keys(overrides)
    wrong = sorted(touched - set(CHANGEABLE))
    if wrong:
        raise EvaluateError(
            f"overrides may change {' and '.join(CHANGEABLE)} only (the model comes from the checkpoint); got: {', '.join(wrong)}"
        )
    # Compose the run's command line + the new overrides, so that group choices
    # (`data=mnist`) and values (`data.noise=0.8`) mean what they mean for `runner train`.
    composed = _compose(compose, _run_overrides(run_dir) + list(overrides))
    for key in touched:
        cfg[key] = composed[key]
    return cfg


DATA_PATH_KEYS = ("path", "root", "labels")  # the data members' keys that name files or folders


def _data_paths_from_launch_folder(cfg: DictConfig, launched_in: Optional[Path]) -> None:
    """A relative data.path was read from the folder `runner train` started in: evaluate and sample
    from anywhere else find the same file there (when it is still there)."""
    if launched_in is None:
        return
    for key in DATA_PATH_KEYS:
        value = OmegaConf.select(cfg, f"data.{key}", default=None)
        if isinstance(value, str) and value and not Path(value).is_absolute() and (launched_in / value).exists():
            cfg.data[key] = str(launched_in / value)


def _load_config(file: Path) -> DictConfig:
    """The saved config as written by Hydra; a damaged or hand-edited file is named, not a traceback."""
    import yaml

    try:
        return OmegaConf.load(file)
    except yaml.MarkedYAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if err.problem_mark else ""
        raise EvaluateError(f"{file}: not readable YAML ({err.problem or err.context}{where})") from None
    except (yaml.YAMLError, UnicodeDecodeError, OSError, OmegaConfBaseException, TypeError) as err:
        raise EvaluateError(f"{file}: not readable YAML ({_first_line(err)})") from None


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _top_level_keys(overrides: List[str]) -> set:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as err:
        raise EvaluateError(f"bad override: {_first_line(err)}") from None
    return {o.key_or_group.split(".")[0].split("/")[0] for o in parsed}


def _run_overrides(run_dir: Path) -> List[str]:
    try:
        return RunFolder(run_dir).overrides()
    except ValueError as err:  # not YAML, or not a list of strings: names the file
        raise EvaluateError(str(err)) from None


def _compose(compose: Compose, overrides: List[str]) -> DictConfig:
    """Compose and check as `runner train` does (runner/launch/preflight.py): a shared folder's saved
    overrides are untrusted like any command line. Its hydra.* overrides are dropped: where the
    original run wrote, and how it was launched, are not this command's concern."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith("hydra")]
    try:
        return compose(kept)
    except PreflightError as err:
        raise EvaluateError(f"cannot compose the config with {' '.join(kept) or 'no overrides'}: {err}") from None


# ---------------------------------------------------------------- evaluation


def evaluate_run(cfg: DictConfig, checkpoint: Path, overrides: List[str]) -> Evaluation:
    from runner.build.layout import default_dtype
    from runner.config.schema import validate

    run_cfg = validate(cfg)
    with default_dtype(run_cfg.trainer.precision):  # an fp64 run is evaluated in fp64, as fit tested it
        return _evaluate_run(run_cfg, checkpoint, overrides)


def _evaluate_run(run_cfg, checkpoint: Path, overrides: List[str]) -> Evaluation:
    from runner.build.assemble import assemble_tested
    from runner.build.device import resolve_device
    from runner.build.evaluation import split_metrics
    from runner.record.checkpoint import load_checkpoint, load_weights

    device = resolve_device(run_cfg.trainer.device)
    if run_cfg.trainer.threads:
        torch.set_num_threads(run_cfg.trainer.threads)
    state = {}

    def saved_weights(model) -> None:
        state.update(load_checkpoint(checkpoint, keys=("model",)))  # data only; CheckpointError names the file
        load_weights(
            model, state["model"], checkpoint
        )  # another architecture, or a data override that changed the shapes

    # Assembled as fit assembles its run (runner/build/assemble.py), scored with the same loss and
    # the same split metrics as fit's test step: same numbers on the same data.
    data, model, task, loss_fn = assemble_tested(run_cfg, device, saved_weights)
    batch_size = run_cfg.trainer.eval_batch_size
    metrics = split_metrics(model, task, data.test, loss_fn, batch_size)
    confusion = task.confusion(model, data.test, data.num_classes, batch_size)  # [] for models that do not classify
    return Evaluation(
        metrics["loss"],
        metrics.get("accuracy"),
        confusion,
        checkpoint,
        state.get("epoch"),
        list(overrides),
        data.class_names,
    )


# ---------------------------------------------------------------- output


def confusion_markdown(result: Evaluation) -> str:
    labels = result.labels
    lines = [
        "| true \\ predicted | " + " | ".join(labels) + " | correct % |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for i, (label, row) in enumerate(zip(labels, result.confusion)):
        total = sum(row)
        recall = f"{100 * row[i] / total:.2f}" if total else "—"
        lines.append(f"| **{label}** | " + " | ".join(str(c) for c in row) + f" | {recall} |")
    return "\n".join(lines)


def summary(result: Evaluation) -> str:
    text = f"test loss {result.loss:.4f}"
    return text + (f", test accuracy {100 * result.accuracy:.2f}%" if result.accuracy is not None else "")


def write_outputs(result: Evaluation, run_dir: Path, out: Path) -> List[str]:
    """evaluation.json always; the confusion matrix as PNG, Markdown and CSV for classifiers."""
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "test": {"loss": result.loss, "accuracy": result.accuracy},
        "checkpoint": str(result.checkpoint),
        "checkpoint_epoch": result.checkpoint_epoch,
        "overrides": result.overrides,
        "confusion_matrix": result.confusion,
    }
    (out / "evaluation.json").write_text(json.dumps(record, indent=2) + "\n")
    if not result.confusion:
        return ["evaluation.json"]

    from runner.analyse import plots

    where = f"{run_dir.parent.name}/{run_dir.name}, {result.checkpoint.name}" + (
        f", {' '.join(result.overrides)}" if result.overrides else ""
    )
    plots.plot_confusion(result.confusion, result.labels, out / "confusion_matrix.png", f"{summary(result)}\n({where})")
    with open(out / "confusion_matrix.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["true \\ predicted", *result.labels])
        writer.writerows([label, *row] for label, row in zip(result.labels, result.confusion))
    header = f"# Evaluation of {run_dir}\n\nCheckpoint {result.checkpoint} (epoch {result.checkpoint_epoch})"
    header += f", overrides: `{' '.join(result.overrides)}`" if result.overrides else ""
    (out / "confusion_matrix.md").write_text(f"{header}\n\n{summary(result)}\n\n{confusion_markdown(result)}\n")
    return ["evaluation.json", "confusion_matrix.png", "confusion_matrix.md", "confusion_matrix.csv"]


def output_folder(run_dir: Path, overrides: List[str]) -> Path:
    """evaluation/ for the run's own data; evaluation_<overrides>/ otherwise, so both can coexist."""
    if not overrides:
        return run_dir / "evaluation"
    return run_dir / ("evaluation_" + re.sub(r"[^A-Za-z0-9_.=,+-]", "_", ",".join(overrides))[:120])


# ---------------------------------------------------------------- command


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="runner evaluate",
        description="Test a run's saved weights again: rebuild the model from\n"
        "RUN_DIR/.hydra/config.yaml, load checkpoints/best.pt, report test loss and\n"
        "accuracy (equal to results.json's on the same data; exit code 1 if not) and\n"
        "write a confusion matrix (PNG, Markdown, CSV) into RUN_DIR/evaluation/.",
        epilog="examples:\n"
        "  runner evaluate outputs/runs/2025-01-31/12-00-00-000000\n"
        "  runner evaluate outputs/sweeps/2025-01-31/12-00-00/3 data.noise=0.8  # harder\n"
        "  runner evaluate RUN_DIR trainer.device=cpu --checkpoint last",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder (holds .hydra/ and checkpoints/)")
    parser.add_argument(
        "overrides", nargs="*", help=f"overrides of {' and '.join(CHANGEABLE)} (Hydra syntax, as for `runner train`)"
    )
    parser.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        help="which weights (default: the ones results.json was tested with, else best)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write (default: RUN_DIR/evaluation[_<overrides>])"
    )
    return parser.parse_args(argv)


def main(argv, compose: Compose) -> int:
    args = parse_args(argv)
    run_dir = args.run_dir
    if not run_dir.is_dir():
        print(f"runner evaluate: no such folder: {run_dir}", file=sys.stderr)
        return 2
    results = RunFolder(run_dir).results_json()
    which = args.checkpoint or (results or {}).get("tested_weights", "best")
    if which not in ("best", "last"):  # a hand-edited results.json must not name another file to load
        which = "best"
    checkpoint = RunFolder(run_dir).checkpoint(which)
    try:
        if not checkpoint.exists():
            raise EvaluateError(
                f"{checkpoint}: no such checkpoint (was the run trained with trainer.checkpoints=false, or is it still at its first epoch?)"
            )
        cfg = run_config(run_dir, args.overrides, compose)
        result = evaluate_run(cfg, checkpoint, args.overrides)
    except (EvaluateError, ConfigError, CheckpointError, OmegaConfBaseException) as err:
        print(f"runner evaluate: {err}", file=sys.stderr)
        return 2

    out = args.out or output_folder(run_dir, args.overrides)
    written = write_outputs(result, run_dir, out)
    print(
        f"{run_dir}: {checkpoint.name} (epoch {result.checkpoint_epoch})"
        + (f" with {' '.join(args.overrides)}" if args.overrides else "")
    )
    print(summary(result))
    if result.confusion and len(result.confusion) <= 20:
        print("\n" + confusion_markdown(result) + "\n")
    print(f"wrote {out}: {', '.join(written)}")
    return _check_against_results(result, results, which, args.overrides)


def _check_against_results(result: Evaluation, results: Optional[dict], which: str, overrides: List[str]) -> int:
    """Same data, same weights: the accuracy must be exactly results.json's (exit 1 = a
    reproducibility problem). Losses are sums of floats in a different order: compared to 1e-5."""
    recorded = (results or {}).get("test") or {}
    if not recorded or overrides or which != results.get("tested_weights", "best"):
        return 0
    if result.accuracy is not None:
        same, what = (
            result.accuracy == recorded.get("accuracy"),
            f"test accuracy {result.accuracy} vs {recorded.get('accuracy')}",
        )
    else:
        same, what = (
            abs(result.loss - recorded.get("loss", float("nan"))) <= 1e-5 * max(1.0, abs(result.loss)),
            f"test loss {result.loss} vs {recorded.get('loss')}",
        )
    if same:
        print(f"matches results.json ({summary(result)})")
        return 0
    print(f"runner evaluate: differs from results.json: {what}", file=sys.stderr)
    return 1
