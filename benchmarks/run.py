"""The project against a plain PyTorch loop, case by case: `make bench` (issue 7).

Training cases (one epoch each, CPU):
    mlp_b10   784-100-10 sigmoid MLP, SGD lr 3.0, batch 10 (Nielsen ch. 1)
    mlp_b64   the same MLP at batch 64
    cnn_b64   conv20-pool-conv40-pool-fc100 ReLU, SGD lr 0.1, batch 64 (Nielsen ch. 6)
    lstm_b64  LSTM(28->128) over the 28 rows of each image, Adam lr 1e-3, batch 64
For each, `runner train ...` (the console script users run, in its own process)
alternates with benchmarks/plain.py (its own process) --repeats times. Epoch
time is the project's metrics.csv `seconds` (its train_epoch, first step to the
last step plus the epoch's train-metric summary) against the plain loop's
shuffle-to-last-step time; "wall" is each whole process, start to exit (the
project also evaluates val and test, writes checkpoints, TensorBoard events and
predictions; the plain script only trains).

Other cases:
    eval_cnn, eval_mlp  runner.fit.loop.evaluate on the 10k validation set against a
                        plain chunked loop, same model object, alternating in one process
    cifar_cnn_b64       CIFAR-shaped random uint8 images 3x32x32, Nielsen's conv net, SGD,
                        batch 64, 10,000 training images (5,000 with --quick): runner's loop
                        on the images held as bytes (each batch converted) and as float32
                        against the plain loop, alternating in one process; then the peak RSS
                        of a CIFAR-10-sized dataset (70,000 images) through an epoch with each
                        storage, each in its own process (benchmarks/cifar_case.py)
    lm_lstm, lm_transformer
                        character-level language models on random token windows (vocabulary 65,
                        context 64, batch 32, Adam, 100 steps; 40 with --quick): an LSTM 2 x 256 and
                        a transformer of 4 blocks x 128, runner's loop (data=text's task) against
                        nanoGPT's plain loop on a copy of the same module, in one process; CPU
                        seconds of the training thread and tokens per second (benchmarks/lm_case.py)
    startup             process start to first training step of `runner train`
                        (benchmarks/first_step.py explains how it is measured)
    sweep               runs per hour of a 2-job joblib sweep of small MLP runs against
                        the same sweep run serially (basic launcher). By default 4 seeds of
                        Nielsen's chapter-1 network: 784-100-10 sigmoid, SGD lr 3.0, batch 10,
                        30 epochs (~32 CPU s a run). Every joblib worker is a fresh Python that
                        pays ~2.5 CPU s once (import torch; torch._dynamo at the first optimizer)
                        and the launching process ~2.5 s before the first run starts (imports,
                        preflight of every point), so runs of a few seconds cannot reach 1.8x on
                        2 cores: with 3-epoch runs (--sweep-epochs 3, the default until
                        2026-11-24) the estimate is ~1.3x. The CPU seconds of each
                        process also give an idle-machine estimate (the critical path), which
                        load distorts far less than wall time.

    python benchmarks/run.py                      # everything, 3 repeats, full data
    python benchmarks/run.py --quick --repeats 1  # 5,000 training images: a smoke run
    python benchmarks/run.py --cases mlp_b10,eval_cnn --repeats 5

Training ratios: min (fastest project epoch over fastest plain one), median (of
each side), and median of pairs (each repeat runs both sides back to back; the
ratio within a pair cancels the machine's drift between minutes). The epoch
target counts as met when the min or the median of pairs is within it.

Targets (2-core machine): epoch ratio <= 1.05, evaluation ratio <= 1.0,
startup <= 3 s, sweep >= 1.8x the serial runs per hour.
"""

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ALL_CASES,
    CIFAR_CASE,
    CIFAR_TRAIN_SIZE,
    EVAL_CASES,
    LM_CASES,
    LM_QUICK_STEPS,
    LM_STEPS,
    QUICK_TRAIN_SIZE,
    ROOT,
    TRAIN_CASES,
    code_fingerprint,
    load_average,
    machine_description,
    markdown_table,
    mnist_cache,
    project_overrides,
    python,
    run_plain,
    run_project,
    runner_cmd,
    runner_env,
    scratch_dir,
    stats,
    timed_run,
)

EPOCH_TARGET, EVAL_TARGET, STARTUP_TARGET, SWEEP_TARGET = 1.05, 1.0, 3.0, 1.8


