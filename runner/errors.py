"""The one exception type users see for bad input: it names the key and what is allowed."""


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key placed under a parent key (`lr` -> `optimizer.lr`)."""
        return ConfigError(f"{prefix}.{self.key}" if self.key else prefix, self.problem)


def require(condition: bool, key: str, problem: str) -> None:
    if not condition:
        raise ConfigError(key, problem)
