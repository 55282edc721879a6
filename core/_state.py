"""The core's state: one immutable value made of sub-records, each with one owner.

::

    State
    ├── phase, now, rng                 where the connection is; the latest input time; the PRNG
    ├── conn: Connection | None         the live WebSocket and every timer it owns
    ├── session: Session | None         the session to resume (id, epoch, seq), if any
    ├── auth: Auth                      the access token and its refresh
    ├── gateway: Gateway                the gateway URL and the identify budget
    ├── retry_at, consecutive_failures, outage_reported     the backoff between attempts
    ├── highest_conn_id, last_open_at, sessions_started     epochs issued so far; the open floor
    ├── dedupe: DedupeWindow            recently delivered dispatch keys
    └── counters: Counters              monotonic counts for status and tests

Leaving a connection is one assignment, ``conn=None``: its heartbeat interval, heartbeat and
phase deadlines and paced Identify go with it (twilight-gateway's shard holds
``Option<Session>`` and a heartbeat interval that ``disconnect()`` clears the same way).
Dropping a session is ``session=None``.

There are no tasks or timers anywhere: every timer is a deadline field below, owned by the
record it belongs to, and ``next_deadline`` is their minimum (aioquic's ``get_timer()``).
Every ``*_at`` and ``*deadline`` field is seconds on the caller's monotonic clock; None
means unset. The records are named tuples rather than frozen dataclasses because the core
copies some of them on every step and a named tuple is several times cheaper to build
(benchmarks/, figure 1).
"""

from __future__ import annotations

from typing import NamedTuple

from ._config import Config
from ._dedupe import DedupeWindow
from ._phases import Phase
from ._prng import seed_state

_new = tuple.__new__


