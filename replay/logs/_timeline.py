"""Rebuilding the timeline of a parsed log: every event gets a time in seconds from the first.

Times come from the lines' own timestamps when they have them: full date-times
(``2026-05-08 09:17:42,717``) or bare times of day (``14:13:26.980``; a bare time that is more
than 12 h earlier than the previous one is taken to be on the next day: the midnight wrap).
A line without a timestamp gets an inferred time (``inferred=True``), from, in order:

1. the gap hints of the elisions just before it (``... (exactly ~60s later)`` → +60 s);
2. for a CONNECTED / RECONNECTED / RECONNECT_FAILED, the delay of the ``Reconnecting in Ns``
   before it (the adapter sleeps that long before it dials: incidents.md, "Reconnect");
3. otherwise a small step, :data:`DEFAULT_STEP_S`.

An inferred time is never later than the next real timestamp. The timeline also records how the
log ends: in a silence (an elision that says so, or simply the last event) or in a cycle that
"repeats indefinitely" (incidents.md: "a silence is evidence too").
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from ._parse import Elision, EventKind, LogEvent, ParsedLog

DEFAULT_STEP_S = 0.1
"""The time put between two consecutive lines when nothing says otherwise (seconds)."""

WRAP_THRESHOLD_S = 43200.0
"""A bare time this much (seconds) earlier than the previous one means the day rolled over."""

DAY_S = 86400.0

_DIAL_RESULTS = frozenset({EventKind.CONNECTED, EventKind.RECONNECTED, EventKind.RECONNECT_FAILED})
"""The lines that end a ``Reconnecting in Ns`` sleep."""


class TimeBasis(str, enum.Enum):
    """Where an event's time comes from."""

    ORIGIN = "origin"                    # the first event: time 0 by definition
    TIMESTAMP = "timestamp"              # the line's own timestamp
    GAP_HINT = "gap_hint"                # elision gap hints before it
    RECONNECT_DELAY = "reconnect_delay"  # the delay of the preceding "Reconnecting in Ns"
    STEP = "step"                        # DEFAULT_STEP_S after the previous event


@dataclass(frozen=True, slots=True)
class TimedEvent:
    """An event with its time ``t_s`` in seconds after the log's first event."""

    event: LogEvent
    t_s: float
    basis: TimeBasis

    @property
    def inferred(self) -> bool:
        """True when ``t_s`` was not read from a timestamp (nor is the origin)."""
        return self.basis not in (TimeBasis.TIMESTAMP, TimeBasis.ORIGIN)

    @property
    def kind(self) -> EventKind:
        return self.event.kind

    @property
    def lineno(self) -> int:
        return self.event.lineno


@dataclass(frozen=True, slots=True)
class TimedElision:
    """An elision placed after event number ``after`` (-1: before any) at ``t_s`` seconds."""

    elision: Elision
    t_s: float
    after: int


@dataclass(slots=True)
class Timeline:
    """The events of a log in order, with times in seconds from the first event.

    - ``ends_in_silence``: the log ends in a silence elision, or simply with an event (the
      process may live on, nothing more was logged); False when it ends with an elision that
      says the cycle repeats, or when there are no events.
    - ``silence_s``: the length of that final silence when an elision gives it (seconds).
    - ``repeats``: some elision says the cycle repeats.
    - ``span_s``: the time of the last event.
    """

    events: list[TimedEvent] = field(default_factory=list)
    elisions: list[TimedElision] = field(default_factory=list)
    ends_in_silence: bool = False
    silence_s: float | None = None
    repeats: bool = False
    has_timestamps: bool = False

    @property
    def span_s(self) -> float:
        return self.events[-1].t_s if self.events else 0.0


