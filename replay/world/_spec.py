"""The world a client runs in: server parameters and a fault schedule, as plain data.

Every time is in seconds of model time from the start of the run; every duration is in
seconds. Facts come from protocol.md ("Timing facts") and incidents.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._faults import Fault


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
