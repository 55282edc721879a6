"""The shape every client reducer has, so the simulator can run the core and the legacy model alike."""

from __future__ import annotations

from typing import Any, Protocol

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
