"""runner from Python and from a notebook: the same command lines, checks, run folders and
comparison as the CLI, as objects (docs/python.md).

    import runner
    run = runner.train("data=synthetic", "model.activation=tanh", trainer__epochs=3)
    runs = runner.sweep("data=synthetic", "model.activation=tanh,relu", "seed=0,1")
    runner.compare(*runs).table

Above the floors, beside cli.py: it drives cli.prepare_train and runner/launch/app.py as
`runner train` does, and reads run folders through runner/record/."""

from runner.api.comparison import Comparison, compare
from runner.api.errors import ConfigError, RunError
from runner.api.run import Run, load
from runner.api.training import sweep, train

__all__ = ["train", "sweep", "load", "compare", "Run", "Comparison", "ConfigError", "RunError"]
