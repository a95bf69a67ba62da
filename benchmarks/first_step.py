"""`runner train ...` with timestamps: when does the first training step happen?

Runs the real command line (runner.cli.main, exactly what the `runner` console
script calls) after wrapping a few functions so that each notes the wall-clock
time (time.time()) and the CPU time this process has used so far
(time.process_time(), interpreter start included) when it is first entered:

    imported        torch, torch._dynamo, Hydra and runner.* are imported (noted once done)
    config checked  runner.launch.preflight.check: ... has composed and validated the config
                    (noted when it returns)
    fit             Hydra has made the run folder and set up logging; runner.fit.loop.fit starts
    load_dataset    ... (fit has set threads and seeds)
    RunLog          data loaded, model/optimizer built (TensorBoard waits for the first epoch's end)
    train_epoch     the first epoch starts: its first step follows within a millisecond
                    (a randperm and an index slice)

The parent passes its own time.time() taken just before it started this process
in BENCH_T0, so `train_epoch - BENCH_T0` is "process start to first training
step" as a user at a terminal sees it (interpreter start and every import
included). The marks go, as one JSON object ({"t0": ..., <mark>: wall, ...,
"cpu": {<mark>: CPU seconds}}), to the file named by BENCH_MARKS. CPU time is
the steadier measure on a shared machine: other processes stretch wall time,
not this one's CPU seconds. Wrapping costs a function call per mark and changes
nothing else; the only difference from the console script is that the modules
of a run (runner.launch.startup.import_run_modules) and runner.launch.preflight are imported
before runner.cli parses the arguments instead of just after.

    BENCH_T0=$(date +%s.%N) BENCH_MARKS=/tmp/marks.json python benchmarks/first_step.py train model=mlp ...
"""

import json
import os
import sys
import time

MARKS = {"interpreter": time.time()}
CPU = {"interpreter": time.process_time()}

from runner.launch.startup import import_run_modules  # noqa: E402

import_run_modules()  # what `runner train` does first (runner/launch/startup.py)

import runner.build.assemble as assemble  # noqa: E402
import runner.fit.loop as train  # noqa: E402
import runner.launch.app as app  # noqa: E402
import runner.launch.preflight as preflight  # noqa: E402

MARKS["imported"], CPU["imported"] = time.time(), time.process_time()


def note(name):
    if name not in MARKS:
        MARKS[name], CPU[name] = time.time(), time.process_time()


def mark(name, fn):
    def wrapped(*args, **kwargs):
        note(name)
        if name == "train_epoch":
            save()
        return fn(*args, **kwargs)

    return wrapped


def mark_return(name, fn):
    def wrapped(*args, **kwargs):
        result = fn(*args, **kwargs)
        note(name)
        return result

    return wrapped


def save():
    path = os.environ.get("BENCH_MARKS")
    if path:
        t0 = float(os.environ.get("BENCH_T0", MARKS["interpreter"]))
        with open(path, "w") as f:
            json.dump({"t0": t0, **MARKS, "cpu": CPU}, f)


preflight.check = mark_return("config checked", preflight.check)
app.fit = mark("fit", app.fit)  # the job calls runner.launch.app's name for it
assemble.load_dataset = mark("load_dataset", assemble.load_dataset)  # assemble(cfg) loads the data first
for _name in ("RunLog", "train_epoch"):
    setattr(train, _name, mark(_name, getattr(train, _name)))

if __name__ == "__main__":
    from runner.cli import main

    sys.argv = ["runner", *sys.argv[1:]]
    main()
