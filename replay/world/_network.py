"""The network between the clients and the gateway, as the faults shape it.

Shared by both links of the world: the simulator asks it whether a request or a connect
gets through on its virtual clock, the chaos gateway asks it the same on real sockets, and
the server model asks it whether a flow is black-holed before sending on it.

- Timed faults in force: the world's schedule of windows (``DnsOutage``, ``RefuseConnects``,
  ``StallConnects``, ``RejectResumes``) plus those triggered during a run; ``active(kind,
  now)`` is the one place that asks "is this fault in force".
- Black-holed flows (``HalfOpen``): frames vanish in both directions and no close is seen,
  as when a NAT drops the flow; new connections are unaffected.

Latency is not modelled here: the simulator adds its own, the gateway has loopback's.
"""

from __future__ import annotations

from typing import Iterable, TypeVar

from ._faults import TIMED_FAULTS, Fault, TimedFault

TimedT = TypeVar("TimedT", bound=TimedFault)
"""Any one kind of timed fault (for ``Network.active`` and the links' ``window``)."""


class Network:
    """The timed faults in force and the black-holed flows (``conn`` ids) of one run."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._windows: list[TimedFault] = [f for f in faults if isinstance(f, TIMED_FAULTS)]
        self._black_holed: set[int] = set()

    @property
    def windows(self) -> tuple[TimedFault, ...]:
        """Every timed fault of the run so far, in force or not: the schedule's, then the triggered ones."""
        return tuple(self._windows)

    def add_window(self, fault: TimedFault) -> None:
        """Put ``fault`` in force over its own window (a fault triggered during the run)."""
        self._windows.append(fault)

    def active(self, kind: type[TimedT], now: float) -> TimedT | None:
        """The first timed fault of ``kind`` in force at model time ``now`` (seconds), or None."""
        for f in self._windows:
            if isinstance(f, kind) and f.active_at(now):
                return f
        return None

    def black_hole(self, conn: int) -> None:
        """From now on, frames on ``conn`` vanish both ways and its closes go unseen."""
        self._black_holed.add(conn)

    def is_black_holed(self, conn: int) -> bool:
        return conn in self._black_holed

    def forget(self, conn: int) -> None:
        """The flow's socket is gone for good (the chaos gateway saw it end)."""
        self._black_holed.discard(conn)
