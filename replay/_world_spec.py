"""The world a client runs in: server parameters and a fault schedule, as plain data.

Scenarios, the log importer and the simulator all speak this vocabulary. Every time is
in seconds of virtual time from the start of the run; every duration is in seconds.
Facts come from protocol.md ("Timing facts") and incidents.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class ServerClose:
    """At ``at``, the server closes the live connection with ``code`` (None: no close frame, like a drop)."""

    at: float
    code: int | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerReconnect:
    """At ``at``, the server sends op 7 and closes with 4009 "Session timed out" shortly after."""

    at: float


@dataclass(frozen=True, slots=True)
class InvalidateSessions:
    """At ``at``, the server forgets every session (a restart): resumes get op 9 then a 4006 close."""

    at: float


@dataclass(frozen=True, slots=True)
class HalfOpen:
    """From ``at``, the live connection's flow is black-holed in both directions, with no close.

    The server side times out after its heartbeat timeout and forgets the flow; the
    client sees nothing. New connections are unaffected (a NAT dropped the old flow).
    """

    at: float


@dataclass(frozen=True, slots=True)
class DnsOutage:
    """From ``at`` for ``duration_s`` (None: for the rest of the run), name resolution fails.

    Token and gateway-URL requests and socket opens fail with a DNS error.
    """

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RefuseConnects:
    """From ``at`` for ``duration_s`` (None: for good), WebSocket connects are refused; REST still works."""

    at: float
    duration_s: float | None
    error: str = "Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"


@dataclass(frozen=True, slots=True)
class StallConnects:
    """From ``at`` for ``duration_s``, WebSocket connects hang: no upgrade, no error."""

    at: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RejectResumes:
    """From ``at`` for ``duration_s``, a Resume is answered by closing the socket at once.

    ``code`` None means no close frame (incident 7: "the server accepts the socket and
    closes it at once"). Identify still works.
    """

    at: float
    duration_s: float | None
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Ban:
    """At ``at``, the bot is banned: the live connection closes with ``code`` (4914/4915), and so does every later one after its Identify/Resume."""

    at: float
    code: int = 4915
    reason: str = "bot banned"


Fault = Union[
    ServerClose, ServerReconnect, InvalidateSessions, HalfOpen, DnsOutage, RefuseConnects,
    StallConnects, RejectResumes, Ban,
]


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Server parameters and the fault schedule for one run.

    - ``heartbeat_interval_ms``: sent in Hello (milliseconds, as on the wire).
    - ``heartbeat_timeout_s``: the server drops a connection, with no close frame, after
      this long without a heartbeat (observed ~60 s: hermes #19414, #19648).
    - ``session_cycle_s``: op 7 + 4009 after a connection has lived this long (observed
      1800 ± 3 s); None disables the cycle.
    - ``message_interval_s``: mean gap between C2C message dispatches while READY; None: none.
    - ``duplicate_probability``: chance each message dispatch is pushed twice (same ``d.id``).
    - ``latency_s``: one-way network latency.
    - ``server_resume_window_s``: how long a lost session stays resumable on the server.
    - ``session_conflict_s``: an Identify/Resume this soon after the previous connection
      dropped is refused with a close (incident 6: the old session is not cleaned up yet).
    """

    heartbeat_interval_ms: int = 41250
    heartbeat_timeout_s: float = 60.0
    session_cycle_s: float | None = 1800.0
    session_cycle_jitter_s: float = 3.0
    message_interval_s: float | None = 20.0
    duplicate_probability: float = 0.0
    latency_s: float = 0.03
    server_resume_window_s: float = 600.0
    session_conflict_s: float = 0.0
    ack_loss_probability: float = 0.0
    """Chance the server answers a heartbeat with no op 11 ACK (soak: lost ACKs)."""
    ack_delay_max_s: float = 0.0
    """Each op 11 ACK is sent after U(0, this) seconds (soak: late ACKs)."""
    faults: tuple[Fault, ...] = field(default_factory=tuple)