def say(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S} load {load_average()}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- training epochs


def bench_training(name, args, cache, work) -> dict:
    case = TRAIN_CASES[name]
    overrides = project_overrides(case, args.threads, args.train_size)
    runs = {"project": [], "plain": []}
    for r in range(args.repeats):
        order = ["project", "plain"] if r % 2 == 0 else ["plain", "project"]
        for side in order:
            if side == "project":
                res = run_project(overrides, work, f"{name}-{r}")
            else:
                res = run_plain(case, args.threads, args.train_size, cache)
            runs[side].append(res)
            say(f"{name} #{r + 1} {side:7s} epoch {res['epoch']:.3f} s, process {res['wall']:.2f} s")
    return {"kind": "train", "description": case.description, "overrides": overrides, "runs": runs}


def row_training(name, result) -> list:
    p = stats([r["epoch"] for r in result["runs"]["project"]])
    q = stats([r["epoch"] for r in result["runs"]["plain"]])
    pw = stats([r["wall"] for r in result["runs"]["project"]])
    qw = stats([r["wall"] for r in result["runs"]["plain"]])
    ratio_min, ratio_med = p["min"] / q["min"], p["median"] / q["median"]
    # Each repeat runs the two sides back to back: the ratio within a pair cancels the
    # machine's drift from minute to minute, which the min and median of each side do not.
    pairs = statistics.median(
        a["epoch"] / b["epoch"] for a, b in zip(result["runs"]["project"], result["runs"]["plain"])
    )
    result["summary"] = {
        "ratio_min": ratio_min,
        "ratio_median": ratio_med,
        "ratio_pairs": pairs,
        "target": EPOCH_TARGET,
    }
    ok = "yes" if min(ratio_min, pairs) <= EPOCH_TARGET else "NO"
    return [
        name,
        f"{p['min']:.3f} / {p['median']:.3f}",
        f"{q['min']:.3f} / {q['median']:.3f}",
        f"{ratio_min:.3f}",
        f"{ratio_med:.3f}",
        f"{pairs:.3f}",
        f"<= {EPOCH_TARGET}: {ok}",
        f"{pw['min']:.1f} / {pw['median']:.1f}",
        f"{qw['min']:.1f} / {qw['median']:.1f}",
    ]


# ---------------------------------------------------------------- evaluation


def bench_eval(name, args, cache) -> dict:
    model = EVAL_CASES[name]
    inner = args.repeats * (20 if model == "mlp" else 3)
    cmd = [python(), str(ROOT / "benchmarks" / "eval_case.py"), "--model", model, "--threads", str(args.threads)]
    res = timed_run(cmd + ["--repeats", str(inner), "--cache", str(cache)])
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    say(
        f"{name}: project median {statistics.median(out['project']):.4f} s, plain {statistics.median(out['plain']):.4f} s"
    )
    return {"kind": "eval", "runs": out}


def row_eval(name, result) -> list:
    p, q = stats(result["runs"]["project"]), stats(result["runs"]["plain"])
    ratio_min, ratio_med = p["min"] / q["min"], p["median"] / q["median"]
    result["summary"] = {
        "ratio_min": ratio_min,
        "ratio_median": ratio_med,
        "target": EVAL_TARGET,
        "agree": result["runs"]["agree"],
    }
    ok = "yes" if ratio_min <= EVAL_TARGET + 0.02 else "NO"  # 2 %: the resolution of a loaded machine
    return [
        name,
        f"{p['min']:.4f} / {p['median']:.4f}",
        f"{q['min']:.4f} / {q['median']:.4f}",
        f"{ratio_min:.3f}",
        f"{ratio_med:.3f}",
        "",
        f"<= {EVAL_TARGET}: {ok}",
        "",
        "",
    ]


# ---------------------------------------------------------------- CIFAR-shaped epoch, storage and memory


def bench_cifar(args) -> dict:
    size = QUICK_TRAIN_SIZE if args.quick else CIFAR_TRAIN_SIZE
    cmd = [python(), str(ROOT / "benchmarks" / "cifar_case.py"), "--train-size", str(size)]
    res = timed_run(cmd + ["--repeats", str(args.repeats), "--threads", str(args.threads)])
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    say(f"{CIFAR_CASE}: " + ", ".join(f"{k} median {statistics.median(v):.3f} CPU s" for k, v in out["cpu"].items()))
    return {"kind": "cifar", "runs": out}


