"""runner: a declarative, config-driven deep-learning experiment runner.

From Python (docs/python.md): runner.train, runner.sweep, runner.load, runner.compare, and the
Run, Comparison, ConfigError and RunError they use; imported on first use, so that `import runner`
(and the `runner` command) stays as light as before."""

__version__ = "0.1.0"

import warnings

# conf/hydra/launcher/joblib.yaml refines the joblib plugin's config of the same name
# (n_jobs 2 by default); Hydra merges the two and warns about that in every process.
warnings.filterwarnings(
    "ignore", message=r"\s*'hydra/launcher/joblib' is validated against ConfigStore schema", category=UserWarning
)

API = ("train", "sweep", "load", "compare", "Run", "Comparison", "ConfigError", "RunError")


def __getattr__(name):
    if name in API:
        import runner.api

        return getattr(runner.api, name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *API])
