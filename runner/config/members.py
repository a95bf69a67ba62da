"""The member tables of the groups whose members differ in shape (data, model, optimizer,
scheduler): each member's schema by name. The config floor checks a config against them; the
builders (runner/build) register one builder under each name."""

from dataclasses import dataclass
from typing import Mapping

from runner.registry import check_name


@dataclass(frozen=True)
class Members:
    kind: str  # what one member is called in messages: "unknown dataset 'x'; choose one of: ..."
    schemas: Mapping[str, type]

    def names(self):
        return sorted(self.schemas)

    def schema(self, name: str, key: str) -> type:
        check_name(self.kind, name, self.schemas, key)
        return self.schemas[name]
