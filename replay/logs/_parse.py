"""Reading hermes-agent text log lines: one line in, one event (or elision, or nothing) out.

The format is the one in incidents.md ("The log format"): Python ``logging`` with
``%(asctime)s %(levelname)s%(session_tag)s %(name)s: %(message)s``, e.g.::

    2026-05-08 09:17:42,717 WARNING gateway.platforms.qqbot.adapter: [QQBot:1903424243] \
        WebSocket error: WebSocket closed

and every shortened form the reports quote: no timestamp (``INFO: [QQBot:xxx] Reconnected``),
a bare time with no date (``14:13:26.980``, ``16:00:45``), the level padded into a column
(``INFO     Reconnected``) or left out, no logger, no ``[QQBot...]`` tag. Every part of the
prefix is optional; the message is then classified into an :class:`EventKind` from the
adapter's own message texts (the list at the end of incidents.md).

Nothing here raises on input text. A line is:

- blank: skipped;
- a comment (``#`` first): skipped and counted;
- an elision (``... (exactly ~60s later)``, ``(then silence for 93+ minutes)``): kept as an
  :class:`Elision` with a gap hint in seconds and "repeats" / "silence" flags;
- readable: it has a timestamp, a level, a logger or a ``[QQBot...]`` tag in front of a
  message, or its message is one of the adapter's known texts: kept as a :class:`LogEvent`;
- otherwise unreadable: kept as ``(line number, text)`` and shown, never fatal.

Line numbers count from 1 and are the file's own (lines are split on ``\\n`` only).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import re
from dataclasses import dataclass, field

MAX_LINE_CHARS = 8192
"""Only the first this-many characters of a line are read (keeps every regex linear-time)."""

MAX_ELISION_CHARS = 400
"""Only the first this-many characters of an elision are searched for a gap hint."""


class EventKind(str, enum.Enum):
    """What a log line says happened, named after the adapter's message texts (incidents.md)."""

    CONNECTED = "CONNECTED"                      # WebSocket connected[ to URL]
    RECONNECTED = "RECONNECTED"                  # Reconnected
    RECONNECTING = "RECONNECTING"                # Reconnecting in Ns (attempt n)...
    RECONNECT_FAILED = "RECONNECT_FAILED"        # Reconnect failed: reason
    CLOSED = "CLOSED"                            # WebSocket closed: code=C reason=R
    WS_ERROR = "WS_ERROR"                        # WebSocket error: message
    MAX_ATTEMPTS = "MAX_ATTEMPTS"                # Max reconnect attempts reached
    RESUME_SENT = "RESUME_SENT"                  # Resume sent (session_id=S, seq=N)
    RESUMED = "RESUMED"                          # Session resumed
    IDENTIFY_SENT = "IDENTIFY_SENT"              # Identify sent
    READY = "READY"                              # Ready, session_id=S
    TOKEN_REFRESHED = "TOKEN_REFRESHED"          # Access token refreshed, expires in 7200s
    QUICK_DISCONNECT = "QUICK_DISCONNECT"        # Quick disconnect (1.2s), count: 1
    SESSION_ERROR = "SESSION_ERROR"              # Session error (4009), clearing session ...
    RATE_LIMITED = "RATE_LIMITED"                # Rate limited (4008), waiting 60s
    INVALID_TOKEN = "INVALID_TOKEN"              # Invalid token (4004), will refresh ...
    BANNED = "BANNED"                            # Bot is banned. Check QQ Open Platform.
    NOT_CONNECTED_WAIT = "NOT_CONNECTED_WAIT"    # Not connected — waiting for reconnection (up to 15s)
    STILL_NOT_CONNECTED = "STILL_NOT_CONNECTED"  # Still not connected after 15s
    SENDING_RESPONSE = "SENDING_RESPONSE"        # [QQBot] Sending response (73 chars) to ...
    OTHER = "OTHER"                              # a readable line with some other message


class FailKind(str, enum.Enum):
    """Why a reconnect failed (``Reconnect failed: ...``), from the texts in incidents.md."""

    DNS = "dns"                                  # DNS resolution error [Errno -3] ...
    GATEWAY_URL = "gateway_url"                  # Failed to get QQ Bot gateway URL: ...
    NETWORK_UNREACHABLE = "network_unreachable"  # Cannot connect to host ... [Network is unreachable]
    OTHER = "other"


