"""Reading a log line by line: every line is understood, recognised, a note, or unreadable.

:class:`LineReader` reads one line at a time (a log is never held whole) and says what it is:

1. blank; a docker json / journald / compose envelope is taken off (``_formats.unwrap``);
2. a reporter's note is taken off (``← ...``), or the line is one (an elision, ``_elisions``);
3. inside a traceback, or indented under a record: a continuation of that record (read by the
   continuation rules: NoneBot's ``WebSocketClosed(code=4009, ...)``, a RecursionError);
4. otherwise its prefix is read (``_formats.read_prefix``) and its message tried against the
   readers (``_clients.RULES``): the client the format names first, then the client the file is
   mostly from (so far), then every other. A line of another component (another logger, another
   platform adapter of the same process) is only read for signs of life, never as the link's.

The format is decided per line: a docker log interleaving services is read line by line.
Never raises on input text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ._clients import CONTINUATION_RULES, FORMAT_RULES, RULES
from ._elisions import as_elision, read_note, split_note, time_only
from ._events import NO_TIME, Elision, EventKind, LineTime, LogEvent, Recognised
from ._formats import HERMES_QQ_LOGGERS, MAX_LINE_CHARS, Prefix, read_prefix, unwrap, with_envelope
from ._rules import Match, fail_kind_of

CATEGORIES = ("understood", "activity", "other", "recognised", "continuation", "note", "unreadable", "blank")
"""How the reading report sorts lines: a lifecycle event; a sign of life the client logged about
something else (a token refresh); a line of another component (another logger, plugin or
platform: it only shows time passing); a known format with a message no reader understands;
part of the record above; a reporter's note or elision; no known format and no known message;
blank."""

_TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\):")
_FRAME_RE = re.compile(r"(?:>\s*)?File \"[^\"]{0,512}\", line \d+")
_EXCEPTION_RE = re.compile(r"(?:[A-Za-z_]\w{0,63}\.){0,6}[A-Za-z_]\w{0,63}(?:Error|Exception|Closed|Exit|Interrupt)\b:?")
_BOTPY_TAG_RE = re.compile(r"(?:(?P<func>\w{1,64})\s+)?\[botpy\]\s*")


@dataclass(frozen=True, slots=True)
class Line:
    """What one line is: its ``category`` (one of :data:`CATEGORIES`), the ``fmt`` and ``client``
    it was read as (None when unknown), and what it holds: ``events`` (one, or two for a rule
    with ``then``), ``recognised`` or ``elision``."""

    lineno: int
    text: str
    category: str
    fmt: str | None = None
    client: str | None = None
    events: tuple[LogEvent, ...] = ()
    recognised: Recognised | None = None
    elision: Elision | None = None
    note: str | None = None


@dataclass
class LineReader:
    """Reads lines in order; remembers only what reading the next line needs (the dominant
    client so far, whether a traceback is open, the last record's format and time).

    ``default_year``: the year of dates that carry none (``--date``); None: see
    ``_formats.DEFAULT_YEAR``.
    """

    default_year: int | None = None
    understood_by: dict[str, int] = field(default_factory=dict)
    _dominant: str | None = None
    _in_traceback: bool = False
    _last: Line | None = None

    @property
    def dominant(self) -> str | None:
        """The client with the most understood lifecycle lines so far."""
        return self._dominant

    def read(self, lineno: int, raw: str) -> Line:
        """What line ``lineno`` (from 1) says. Never raises."""
        text = raw[:MAX_LINE_CHARS].rstrip("\r\n")
        if not text.strip():
            return Line(lineno, text, "blank")
        outer = unwrap(text, self.default_year)
        body = outer.inner
        split = split_note(body)
        if split.note is not None:
            if not split.line.strip():
                return self._note(Line(lineno, text, "note", elision=read_note(lineno, split.note)))
            stamp = time_only(split.line, self.default_year)
            if stamp is not None:
                return self._note(Line(lineno, text, "note", elision=read_note(lineno, split.note, stamp)))
            body = split.line
        stripped = body.strip()
        elision = as_elision(lineno, stripped)
        if elision is not None:
            return self._note(Line(lineno, text, "note", elision=elision))
        if stripped.startswith("#"):
            return self._note(Line(lineno, text, "note"))  # a plain comment: counted, nothing more
        continued = self._continuation(lineno, text, body)
        if continued is not None:
            return continued
        prefix = with_envelope(read_prefix(body, self.default_year), outer)
        line = self._classify(lineno, text, prefix, split.note)
        self._last = line
        return line

    # -- kinds of line -------------------------------------------------------------------------
    def _note(self, line: Line) -> Line:
        self._in_traceback = False
        return line

    def _continuation(self, lineno: int, text: str, body: str) -> Line | None:
        stripped = body.strip()
        last = self._last
        if not self._in_traceback and not body[:1].isspace() and not stripped.startswith("Traceback"):
            return None
        if _TRACEBACK_RE.match(stripped):
            self._in_traceback = True
        elif not (self._in_traceback and (body[:1].isspace() or _FRAME_RE.match(stripped)
                                          or _EXCEPTION_RE.match(stripped))):
            indented = body[:1].isspace() and last is not None and last.category != "unreadable"
            if not indented or read_prefix(body, self.default_year).time.clock_s is not None:
                self._in_traceback = False
                return None
        client = last.client if last is not None else None
        clients = tuple(c for c in (client, "nonebot", "python") if c is not None)
        m = CONTINUATION_RULES.match(stripped, clients)
        if m is None:
            return Line(lineno, text, "continuation", last.fmt if last else None, client)
        time = last.events[-1].time if last is not None and last.events else NO_TIME
        event = self._event(lineno, text, m, stripped, (last.fmt if last else None) or "continuation", time, None)
        line = Line(lineno, text, "understood", event.fmt, event.client, (event,))
        self._count(event)
        return line

    def _classify(self, lineno: int, text: str, prefix: Prefix, note: str | None) -> Line:
        message = prefix.message
        hint = prefix.client
        tagged = _BOTPY_TAG_RE.match(message) if "[botpy]" in message[:80] else None
        if tagged is not None and (tagged.group("func") is None or "[botpy]" in message[:80]):
            message, hint = message[tagged.end():], hint if hint == "astrbot" else "botpy"
        foreign = self._foreign(prefix)
        order = RULES.priority(hint, self._dominant, FORMAT_RULES)
        m = RULES.match(message, order) if message else None
        if m is not None and (not foreign or m.rule.kind is EventKind.ACTIVITY):
            event = self._event(lineno, text, m, message, prefix.fmt, prefix.time, prefix.level)
            events = [event]
            if m.rule.then is not None:
                events.append(replace(event, kind=m.rule.then, code=None, reason=None))
                events[0] = replace(event, delay_s=None)
            category = "activity" if event.kind is EventKind.ACTIVITY else "understood"
            if category == "understood":
                self._count(event)
            return Line(lineno, text, category, prefix.fmt, event.client, tuple(events), note=note)
        if prefix.fmt == "bare":
            return Line(lineno, text, "unreadable", None, None, note=note)
        rec = Recognised(lineno, text, None if foreign else hint, prefix.fmt, message, prefix.time)
        return Line(lineno, text, "other" if foreign else "recognised", prefix.fmt, rec.client,
                    recognised=rec, note=note)

    @staticmethod
    def _foreign(prefix: Prefix) -> bool:
        """The prefix names another component than a QQ client (another logger, plugin, target)."""
        comp = prefix.component
        if comp is None:
            return False
        if prefix.fmt.endswith("hermes logging"):
            return not (comp.startswith(HERMES_QQ_LOGGERS) or "[QQBot" in comp)
        if prefix.fmt.endswith(("koishi", "tracing", "zig std.log", "nonebot")):
            return prefix.client is None
        return False

    def _event(self, lineno: int, text: str, m: Match, message: str, fmt: str, time: LineTime,
               level: str | None) -> LogEvent:
        f = m.fields
        kind = m.rule.kind
        reason = f.get("reason")
        fail = fail_kind_of(reason or "") if kind is EventKind.RECONNECT_FAILED else None
        client = m.rule.client
        if client == "python" and self._dominant is not None:
            client = self._dominant
        return LogEvent(
            lineno=lineno, text=text, client=client, fmt=fmt, kind=kind, message=message, time=time,
            level=level, code=f.get("code"), reason=reason, delay_s=f.get("delay_s"),
            attempt=f.get("attempt"), max_attempts=f.get("max_attempts"), session_id=f.get("session_id"),
            seq=f.get("seq"), url=f.get("url"), interval_ms=f.get("interval_ms"), count=f.get("count"), fail_kind=fail,
            lived_s=f.get("lived_s"), paraphrase=m.rule.paraphrase)

    def _count(self, event: LogEvent) -> None:
        n = self.understood_by.get(event.client, 0) + 1
        self.understood_by[event.client] = n
        if self._dominant is None or n > self.understood_by.get(self._dominant, 0):
            self._dominant = event.client
