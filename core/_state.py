"""The core's state: one immutable value holding every deadline, counter and session fact.

There are no tasks or timers anywhere: every timer is a deadline field below, owned by
the current connection, and ``next_deadline`` is their minimum (aioquic's
``get_timer()``; twilight-gateway's heartbeat-as-a-field).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._config import Config
from ._dedupe import DedupeWindow
from ._inputs import SessionStartLimit
from ._phases import Phase
from ._prng import seed_state


class Counters(NamedTuple):
    """Monotonic counts of what the core saw and did, for status and tests.

    An immutable named tuple (like State): copying one with a change is several times
    cheaper than ``dataclasses.replace``, and the core copies on every step.
    """

    frames_rejected: int = 0
    stale_inputs: int = 0
    inputs_ignored: int = 0
    duplicates_dropped: int = 0
    seq_regressions: int = 0
    clock_regressions: int = 0
    heartbeats_sent: int = 0
    heartbeat_acks: int = 0
    zombies_detected: int = 0
    sockets_opened: int = 0
    identifies_sent: int = 0
    resumes_sent: int = 0
    dispatches_delivered: int = 0
    failures: int = 0

    def bump(self, name: str, by: int = 1) -> "Counters":
        """Return a copy with counter ``name`` increased by ``by``."""
        return self._replace(**{name: getattr(self, name) + by})

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return dict(self._asdict())


class State(NamedTuple):
    """Everything the core knows. Build it with ``initial_state(config)``.

    All ``*_at`` fields are seconds on the caller's monotonic clock; None means unset.
    Immutable: ``step`` returns a new State (``state._replace(...)``). A named tuple rather
    than a frozen dataclass because the core copies the state several times per step and
    ``_replace`` costs a fraction of ``dataclasses.replace`` (benchmarks/, figure 1).
    """

    config: Config
    phase: Phase = Phase.IDLE
    rng: int = 0
    now: float = float("-inf")
    """Latest ``at`` seen; inputs from the past are handled at this time (and counted)."""

    # Access token.
    token: str | None = None
    token_expires_at: float | None = None
    token_usable_until: float | None = None
    """After this the token is too close to expiry to identify with (refresh margin, or half its life)."""
    token_refresh_at: float | None = None
    token_deadline: float | None = None
    """A token request is outstanding until this time (None: none outstanding)."""
    token_forced: bool = False
    auth_failures: int = 0

    # Gateway URL and identify budget.
    gateway_url: str | None = None
    gateway_deadline: float | None = None
    """A gateway-URL request is outstanding until this time (None: none outstanding)."""
    identifies_remaining: int | None = None
    identify_budget_reset_at: float | None = None
    max_concurrency: int = 1
    identify_times: tuple[float, ...] = ()
    identify_at: float | None = None

    # The connection.
    last_conn: int = 0
    live_conn: int | None = None
    last_open_at: float | None = None
    phase_deadline: float | None = None
    connected_at: float | None = None
    """When the live connection reached READY/RESUMED (server-meant closes are free only after that)."""

    # Heartbeat (design.md, "Heartbeat" and "Zombie").
    heartbeat_interval_s: float | None = None
    next_heartbeat_at: float | None = None
    heartbeat_sent_at: float | None = None
    received_since_heartbeat: bool = True
    last_received_at: float | None = None

    # Session.
    session_id: str | None = None
    session_started_at: float | None = None
    session_lost_at: float | None = None
    last_seq: int | None = None
    settled_seq: int | None = None
    resume_failures: int = 0

    # Retry.
    retry_at: float | None = None
    failures: int = 0
    outage_reported: bool = False

    seen: DedupeWindow = DedupeWindow(512)
    counters: Counters = Counters()

    @property
    def token_pending(self) -> bool:
        """A token request is outstanding."""
        return self.token_deadline is not None

    @property
    def gateway_pending(self) -> bool:
        """A gateway-URL request is outstanding."""
        return self.gateway_deadline is not None

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: phase, session, retry time, counters."""
        return {
            "phase": self.phase.value,
            "conn": self.live_conn,
            "session_id": self.session_id,
            "last_seq": self.last_seq,
            "settled_seq": self.settled_seq,
            "failures": self.failures,
            "next_retry_at": self.retry_at,
            "heartbeat_interval_s": self.heartbeat_interval_s,
            "counters": self.counters.as_dict(),
        }


def initial_state(config: Config | None = None) -> State:
    """A fresh IDLE state for ``config`` (default Config()). Raises ConfigError on bad config."""
    config = config or Config()
    config.validate()
    return State(config=config, rng=seed_state(config.seed),
                 seen=DedupeWindow(config.dedupe_window))


def next_deadline(state: State) -> float | None:
    """The earliest time (seconds, caller's monotonic clock) the core wants a Tick, or None.

    The caller arms exactly one timer for it after every step. None in IDLE, FAILED and
    STOPPED; never None in any other phase (so the core cannot wait for ever).
    """
    best: float | None = None
    if state.phase in (Phase.IDLE, Phase.STOPPED, Phase.FAILED):
        return None
    for value in (state.retry_at, state.token_deadline, state.gateway_deadline, state.phase_deadline,
                  state.next_heartbeat_at, state.identify_at, state.token_refresh_at):
        if value is not None and (best is None or value < best):
            best = value
    return best