_SHOWN: dict[EventKind, tuple[str, ...]] = {
    EventKind.CLOSED: ("code", "reason"), EventKind.RECONNECTING: ("delay_s", "attempt"),
    EventKind.RECONNECT_FAILED: ("fail_kind", "reason"), EventKind.WS_ERROR: ("reason",),
    EventKind.CONNECTED: ("url",), EventKind.RESUME_SENT: ("session_id", "seq"),
    EventKind.READY: ("session_id",), EventKind.SESSION_ERROR: ("code",),
    EventKind.RATE_LIMITED: ("code", "delay_s"), EventKind.INVALID_TOKEN: ("code",),
    EventKind.QUICK_DISCONNECT: ("delay_s", "count"), EventKind.SENDING_RESPONSE: ("count",),
    EventKind.TOKEN_REFRESHED: ("delay_s",),
}
"""The message fields :meth:`LogEvent.describe` shows for each kind."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One readable log line.

    Prefix fields are None when the line did not carry them. ``date_ordinal`` is the
    proleptic Gregorian ordinal of the date (``datetime.date.toordinal``), ``clock_s`` the
    time of day in seconds (``14:13:26.980`` → 51206.98). Message fields are filled by kind:
    ``code`` (CLOSED, SESSION_ERROR, RATE_LIMITED, INVALID_TOKEN; None for ``code=None``),
    ``reason`` (close reason, failure reason, error message), ``fail_kind``
    (RECONNECT_FAILED), ``delay_s`` / ``attempt`` (RECONNECTING; ``delay_s`` is also the wait
    of RATE_LIMITED, the lifetime of QUICK_DISCONNECT and the token lifetime of
    TOKEN_REFRESHED), ``count`` (QUICK_DISCONNECT count, SENDING_RESPONSE chars),
    ``session_id`` / ``seq`` (RESUME_SENT, READY), ``url`` (CONNECTED).
    """

    lineno: int
    text: str
    kind: EventKind
    message: str
    level: str | None = None
    logger: str | None = None
    tag: str | None = None
    session_tag: str | None = None
    date_ordinal: int | None = None
    clock_s: float | None = None
    code: int | None = None
    reason: str | None = None
    fail_kind: FailKind | None = None
    delay_s: float | None = None
    attempt: int | None = None
    count: int | None = None
    session_id: str | None = None
    seq: int | None = None
    url: str | None = None

    def describe(self) -> str:
        """The event as one short phrase: the kind and its message fields, e.g.
        ``CLOSED code=4009 reason=Session timed out``, ``RECONNECTING delay_s=2 attempt=1``."""
        if self.kind is EventKind.OTHER:
            return f"OTHER {self.message[:80]}"
        parts = [self.kind.name]
        for name in _SHOWN.get(self.kind, ()):
            value = getattr(self, name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, float):
                value = f"{value:g}"
            parts.append(f"{name}={'' if value is None and name == 'reason' else value}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Elision:
    """A line standing for lines the reporter left out, e.g. ``... (exactly ~60s later)``.

    ``gap_s``: the time the elision says passed, in seconds (``~60s later`` → 60,
    ``93+ minutes`` → 5580), or None. ``repeats``: it says a cycle goes on
    (``cycle repeats indefinitely``). ``silence``: it says nothing was logged
    (``then silence for 93+ minutes``).
    """

    lineno: int
    text: str
    gap_s: float | None
    repeats: bool
    silence: bool


@dataclass(slots=True)
class ParsedLog:
    """Every line of a log, sorted into events, elisions, unreadable lines and comments.

    ``entries`` holds events and elisions in file order; ``events`` and ``elisions`` are the
    same objects split by type. ``unreadable`` is ``[(line number, text), ...]``.
    """

    entries: list[LogEvent | Elision] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    comments: int = 0
    blank: int = 0
    total_lines: int = 0

    @property
    def events(self) -> list[LogEvent]:
        """The readable lines, in file order."""
        return [e for e in self.entries if isinstance(e, LogEvent)]

    @property
    def elisions(self) -> list[Elision]:
        """The elision lines, in file order."""
        return [e for e in self.entries if isinstance(e, Elision)]


# --- the line prefix: [date] time, level, [session tag], logger, [QQBot...] tag ---------------

_TIME_RE = re.compile(
    r"\[?(?:(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[ T])?"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?\]?"
    r"(?=\s|$)\s*"
)
_LEVEL_RE = re.compile(r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)(?::\s*|\s+|$)")
_LOGGER = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
_SESSION_TAG_RE = re.compile(r"\[(?P<sid>[^\]\s]{1,128})\]\s+(?=" + _LOGGER + r":)")
_LOGGER_RE = re.compile(r"(?P<logger>" + _LOGGER + r"):(?:\s+|$)")
_TAG_RE = re.compile(r"\[(?P<tag>QQBot(?::[^\]\s]{0,64})?)\]\s*")


# --- the message: the adapter's texts (incidents.md, end of "The log format") --------------------
# Matched at the start of the message, in this order. Group names are LogEvent field names.

