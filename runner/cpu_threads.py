"""Torch's CPU threads for a run, and a warning when they outnumber the idle cores.

torch's intra-op threads meet at a barrier after every operation: when another process
holds one of the cores, each small operation waits for the thread that lost its core.
Measured on a 2-core VM (the default MLP, torch's default 2 threads): 1.0 s an epoch
alone, 11.6 s beside a one-core busy loop, 66 s beside a one-thread training run;
trainer.threads=1 beside the busy loop: 1.4 s.
"""

import logging
import os

import torch

log = logging.getLogger("runner")
_warned = False  # once a process: a sweep's later runs would see its own earlier runs' load


def set_threads(threads: int, device: torch.device) -> None:
    """threads > 0: use that many; 0: torch's default, with a warning if the machine is busy."""
    global _warned
    if threads:
        torch.set_num_threads(threads)
        return
    if device.type != "cpu" or _warned:
        return
    _warned = True
    advice = busy_cores_advice(torch.get_num_threads(), os.cpu_count() or 1, os.getloadavg()[0])
    if advice:
        log.warning(advice)


def busy_cores_advice(torch_threads: int, cores: int, load: float) -> str:
    """The warning to give, or '' when torch's threads fit in the cores other work leaves idle."""
    idle = max(1, cores - int(load))
    if torch_threads <= idle:
        return ""
    return (f"the machine is busy (load average {load:.1f} on {cores} cores): torch's {torch_threads} threads "
            f"would wait on each other for cores other work holds, which can make epochs several times slower; "
            f"trainer.threads={idle} fits the idle cores")
