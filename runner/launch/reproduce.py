"""`runner reproduce`: train the documented MNIST results from experiments/reproduce/*.yaml
and report documented vs obtained.

Runs go through the ordinary sweep machinery (`runner train -m` over the list of
missing (row, seed) runs, hydra/sweeper=job_list; joblib for local parallel
jobs, any Hydra launcher), into fixed folders
outputs/reproduce/<id>/seed<k> with trainer.resume=auto, so re-running the same
command skips finished runs and resumes cut-off ones. Each finished run's small
summary is copied to experiments/results/<id>/seed<k>/ (to be committed), and
the report is rebuilt from those copies alone.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from omegaconf import OmegaConf

from runner.analyse.plots import plot_against_reference
from runner.analyse.reproduce_status import hours, metric_rows, status_table
from runner.analyse.reproduction_report import (
    Row,
    build,
    commits,
    figure_entries,
    load_rows,
    machines,
    seed_dirs,
    to_csv,
    to_markdown,
)
from runner.io import atomic_write_text
from runner.paths import EXPERIMENTS_DIR
from runner.record.run_folders import finished_results

ROWS_DIR = EXPERIMENTS_DIR / "reproduce"
RESULTS_DIR = EXPERIMENTS_DIR / "results"
SUMMARY_FILES = {
    "results.json": "results.json",
    "metrics.csv": "metrics.csv",
    ".hydra/config.yaml": "config.yaml",
    ".hydra/overrides.yaml": "overrides.yaml",
}
QUICK_OVERRIDES = ["trainer.epochs=1"]
# What else --quick shrinks, by the row's data member: MNIST to 1,000 training images without the
# expanded set; the other data are small already (MNIST-1D: 4,000 signals) and lack those keys.
QUICK_DATA_OVERRIDES = {"mnist": ["data.train_size=1000", "data.expanded=false"]}


def outputs_root(quick: bool) -> Path:
    return Path(os.environ.get("RUNNER_OUTPUTS", "outputs")) / ("reproduce-quick" if quick else "reproduce")


def select(rows: List[Row], names: List[str]) -> List[Row]:
    """Rows by id (N1), file stem (n1), group (nielsen-ch1) or group prefix (nielsen); `all` for every row."""
    if not names or "all" in names:
        return rows
    chosen, unknown = [], []
    for name in names:
        key = name.lower()
        hits = [
            r
            for r in rows
            if key in (r.id.lower(), r.experiment.split("/")[-1], r.group.lower())
            or r.group.lower().startswith(key + "-")
        ]
        (chosen.extend(hits) if hits else unknown.append(name))
    if unknown:
        groups = sorted({r.group for r in rows if r.group})
        raise SystemExit(
            f"runner reproduce: unknown row or group: {', '.join(unknown)}\n"
            f"  rows: {', '.join(r.id for r in rows)}\n  groups: {', '.join(groups)}, all"
        )
    by_id = {r.id: r for r in rows}
    for r in list(chosen):  # an ensemble needs the runs it votes with
        if r.ensemble_of and by_id.get(r.ensemble_of) not in chosen:
            chosen.append(by_id[r.ensemble_of])
    return list({r.id: r for r in chosen}.values())


def pending_seeds(row: Row, seeds: int, quick: bool) -> List[int]:
    if row.metric == "ensemble_test":
        return []  # no training of its own
    if quick:
        return list(range(seeds))
    return [s for s in range(seeds) if not finished_results(RESULTS_DIR / row.id / f"seed{s}")]


def epoch_seconds(row: Row, roots: List[Path]) -> Optional[float]:
    """The row's median training time per epoch over every run found (kept or in progress)."""
    times = [float(r["seconds"]) for root in roots for run_dir in seed_dirs(root, row.id) for r in metric_rows(run_dir)]
    return statistics.median(times) if times else None