_NUM = r"\d{1,9}(?:\.\d{1,9})?"  # bounded: every number read stays finite
_MESSAGE_RULES: tuple[tuple[EventKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (EventKind.CLOSED, r"WebSocket closed: code=(?P<code>\S*)(?: reason=(?P<reason>.*))?$"),
        (EventKind.CONNECTED, r"WebSocket connected\b(?: to (?P<url>\S+))?"),
        (EventKind.RECONNECTED, r"Reconnected\b"),
        (EventKind.RECONNECTING,
         r"Reconnecting in (?P<delay_s>" + _NUM + r")\s*s\b(?:\s*\(attempt (?P<attempt>\d+)\))?"),
        (EventKind.RECONNECT_FAILED, r"Reconnect failed\b:?\s*(?P<reason>.*)$"),
        (EventKind.WS_ERROR, r"WebSocket error:?\s*(?P<reason>.*)$"),
        (EventKind.MAX_ATTEMPTS, r"Max reconnect attempts reached"),
        (EventKind.RESUME_SENT, r"Resume sent \(session_id=(?P<session_id>[^,)]*),\s*seq=(?P<seq>[^)]*)\)"),
        (EventKind.RESUMED, r"Session resumed\b"),
        (EventKind.IDENTIFY_SENT, r"Identify sent\b"),
        (EventKind.READY, r"Ready,\s*session_id=(?P<session_id>\S*)"),
        (EventKind.TOKEN_REFRESHED, r"Access token refreshed(?:, expires in (?P<delay_s>" + _NUM + r")s)?"),
        (EventKind.QUICK_DISCONNECT,
         r"Quick disconnect \((?P<delay_s>" + _NUM + r")s\)(?:, count: (?P<count>\d+))?"),
        (EventKind.SESSION_ERROR, r"Session error \((?P<code>\d+)\)"),
        (EventKind.RATE_LIMITED, r"Rate limited \((?P<code>\d+)\)(?:, waiting (?P<delay_s>" + _NUM + r")s)?"),
        (EventKind.INVALID_TOKEN, r"Invalid token \((?P<code>\d+)\)"),
        (EventKind.BANNED, r"Bot is banned\b"),
        (EventKind.NOT_CONNECTED_WAIT, r"Not connected\s*(?:—|–|-{1,2})\s*waiting for reconnection"),
        (EventKind.STILL_NOT_CONNECTED, r"Still not connected after\b"),
        (EventKind.SENDING_RESPONSE, r"Sending response\b(?: \((?P<count>\d+) chars\))?"),
    )
)
_INT_FIELDS = ("code", "attempt", "count", "seq")

_DNS_RE = re.compile(
    r"DNS|name resolution|Errno -[235]\]|getaddrinfo|Name or service not known|nodename nor servname",
    re.IGNORECASE,
)
_GATEWAY_URL_RE = re.compile(r"gateway URL", re.IGNORECASE)
_UNREACHABLE_RE = re.compile(r"Network is unreachable|Cannot connect to host", re.IGNORECASE)


# --- elisions -------------------------------------------------------------------------------------

_ELISION_START_RE = re.compile(r"\.\.\.|…|\[\s*(?:\.\.\.|…|snip)\s*\]|<\s*(?:\.\.\.|…|snip)\s*>")
_GAP_RE = re.compile(
    r"(?P<n>\d{1,9}(?:\.\d{1,6})?)\s*\+?\s*"
    r"(?P<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\b",
    re.IGNORECASE,
)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_REPEATS_RE = re.compile(r"repeat|again|indefinitely|forever|over and over|loop", re.IGNORECASE)
_SILENCE_RE = re.compile(
    r"silen|nothing|no (?:more |further |other )?(?:qq )?(?:log|line|output|message)|quiet",
    re.IGNORECASE,
)


def parse_log(text: str) -> ParsedLog:
    """Read every line of ``text``; never raises. See the module docstring for the rules."""
    out = ParsedLog()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline does not start a line
    out.total_lines = len(lines)
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            out.blank += 1
            continue
        if stripped.startswith("#"):
            out.comments += 1
            continue
        elision = parse_elision(lineno, stripped)
        if elision is not None:
            out.entries.append(elision)
            continue
        event = parse_line(lineno, line)
        if event is None:
            out.unreadable.append((lineno, line))
        else:
            out.entries.append(event)
    return out