def row_cifar(name, result) -> list:
    """Ratios of the training thread's CPU seconds (cifar_case.py: steadier than wall time when shared)."""
    seconds = result["runs"]["cpu"]
    p, f, q = stats(seconds["bytes"]), stats(seconds["float"]), stats(seconds["plain"])
    ratio_min, ratio_med = p["min"] / q["min"], p["median"] / q["median"]
    pairs = statistics.median(a / b for a, b in zip(seconds["bytes"], seconds["plain"]))
    result["summary"] = {
        "ratio_min": ratio_min,
        "ratio_median": ratio_med,
        "ratio_pairs": pairs,
        "bytes_over_float_min": p["min"] / f["min"],
        "target": EPOCH_TARGET,
    }
    ok = "yes" if min(ratio_min, pairs) <= EPOCH_TARGET else "NO"
    return [
        f"{name} ({result['runs']['train_size']:,} images, bytes; CPU s)",
        f"{p['min']:.3f} / {p['median']:.3f}",
        f"{q['min']:.3f} / {q['median']:.3f}",
        f"{ratio_min:.3f}",
        f"{ratio_med:.3f}",
        f"{pairs:.3f}",
        f"<= {EPOCH_TARGET}: {ok}",
        "",
        "",
    ]


def cifar_note(result) -> str:
    seconds, rss = result["runs"]["cpu"], result["runs"]["rss"]
    p, f = stats(seconds["bytes"]), stats(seconds["float"])
    lines = [
        f"{CIFAR_CASE} (CPU s of the training thread): runner's epoch with the images held as bytes {p['min']:.3f} / {p['median']:.3f} s (min / median),"
        f" as float32 {f['min']:.3f} / {f['median']:.3f} s: bytes / float {p['min'] / f['min']:.3f} (min)."
    ]
    if "nchw" in seconds:
        n, q = stats(seconds["nchw"]), stats(seconds["plain"])
        lines.append(
            f"in the plain loop's layout (trainer.channels_last=false, bytes): {n['min']:.3f} / {n['median']:.3f} s,"
            f" ratio to the plain loop {n['min'] / q['min']:.3f} (min), {n['median'] / q['median']:.3f} (median)"
        )
    if "augment" in seconds:
        a = stats(seconds["augment"])
        lines.append(
            f"with regularization=augment_crop_flip (bytes): {a['min']:.3f} / {a['median']:.3f} s, {a['min'] / p['min']:.3f}x the epoch without"
        )
    for storage, r in rss.items():
        lines.append(
            f"peak RSS, CIFAR-10-sized data held as {storage}: {r['peak_rss_mib']:.0f} MiB"
            f" ({r['peak_rss_mib'] - r['rss_before_data_mib']:.0f} MiB over the {r['rss_before_data_mib']:.0f} MiB before any data;"
            f" inputs held {r['held_inputs_mib']:.0f} MiB)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- character-level language models


def bench_lm(names, args) -> dict:
    """Every requested LM case in one lm_case.py process (it imports and composes once)."""
    steps = LM_QUICK_STEPS if args.quick else LM_STEPS
    cmd = [python(), str(ROOT / "benchmarks" / "lm_case.py"), "--cases", ",".join(names), "--steps", str(steps)]
    res = timed_run(cmd + ["--repeats", str(args.repeats), "--threads", str(args.threads)])
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    shared = {k: out[k] for k in ("steps", "batch_size", "context", "threads")}
    for name in names:
        say(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in out[name]["summary"].items()))
    return {name: {"kind": "lm", "runs": {**out[name], **shared}} for name in names}


def row_lm(name, result) -> list:
    """Ratios of the training thread's CPU seconds (lm_case.py), like the CIFAR case's."""
    runs = result["runs"]
    r, q, s = stats(runs["cpu"]["runner"]), stats(runs["cpu"]["plain"]), runs["summary"]
    result["summary"] = {**s, "target": EPOCH_TARGET}
    ok = "yes" if min(s["ratio_min"], s["ratio_pairs"]) <= EPOCH_TARGET else "NO"
    return [
        f"{name} ({runs['steps']} steps of {runs['batch_size']} x {runs['context']} tokens; CPU s)",
        f"{r['min']:.3f} / {r['median']:.3f}",
        f"{q['min']:.3f} / {q['median']:.3f}",
        f"{s['ratio_min']:.3f}",
        f"{s['ratio_median']:.3f}",
        f"{s['ratio_pairs']:.3f}",
        f"<= {EPOCH_TARGET}: {ok}",
        "",
        "",
    ]


