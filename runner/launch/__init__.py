"""Floor 6, launch: the Hydra app, the preflight check of every point, sweeps, resumable sweep
folders, `runner reproduce`: the only code that touches Hydra. May import every floor below."""
