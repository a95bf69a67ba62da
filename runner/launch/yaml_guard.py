"""Config files are read before they are trusted: refuse YAML aliases (and so merge keys) and
oversized files before Hydra builds a node from them.

A 300-byte file of nested aliases (a "billion laughs") expands to gigabytes of OmegaConf nodes
while Hydra composes it. PyYAML's scanner reads the file's tokens without building anything,
so an alias is found in microseconds. Hydra has no public hook for the files it reads: the
guard wraps the file config source's `load_config`, which every config file on disk passes
through (conf/, experiments/ through the conf/experiment link, and --config-dir)."""

import functools
import os

import yaml

MAX_CONFIG_BYTES = 1_000_000  # the largest file in conf/ and experiments/ is a few KB


class UnsafeYAML(yaml.YAMLError):
    """A config file refused before parsing; carries a mark so the message names file and line."""

    def __init__(self, path: str, problem: str, mark=None):
        super().__init__(problem)
        self.problem, self.context = problem, None
        self.problem_mark = mark or yaml.Mark(path, 0, 0, 0, None, None)


def check_file(path: str) -> None:
    if os.path.getsize(path) > MAX_CONFIG_BYTES:
        raise UnsafeYAML(path, f"a config file of over {MAX_CONFIG_BYTES:,} bytes is refused")
    with open(path, encoding="utf-8") as f:
        for token in yaml.scan(f, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AliasToken):
                raise UnsafeYAML(
                    path,
                    f"YAML aliases (*{token.value}) and merge keys are refused in configs (they can expand a small file into gigabytes): write the values out",
                    token.start_mark,
                )


def install() -> None:
    """Check every file before Hydra loads it (once per process). Hydra's plugin discovery
    imports its config sources afresh, so the class it uses is the one discovery returns."""
    from hydra.core.plugins import Plugins
    from hydra.plugins.config_source import ConfigSource

    from runner.launch.hydra_internals import FileConfigSource

    for source in {FileConfigSource, *Plugins.instance().discover(ConfigSource)}:
        if source.scheme() == "file":
            _guard(source)


def _guard(source: type) -> None:
    load = source.load_config
    if getattr(load, "guarded", False):
        return

    @functools.wraps(load)
    def guarded_load(self, config_path: str):
        full = os.path.realpath(os.path.join(self.path, self._normalize_file_name(config_path)))
        if os.path.isfile(full):
            check_file(full)
        return load(self, config_path)

    guarded_load.guarded = True
    source.load_config = guarded_load
