"""Floor 1, config: dataclass schemas, member tables, validation, and the refusal policy for
code-naming keys and paths (policy.py). May import: the bottom (errors, paths, registry, io)."""
