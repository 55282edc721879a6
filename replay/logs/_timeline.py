"""Timing: every event's time is read from its line, or inferred with a reason, or left unknown.

Times are seconds after the log's origin (its first timed line, or its first event). A time is:

- ``STAMP``: read from the line's own stamp (a date-time, a bare time of day: a bare time more
  than 12 h before the previous one is on the next day; a note's gap of a day or more moves
  bare times by whole days);
- ``NOTE``: a reporter's note says it (``# ... ~60 seconds later ...`` → 60 s after the event
  before it);
- ``SCHEDULE``: the client's own schedule says it, and the report prints which: the delay it
  logged (``Reconnecting in 2s`` → the next attempt's lines 2 s later), its known reconnect
  delay (botpy: 5 s after a close), or the same handler logging two lines at once;
- ``RECORD``: the same log record (a second event of one line, a traceback line);
- ``ORIGIN``: the first event of a log with no time before it (0 by definition);
- ``NONE``: nothing says when: only its order is known (``t_s`` None; ``after_s`` is the
  latest time known before it). Such an event is never given a made-up step.

An inferred time is never later than the next stamped event: untimed events wait (in order,
at most :data:`MAX_PENDING` of them) for the next stamp, and are pulled back to it. Besides the
events, the timeline keeps what shows time passing (:class:`TimeEvidence`): the latest time of
any line at all (another component's line counts, ``--until`` too), and a note that says the
log went silent for so long.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Callable

from ._clients import CLIENTS
from ._events import DIALS, DROPS, Elision, EventKind, LineTime, LogEvent

DAY_S = 86400.0
WRAP_THRESHOLD_S = 43200.0
"""A bare time this much (seconds) earlier than the previous one means the day rolled over."""
MAX_PENDING = 4096
"""Untimed events held while waiting for the next stamp (the clamp); beyond this they go out unclamped."""

_SAME_HANDLER = frozenset({
    EventKind.RECONNECTING, EventKind.SESSION_CLEARED, EventKind.QUICK_DISCONNECT, EventKind.RATE_LIMITED,
    EventKind.TOKEN_INVALID, EventKind.FATAL_CLOSE})
"""Lines a client's close handler logs together with the close (hermes, OpenClaw, satori, ...)."""
_ATTEMPT_RESULTS = DIALS | frozenset({EventKind.RECONNECT_FAILED}) | DROPS
"""The lines that end a reconnect delay (the attempt's first line)."""


class TimeBasis(str, enum.Enum):
    """Where an event's time comes from (module docstring)."""

    ORIGIN = "origin"
    STAMP = "stamp"
    NOTE = "note"
    SCHEDULE = "schedule"
    RECORD = "record"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class TimedEvent:
    """An event with its time: ``t_s`` (seconds after the origin; None: unknown), ``basis``,
    ``why`` (the reason for an inferred time, printed), ``after_s`` (a lower bound: the latest
    time known at or before it), ``resolution_s`` (the stamp's step: 60 for ``HH:MM``)."""

    event: LogEvent
    t_s: float | None
    basis: TimeBasis
    why: str = ""
    after_s: float = 0.0
    resolution_s: float = 0.0

    @property
    def kind(self) -> EventKind:
        return self.event.kind

    @property
    def lineno(self) -> int:
        return self.event.lineno

    @property
    def at_s(self) -> float:
        """``t_s`` when known, else the lower bound: where the event goes in a derived world."""
        return self.t_s if self.t_s is not None else self.after_s

    @property
    def inferred(self) -> bool:
        return self.basis in (TimeBasis.NOTE, TimeBasis.SCHEDULE)

    def when(self) -> str:
        """``line 7 (+59.000s)``, ``line 3 (~+2.000s)``, ``line 5 (no time)``."""
        if self.t_s is None:
            return f"line {self.lineno} (no time)"
        return f"line {self.lineno} ({'~' if self.inferred else ''}+{self.t_s:.3f}s)"


@dataclass(slots=True)
class TimeEvidence:
    """What shows time passing. ``latest_s``: the latest time of any line or note (seconds after
    the origin), with the line that shows it (``latest_line``; 0 for ``--until``);
    ``silence_s``: a note after the last event says the log went silent this long;
    ``repeats``: a note says a cycle goes on; ``notes_after_last``: notes after the last event."""

    latest_s: float | None = None
    latest_line: int = 0
    latest_what: str = ""
    silence_s: float | None = None
    silence_line: int = 0
    repeats: bool = False
    notes_after_last: list[Elision] = field(default_factory=list)
    has_stamps: bool = False
    until_after_s: float | None = None
    """``--until +DURATION``: the process ran on this long (seconds) after the log's last line."""


