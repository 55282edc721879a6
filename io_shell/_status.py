"""GatewayStatus: a snapshot of one client, built when it is read.

``GatewayClient.status()`` builds it from the driver's latest state (an immutable value the
runtime thread swaps after every step) and the shell's counters: nothing is built per step,
reading never blocks or waits for the runtime thread, and it is safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from qqgate import core


@dataclass(frozen=True)
class GatewayStatus:
    """Where the gateway connection is. All times are seconds on ``time.monotonic()``.

    ``phase`` is a ``core.Phase`` value (``"READY"``, ``"BACKING_OFF"``, ...). ``ready`` is
    True only while the driver runs and the phase is READY: a host's send path should fail
    fast when it is False rather than wait for a reconnect (incidents.md, the 15 s wait).
    ``counters`` joins the core's counters with the shell's (``handler_errors``,
    ``dispatches_settled``, ``journal_errors``, ``hook_errors``, ``inputs``).
    """

    phase: str
    ready: bool
    running: bool
    conn: int | None
    session_id: str | None
    last_seq: int | None
    settled_seq: int | None
    last_ready_at: float | None
    """When the connection last reached READY or RESUMED (None before the first time)."""
    next_retry_at: float | None
    """When the next connection attempt is due while BACKING_OFF, else None."""
    next_deadline: float | None
    heartbeat_interval_s: float | None
    failures: int
    """Consecutive failed attempts (``core.State.consecutive_failures``; 0 once connected)."""
    detail: str
    """The reason given with the last phase change."""
    last_fatal: str | None
    updated_at: float
    """When this snapshot was built (``time.monotonic()`` seconds)."""
    counters: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    heartbeat_latency_s: float | None = None
    """The last heartbeat's round trip to its heartbeat ACK (seconds; None before the first ACK
    and for a webhook receiver): discord.py's ``Client.latency``."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "phase": self.phase, "ready": self.ready, "running": self.running, "conn": self.conn,
            "session_id": self.session_id, "last_seq": self.last_seq, "settled_seq": self.settled_seq,
            "last_ready_at": self.last_ready_at, "next_retry_at": self.next_retry_at,
            "next_deadline": self.next_deadline, "heartbeat_interval_s": self.heartbeat_interval_s,
            "failures": self.failures, "detail": self.detail, "last_fatal": self.last_fatal,
            "updated_at": self.updated_at, "counters": dict(self.counters),
            "heartbeat_latency_s": self.heartbeat_latency_s,
        }


def snapshot(state: core.State, *, running: bool, last_ready_at: float | None, detail: str,
             last_fatal: str | None, updated_at: float, shell_counters: Mapping[str, int],
             heartbeat_latency_s: float | None = None) -> GatewayStatus:
    """Build the published status from the core state and the shell's own facts."""
    counters = dict(state.counters.as_dict())
    counters.update(shell_counters)
    session, conn = state.session, state.conn
    return GatewayStatus(
        phase=state.phase.value,
        ready=running and state.phase is core.Phase.READY,
        running=running,
        conn=state.live_conn,
        session_id=None if session is None else session.id,
        last_seq=None if session is None else session.last_seq,
        settled_seq=None if session is None else session.settled_seq,
        last_ready_at=last_ready_at,
        next_retry_at=state.retry_at,
        next_deadline=core.next_deadline(state),
        heartbeat_interval_s=None if conn is None else conn.heartbeat_interval_s,
        failures=state.consecutive_failures,
        detail=detail,
        last_fatal=last_fatal,
        updated_at=updated_at,
        counters=MappingProxyType(counters),
        heartbeat_latency_s=heartbeat_latency_s,
    )
