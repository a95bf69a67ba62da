"""Floor 2, record: what a run leaves on disk and how it is read back (run folders, metrics,
TensorBoard events, checkpoints, the folder's lock and reuse rules). May import: config and
the bottom."""
