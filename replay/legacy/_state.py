"""Config and state of the legacy model (hermes-agent's QQ adapter before its fixes).

The adapter is an asyncio program: a listen task, a heartbeat task and a handful of
instance attributes. Here each task is plain data (what it is waiting for, and until
when), so the model is a pure reducer the simulator can drive like the core.

All times are seconds of the caller's virtual clock (the ``at`` of the inputs); all
durations are seconds. Numbers come from incidents.md, "How the legacy adapter behaves".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

VERSIONS = ("0.12", "0.13", "0.14", "fixed")
"""The adapter's behaviour versions, by date (``replay.logs._versions`` has the table): 0.12 and
0.13 (to 2026-05-13) clear ``running`` on every error; 0.14 (PR #25493, 2026-05-14, commit
8199ec3 "keep reconnect loop alive") only marks the transport down; "fixed" (from 2026-06-05)
resumes after 4009, handles op 7 and op 9, stops on fatal codes and raises on a closed socket.
The PyPI numbers do not follow these: the 0.13.0 and 0.14.0 wheels hold the same adapter."""
RUNNING_CLEARED = frozenset({"0.12", "0.13"})

RECONNECT_DELAYS_S = (2.0, 5.0, 10.0, 30.0, 60.0)
"""Sleep before reconnect attempt k (from 0); the last value repeats."""
MAX_RECONNECT_ATTEMPTS = 100
"""The exception path gives up (``Max reconnect attempts reached``) at this many failures."""
QUICK_DISCONNECT_S = 5.0
"""A connection closed (with a close frame) before living this long is a quick disconnect."""
MAX_QUICK_DISCONNECTS = 3
"""Quick disconnects in a row that make the listen loop give up."""
RATE_LIMIT_WAIT_S = 60.0
"""Extra wait after a 4008 close, before the usual reconnect delay."""
DEFAULT_HEARTBEAT_S = 30.0
"""Heartbeat interval before any Hello, and again from every reconnect attempt on."""
HELLO_FACTOR = 0.8
"""Heartbeat interval = Hello ``heartbeat_interval`` (ms) / 1000 × 0.8."""
DEFAULT_HELLO_MS = 30000
"""``heartbeat_interval`` assumed when a Hello carries none (milliseconds)."""
TOKEN_REFRESH_MARGIN_S = 60.0
"""A reconnect fetches a new token when less than this much of the old one is left."""

FATAL_CLOSE_CODES = frozenset({4914, 4915})
"""Set a fatal error and return (4914 bot offline/sandbox-only, 4915 banned)."""
RATE_LIMIT_CLOSE_CODE = 4008
TOKEN_CLOSE_CODE = 4004
SESSION_CLOSE_CODES = frozenset({4006, 4007, 4009, *range(4900, 4914)})
"""Drop the session: so the legacy adapter re-identifies after every routine 4009."""
FIXED_SESSION_CLOSE_CODES = SESSION_CLOSE_CODES - {4009}
"""After the fixes 4009 keeps the session (PR #39583: "main already preserves 4009 as resumable")."""
FIXED_FATAL_CLOSE_CODES = frozenset({4001, 4002, 4010, 4011, 4012, 4013, 4014, 4914, 4915})
"""After the fixes these stop the adapter too (0.19.0 adapter.py 548-580)."""

FIRST_BEAT_HELLO_FIRST_P = 5 / 14
"""How often the heartbeat task starts after Hello was processed, so its first sleep is Hello's
interval (33 s) instead of the 30 s default: measured 5 of 14 startups of the real v0.13 adapter
on a local gateway (9 × 30 s, 5 × 33 s)."""
HELLO_RACE_WINDOW_S = 0.005
"""Hello can only win that race when it arrives within this long (seconds) of the socket opening:
the tasks start on the event loop's next turns. Across a real network (tens of ms) the heartbeat
task always starts first and sleeps 30 s."""


class HeartbeatTask(str, enum.Enum):
    """The one heartbeat task of the adapter's life."""

    NOT_STARTED = "NOT_STARTED"
    """The first connect has not happened yet."""
    SLEEPING = "SLEEPING"
    """Alive, asleep until ``heartbeat_wake_at_s``."""
    ENDED = "ENDED"
    """Woke and found ``running`` false (or was cancelled): nothing starts it again."""


class ListenLoop(str, enum.Enum):
    """What the listen task (or, before it exists, ``connect()``) is doing."""

    IDLE = "IDLE"
    """Start not seen yet."""
    STARTUP_TOKEN = "STARTUP_TOKEN"
    """``connect()``: awaiting the access token."""
    STARTUP_GATEWAY = "STARTUP_GATEWAY"
    """``connect()``: awaiting the gateway URL."""
    STARTUP_OPEN = "STARTUP_OPEN"
    """``connect()``: awaiting the WebSocket upgrade of ``pending_conn``."""
    READING = "READING"
    """``_read_events()`` on the open socket ``ws_conn``."""
    RATE_LIMITED = "RATE_LIMITED"
    """Sleeping 60 s after a 4008, until ``loop_wake_at_s``."""
    BACKOFF = "BACKOFF"
    """Sleeping before reconnect attempt ``attempts``, until ``loop_wake_at_s``."""
    RECONNECT_TOKEN = "RECONNECT_TOKEN"
    """Reconnect: awaiting a refreshed access token."""
    RECONNECT_GATEWAY = "RECONNECT_GATEWAY"
    """Reconnect: awaiting the gateway URL."""
    RECONNECT_OPEN = "RECONNECT_OPEN"
    """Reconnect: awaiting the WebSocket upgrade of ``pending_conn``."""
    SPINNING = "SPINNING"
    """v0.14 busy spin: reading a closed socket returns at once, forever, with no await."""
    RETURNED = "RETURNED"
    """The listen task has ended (``loop_end`` says why); nothing restarts it."""


class LoopEnd(str, enum.Enum):
    """Why the listen task ended. The host is never told, whichever it is."""

    LOOP_CONDITION_FALSE = "LOOP_CONDITION_FALSE"
    """v0.13: a reconnect failed while ``running`` was false; ``while running`` exits silently."""
    QUICK_DISCONNECTS = "QUICK_DISCONNECTS"
    """Three quick disconnects in a row (practically unreachable: see LegacyModel)."""
    FATAL_CLOSE = "FATAL_CLOSE"
    """4914 or 4915."""
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    """100 failed reconnect attempts."""
    STARTUP_FAILED = "STARTUP_FAILED"
    """The first connect failed; no listen task was ever started."""
    STOPPED = "STOPPED"
    """The host called ``disconnect()`` (Stop)."""


@dataclass(frozen=True, slots=True)
class LegacyConfig:
    """Which adapter to model, and how the world looks to it.

    - ``version``: one of :data:`VERSIONS` (they fail differently on the same trigger).
    - ``app_id``: printed in the log tag ``[QQBot:<app_id>]``.
    - ``close_codes_visible``: False models incident 5: every close arrives as CLOSED/ERROR,
      i.e. ``RuntimeError("WebSocket closed")``, code and reason lost.
    - ``heartbeat_task_alive``: False starts with the heartbeat task already ended (a
      replay of a real log where the death loop is already running).
    - ``intents``: sent in Identify (GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES).
    - ``seed``: decides the startup race of the heartbeat task (``FIRST_BEAT_HELLO_FIRST_P``)
      when Hello arrives within ``HELLO_RACE_WINDOW_S``.
    """

    version: str = "0.13"
    app_id: str = "1903424243"
    close_codes_visible: bool = True
    heartbeat_task_alive: bool = True
    intents: int = (1 << 25) | (1 << 30)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"LegacyConfig.version must be one of {VERSIONS}, not {self.version!r}")


