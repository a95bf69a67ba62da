"""The imports every run needs, made once per process with Python's cyclic garbage collector
paused (`runner train`, and each joblib worker at its first run).

torch, Hydra and torch._dynamo (which torch.optim imports at the first optimizer, and the
preflight's meta-device model check before it) create some 350,000 long-lived objects. While
they are being created, the collector keeps scanning all of them again (about five full
passes, ~0.5 CPU s before the first training step), and the interpreter's exit scans them once
more (~0.8 CPU s per process). Paused, then frozen (gc.freeze: collections skip these objects),
they cost neither. What little garbage the imports leave is frozen with them (about 10,000
objects, once per process)."""

import gc
import importlib

RUN_MODULES = ("torch._dynamo", "runner.launch.app")  # runner.launch.app: torch, Hydra, runner.fit.loop and the rest
_imported = False


def import_run_modules() -> None:
    global _imported
    if _imported:
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name in RUN_MODULES:
            importlib.import_module(name)
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    _imported = True
