"""`runner diagnose RUN_DIR [--json]`: after training, what the run folder's curves show
(runner/analyse/run_findings.py measures it), read through runner/record/ only.

Exit 0 whatever the verdicts are: the diagnosis of a run that over-fit is a result, not a
failure of the command. Exit 2, with one `runner diagnose: ...` line, when RUN_DIR is not a
run, is a run still going (or one killed before it ended), or holds a damaged results.json
or metrics.csv.
"""

import argparse
import json
import math
import sys
import textwrap
from pathlib import Path
from typing import List, Optional, Tuple

from runner.analyse.run_findings import Curves, Finding, findings
from runner.errors import RunFault
from runner.record.run_folder import RunFolder
from runner.record.run_folders import folders_holding_runs
from runner.record.run_lock import refuse_if_busy

PREFIX = "runner diagnose"
WIDTH = 80


class DiagnoseRunError(Exception):
    """A folder that cannot be diagnosed; str() is the one line shown."""


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="runner diagnose",
        description="After training: over- or under-fitting, plateau, loss spikes, the best epoch and what "
        "ended the run, measured from RUN_DIR's metrics.csv and results.json (docs/diagnose.md).",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder (holds results.json)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    return parser.parse_args(argv)


def read_run(run_dir: Path) -> Tuple[dict, List[dict]]:
    """(results.json, metrics.csv's rows) of a run that has ended; DiagnoseRunError otherwise."""
    folder = RunFolder(run_dir)
    if not run_dir.is_dir():
        raise DiagnoseRunError(f"no such folder: {run_dir}")
    if not folder.markers() and not folder.is_run():
        raise DiagnoseRunError(f"{run_dir}: not a run folder (no results.json or metrics.csv){_runs_inside(run_dir)}")
    try:
        refuse_if_busy(run_dir)
    except RunFault as err:
        held = str(err).split(": wait for it")[0]  # "<folder> is in use by another run (<holder>)"
        raise DiagnoseRunError(f"{held}: a run still going; diagnose it when it has ended") from None
    if not folder.results_file.exists():
        raise DiagnoseRunError(
            f"{folder.results_file}: missing; the run has not ended (still going, or killed before it "
            "wrote it): diagnose it when it has ended, or continue it with trainer.resume=auto"
        )
    problems: List[str] = []
    results = folder.read_results(problems)
    if results is None:
        raise DiagnoseRunError(problems[0].replace("; run left out", "") if problems else f"{run_dir}: unreadable")
    try:
        rows = folder.metric_rows()
    except RunFault as err:
        raise DiagnoseRunError(str(err).split("; repair it")[0] + "; repair it, or train the run again") from None
    epochs = results.get("epochs_run")
    if not rows and isinstance(epochs, int) and epochs > 0:
        raise DiagnoseRunError(f"{folder.metrics_file}: missing or empty, but results.json says {epochs} epoch(s) ran")
    return results, rows


def _runs_inside(folder: Path) -> str:
    """A sweep folder given for a run: the words that say which runs it holds."""
    runs = folders_holding_runs(folder)
    if not runs:
        return ""
    return f"; it holds {len(runs)} run folder(s), e.g. {runs[0]}: diagnose one, or `runner compare {folder}`"


def reference(folder: RunFolder, results: dict) -> Tuple[Optional[float], str, bool]:
    """The loss of a model that knows nothing, ln C, for cross-entropy over C classes or C tokens
    (the name it is shown under); None for other losses (the verdict then uses epoch 1's loss).
    The third value: a character language model (its loss also in bits per character)."""
    vocabulary = folder.vocabulary()
    if results.get("task") == "language_model" and vocabulary:
        size = len(vocabulary["itos"])
        return math.log(size), f"ln {size} ({size} tokens)", vocabulary["tokens"] == "char"
    classes = _num_classes(folder) if results.get("task") == "classification" else None
    if classes and _loss_name(folder) == "cross_entropy":
        return math.log(classes), f"ln {classes} ({classes} classes)", False
    return None, "epoch 1's", False


def _num_classes(folder: RunFolder) -> Optional[int]:
    """data.num_classes of the saved config, or the data member's own count (config/, no data loaded)."""
    try:
        data = folder.config().get("data")
        classes = data.get("num_classes") if data is not None else None
        if isinstance(classes, int):
            return classes
        from runner.config.data import DATA_MEMBERS

        schema = DATA_MEMBERS.schema(str(data.get("name")), "data")
        return int(schema(**{k: v for k, v in data.items()}).shape()[1])
    except Exception:  # an own-data member needs its files for a count, a damaged config: no ln C
        return None


def _loss_name(folder: RunFolder) -> Optional[str]:
    try:
        return str(folder.config().get("loss"))
    except Exception:  # no .hydra/config.yaml (a hand-made folder): cross-entropy is the default
        return "cross_entropy"


def diagnose(run_dir: Path) -> Tuple[dict, List[Finding]]:
    results, rows = read_run(run_dir)
    loss, name, bpc = reference(RunFolder(run_dir), results)
    return results, findings(Curves.of(rows, loss, name, bpc), results)


def table(run_dir: Path, results: dict, found: List[Finding]) -> str:
    """The findings as a list within WIDTH columns: the check and verdict, then the facts and what they mean."""
    lines = [str(run_dir)]  # on a line of its own: a path may be wider than the table
    lines.append(f"{results.get('task')}, {results.get('epochs_run')} epoch(s), monitor {results.get('monitor')}")
    for finding in found:
        lines.append("")
        lines.append(f"{finding.check + ':':<12} {finding.verdict}")
        lines += textwrap.wrap(finding.facts, WIDTH, initial_indent="  ", subsequent_indent="    ")
        if finding.means:
            lines += textwrap.wrap("-> " + finding.means, WIDTH, initial_indent="  ", subsequent_indent="     ")
    return "\n".join(lines)


def main(argv) -> int:
    args = parse_args(argv)
    try:
        results, found = diagnose(args.run_dir)
    except DiagnoseRunError as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return 2
    if args.json:
        payload = {"run_dir": str(args.run_dir), "stop_reason": results.get("stop_reason")}
        print(json.dumps({**payload, "findings": [f.as_json() for f in found]}, indent=2))
    else:
        print(table(args.run_dir, results, found))
    return 0
