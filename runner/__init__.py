"""runner: a declarative, config-driven deep-learning experiment runner."""

__version__ = "0.1.0"
