"""Floor 4, fit: the training loop (loop.py) and what it runs on: device and speed options,
threads, DDP, signals, resuming. May import: build, record, config and the bottom."""
