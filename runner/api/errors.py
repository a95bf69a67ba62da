"""What the Python API raises where the CLI prints one `runner: ...` line and exits."""

from runner.errors import ConfigError as _ConfigError


class ConfigError(_ConfigError):
    """A command line refused before anything runs; str() is the CLI's line (without `runner: `)."""

    def __init__(self, message: str):
        super().__init__("", message)

    def __reduce__(self):
        return (type(self), (self.problem,))


class RunError(RuntimeError):
    """A run that stopped for a reason the user can fix (no space, out of memory, a damaged
    checkpoint); str() is the CLI's line; .exit_code what `runner train` would exit with."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code
