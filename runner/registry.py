"""Name -> builder tables. Configs can only name what is registered here, and an
unknown name fails with the list of valid ones (no import paths in user configs)."""

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from runner.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Any]
    schema: Optional[type] = None


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Entry] = {}

    def register(self, name: str, schema: Optional[type] = None):
        def decorate(build):
            if name in self._entries:
                raise RuntimeError(f"{self.kind} '{name}' registered twice")
            self._entries[name] = Entry(name, build, schema)
            return build

        return decorate

    def add(self, name: str, value: Any, schema: Optional[type] = None) -> None:
        self.register(name, schema)(value)

    def names(self):
        return sorted(self._entries)

    def entries(self):
        return [self._entries[n] for n in self.names()]

    def check(self, name: str, key: str) -> None:
        if name not in self._entries:
            raise ConfigError(key, f"unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}")

    def schema(self, name: str, key: str = "") -> Optional[type]:
        self.check(name, key or self.kind)
        return self._entries[name].schema

    def get(self, name: str, key: str = "") -> Any:
        self.check(name, key or self.kind)
        return self._entries[name].build