class Counters(NamedTuple):
    """Monotonic counts of what the core saw and did, for status and tests.

    ``failures`` counts every failed attempt ever (``State.consecutive_failures`` is the
    current run of them, reset when a connection is established).
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
        """Return a copy with counter ``name`` increased by ``by``; KeyError on an unknown name."""
        values = [*self]
        values[_COUNTER_INDEX[name]] += by
        return _new(Counters, values)

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return dict(self._asdict())


_COUNTER_INDEX = {name: i for i, name in enumerate(Counters._fields)}


class Connection(NamedTuple):
    """The live WebSocket connection (``State.conn``) and the timers it owns.

    ``id`` is the connection epoch: socket inputs name it, and inputs naming any other id
    are stale (design.md, "Connection epochs"). ``deadline`` is the phase deadline (connect,
    Hello, READY/RESUMED timeout; None once established). ``heartbeat_interval_s`` is set by
    Hello (seconds; None before it). ``received_since_heartbeat`` is False from a heartbeat
    until the next frame of any kind (the zombie rule, design.md); ``last_received_at`` is
    the time of the latest frame (or of the upgrade). ``identify_at`` is set while pacing
    holds an Identify back; ``established_at`` when READY or RESUMED arrived (server-meant
    closes reconnect at once only after that).
    """

    id: int
    deadline: float | None
    last_received_at: float | None = None
    received_since_heartbeat: bool = True
    heartbeat_interval_s: float | None = None
    next_heartbeat_at: float | None = None
    heartbeat_sent_at: float | None = None
    identify_at: float | None = None
    established_at: float | None = None

    def frame_received(self, at: float) -> "Connection":
        """A frame arrived at ``at``: the link is alive. (Built positionally: runs for every frame.)"""
        conn_id, deadline, _, _, interval_s, next_at, sent_at, identify_at, established_at = self
        return _new(Connection, (conn_id, deadline, at, True, interval_s, next_at, sent_at, identify_at,
                                 established_at))

    def heartbeat_sent(self, at: float) -> "Connection":
        """A heartbeat went out at ``at``; the next is due one interval later (after Hello only)."""
        conn_id, deadline, received_at, _, interval_s, _, _, identify_at, established_at = self
        assert interval_s is not None
        return _new(Connection, (conn_id, deadline, received_at, False, interval_s, at + interval_s, at,
                                 identify_at, established_at))


class Session(NamedTuple):
    """The gateway session (``State.session``): what a Resume needs.

    ``id`` is READY's ``session_id``; ``epoch`` numbers the sessions this core started (1, 2,
    ...), so a ``DispatchSettled`` for a dispatch of an older session is told apart even
    when its ``seq`` fits the new one. ``last_seq`` is the highest dispatch ``s`` received,
    ``settled_seq`` the highest whose handler returned (Resume sends it, design.md
    "Delivery"). ``lost_at`` is when its connection was lost (None while connected);
    ``resume_failures`` counts resumes in a row that ended before RESUMED.
    """

    id: str
    epoch: int
    started_at: float
    last_seq: int | None = None
    settled_seq: int | None = None
    lost_at: float | None = None
    resume_failures: int = 0

    def seq_received(self, seq: int) -> "Session":
        """``last_seq`` is now ``seq``. (Built positionally: runs for every dispatch.)"""
        session_id, epoch, started_at, _, settled_seq, lost_at, resume_failures = self
        return _new(Session, (session_id, epoch, started_at, seq, settled_seq, lost_at, resume_failures))


class Auth(NamedTuple):
    """The access token (protocol.md, "Access token").

    ``usable_until``: after this the token is too close to expiry to identify with (the
    refresh margin, or half its life). ``refresh_at``: when to fetch the next one in the
    background. ``request_deadline``: a token request is outstanding until then (None: none
    is). ``forced``: a 4004 condemned the token; the next request says ``force``.
    ``rejections``: 4004 closes in a row, each after a fresh token.
    """

    token: str | None = None
    expires_at: float | None = None
    usable_until: float | None = None
    refresh_at: float | None = None
    request_deadline: float | None = None
    forced: bool = False
    rejections: int = 0


class Gateway(NamedTuple):
    """The gateway URL and the identify budget of ``GET /gateway/bot`` (protocol.md).

    ``request_deadline``: a URL request is outstanding until then (None: none is).
    ``identifies_remaining`` and ``budget_reset_at`` come from ``session_start_limit``
    (None: not reported); ``identify_times`` are the recent Identify times, at most
    ``max_concurrency`` of them, for pacing.
    """

    url: str | None = None
    request_deadline: float | None = None
    identifies_remaining: int | None = None
    budget_reset_at: float | None = None
    max_concurrency: int = 1
    identify_times: tuple[float, ...] = ()


class State(NamedTuple):
    """Everything the core knows. Build it with ``initial_state(config)``.

    Immutable: ``step`` returns a new State. ``now`` is the latest ``at`` seen (inputs from
    the past are handled at this time, and counted). ``highest_conn_id`` is the highest
    connection epoch issued (the next OpenSocket uses one more); ``last_open_at`` the time
    of the latest OpenSocket (the reconnect floor); ``sessions_started`` the highest session
    epoch issued. ``consecutive_failures`` drives the backoff and resets when a connection
    is established.
    """

    config: Config
    phase: Phase = Phase.IDLE
    now: float = float("-inf")
    rng: int = 0
    conn: Connection | None = None
    session: Session | None = None
    auth: Auth = Auth()
    gateway: Gateway = Gateway()
    retry_at: float | None = None
    consecutive_failures: int = 0
    outage_reported: bool = False
    highest_conn_id: int = 0
    last_open_at: float | None = None
    sessions_started: int = 0
    dedupe: DedupeWindow = DedupeWindow(512)
    counters: Counters = Counters()

    def advance(self, now: float, conn: Connection | None, session: Session | None, dedupe: DedupeWindow,
                counters: Counters) -> "State":
        """A copy with the fields a frame or a heartbeat changes: ``now``, ``conn``, ``session``,
        ``dedupe``, ``counters``. Built positionally: ``_replace`` costs three times as much, and
        this runs on every dispatch, ACK and heartbeat (benchmarks/, figure 1)."""
        (config, phase, _, rng, _, _, auth, gateway, retry_at, failures, outage_reported, highest_conn_id,
         last_open_at, sessions_started, _, _) = self
        return _new(State, (config, phase, now, rng, conn, session, auth, gateway, retry_at, failures,
                            outage_reported, highest_conn_id, last_open_at, sessions_started, dedupe, counters))

    @property
    def live_conn(self) -> int | None:
        """The id of the live connection, or None."""
        conn = self.conn
        return None if conn is None else conn.id

    @property
    def session_id(self) -> str | None:
        """The id of the session to resume, or None."""
        session = self.session
        return None if session is None else session.id

    @property
    def token_pending(self) -> bool:
        """A token request is outstanding."""
        return self.auth.request_deadline is not None

    @property
    def gateway_pending(self) -> bool:
        """A gateway-URL request is outstanding."""
        return self.gateway.request_deadline is not None


def initial_state(config: Config | None = None) -> State:
    """A fresh IDLE state for ``config`` (default Config()). Raises ConfigError on bad config."""
    config = config or Config()
    config.validate()
    return State(config=config, rng=seed_state(config.seed), dedupe=DedupeWindow(config.dedupe_window))


_IDLE_PHASES = frozenset({Phase.IDLE, Phase.STOPPED, Phase.FAILED})


def next_deadline(state: State) -> float | None:
    """The earliest time (seconds, caller's monotonic clock) the core wants a Tick, or None.

    The caller arms exactly one timer for it after every step. None in IDLE, FAILED and
    STOPPED; never None in any other phase (so the core cannot wait for ever).
    """
    if state.phase in _IDLE_PHASES:
        return None
    auth = state.auth
    deadlines = [state.retry_at, auth.request_deadline, state.gateway.request_deadline, auth.refresh_at]
    conn = state.conn
    if conn is not None:
        deadlines += (conn.deadline, conn.next_heartbeat_at, conn.identify_at)
    best: float | None = None
    for value in deadlines:
        if value is not None and (best is None or value < best):
            best = value
    return best
