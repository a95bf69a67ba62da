"""Name -> builder tables. Configs can only name what is registered here, and an
unknown name fails with the list of valid ones (no import paths in user configs).

The schemas of those names live on the config floor (runner/config: a `Members` table per
group); a builder registers under its schema's name, and tests/test_config_tables.py checks
that the two tables name the same things."""

from dataclasses import dataclass
from typing import Any, Callable, Collection, Dict

from runner.errors import ConfigError


def check_name(kind: str, name: Any, names: Collection[str], key: str) -> None:
    """ConfigError at `key` unless `name` is one of `names` (listed, sorted, in the message).
    Shared by the builders' registries and the config floor's tables, so both say it alike."""
    if name not in names:
        raise ConfigError(key, f"unknown {kind} '{name}'; choose one of: {', '.join(sorted(names))}")


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Any]


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Entry] = {}

    def register(self, name: str):
        def decorate(build):
            if name in self._entries:
                raise RuntimeError(f"{self.kind} '{name}' registered twice")
            self._entries[name] = Entry(name, build)
            return build

        return decorate

    def add(self, name: str, value: Any) -> None:
        self.register(name)(value)

    def names(self):
        return sorted(self._entries)

    def entries(self):
        return [self._entries[n] for n in self.names()]

    def check(self, name: str, key: str) -> None:
        check_name(self.kind, name, self._entries, key)

    def get(self, name: str, key: str = "") -> Any:
        self.check(name, key or self.kind)
        return self._entries[name].build