@dataclass(frozen=True, slots=True)
class LegacyState:
    """Everything the adapter remembers, as immutable data (times in virtual seconds).

    Adapter attributes:
    - ``running``: the one flag meaning both "alive" and "connected" (``is_connected``).
    - ``ws_conn``/``ws_open``: the socket object the adapter holds (None: none at all) and
      whether it is still open. A closed socket stays here until the next ``_open_ws``.
    - ``pending_conn``/``gateway_url``: the socket being opened, and the URL used.
    - ``next_conn``: the id the next OpenSocket will use (counts up from 1).
    - ``token``/``token_expires_at_s``/``token_invalidated``: the access token, its expiry,
      and whether a 4004 dropped it (the next fetch is forced).
    - ``session_id``/``last_seq``: what Resume needs; ``last_seq`` is also the heartbeat ``d``.
    - ``heartbeat_interval_s``: Hello × 0.8, back to 30 s on every reconnect attempt.
    - ``fatal_error``: what the adapter recorded when it gave up (the host is never told).

    Tasks:
    - ``heartbeat``/``heartbeat_wake_at_s``: the heartbeat task and its next wake-up.
    - ``loop``/``loop_wake_at_s``/``loop_end``: the listen task, the end of its current
      sleep (RATE_LIMITED, BACKOFF), and why it returned (RETURNED).
    - ``attempts``: the backoff index (failed reconnects since the last success).
    - ``quick_disconnects``: quick disconnects counted so far.
    - ``reconnect_from_close``: the running reconnect was started by the close-frame path.
    - ``read_started_at_s``: ``connect_time``, when the current read began (quick disconnects).

    ``now_s`` is the ``at`` of the last input: the busy spin's deadline.
    """

    now_s: float = 0.0
    running: bool = False
    ws_conn: int | None = None
    ws_open: bool = False
    pending_conn: int | None = None
    gateway_url: str | None = None
    next_conn: int = 1
    token: str | None = None
    token_expires_at_s: float = 0.0
    token_invalidated: bool = False
    session_id: str | None = None
    last_seq: int | None = None
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_S
    fatal_error: str | None = None
    heartbeat: HeartbeatTask = HeartbeatTask.NOT_STARTED
    heartbeat_wake_at_s: float | None = None
    loop: ListenLoop = ListenLoop.IDLE
    loop_wake_at_s: float | None = None
    loop_end: LoopEnd | None = None
    attempts: int = 0
    quick_disconnects: int = 0
    reconnect_from_close: bool = False
    read_started_at_s: float = 0.0
    heartbeat_started_at_s: float | None = None
    """When the heartbeat task started, until the first Hello settles its startup race."""
