"""runner: a declarative, config-driven deep-learning experiment runner."""

__version__ = "0.1.0"

import warnings

# conf/hydra/launcher/joblib.yaml refines the joblib plugin's config of the same name
# (n_jobs 2 by default); Hydra merges the two and warns about that in every process.
warnings.filterwarnings(
    "ignore", message=r"\s*'hydra/launcher/joblib' is validated against ConfigStore schema", category=UserWarning
)