@dataclass
class _Pending:
    event: LogEvent
    t_s: float | None
    basis: TimeBasis
    why: str
    after_s: float


class Timeline:
    """Times the events of a log as they come and hands each, in order, to ``sink``.

    ``date_ordinal``: the day of bare times when the log carries no date (``--date``).
    Call :meth:`event` for every event, :meth:`seen` for every other timed line, :meth:`note`
    for every note, then :meth:`finish` (``until_s``: ``--until`` as seconds after the origin,
    or a callable turning an absolute stamp into that).
    """

    def __init__(self, sink: Callable[[TimedEvent], None], date_ordinal: int | None = None,
                 note_sink: Callable[[Elision], None] | None = None) -> None:
        self.sink = sink
        self.note_sink = note_sink
        self.date_ordinal = date_ordinal
        self.evidence = TimeEvidence()
        self._abs0: float | None = None      # absolute seconds of t = 0
        self._day: float | None = None
        self._last_abs: float | None = None
        self._known_t: float | None = None   # the latest event time known
        self._gap_s = 0.0
        self._gap_line = 0
        self._schedule: tuple[float, float, str] | None = None   # (t, delay, why)
        self._last_drop_t: tuple[float, int] | None = None
        self._pending: list[_Pending | Elision] = []
        self._events = 0

    # -- absolute and relative time ----------------------------------------------------------
    def absolute(self, t: LineTime) -> float | None:
        """Seconds since day 0 of a stamp (bare times placed on the current day, wrapping)."""
        if t.clock_s is None:
            return None
        if t.date_ordinal is not None:
            self._day = float(t.date_ordinal)
            value = self._day * DAY_S + t.clock_s
        else:
            if self._day is None:
                self._day = float(self.date_ordinal or 0)
            value = self._day * DAY_S + t.clock_s
            if self._last_abs is not None:
                if value < self._last_abs - WRAP_THRESHOLD_S:
                    days = math.ceil((self._last_abs - WRAP_THRESHOLD_S - value) / DAY_S)
                    self._day += days
                    value += days * DAY_S
                if self._gap_s >= WRAP_THRESHOLD_S:  # "... (then 2 days later)": whole days a bare clock hides
                    days = max(0, round((self._last_abs + self._gap_s - value) / DAY_S))
                    self._day += days
                    value += days * DAY_S
        self._last_abs = value
        return value

    def relative(self, absolute: float) -> float:
        """Seconds after the origin of an absolute time (the origin is set by the first stamp)."""
        if self._abs0 is None:
            self._abs0 = absolute - (self._known_t if self._known_t is not None else 0.0)
        return absolute - self._abs0

    # -- feeding ------------------------------------------------------------------------------
    def event(self, ev: LogEvent, same_record: bool = False) -> None:
        """Time one event (``same_record``: the second event of a line, or a traceback line)."""
        absolute = None if same_record else self.absolute(ev.time)
        after = self._known_t if self._known_t is not None else 0.0
        if absolute is not None:
            t = self.relative(absolute)
            self._flush(clamp_to=t)
            self._emit(_Pending(ev, t, TimeBasis.STAMP, "", after), ev.time.resolution_s)
            self._seen_at(t, ev.lineno, "")
            self.evidence.has_stamps = True
            this_t: float | None = t
        else:
            t_opt, basis, why = self._infer(ev, same_record)
            item = _Pending(ev, t_opt, basis, why, after)
            if t_opt is not None:
                self._known_t = t_opt
            self._pending.append(item)
            if len(self._pending) >= MAX_PENDING:
                self._flush(None)
            this_t = t_opt
        self._after_event(ev, this_t)

    def seen(self, t: LineTime, lineno: int, what: str) -> None:
        """A timed line that is no event of the link (another component's, an unread line)."""
        absolute = self.absolute(t)
        if absolute is not None:
            self._seen_at(self.relative(absolute), lineno, what)
            self.evidence.has_stamps = True

    def note(self, n: Elision) -> None:
        """A reporter's note: a gap for the next event, a time of its own, a silence, a repeat."""
        if n.time.clock_s is not None:
            self.seen(n.time, n.lineno, f"the note on line {n.lineno}")
        if n.gap_s is not None:
            self._gap_s += n.gap_s
            self._gap_line = n.lineno
        self.evidence.repeats = self.evidence.repeats or n.repeats
        self.evidence.notes_after_last.append(n)
        if self._pending:
            self._pending.append(n)
        elif self.note_sink is not None:
            self.note_sink(n)

    def finish(self, until: float | None = None) -> None:
        """Send the events still waiting; work out the final silence; ``until``: ``--until`` as a
        time after the origin (seconds)."""
        self._flush(None)
        ev = self.evidence
        for n in ev.notes_after_last:
            if n.gap_s is not None and (n.silence or not n.repeats):
                ev.silence_s = (ev.silence_s or 0.0) + n.gap_s
                ev.silence_line = n.lineno
        if isinstance(until, (int, float)):
            self._seen_at(float(until), 0, "--until")

    def until_after(self, seconds: float) -> None:
        """``--until +DURATION``: the process ran on ``seconds`` after the last line."""
        self.evidence.until_after_s = seconds

    def until_absolute(self, absolute: float) -> float:
        """``--until`` given as an absolute stamp, as seconds after the origin."""
        return self.relative(absolute)

    @property
    def last_known_s(self) -> float | None:
        """The time of the latest event whose time is known."""
        return self._known_t

    # -- inner workings -------------------------------------------------------------------------
    def _seen_at(self, t: float, lineno: int, what: str) -> None:
        ev = self.evidence
        if ev.latest_s is None or t >= ev.latest_s:
            ev.latest_s, ev.latest_line, ev.latest_what = t, lineno, what

    def _infer(self, ev: LogEvent, same_record: bool) -> tuple[float | None, TimeBasis, str]:
        known = self._known_t
        if same_record:
            return known, TimeBasis.RECORD, "the same record as the line before"
        if self._events == 0 and known is None:
            return 0.0, TimeBasis.ORIGIN, ""
        if self._gap_s and known is not None:
            return known + self._gap_s, TimeBasis.NOTE, f"the note on line {self._gap_line} says {self._gap_s:g} s"
        if self._schedule is not None and ev.kind in _ATTEMPT_RESULTS:
            base, delay, why = self._schedule
            return base + delay, TimeBasis.SCHEDULE, why
        if ev.kind in _SAME_HANDLER and self._last_drop_t is not None and known is not None \
                and known == self._last_drop_t[0]:
            return known, TimeBasis.SCHEDULE, f"logged by the handler of the close on line {self._last_drop_t[1]}"
        return None, TimeBasis.NONE, ""

    def _after_event(self, ev: LogEvent, t: float | None) -> None:
        self._events += 1
        self._gap_s = 0.0
        self.evidence.notes_after_last = []
        if ev.kind is EventKind.RECONNECTING and t is not None:
            delay = ev.delay_s
            why = f"the {delay:g} s delay line {ev.lineno} logs" if delay is not None else ""
            if delay is None:
                info = CLIENTS.get(ev.client)
                if info is not None and info.delays_s:
                    k = max(0, (ev.attempt or 1) - 1)
                    delay = info.delays_s[min(k, len(info.delays_s) - 1)]
                    why = f"{info.title}'s known delay, {delay:g} s ({info.delays_source})"
            self._schedule = (t, delay, why) if delay is not None else None
        elif ev.kind in DROPS and t is not None:
            self._last_drop_t = (t, ev.lineno)
            info = CLIENTS.get(ev.client)
            if info is not None and info.delays_s and info.name in ("botpy", "astrbot", "bot-node-sdk"):
                d = info.delays_s[0]
                self._schedule = (t, d, f"{info.title}'s known delay, {d:g} s ({info.delays_source})")
        elif ev.kind in _ATTEMPT_RESULTS:
            self._schedule = None

    def _flush(self, clamp_to: float | None) -> None:
        for item in self._pending:
            if isinstance(item, Elision):
                if self.note_sink is not None:
                    self.note_sink(item)
                continue
            t = item.t_s
            why = item.why
            if clamp_to is not None and t is not None and t > clamp_to:
                t, why = clamp_to, f"{why}; pulled back to the next stamp"
            self._emit(_Pending(item.event, t, item.basis, why, min(item.after_s, clamp_to)
                                if clamp_to is not None else item.after_s), 0.0)
        self._pending = []

    def _emit(self, item: _Pending, resolution_s: float) -> None:
        if item.t_s is not None and (self._known_t is None or item.basis is TimeBasis.STAMP
                                     or item.t_s >= self._known_t):
            self._known_t = item.t_s
        self.sink(TimedEvent(item.event, item.t_s, item.basis, item.why, item.after_s, resolution_s))
