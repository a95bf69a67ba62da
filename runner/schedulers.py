"""Learning-rate schedules by name (`scheduler=none|...`).

A schedule is stepped once per epoch with that epoch's metrics row, and may ask
the loop to stop (Nielsen's "stop after k halvings").
"""

from dataclasses import dataclass

from runner.registry import Registry

SCHEDULERS = Registry("scheduler")


@dataclass
class NoSchedulerConfig:
    name: str = "none"


class ConstantLR:
    """Keeps the optimizer's learning rate."""

    def step(self, row: dict) -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@SCHEDULERS.register("none", schema=NoSchedulerConfig)
def build_none(cfg, optimizer):
    return ConstantLR()


def build_scheduler(cfg, optimizer):
    return SCHEDULERS.get(cfg.name, "scheduler")(cfg, optimizer)
