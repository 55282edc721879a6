"""The qqgate core as a ClientModel for the simulator."""

from __future__ import annotations

from typing import Any

from qqgate import core


class CoreClient:
    """Adapter: ``core.step`` / ``core.next_deadline`` behind the ClientModel protocol."""

    name = "core"

    def __init__(self, config: core.Config | None = None) -> None:
        self.config = config or core.Config()
        self.config.validate()

    def initial_state(self) -> core.State:
        return core.initial_state(self.config)

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        return core.step(state, inp)

    def next_deadline(self, state: core.State) -> float | None:
        return core.next_deadline(state)

    def describe(self) -> dict[str, Any]:
        return {"client": "core", "version": core.__version__, "config": self.config.to_dict()}
