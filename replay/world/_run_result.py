"""What a simulated run produced: the typed trace, the journal, and the server's accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from qqgate.core import Command, Input

from ._sessions import MessageFates
from ._trace import SpinStopped, TraceEvent

E = TypeVar("E", bound=TraceEvent)


@dataclass
class RunResult:
    """What a run produced.

    - ``client``: ``"core"`` or ``"legacy"``; ``seed``; ``horizon_s`` and ``ended_at`` (virtual
      seconds; a spin ends a run early); ``steps``: client steps taken.
    - ``spin``: the ``SpinStopped`` event that ended the run, or None.
    - ``trace``: every event in order; ``journal``: every (input, commands) step if recorded.
    - ``invariant_breaks``: what ``core.check_step`` found (core clients only).
    - ``pushed``: (virtual time, d.id) of every message dispatch the server pushed;
      ``delivered_ids``: the d.id of every C2C message the client delivered, in order.
    - ``identifies``, ``resumes_accepted``: the server's counts; ``final_state``: the client's.
    - ``fates``: what became of every message pushed and never delivered, as the server model
      judges it (``MessageFates``: lost by the client, pending, abandoned with its session).
    """

    client: str
    seed: int
    horizon_s: float
    ended_at: float
    steps: int
    spin: SpinStopped | None
    trace: list[TraceEvent]
    journal: list[tuple[Input, tuple[Command, ...]]]
    invariant_breaks: list[str]
    pushed: list[tuple[float, str]]
    delivered_ids: list[str]
    identifies: int
    resumes_accepted: int
    final_state: Any
    fates: MessageFates = field(default_factory=MessageFates)

    IN_FLIGHT_S = 10.0
    """Messages pushed this close to the end of a run may still be in flight: not counted missing."""

    def events(self, kind: type[E]) -> list[E]:
        """The trace's events of one class, in order."""
        return [e for e in self.trace if isinstance(e, kind)]

    def count(self, kind: type[TraceEvent]) -> int:
        """How many events of one class the trace holds."""
        return sum(1 for e in self.trace if isinstance(e, kind))

    @property
    def pushed_ids(self) -> list[str]:
        """The d.id of every message the server pushed."""
        return [msg_id for _, msg_id in self.pushed]

    def lost_ids(self) -> list[str]:
        """Messages the client lost: pushed to a session it gave up while the server could still
        resume it, or to the session it holds at the end, and never delivered."""
        return list(self.fates.lost)

    def missing_ids(self) -> list[str]:
        """Pushed (and no longer in flight) but never delivered."""
        delivered = set(self.delivered_ids)
        cutoff = self.ended_at - self.IN_FLIGHT_S
        return [msg_id for at, msg_id in self.pushed if at <= cutoff and msg_id not in delivered]