def lm_note(results) -> str:
    lines = []
    for name, result in results.items():
        s, runs = result["runs"]["summary"], result["runs"]
        lines.append(
            f"{name} ({runs['params']:,} parameters): runner {s['runner_tokens_per_s']:,.0f} tokens/s,"
            f" plain {s['plain_tokens_per_s']:,.0f} tokens/s (median epochs, wall clock)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- startup


def bench_startup(args, cache, work) -> dict:
    """Process start to first training step: `runner train` (through first_step.py) and the
    plain script, alternating, on the mlp_b64 case."""
    case = TRAIN_CASES["mlp_b64"]
    marks, cpu_marks, plain = [], [], []
    for r in range(args.repeats):
        for side in ["project", "plain"] if r % 2 == 0 else ["plain", "project"]:
            if side == "plain":
                res = run_plain(case, args.threads, args.train_size, cache)
                plain.append(res["first_step"])
                say(f"startup #{r + 1}: plain loop's first step at {res['first_step']:.2f} s")
                continue
            run_dir, marks_file = work / f"startup-{r}", work / f"startup-{r}.json"
            env = runner_env(work)
            env["BENCH_MARKS"] = str(marks_file)
            env["BENCH_T0"] = repr(time.time())
            cmd = [
                python(),
                str(ROOT / "benchmarks" / "first_step.py"),
                "train",
                *project_overrides(case, args.threads, args.train_size),
            ]
            res = timed_run(cmd + [f"hydra.run.dir={run_dir}"], env=env)
            m = json.loads(marks_file.read_text())
            t0, cpu = m.pop("t0"), m.pop("cpu")
            m = {k: v - t0 for k, v in m.items()}
            m["exit"], cpu["exit"] = res["wall"], res["cpu"]
            marks.append(m)
            cpu_marks.append(cpu)
            say(
                f"startup #{r + 1}: project's first step at {m['train_epoch']:.2f} s, {cpu['train_epoch']:.2f} CPU s ("
                + ", ".join(f"{k} {v:.2f}" for k, v in m.items())
                + ")"
            )
    return {"kind": "startup", "marks": marks, "cpu_marks": cpu_marks, "plain_first_step": plain}


def row_startup(result) -> list:
    first = stats([m["train_epoch"] for m in result["marks"]])
    plain = stats(result["plain_first_step"])
    result["summary"] = {
        "first_step_min": first["min"],
        "first_step_median": first["median"],
        "plain_first_step_min": plain["min"],
        "plain_first_step_median": plain["median"],
        "target": STARTUP_TARGET,
    }
    cpu = [c["train_epoch"] for c in result.get("cpu_marks", []) if "train_epoch" in c]
    if cpu:
        result["summary"] |= {"first_step_cpu_min": min(cpu), "first_step_cpu_median": statistics.median(cpu)}
    ok = "yes" if first["min"] <= STARTUP_TARGET else "NO"
    return [
        "startup (to 1st step)",
        f"{first['min']:.2f} / {first['median']:.2f}",
        f"{plain['min']:.2f} / {plain['median']:.2f}",
        f"{first['min'] / plain['min']:.3f}",
        f"{first['median'] / plain['median']:.3f}",
        "",
        f"<= {STARTUP_TARGET} s: {ok}",
        "",
        "",
    ]


def startup_breakdown(result) -> str:
    """Median wall and CPU seconds at each mark; CPU time is the steadier one on a shared machine."""
    names = list(result["marks"][0].keys())
    cpu_marks = result.get("cpu_marks") or [{} for _ in result["marks"]]
    rows = []
    prev = prev_cpu = 0.0
    labels = {
        "interpreter": "python starts, runs the benchmark wrapper",
        "imported": "import torch, torch._dynamo, Hydra, runner.* (runner/launch/startup.py), runner.launch.preflight",
        "config checked": "runner.cli, preflight: compose + validate + model check on the meta device",
        "fit": "Hydra's job setup from the checked config: run folder, .hydra/*.yaml, logging",
        "load_dataset": "fit: threads, seeds",
        "RunLog": "load the MNIST cache, build model, optimizer, hooks",
        "train_epoch": "RunLog, resume check (TensorBoard is set up when the first epoch ends)",
        "exit": "the epoch, val/test evaluation, checkpoints, results, exit",
    }
    for name in names:
        med = statistics.median(m[name] for m in result["marks"])
        cpus = [c[name] for c in cpu_marks if name in c]
        med_cpu = statistics.median(cpus) if cpus else float("nan")
        rows.append(
            [
                name,
                f"{med:.2f}",
                f"{med - prev:+.2f}",
                f"{med_cpu:.2f}",
                f"{med_cpu - prev_cpu:+.2f}",
                labels.get(name, ""),
            ]
        )
        prev, prev_cpu = med, med_cpu
    header = ["mark (median over repeats)", "s after start", "step", "CPU s", "CPU step", "what happened in the step"]
    return markdown_table(header, rows)


# ---------------------------------------------------------------- sweep


def bench_sweep(args, work) -> dict:
    case = TRAIN_CASES["mlp_b10"]
    epochs = f"trainer.epochs={args.sweep_epochs}"
    base = [
        epochs if o.startswith("trainer.epochs=") else o
        for o in project_overrides(case, 1, args.train_size)
        if not o.startswith("seed=")
    ]
    seeds = list(range(args.sweep_runs))
    seed_list = "seed=" + ",".join(map(str, seeds))
    runs = {"serial": [], "parallel": []}
    mode = "joblib"
    for r in range(args.sweep_repeats):
        order = ["serial", "parallel"] if r % 2 == 0 else ["parallel", "serial"]
        for side in order:
            sweep_dir = work / f"sweep-{side}-{r}"
            cmd = [*runner_cmd(), "train", "-m", *base, seed_list, f"hydra.sweep.dir={sweep_dir}"]
            if side == "serial":
                res = timed_run(cmd, env=runner_env(work), per_process=True)
            elif mode == "joblib":
                try:
                    res = timed_run(
                        cmd + ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                        env=runner_env(work),
                        per_process=True,
                    )
                except RuntimeError as err:
                    say(f"joblib launcher unusable, falling back to two concurrent processes: {str(err)[-500:]}")
                    mode = "two processes"
            if side == "parallel" and mode != "joblib":
                sweep_dir = work / f"sweep-two-processes-{r}"
                res = two_processes(base, seeds, sweep_dir, work)
            finished = list(sweep_dir.rglob("results.json"))
            if len(finished) != len(seeds):
                raise RuntimeError(f"sweep {side}: {len(finished)} of {len(seeds)} runs finished in {sweep_dir}")
            epoch_seconds = [
                float(row.split(",")[-1])
                for f in finished
                for row in (f.parent / "metrics.csv").read_text().splitlines()[1:]
            ]
            launcher, workers = launcher_and_workers_cpu(res.get("processes"))
            runs[side].append(
                {
                    "wall": res["wall"],
                    "cpu": res["cpu"],
                    "epoch_seconds": epoch_seconds,
                    "launcher_cpu": launcher,
                    "workers_cpu": workers,
                }
            )
            say(
                f"sweep #{r + 1} {side:8s} ({mode if side == 'parallel' else 'basic launcher'}): {len(seeds)} runs in {res['wall']:.1f} s,"
                f" {res['cpu']:.1f} CPU s (launching process {launcher:.1f}, workers {', '.join(f'{w:.1f}' for w in workers) or 'none'}),"
                f" epochs {min(epoch_seconds):.2f}-{max(epoch_seconds):.2f} s"
            )
    return {"kind": "sweep", "mode": mode, "runs_per_sweep": len(seeds), "overrides": base, "runs": runs}


def launcher_and_workers_cpu(processes) -> tuple:
    """CPU seconds of the `runner train -m` process and of each of its children that did real
    work (joblib's workers; not its resource tracker), from timed_run(per_process=True)."""
    if not processes:
        return float("nan"), []
    root = next(pid for pid, p in processes.items() if p["parent"] not in processes)
    workers = sorted((p["cpu"] for p in processes.values() if p["parent"] == root and p["cpu"] >= 0.5), reverse=True)
    return processes[root]["cpu"], workers


def critical_path_cpu(run: dict) -> float:
    """CPU seconds on a sweep's critical path on an otherwise idle machine with a core per job:
    the launching process (it checks, composes and launches every point, then waits) plus its
    busiest worker (none in a serial sweep). Under load, wall time measures the load instead."""
    return run["launcher_cpu"] + max(run["workers_cpu"], default=0.0)


def two_processes(base, seeds, sweep_dir, work) -> dict:
    """Fallback: two `runner train -m` processes side by side, each with half the seeds."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = []
    for half in (seeds[0::2], seeds[1::2]):
        cmd = [
            *runner_cmd(),
            "train",
            "-m",
            *base,
            "seed=" + ",".join(map(str, half)),
            f"hydra.sweep.dir={sweep_dir}/{half[0]}",
        ]
        procs.append(
            subprocess.Popen(
                cmd, env=runner_env(work), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        )
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(err[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": time.perf_counter() - start,
        "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
    }


def row_sweep(result) -> list:
    n = result["runs_per_sweep"]
    walls = {side: stats([r["wall"] for r in result["runs"][side]]) for side in ("serial", "parallel")}
    cpus = {side: statistics.median(r["cpu"] for r in result["runs"][side]) for side in ("serial", "parallel")}
    s, p = walls["serial"], walls["parallel"]
    speedup_min, speedup_med = s["min"] / p["min"], s["median"] / p["median"]
    # On an otherwise idle 2-core machine a single-threaded serial sweep takes about its CPU
    # time, and the 2-job sweep at least half of its CPU time: an upper bound on the speed-up.
    bound = 2 * cpus["serial"] / cpus["parallel"]
    # A closer estimate: the parallel sweep takes at least its critical path (launching process
    # + busiest worker); NaN when the per-process CPU could not be read (no /proc, fallback mode).
    critical = {
        side: statistics.median(critical_path_cpu(r) for r in result["runs"][side]) for side in ("serial", "parallel")
    }
    result["summary"] = {
        "runs_per_hour_serial": 3600 * n / s["median"],
        "runs_per_hour_parallel": 3600 * n / p["median"],
        "speedup_min": speedup_min,
        "speedup_median": speedup_med,
        "cpu_s_per_run_serial": cpus["serial"] / n,
        "cpu_s_per_run_parallel": cpus["parallel"] / n,
        "idle_machine_speedup_upper_bound": bound,
        "critical_path_cpu_s_serial": critical["serial"],
        "critical_path_cpu_s_parallel": critical["parallel"],
        "idle_machine_speedup_estimate": critical["serial"] / critical["parallel"],
        "target": SWEEP_TARGET,
    }
    ok = "yes" if speedup_min >= SWEEP_TARGET else "NO"
    return [
        f"sweep ({n} runs, {result['mode']})",
        f"{3600 * n / p['median']:.0f} runs/h",
        f"serial {3600 * n / s['median']:.0f} runs/h",
        f"{speedup_min:.2f}x",
        f"{speedup_med:.2f}x",
        "",
        f">= {SWEEP_TARGET}x: {ok}",
        f"{p['min']:.1f} / {p['median']:.1f}",
        f"{s['min']:.1f} / {s['median']:.1f}",
    ]


def sweep_note(result) -> str:
    sm = result["summary"]
    return (
        f"sweep: runner train -m {' '.join(result['overrides'])} seed=0..{result['runs_per_sweep'] - 1}"
        f" [+ hydra/launcher=joblib hydra.launcher.n_jobs=2]; 'process s' columns: parallel / serial sweep wall times.\n"
        f"CPU seconds per run (all processes): serial {sm['cpu_s_per_run_serial']:.1f}, parallel {sm['cpu_s_per_run_parallel']:.1f};"
        f" speed-up on an idle 2-core machine at most 2 x {sm['cpu_s_per_run_serial']:.1f} / {sm['cpu_s_per_run_parallel']:.1f}"
        f" = {sm['idle_machine_speedup_upper_bound']:.2f}x (upper bound: assumes the two jobs overlap perfectly).\n"
        f"Critical path (launching process + busiest worker, CPU s): serial {sm['critical_path_cpu_s_serial']:.1f},"
        f" parallel {sm['critical_path_cpu_s_parallel']:.1f}: about {sm['idle_machine_speedup_estimate']:.2f}x on an idle 2-core machine"
        f" (if two runs side by side each ran as fast as one alone)."
    )


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="all", help=f"comma-separated, from: {', '.join(ALL_CASES)} (default all)")
    p.add_argument("--repeats", type=int, default=3, help="alternating runs per side and case (default 3)")
    p.add_argument(
        "--quick", action="store_true", help=f"train on the first {QUICK_TRAIN_SIZE:,} images only (data.train_size)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads on both sides (default 1: the steadiest on a shared machine)",
    )
    p.add_argument("--sweep-runs", type=int, default=4, help="runs in the sweep case (seeds 0..n-1; default 4)")
    p.add_argument(
        "--sweep-epochs", type=int, default=30, help="epochs of each sweep run (default 30: Nielsen's chapter-1 runs)"
    )
    p.add_argument("--sweep-repeats", type=int, default=None, help="sweeps per side (default 1: each takes minutes)")
    p.add_argument("--json", type=Path, default=None, help="also write every measurement to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the run folders (printed) instead of deleting them")
    args = p.parse_args(argv)
    cases = ALL_CASES if args.cases == "all" else [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in ALL_CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from: {', '.join(ALL_CASES)}")
    args.train_size = QUICK_TRAIN_SIZE if args.quick else None
    args.sweep_repeats = args.sweep_repeats or 1

    machine = machine_description()
    code_before = code_fingerprint()
    load_before = load_average()
    started = datetime.now()
    cache = mnist_cache()
    work = scratch_dir("runner-bench-")
    say(
        f"cases {', '.join(cases)}; repeats {args.repeats}; threads {args.threads}; {'quick' if args.quick else 'full data'}; runs in {work}"
    )

    results = {}

    def save():
        if args.json:
            record = {
                "machine": machine,
                "load_before": load_before,
                "code_before": code_before,
                "args": vars(args) | {"json": str(args.json)},
                "results": results,
            }
            args.json.write_text(json.dumps(record, indent=1, default=str))

    try:
        for name in cases:
            if name in TRAIN_CASES:
                results[name] = bench_training(name, args, cache, work)
            elif name in EVAL_CASES:
                results[name] = bench_eval(name, args, cache)
            elif name == CIFAR_CASE:
                results[name] = bench_cifar(args)
            elif name in LM_CASES:
                if name not in results:  # the first LM case runs them all
                    results.update(bench_lm([c for c in cases if c in LM_CASES], args))
            elif name == "startup":
                results[name] = bench_startup(args, cache, work)
            elif name == "sweep":
                results[name] = bench_sweep(args, work)
            save()
    finally:
        if args.keep:
            say(f"run folders kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_after = load_average()
    code_after = code_fingerprint()

    rows = []
    for name, result in results.items():
        kind = result["kind"]
        rows.append(
            row_training(name, result)
            if kind == "train"
            else row_eval(name, result)
            if kind == "eval"
            else row_cifar(name, result)
            if kind == "cifar"
            else row_lm(name, result)
            if kind == "lm"
            else row_startup(result)
            if kind == "startup"
            else row_sweep(result)
        )
    header = [
        "case",
        "project s (min / median)",
        "plain s (min / median)",
        "ratio (min)",
        "ratio (median)",
        "ratio (median of pairs)",
        "target",
        "project process s",
        "plain process s",
    ]
    print(f"# runner benchmarks, {started:%Y-%m-%d %H:%M} - {datetime.now():%H:%M}")
    print()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}, torch {machine['torch']}; {machine['platform']}"
    )
    print(
        f"settings: {args.repeats} repeats, trainer.threads={args.threads}, {'quick: data.train_size=' + str(args.train_size) if args.quick else 'full data (MNIST cases: 50,000 training images; cifar_cnn_b64 and lm_* state their own sizes)'}"
    )
    print(f"load average (1/5/15 min): before {load_before}, after {load_after}")
    print(
        f"code: {code_before}"
        + (f" at the start, {code_after} at the end (edited during the run)" if code_after != code_before else "")
    )
    print()
    print(markdown_table(header, rows))
    if "startup" in results:
        print()
        print(startup_breakdown(results["startup"]))
    if CIFAR_CASE in results:
        print()
        print(cifar_note(results[CIFAR_CASE]))
    if any(name in results for name in LM_CASES):
        print()
        print(lm_note({name: results[name] for name in LM_CASES if name in results}))
    if "sweep" in results:
        print()
        print(sweep_note(results["sweep"]))
    if args.json:
        record = {
            "machine": machine,
            "load_before": load_before,
            "load_after": load_after,
            "code_before": code_before,
            "code_after": code_after,
        }
        args.json.write_text(
            json.dumps(
                record | {"args": vars(args) | {"json": str(args.json)}, "results": results}, indent=1, default=str
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