def build_timeline(parsed: ParsedLog) -> Timeline:
    """The :class:`Timeline` of a parsed log (rules in the module docstring). Never raises."""
    tl = Timeline()
    absolute = _absolute_times(parsed)
    anchor: tuple[float, float] | None = None       # (relative t, absolute t) of a timestamped event
    pending_gap = 0.0
    pending_has_gap = False
    reconnect: tuple[float, float] | None = None    # (t of "Reconnecting in", delay_s)
    for entry in parsed.entries:
        if isinstance(entry, Elision):
            prev_t = tl.events[-1].t_s if tl.events else 0.0
            tl.elisions.append(TimedElision(entry, prev_t, len(tl.events) - 1))
            if entry.gap_s is not None:
                pending_gap += entry.gap_s
                pending_has_gap = True
            tl.repeats = tl.repeats or entry.repeats
            continue
        abs_t = absolute.get(entry.lineno)
        if not tl.events:
            t, basis = 0.0, TimeBasis.ORIGIN
        elif abs_t is not None and anchor is not None:
            t, basis = anchor[0] + (abs_t - anchor[1]), TimeBasis.TIMESTAMP
        else:
            prev = tl.events[-1].t_s
            if pending_has_gap:
                t, basis = prev + pending_gap, TimeBasis.GAP_HINT
            elif reconnect is not None and entry.kind in _DIAL_RESULTS:
                t, basis = max(prev + DEFAULT_STEP_S, reconnect[0] + reconnect[1]), TimeBasis.RECONNECT_DELAY
            else:
                t, basis = prev + DEFAULT_STEP_S, TimeBasis.STEP
        if abs_t is not None and anchor is None:
            anchor = (t, abs_t)
        tl.events.append(TimedEvent(entry, t, basis))
        pending_gap, pending_has_gap = 0.0, False
        if entry.kind is EventKind.RECONNECTING and entry.delay_s is not None:
            reconnect = (t, entry.delay_s)
        elif entry.kind in _DIAL_RESULTS:
            reconnect = None
    _clamp_inferred(tl)
    tl.has_timestamps = bool(absolute)
    last = parsed.entries[-1] if parsed.entries else None
    if isinstance(last, Elision):
        tl.ends_in_silence = bool(tl.events) and (last.silence or not last.repeats)
        if last.silence:
            tl.silence_s = last.gap_s
    else:
        tl.ends_in_silence = bool(tl.events)
    return tl


def _absolute_times(parsed: ParsedLog) -> dict[int, float]:
    """Line number → absolute time in seconds (day ordinal × 86400 + time of day).

    Bare times take the day of the latest dated line (the first dated line's day before
    any), and move to the next day when they jump back more than :data:`WRAP_THRESHOLD_S`,
    or by whole days when an elision's gap hint says a day or more passed.
    """
    out: dict[int, float] = {}
    first_day = next((e.date_ordinal for e in parsed.events if e.date_ordinal is not None), 0)
    day = float(first_day)
    last: float | None = None
    gap = 0.0
    for entry in parsed.entries:
        if isinstance(entry, Elision):
            gap += entry.gap_s or 0.0
            continue
        if entry.clock_s is None:
            continue
        if entry.date_ordinal is not None:
            day = float(entry.date_ordinal)
            t = day * DAY_S + entry.clock_s
        else:
            t = day * DAY_S + entry.clock_s
            if last is not None:
                if t < last - WRAP_THRESHOLD_S:
                    days = math.ceil((last - WRAP_THRESHOLD_S - t) / DAY_S)
                    day += days
                    t += days * DAY_S
                if gap >= WRAP_THRESHOLD_S:  # "... (then 2 days later)": whole days the clock hides
                    days = max(0, round((last + gap - t) / DAY_S))
                    day += days
                    t += days * DAY_S
        out[entry.lineno] = t
        last = t
        gap = 0.0
    return out


def _clamp_inferred(tl: Timeline) -> None:
    """Pull inferred times back so none is later than the next real timestamp."""
    next_real: float | None = None
    for i in range(len(tl.events) - 1, -1, -1):
        te = tl.events[i]
        if te.basis is TimeBasis.TIMESTAMP:
            next_real = te.t_s
        elif te.inferred and next_real is not None and te.t_s > next_real:
            tl.events[i] = TimedEvent(te.event, next_real, te.basis)


def timeline_lines(tl: Timeline) -> list[str]:
    """The timeline as printable lines: ``+12.000s  CLOSED code=4009 reason=Session timed out  (line 3)``,
    ``~`` in front of an inferred time, elisions in place, then how the log ends."""
    out = ["timeline (seconds from the first event; ~ marks an inferred time):"]
    rows: list[tuple[int, str]] = [
        (te.lineno, f"{'~' if te.inferred else ''}+{te.t_s:.3f}s  {te.event.describe()}  (line {te.lineno})")
        for te in tl.events
    ]
    for x in tl.elisions:
        e = x.elision
        flags = [f"gap {e.gap_s:g}s"] if e.gap_s is not None else []
        flags += ["repeats"] * e.repeats + ["silence"] * e.silence
        rows.append((e.lineno, f"    {clip(e.text)}  [{', '.join(flags) or 'elision'}]  (line {e.lineno})"))
    out += [row for _, row in sorted(rows)]
    if tl.ends_in_silence:
        out.append("the log ends in silence" + (f" ({tl.silence_s:g}s)" if tl.silence_s is not None else ""))
    elif tl.repeats:
        out.append("the log ends in a repeating cycle")
    return out


