"""Floor 3, build: the parts of a run by name (datasets, models, tasks, losses, optimizers,
schedulers, regularization hooks, early stopping), each a registry of small builders.
May import: record, config and the bottom."""
