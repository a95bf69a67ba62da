"""The exceptions users see instead of tracebacks: each names the key or file and what is allowed."""


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)

    def __reduce__(self):  # picklable across joblib's worker processes
        return (type(self), (self.key, self.problem))

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key placed under a parent key (`lr` -> `optimizer.lr`)."""
        return ConfigError(f"{prefix}.{self.key}" if self.key else prefix, self.problem)


def require(condition: bool, key: str, problem: str) -> None:
    if not condition:
        raise ConfigError(key, problem)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (unreadable, code instead of data, another model's
    weights); str() is one line that starts with the file's path."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self):  # picklable across joblib's worker processes
        return (type(self), (self.path, self.problem))


class RunFault(Exception):
    """A run that cannot go on for a reason the user can fix (no space, out of memory, an unusable
    checkpoint); str() is the one line `runner train` prints instead of a traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        self.message = message
        self.exit_code = exit_code
        super().__init__(message, exit_code)

    def __str__(self) -> str:
        return self.message


class PreflightError(Exception):
    """A command line that cannot run (runner/launch/preflight.py); str() is the message for the
    user. Here at the bottom so that commands handed a composing function (runner evaluate,
    runner gradcheck, below launch/) can catch it."""