def parsed_lines(parsed: ParsedLog) -> list[str]:
    """Line counts, then every unreadable line as ``line N: text`` (clipped, escaped)."""
    out = [f"lines: {parsed.total_lines} ({len(parsed.events)} events, {len(parsed.elisions)} elisions, "
           f"{parsed.comments} comments, {parsed.blank} blank, {len(parsed.unreadable)} unreadable)"]
    if parsed.unreadable:
        out.append(f"unreadable lines ({len(parsed.unreadable)}):")
        out += [f"  line {n}: {clip(text)}" for n, text in parsed.unreadable]
    return out


def clip(s: str, n: int = 200) -> str:
    """``s`` made printable (escapes) and cut to ``n`` characters."""
    if not s.isprintable():
        s = s.encode("unicode_escape", "backslashreplace").decode("ascii")
    return s if len(s) <= n else s[: n - 1] + "…"


# --- patterns the diagnosis looks for ------------------------------------------------------------

DROPS = frozenset({EventKind.CLOSED, EventKind.WS_ERROR})
"""The lines that say the socket went away."""

NOT_LIFECYCLE = frozenset({
    EventKind.TOKEN_REFRESHED, EventKind.NOT_CONNECTED_WAIT, EventKind.STILL_NOT_CONNECTED,
    EventKind.SENDING_RESPONSE, EventKind.OTHER,
})
"""The lines that say nothing about the connection's own life."""


def heartbeat_timeouts(
    tl: Timeline, window_s: tuple[float, float],
) -> list[tuple[TimedEvent, TimedEvent, float]]:
    """(``Reconnected``, code-less drop, seconds between) for each drop that came ``window_s``
    seconds after the ``Reconnected`` before it (times from timestamps or gap hints only)."""
    out = []
    up: TimedEvent | None = None
    for te in tl.events:
        if te.kind is EventKind.RECONNECTED:
            up = te
        elif te.kind in DROPS and up is not None:
            codeless = te.kind is EventKind.WS_ERROR or te.event.code is None
            dt = te.t_s - up.t_s
            if codeless and window_s[0] <= dt <= window_s[1] and te.basis is not TimeBasis.STEP:
                out.append((up, te, dt))
            up = None
    return out


def vanished_sockets(tl: Timeline, quick_drop_s: float) -> list[tuple[TimedEvent, TimedEvent]]:
    """(``Reconnected``, next connection line) where that socket was gone before any Ready or
    ``Session resumed``: the next line is already another attempt, or a drop less than
    ``quick_drop_s`` seconds later (by timestamps)."""
    out = []
    skip = NOT_LIFECYCLE | {EventKind.RESUME_SENT, EventKind.IDENTIFY_SENT, EventKind.CONNECTED}
    redial = (EventKind.RECONNECTING, EventKind.RECONNECT_FAILED, EventKind.RECONNECTED)
    for i, te in enumerate(tl.events):
        if te.kind is not EventKind.RECONNECTED:
            continue
        j = i + 1
        while j < len(tl.events) and tl.events[j].kind in skip:
            j += 1
        if j == len(tl.events):
            continue
        nxt = tl.events[j]
        quick = (nxt.kind in DROPS or nxt.kind is EventKind.QUICK_DISCONNECT) and not nxt.inferred \
            and not te.inferred and nxt.t_s - te.t_s < quick_drop_s
        if nxt.kind in redial or quick:
            out.append((te, nxt))
    return out


def repeated_resumes(tl: Timeline) -> list[tuple[TimedEvent, TimedEvent]]:
    """(earlier, later) ``Resume sent`` pairs for the same session with no ``Session resumed``
    or Ready between: a stale session resumed again and again (incident 7)."""
    out = []
    last: dict[str, TimedEvent] = {}
    for te in tl.events:
        if te.kind in (EventKind.RESUMED, EventKind.READY):
            last.clear()
        elif te.kind is EventKind.RESUME_SENT and te.event.session_id:
            prev = last.get(te.event.session_id)
            if prev is not None:
                out.append((prev, te))
            last[te.event.session_id] = te
    return out


def lost_closes(tl: Timeline) -> list[TimedEvent]:
    """``WebSocket error: WebSocket closed`` lines: a close turned into ``RuntimeError`` with
    its code and reason lost (incident 5)."""
    return [te for te in tl.events if te.kind is EventKind.WS_ERROR
            and (te.event.reason or "").strip().lower() == "websocket closed"]
