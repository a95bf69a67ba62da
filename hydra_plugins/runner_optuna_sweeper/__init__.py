"""runner's Hydra plugins: hydra/sweeper=optuna (see optuna_sweeper.py and docs/tuning.md)."""
