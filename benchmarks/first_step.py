"""`runner train ...` with timestamps: when does the first training step happen?

Runs the real command line (runner.cli.main, exactly what the `runner` console
script calls) after wrapping four functions of runner.train so that each writes
the wall-clock time (time.time()) at which it was entered:

    fit           Hydra has composed and validated the config and made the run folder
    load_dataset  ... (fit has set threads and seeds)
    RunLog        data loaded, model/optimizer built (RunLog imports TensorBoard)
    train_epoch   the first epoch starts: its first step follows within a millisecond
                  (a randperm and an index slice)

The parent passes its own time.time() taken just before it started this process
in BENCH_T0, so `train_epoch - BENCH_T0` is "process start to first training
step" as a user at a terminal sees it (interpreter start and every import
included). The marks go, as one JSON object, to the file named by
BENCH_MARKS. Wrapping costs a function call per mark and changes nothing else;
the only difference from the console script is that runner.train is imported
before runner.cli parses the arguments instead of after (the same modules are
imported either way).

    BENCH_T0=$(date +%s.%N) BENCH_MARKS=/tmp/marks.json python benchmarks/first_step.py train model=mlp ...
"""

import json
import os
import sys
import time

MARKS = {"interpreter": time.time()}

import runner.train as train  # noqa: E402

MARKS["imported runner.train"] = time.time()


def mark(name, fn):
    def wrapped(*args, **kwargs):
        if name not in MARKS:
            MARKS[name] = time.time()
            if name == "train_epoch":
                save()
        return fn(*args, **kwargs)

    return wrapped


def save():
    path = os.environ.get("BENCH_MARKS")
    if path:
        t0 = float(os.environ.get("BENCH_T0", MARKS["interpreter"]))
        with open(path, "w") as f:
            json.dump({"t0": t0, **MARKS}, f)


for _name in ("fit", "load_dataset", "RunLog", "train_epoch"):
    setattr(train, _name, mark(_name, getattr(train, _name)))

if __name__ == "__main__":
    from runner.cli import main

    sys.argv = ["runner", *sys.argv[1:]]
    main()