def parse_elision(lineno: int, line: str) -> Elision | None:
    """The :class:`Elision` a line stands for, or None if it is not one.

    An elision starts with ``...`` / ``…`` / ``[...]`` / ``<snip>``, or is wholly in
    parentheses (``(then silence for 93+ minutes)``). The gap hint is the first
    "number unit" in it (``~60s`` → 60 s; ``93+ minutes`` → 5580 s; ``3 hours`` → 10800 s).
    """
    s = line.strip()
    if not (_ELISION_START_RE.match(s) or (s.startswith("(") and s.endswith(")"))):
        return None
    head = s[:MAX_ELISION_CHARS]
    gap: float | None = None
    m = _GAP_RE.search(head)
    if m is not None:
        unit = m.group("unit").lower()
        key = "ms" if unit.startswith("milli") or unit == "ms" else unit[0]
        gap = float(m.group("n")) * _UNIT_S[key]
    return Elision(
        lineno=lineno,
        text=s,
        gap_s=gap,
        repeats=_REPEATS_RE.search(head) is not None,
        silence=_SILENCE_RE.search(head) is not None,
    )


def parse_line(lineno: int, line: str) -> LogEvent | None:
    """The :class:`LogEvent` of one log line, or None when the line cannot be read."""
    s = line[:MAX_LINE_CHARS].strip()
    pos = 0
    date_ordinal: int | None = None
    clock_s: float | None = None
    m_time = _TIME_RE.match(s, pos)
    if m_time is not None:
        parsed = _parse_time(m_time)
        if parsed is not None:
            date_ordinal, clock_s = parsed
            pos = m_time.end()
    level: str | None = None
    m_level = _LEVEL_RE.match(s, pos)
    if m_level is not None:
        level = m_level.group("level")
        pos = m_level.end()
    session_tag: str | None = None
    m_sid = _SESSION_TAG_RE.match(s, pos)
    if m_sid is not None:
        session_tag = m_sid.group("sid")
        pos = m_sid.end()
    logger: str | None = None
    m_logger = _LOGGER_RE.match(s, pos)
    if m_logger is not None:
        logger = m_logger.group("logger")
        pos = m_logger.end()
    tag: str | None = None
    m_tag = _TAG_RE.match(s, pos)
    if m_tag is not None:
        tag = m_tag.group("tag")
        pos = m_tag.end()
    message = s[pos:].strip()
    event = classify(lineno, line, message)
    has_prefix = clock_s is not None or level or logger or tag
    if event.kind is EventKind.OTHER and not (has_prefix and message):
        return None
    return dataclasses.replace(
        event, level=level, logger=logger, tag=tag, session_tag=session_tag,
        date_ordinal=date_ordinal, clock_s=clock_s,
    )


def classify(lineno: int, text: str, message: str) -> LogEvent:
    """A :class:`LogEvent` for ``message`` (prefix already removed), with no prefix fields."""
    for kind, pattern in _MESSAGE_RULES:
        m = pattern.match(message)
        if m is None:
            continue
        g = m.groupdict()
        ints = {name: _int_or_none(g.get(name)) for name in _INT_FIELDS}
        reason = g.get("reason")
        if kind is EventKind.CLOSED and reason is None:
            reason = ""
        session_id = g.get("session_id")
        return LogEvent(
            lineno, text, kind, message,
            code=ints["code"], attempt=ints["attempt"], count=ints["count"], seq=ints["seq"],
            reason=reason, url=g.get("url"), delay_s=float(delay) if (delay := g.get("delay_s")) else None,
            session_id=session_id.strip() if session_id is not None else None,
            fail_kind=fail_kind_of(reason or "") if kind is EventKind.RECONNECT_FAILED else None,
        )
    return LogEvent(lineno, text, EventKind.OTHER, message)


def fail_kind_of(reason: str) -> FailKind:
    """Sort a ``Reconnect failed`` reason: DNS first (a gateway-URL fetch can fail on DNS too)."""
    if _DNS_RE.search(reason):
        return FailKind.DNS
    if _GATEWAY_URL_RE.search(reason):
        return FailKind.GATEWAY_URL
    if _UNREACHABLE_RE.search(reason):
        return FailKind.NETWORK_UNREACHABLE
    return FailKind.OTHER


def _parse_time(m: re.Match[str]) -> tuple[int | None, float] | None:
    """(date ordinal or None, seconds of the day), or None when the numbers are no valid time."""
    h, mi, sec = int(m.group("h")), int(m.group("mi")), int(m.group("s"))
    if h > 23 or mi > 59 or sec > 60:
        return None
    frac = m.group("frac")
    clock = h * 3600.0 + mi * 60.0 + sec + (float("0." + frac) if frac else 0.0)
    if m.group("y") is None:
        return None, clock
    try:
        day = _dt.date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    except ValueError:
        return None
    return day.toordinal(), clock


def _int_or_none(s: str | None) -> int | None:
    """``"4009"`` → 4009; ``"None"``, ``"N"``, ``"…"`` or absent → None."""
    s = (s or "").strip()
    return int(s) if s.isascii() and s.isdigit() and len(s) < 19 else None