def queue(rows: List[Row], seeds_of: Dict[str, int], quick: bool) -> List[Tuple[Row, int, Optional[float]]]:
    """The runs still to do as (row, seed, seconds left or None), in the order to start them:
    rows never timed first (they may be the longest), then the longest first, so that the
    last runs to finish are short ones and no job waits long alone at the end."""
    out_root = outputs_root(quick)
    jobs = []
    for row in rows:
        per_epoch = None if quick else epoch_seconds(row, [RESULTS_DIR, out_root])
        for seed in pending_seeds(row, seeds_of[row.id], quick):
            done = len(metric_rows(out_root / row.id / f"seed{seed}"))
            jobs.append((row, seed, None if per_epoch is None else max(row.epochs - done, 0) * per_epoch))
    return [j for j in jobs if j[2] is None] + sorted((j for j in jobs if j[2] is not None), key=lambda j: -j[2])


def data_member(row: Row) -> str:
    """The data member a row trains on: its `override /data: <name>` default, else the primary config's mnist."""
    path = ROWS_DIR / f"{row.experiment.split('/')[-1]}.yaml"
    for entry in (OmegaConf.load(path).get("defaults") or []) if path.exists() else []:
        if isinstance(entry, dict) or OmegaConf.is_dict(entry):
            for key, value in entry.items():
                if str(key).replace("override ", "").strip() == "/data":
                    return str(value)
    return "mnist"


def job(row: Row, seed: int, quick: bool) -> str:
    """One entry of the job list: the row's experiment and seed (and its data's quick overrides)."""
    extra = QUICK_DATA_OVERRIDES.get(data_member(row), []) if quick else []
    return " ".join([f"+experiment={row.experiment}", f"seed={seed}", *extra])


def launch(rows: List[Row], seeds_of: Dict[str, int], args) -> int:
    """One multirun over every (row, seed) still to do (hydra/sweeper=job_list), `jobs` at a time."""
    jobs = queue(rows, seeds_of, args.quick)
    if not jobs:
        print("runner reproduce: every run of these rows is finished", flush=True)
        return 0
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    listing = ",".join(f"'{job(row, seed, args.quick)}'" for row, seed, _ in jobs)
    command = [
        sys.executable,
        "-m",
        "runner",
        "train",
        "-m",
        "hydra/sweeper=job_list",
        f"hydra.sweeper.jobs=[{listing}]",
        f"hydra.sweep.dir={outputs_root(args.quick)}",
        "hydra.sweep.subdir=${reference.id}/seed${seed}",
        "trainer.resume=auto",
        f"trainer.threads={threads}",
        "trainer.progress=false",
    ]
    own_launcher = any(o.startswith("hydra/launcher=") for o in args.overrides)
    if args.jobs > 1 and not own_launcher:
        # batch_size=1: joblib never hands one worker two runs at once (its auto batching would after quick failures).
        command += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.jobs}", "hydra.launcher.batch_size=1"]
    if args.quick:
        command += QUICK_OVERRIDES
    command += args.overrides
    order = ", ".join(f"{row.id}/{seed}" + (f" (~{hours(left)})" if left else "") for row, seed, left in jobs)
    print(f"runner reproduce: {len(jobs)} run(s), {args.jobs} at a time, in this order: {order}", flush=True)
    return subprocess.call(command)


def collect(rows: List[Row]) -> int:
    """Copy finished runs' small summaries to experiments/results/<id>/seed<k>/ (never checkpoints)."""
    voters = {r.ensemble_of for r in rows if r.ensemble_of}
    copied = 0
    for row in rows:
        for run_dir in seed_dirs(outputs_root(False), row.id):
            target = RESULTS_DIR / row.id / run_dir.name
            if finished_results(target) or not finished_results(run_dir):
                continue  # already kept, or still to finish (a preempted run's results.json is not the end)
            files = dict(SUMMARY_FILES)
            if row.id in voters:
                files["test_predictions.csv"] = "test_predictions.csv"
            target.mkdir(parents=True, exist_ok=True)
            for src, dst in files.items():
                if (run_dir / src).exists() and dst != "results.json":
                    shutil.copyfile(run_dir / src, target / dst)
            shutil.copyfile(run_dir / "results.json", target / "results.json")  # last: marks the copy complete
            copied += 1
    return copied


