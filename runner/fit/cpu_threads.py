"""Torch's CPU threads for a run, and a warning when they outnumber the idle cores.

torch's intra-op threads meet at a barrier after every operation: when another process
holds one of the cores, each small operation waits for the thread that lost its core.
Measured on a 2-core VM (the default MLP, torch's default 2 threads): 1.0 s an epoch
alone, 11.6 s beside a one-core busy loop, 66 s beside a one-thread training run;
trainer.threads=1 beside the busy loop: 1.4 s.

What other work holds is measured, not guessed: the machine's busy CPU time over a short
window (/proc/stat) less this process's own. The 1-minute load average was the old
yardstick; it lags by a minute and counts work that has finished (it read 1.7 on an idle
2-core machine just after a test run), so it warned with nothing else running.
"""

import logging
import os
import time
from typing import Optional

import torch

log = logging.getLogger("runner")
_warned = False  # once a process: a sweep's later runs would see its own earlier runs' load
WINDOW_S = 0.2  # long enough to see a busy loop or a training run, short enough to go unnoticed


def set_threads(threads: int, device: torch.device) -> None:
    """threads > 0: use that many; 0: torch's default, with a warning if other work holds cores."""
    global _warned
    if threads:
        torch.set_num_threads(threads)
        return
    if device.type != "cpu" or _warned:
        return
    _warned = True
    busy = busy_cores_of_others()
    advice = busy_cores_advice(torch.get_num_threads(), os.cpu_count() or 1, busy) if busy is not None else ""
    if advice:
        log.warning(advice)


def busy_cores_of_others(window_s: float = WINDOW_S) -> Optional[float]:
    """Cores other processes kept busy over `window_s` seconds (1.5: one and a half cores'
    worth); None where /proc/stat cannot be read (not Linux): then nothing is said."""
    try:
        busy_before, total_before, cores = _cpu_ticks()
        own_before = _own_cpu_seconds()
        time.sleep(window_s)
        busy_after, total_after, _ = _cpu_ticks()
        own_after = _own_cpu_seconds()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    if total <= 0:
        return None
    busy = (busy_after - busy_before) / total * cores  # every process's, this one's included
    elapsed_s = total / cores / os.sysconf("SC_CLK_TCK")  # the window as /proc/stat counted it
    return max(0.0, busy - (own_after - own_before) / elapsed_s)


def _cpu_ticks():
    """(busy, total) clock ticks over all cores since boot, and the cores /proc/stat counts."""
    lines = _read_proc_stat().splitlines()
    fields = [int(v) for v in lines[0].split()[1:]]  # the `cpu` line: the sum over cores
    # user nice system idle iowait irq softirq steal (guest, guest_nice: already inside user, nice)
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return total - idle, total, cores


def _read_proc_stat() -> str:
    with open("/proc/stat") as stat:
        return stat.read()


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def busy_cores_advice(torch_threads: int, cores: int, busy: float) -> str:
    """The warning to give, or '' when torch's threads fit in the cores other work leaves idle.
    A core counts as taken when other work keeps half of it or more busy."""
    idle = max(1, cores - int(busy + 0.5))
    if torch_threads <= idle:
        return ""
    return (
        f"other work keeps {busy:.1f} of {cores} cores busy (measured over {WINDOW_S:g} s): torch's {torch_threads} threads "
        f"would wait on each other for cores other work holds, which can make epochs several times slower; "
        f"trainer.threads={idle} fits the idle cores"
    )
