"""Client reducers the simulator can drive: the ``ClientModel`` protocol and the core behind it.

The simulator runs any reducer with the core's signature; the core (``CoreClient``) and the
legacy adapter model (``replay.legacy.LegacyModel``) both fit.
"""

from __future__ import annotations

from typing import Any, Protocol

from qqgate import core
from qqgate.core import Command, Input


class ClientModel(Protocol):
    """A reducer with the core's signature.

    ``initial_state()`` builds the state, ``step(state, input)`` returns
    ``(state, commands)`` with no side effects, ``next_deadline(state)`` the earliest
    virtual time (seconds) at which the client wants a Tick, or None.
    ``name`` is ``"core"`` or ``"legacy"``; ``describe()`` a dict for journal headers.
    """

    name: str

    def initial_state(self) -> Any: ...

    def step(self, state: Any, inp: Input) -> tuple[Any, tuple[Command, ...]]: ...

    def next_deadline(self, state: Any) -> float | None: ...

    def describe(self) -> dict[str, Any]: ...


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