def write_report(rows: List[Row], quick: bool) -> Path:
    root = outputs_root(True) if quick else RESULTS_DIR
    lines = build(rows, root, quick=quick)
    where = "; ".join(machines(root)) or "no runs yet"
    header = "\n".join(
        [
            "# Reproduction of the documented MNIST and MNIST-1D results"
            + (" (QUICK smoke run: not comparable)" if quick else ""),
            "",
            f"Report built {date.today().isoformat()} by `runner reproduce --report` from "
            + (
                "the quick run folders."
                if quick
                else "the committed summaries in experiments/results/ (results.json, metrics.csv, config.yaml per run)."
            ),
            f"Machine(s) the runs ran on: {where}. Code: commit(s) {', '.join(commits(root)) or 'unknown'} (each run's results.json has the full id).",
            "Verdict: reproduced = best of seeds within 0.15 points of the documented value for results above 99%, "
            "0.3 points below that, or the row's own tolerance (losses; MNIST-1D's whole percents: 2 points); rows run shorter than documented do not count.",
        ]
    )
    notes = RESULTS_DIR / "NOTES.md"  # hand-written provenance of the committed runs
    provenance = notes.read_text().strip() if not quick and notes.exists() else ""
    out_dir = outputs_root(True) if quick else EXPERIMENTS_DIR
    md = out_dir / ("reproduction.md" if quick else "REPRODUCTION.md")
    figure = out_dir / "reproduction.png"
    plot_against_reference(figure_entries(lines), figure)
    from runner.analyse.speed_of_learning import report_section  # imports torch: only when a report is written

    sections = "" if quick else report_section()  # Nielsen ch. 5's speed of learning, not a training run
    markdown = to_markdown(lines, header, figure=figure.name, provenance=provenance, sections=sections)
    atomic_write_text(md, markdown)
    atomic_write_text(out_dir / "reproduction.csv", to_csv(lines))
    print(markdown)
    return md


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="runner reproduce",
        description="Train the documented MNIST results (experiments/reproduce/*.yaml) and\n"
        "report documented vs obtained.",
        epilog="examples:\n  runner reproduce N1 N3a --seeds 3\n  runner reproduce nielsen-ch6 --jobs 2\n"
        "  runner reproduce all --quick           # smoke run, minutes\n"
        "  runner reproduce nielsen-ch6 --status  # runs done, at which epoch, time left\n"
        "  runner reproduce --report              # rebuild experiments/REPRODUCTION.md\n"
        "                                         # from experiments/results/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "rows",
        nargs="*",
        help="row ids (N1), groups (nielsen-ch1, nielsen, keras, autoencoders, synnaeve, mnist1d) or `all`",
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per row (default: the row's own, 3; 5 for N13)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch on 1,000 images: checks the pipeline, verdicts marked not comparable",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="runs side by side (joblib), each with cores/jobs torch threads (default 2); every missing run of the rows is in one queue, longest first",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads per run (default: cores / jobs); 1 on a machine busy with other work",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="no training: copy finished runs' summaries to experiments/results/, rebuild the report from there",
    )
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    parser.add_argument(
        "--status",
        action="store_true",
        help="no training: each run's state (finished, epoch k/n, cut off), time per epoch and time left",
    )
    parser.add_argument(
        "--override",
        dest="overrides",
        action="append",
        default=[],
        help="extra Hydra override for every run (repeatable), e.g. --override hydra/launcher=slurm",
    )
    return parser.parse_args(argv)


def main(argv) -> int:
    args = parse(argv)
    if args.jobs < 1 or (args.seeds is not None and args.seeds < 1):
        print("runner reproduce: --jobs and --seeds must be at least 1", file=sys.stderr)
        return 2
    rows = load_rows(ROWS_DIR)
    if args.list:
        for r in rows:
            print(f"{r.id:10} {r.group:16} {r.description}")
        return 0
    chosen = select(rows, args.rows)
    seeds_of = {r.id: args.seeds or r.seeds for r in chosen}
    if args.status:
        print(status_table(chosen, seeds_of, RESULTS_DIR, outputs_root(args.quick), jobs=args.jobs))
        return 0
    status = 0
    if not args.report:
        status = launch(chosen, seeds_of, args)
    if not args.quick:
        print(f"runner reproduce: {collect(chosen)} new run summaries in {RESULTS_DIR}")
    # The committed report always covers every row (a subset's training must not shrink it);
    # a quick run's report, in its own folder, shows just the rows it ran.
    write_report(chosen if args.quick else rows, args.quick)
    print(f"runner reproduce: on {platform.node()}; re-run the same command to resume cut-off runs")
    return status
