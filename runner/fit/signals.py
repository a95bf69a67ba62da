"""Preemption: SIGTERM, SIGUSR1 or SIGUSR2 stop a run at the next training step, like Ctrl-C,
and the job is requeued to continue with trainer.resume=auto.

What SLURM sends: SIGTERM when a job is preempted, cancelled or reaches its time
limit (SIGKILL follows after KillWait, 30 s by default), and, ahead of the time
limit, the signal asked for with `sbatch --signal` (USR1 by convention;
hydra-submitit-launcher asks for USR2, `signal_delay_s` = 120 s before it).

While `fit` runs, `install()` makes these signals only set a flag: a handler may
run between any two bytecodes, and stopping there could leave best.pt and last.pt
of different epochs. The loop calls `check()` after each optimizer step; it raises
`Preempted`, which fit catches like KeyboardInterrupt: checkpoints/last.pt already
holds the last whole epoch (the partial epoch is dropped and redone), the best
weights are tested and results.json says status/stop_reason "preempted".

When the loop ends, however it ends, `restore()` puts the usual handlers back: a
second signal while the best weights are tested quits at once, like a second
Ctrl-C (submitit's handlers do what they always do). After results.json is
written, `finish()` ends the process of a preempted run so the job comes back:
- Under submitit (hydra/launcher=slurm or submitit_slurm), submitit's own handler
  for its signal is called now, at this safe point, instead of mid-step: it
  checkpoints the launcher call (the same sweep point in the same folder), runs
  `scontrol requeue` (at most `max_num_timeout` times for time limits), and exits.
  Its SIGTERM handler only logs; for SIGTERM we go on as below.
- In a plain SLURM batch job, SIGUSR1/SIGUSR2 run `scontrol requeue $SLURM_JOB_ID`.
- SIGTERM never requeues by itself: `scancel` sends it too, and a partition with
  PreemptMode=REQUEUE requeues preempted jobs without help.
- The process exits with 128 + the signal number (143 for SIGTERM), the shell's
  code for "ended by this signal".
Requeued, a run continues only with trainer.resume=auto and the same run folder
(a sweep point's folder is fixed; for `runner train` in sbatch set hydra.run.dir).
A signal that arrives after the last step lets the run finish: nothing is requeued.
"""

import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger("runner")

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, name))
REQUEUE_SIGNALS = tuple(s for s in SIGNALS if s != signal.SIGTERM)  # "save and come back" signals

_received = None  # the signal that stops the run (the first since install()), or None
_previous = {}  # signal -> the handler install() replaced: submitit's, or the default
_installed = False


class Preempted(Exception):
    """A preemption signal arrived: stop at this step (the last whole epoch is checkpointed)."""

    def __init__(self, signum: int):
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


def install() -> None:
    """Turn SIGTERM/SIGUSR1/SIGUSR2 into a flag that check() reports (main thread only)."""
    global _received, _installed
    _received = None
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    if not _installed:
        _previous.clear()
        _previous.update({signum: signal.getsignal(signum) for signum in SIGNALS})
    for signum in SIGNALS:
        signal.signal(signum, _handle)
    _installed = True


def check() -> None:
    """Raise Preempted if a signal arrived: call it where stopping leaves nothing half-done."""
    if _received is not None:
        raise Preempted(_received)


def check_across_ranks(max_over_ranks) -> None:
    """Under DDP the ranks must stop at the same point, or the others wait forever in an
    all-reduce: every rank calls this at the same place, and all stop if any got a signal."""
    signum = max_over_ranks(_received or 0)
    if signum:
        raise Preempted(signum)


def restore() -> None:
    """Put back the handlers install() replaced; fit calls it as the loop ends, however it ends."""
    global _installed
    if _installed:
        for signum, handler in _previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _installed = False


def finish(preempted: bool) -> None:
    """After results.json is written: after a preemption, have the job requeued and exit.
    Returns only when the run was not preempted."""
    global _received
    restore()
    signum, _received = _received, None
    if not preempted:
        if signum is not None:
            log.info(f"{signal.Signals(signum).name} arrived after the last training step: the run finished")
        return
    handler = _previous.get(signum)
    if callable(handler) and handler is not signal.default_int_handler:
        handler(signum, None)  # submitit's checkpoint-and-requeue (exits); its SIGTERM handler returns
    if signum in REQUEUE_SIGNALS and os.environ.get("SLURM_JOB_ID"):
        _requeue(os.environ["SLURM_JOB_ID"])
    sys.exit(128 + signum)


def _handle(signum, frame) -> None:
    global _received
    name = signal.Signals(signum).name
    if _received is None:
        _received = signum
        log.warning(
            f"{name} received: stopping after this training step (checkpoints/last.pt holds the last whole epoch)"
        )
    else:
        if signum in REQUEUE_SIGNALS and _received not in REQUEUE_SIGNALS:
            _received = signum  # SIGTERM then USR1/USR2: the job asked to come back wins
        log.warning(f"{name} received: already stopping")


def _requeue(job_id: str) -> None:
    try:
        done = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning(f"could not requeue SLURM job {job_id}: {err}")
        return
    if done.returncode == 0:
        log.warning(f"requeued SLURM job {job_id}: it continues from checkpoints/last.pt with trainer.resume=auto")
    else:
        log.warning(
            f"could not requeue SLURM job {job_id} (is it submitted with --requeue?): {(done.stderr or done.stdout).strip()}"
        )
