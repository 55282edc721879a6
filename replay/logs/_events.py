"""What a log line can say about a QQ gateway connection: one vocabulary for every client.

Every reader (one table of ``pattern → event`` per client, ``_rules_*``) turns the lines it
understands into :class:`LogEvent` with one of these :class:`EventKind`. The names follow the
lifecycle of a gateway connection (protocol.md): a socket opens, Hello, Identify or Resume,
READY or RESUMED, heartbeats, a close with a code, a reconnect scheduled, tried, failed, given
up. The kinds are the client's *own statements*: ``CLOSED`` means the client logged a close,
``GAVE_UP`` that it logged giving up, nothing more.

A line is one of:

- a :class:`LogEvent`: understood (a lifecycle event), or ``ACTIVITY``: understood as a sign
  of life of something else (a token refresh, a reply sent, the host's own jobs), which proves
  time passing but says nothing about the link;
- a :class:`Recognised` line: its format (prefix) is known, its message is not understood;
- an :class:`Elision`: a reporter's ``...``, ``(silent for 17 minutes)``, ``# ~60 s later``;
- a continuation of the record before it (a traceback, an indented second line): counted;
- unreadable: no known format and no known message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventKind(str, enum.Enum):
    """A connection lifecycle event as a client logs it (client-neutral)."""

    STARTING = "STARTING"                  # the client starts its gateway connection
    CONNECTING = "CONNECTING"              # a connection attempt begins (dial, session start)
    CONNECTED = "CONNECTED"                # the WebSocket is open (upgrade done)
    RECONNECTED = "RECONNECTED"            # a reconnect counted as done (hermes: at the upgrade)
    HELLO = "HELLO"                        # op 10 received (``interval_ms`` when shown)
    IDENTIFY_SENT = "IDENTIFY_SENT"        # op 2 sent
    RESUME_SENT = "RESUME_SENT"            # op 6 sent
    READY = "READY"                        # READY: a new session
    RESUMED = "RESUMED"                    # RESUMED: the session resumed
    HEARTBEAT_SENT = "HEARTBEAT_SENT"      # op 1 sent (debug lines)
    HEARTBEAT_ACK = "HEARTBEAT_ACK"        # op 11 received (debug lines)
    RECONNECT_REQUESTED = "RECONNECT_REQUESTED"  # op 7 received
    INVALID_SESSION = "INVALID_SESSION"    # op 9 received
    CLOSED = "CLOSED"                      # the socket closed; ``code``/``reason`` when logged
    WS_ERROR = "WS_ERROR"                  # a transport error / exception on the socket (no code)
    ACK_TIMEOUT = "ACK_TIMEOUT"            # the client's own ACK watchdog declared the link dead
    RECONNECTING = "RECONNECTING"          # a reconnect scheduled: ``delay_s``, ``attempt``
    RECONNECT_FAILED = "RECONNECT_FAILED"  # an attempt failed before a session: ``reason``
    GAVE_UP = "GAVE_UP"                    # the client stopped retrying (attempts exhausted)
    SESSION_CLEARED = "SESSION_CLEARED"    # the client dropped its session (next: Identify)
    QUICK_DISCONNECT = "QUICK_DISCONNECT"  # a connection that lived only a moment (counted)
    RATE_LIMITED = "RATE_LIMITED"          # close 4008 handling: a cooldown
    TOKEN_INVALID = "TOKEN_INVALID"        # close 4004 handling: the token is dropped
    FATAL_CLOSE = "FATAL_CLOSE"            # the client named a fatal close (banned, offline, ...)
    AUTH_FAILED = "AUTH_FAILED"            # Identify/Resume answered by something else than READY
    CRASHED = "CRASHED"                    # the reconnect code itself raised (e.g. recursion)
    STOPPED = "STOPPED"                    # the client (or its host) stopped the connection on purpose
    SEND_WAITING = "SEND_WAITING"          # a send waits for the link (the host sees it down)
    MESSAGE = "MESSAGE"                    # a message arrived or a reply went out: the session was up
    ACTIVITY = "ACTIVITY"                  # not about the link: proof of time passing only


LIFECYCLE = frozenset(EventKind) - {EventKind.ACTIVITY}
"""Every kind that says something about the gateway connection."""

DROPS = frozenset({EventKind.CLOSED, EventKind.WS_ERROR, EventKind.ACK_TIMEOUT})
"""The kinds that say the socket went away."""

UP = frozenset({EventKind.READY, EventKind.RESUMED})
"""The kinds that say a session is established."""

ALIVE = UP | {EventKind.MESSAGE, EventKind.HEARTBEAT_ACK}
"""The kinds that say the session was up at that moment."""

DIALS = frozenset({EventKind.CONNECTING, EventKind.CONNECTED, EventKind.RECONNECTED})
"""The kinds that say a (re)connection attempt is under way or its socket opened."""


class FailKind(str, enum.Enum):
    """Why a reconnect attempt failed, from its reason text."""

    DNS = "dns"                                  # name resolution (EAI_AGAIN, Errno -3, nodename ...)
    GATEWAY_URL = "gateway_url"                  # fetching the gateway URL failed
    NETWORK_UNREACHABLE = "network_unreachable"  # connect refused / unreachable / TLS cut
    REJECTED = "rejected"                        # the server closed it before READY (a code)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class LineTime:
    """The time a line carries. ``date_ordinal``: ``datetime.date.toordinal()`` when the line has
    a date (None: a bare time of day); ``clock_s``: seconds since midnight (None: no time at all);
    ``resolution_s``: the smallest step the stamp can show (0.001 for milliseconds, 60 for
    ``MM-DD HH:MM``); ``utc``: the stamp says UTC (``Z``)."""

    date_ordinal: int | None = None
    clock_s: float | None = None
    resolution_s: float = 1.0
    utc: bool = False
    dated: bool = False
    """The date has a real year (``MM-DD`` and journald dates do not: they date no version)."""


NO_TIME = LineTime()


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One understood line.

    - ``lineno`` (from 1, the file's own), ``text`` (the line, clipped), ``client`` (the reader
      that understood it: ``"hermes"``, ``"botpy"``, ...), ``fmt`` (the line format, e.g.
      ``"hermes logging"``, ``"bare"``), ``kind`` and ``message`` (the text after the prefix).
    - ``time``: what the line's stamp says (:class:`LineTime`); ``level`` when shown.
    - message fields, filled where the wording carries them: ``code`` / ``reason`` (a close, an
      error), ``delay_s`` (a reconnect delay, a cooldown, seconds), ``attempt`` and
      ``max_attempts``, ``session_id``, ``seq``, ``url`` (a gateway URL), ``interval_ms`` (Hello), ``count`` (quick
      disconnects, session starts), ``fail_kind`` (RECONNECT_FAILED), ``lived_s`` (how long the
      closed connection lived, when logged).
    - ``paraphrase``: the line is a reporter's paraphrase, not the client's wording (read, and said
      so in the report).
    """

    lineno: int
    text: str
    client: str
    fmt: str
    kind: EventKind
    message: str
    time: LineTime = NO_TIME
    level: str | None = None
    code: int | None = None
    reason: str | None = None
    delay_s: float | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    session_id: str | None = None
    seq: int | None = None
    url: str | None = None
    interval_ms: int | None = None
    count: int | None = None
    fail_kind: FailKind | None = None
    lived_s: float | None = None
    paraphrase: bool = False

    def describe(self) -> str:
        """The event as a short phrase: ``CLOSED code=4009 reason='Session timed out'``."""
        parts = [self.kind.name]
        for name in ("code", "reason", "delay_s", "attempt", "max_attempts", "session_id", "seq",
                     "interval_ms", "count", "lived_s"):
            value = getattr(self, name)
            if value is None or (name == "reason" and value == ""):
                continue
            if isinstance(value, float):
                value = f"{value:g}"
            elif isinstance(value, str):
                value = repr(value if len(value) <= 60 else value[:59] + "…")
            parts.append(f"{name}={value}")
        if self.fail_kind is not None:
            parts.append(f"fail={self.fail_kind.value}")
        if self.kind is EventKind.ACTIVITY:
            parts.append(repr(self.message if len(self.message) <= 60 else self.message[:59] + "…"))
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Recognised:
    """A line whose format is known (``fmt``, ``client`` when the format names one) but whose
    message no rule understands. It still proves time passing when it carries a time."""

    lineno: int
    text: str
    client: str | None
    fmt: str
    message: str
    time: LineTime = NO_TIME


@dataclass(frozen=True, slots=True)
class Elision:
    """A line standing for lines the reporter left out or a note of theirs: ``... ~60s later``,
    ``(silent for 17 minutes)``, ``# ... ~60 seconds later ...``, ``← ZERO logs for ~39 minutes``.

    ``gap_s``: the time it says passed (seconds) or None; ``repeats``: it says a cycle goes on;
    ``silence``: it says nothing was logged; ``attempts``: a number of attempts it says were made
    (``exactly 100 failed connection attempts`` → 100).
    """

    lineno: int
    text: str
    gap_s: float | None
    repeats: bool
    silence: bool
    attempts: int | None = None
    time: LineTime = NO_TIME
    """The time the note itself carries (``08:51:59  ← WSL rebooted``), when it has one."""
