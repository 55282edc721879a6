"""What the server model keeps per session and per connection, and the rules for starting one.

- ``ServerSession``: one gateway session: its dispatch log (replayed on Resume), liveness,
  and whether the client gave it up while it could still be resumed.
- ``ServerConn``: one accepted WebSocket connection.
- ``SessionStarts``: the session start budget of ``GET /gateway/bot`` (``session_start_limit``)
  and the Identify checks that use no connection state (intents, shard).

Times are model seconds. Facts from protocol.md ("Frames", "Close codes", "Corrections").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._spec import KNOWN_INTENTS, WorldSpec

IDENTIFY_REFUSED = (4903, "create session error")
"""How QQ refuses a session start: op 9, then this close about 100 ms later, on every Identify
(openclaw-qqbot#18, for intents the bot may not use). The model answers every refused start
this way: disallowed intents (observed), and the start limits (inferred: QQ documents
``session_start_limit`` but not the answer past it; this is the one refusal seen for real)."""
IDENTIFY_REFUSED_DELAY_S = 0.1
"""op 9 to the close: "Quick disconnect detected (101ms)" in openclaw-qqbot#18."""
INVALID_INTENT = (4013, "invalid intent")
"""An intents value that is not a non-negative integer of known bits, or 0 (bot-docs
``error-trace/websocket``: 4013 invalid intent)."""
INVALID_SHARD = (4010, "invalid shard")
"""A shard that is not ``[id, count]`` with ``0 <= id < count`` (bot-docs: 4010 invalid shard)."""


@dataclass
class ServerSession:
    """One gateway session.

    ``log``: (seq, frame text) of its latest dispatches, for replay on Resume. ``lost_at``:
    when its last connection ended (None while one carries it). ``valid`` False once the
    server ended it (op 9, a session-ending close, expiry, a server restart). ``dropped_at``:
    when the client identified anew while this session could still be resumed (the client
    gave it up by its own choice), else None.
    """

    session_id: str
    started_at: float
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    lost_at: float | None = None
    valid: bool = True
    conn: int | None = None
    dropped_at: float | None = None


@dataclass
class ServerConn:
    """One accepted WebSocket connection as the server sees it; ``identified`` once an
    Identify or Resume on it was accepted (a second one is refused), ``established_at`` when
    READY or RESUMED went out on it, ``resuming`` the session a Resume on it named (accepted
    or not)."""

    conn: int
    opened_at: float
    last_heartbeat_at: float
    session: ServerSession | None = None
    open: bool = True
    identified: bool = False
    established_at: float | None = None
    resuming: ServerSession | None = None


@dataclass
class SessionStarts:
    """The session start budget (``session_start_limit``) on model time.

    ``remaining`` counts down with each session started and comes back ``reset_s`` after the
    first start of the period; at most ``max_concurrency`` starts per ``window_s``.
    """

    total: int
    max_concurrency: int
    window_s: float
    reset_s: float
    starts: list[float] = field(default_factory=list)
    period_start: float | None = None
    used: int = 0

    @classmethod
    def of(cls, world: WorldSpec) -> SessionStarts:
        return cls(world.session_start_limit_total, max(1, world.max_concurrency), world.identify_window_s,
                   world.session_start_reset_s)

    def _roll(self, now: float) -> None:
        if self.period_start is not None and now - self.period_start >= self.reset_s:
            self.period_start, self.used = None, 0

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(0, self.total - self.used)

    def reset_after_s(self, now: float) -> float:
        """Seconds until ``remaining`` is back to ``total``."""
        self._roll(now)
        return self.reset_s if self.period_start is None else self.reset_s - (now - self.period_start)

    def refusal(self, now: float) -> str | None:
        """Why a session may not start now (None: it may)."""
        if self.remaining(now) <= 0:
            return "session_start_limit.remaining is 0"
        recent = [t for t in self.starts if now - t < self.window_s]
        if len(recent) >= self.max_concurrency:
            return f"more than {self.max_concurrency} session start(s) in {self.window_s:g} s"
        return None

    def started(self, now: float) -> None:
        self._roll(now)
        if self.period_start is None:
            self.period_start = now
        self.used += 1
        self.starts = [t for t in self.starts if now - t < self.window_s] + [now]


def identify_problem(d: dict[str, Any], allowed_intents: int) -> tuple[int, str] | None:
    """The close a malformed Identify gets (4013 intents, 4010 shard), ``IDENTIFY_REFUSED`` for
    intents the bot may not use, or None for a good one."""
    intents = d.get("intents")
    if (not isinstance(intents, int) or isinstance(intents, bool) or intents <= 0
            or intents & ~KNOWN_INTENTS):
        return INVALID_INTENT
    shard = d.get("shard", [0, 1])
    if (not isinstance(shard, list) or len(shard) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
            or not 0 <= shard[0] < shard[1]):
        return INVALID_SHARD
    if intents & ~allowed_intents:
        return IDENTIFY_REFUSED
    return None


@dataclass(frozen=True, slots=True)
class MessageFates:
    """What became of every message dispatch pushed and never delivered.

    - ``lost``: pushed to a session the client gave up while the server could still resume it,
      or to the session the client holds established at the end (the server will not send
      it again): the client's fault.
    - ``pending``: pushed to a session still resumable that the client is reconnecting to at
      the end, or pushed too recently to have arrived: not decided.
    - ``abandoned``: pushed to a session the server ended first (op 9, a session-ending close,
      expiry, a restart, a ban): lost by the protocol, not by the client.
    """

    lost: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    abandoned: tuple[str, ...] = ()
