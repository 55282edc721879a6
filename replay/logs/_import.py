"""Reading a whole log: lines in, a :class:`LogReading` out, in one pass and bounded memory.

``read_log(lines)`` runs every line through the reader (``_parse``), times the events
(``_timeline``), gathers the facts (``_digest``) and the reading report and timeline rows
(``_reading``), then dates the client's version (``_versions``), names the incident
(``_diagnose``) and derives its world (``_worlds``). Nothing here keeps the log's lines.

``date``: the day the log was written when its lines carry no date (``--date``): it dates
bare times and the client's version. ``until``: how long the process ran on after the last
line (``--until``): either seconds after the last event, or a stamp.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterable

from ._diagnose import TAXONOMY, Named, name_incident
from ._digest import ClientFacts, Digest
from ._events import Elision, LineTime
from ._parse import LineReader
from ._reading import ReadingReport, TimelineRows, clip
from ._timeline import TimedEvent, Timeline, TimeBasis, TimeEvidence
from ._versions import Version, botpy_version, hermes_version
from ._worlds import Derived, derive


@dataclass(frozen=True, slots=True)
class Until:
    """``--until``: ``after_s`` seconds after the log's last event, or the stamp ``time``."""

    after_s: float | None = None
    time: LineTime | None = None


@dataclass(slots=True)
class LogReading:
    """A log read, timed and diagnosed.

    ``report`` (the reading report), ``timeline`` (printable rows, capped), ``evidence`` (what
    shows time passing), ``digest`` (facts per client), ``client`` (the one the log is from),
    ``facts`` (its facts), ``version`` (its version, when a model depends on it), ``named`` (the
    incident, its rule and evidence), ``derived`` (its world and model runs; None for
    inconclusive and nothing-to-diagnose).
    """

    report: ReadingReport
    timeline: TimelineRows
    evidence: TimeEvidence
    digest: Digest
    client: str | None
    facts: ClientFacts | None
    version: Version | None
    named: Named
    derived: Derived | None
    latest_day: _dt.date | None

    @property
    def incident(self) -> str:
        return self.named.incident

    @property
    def title(self) -> str:
        return TAXONOMY[self.named.incident]


def _time_text(te: TimedEvent) -> str:
    if te.t_s is None:
        return "      ·     "
    mark = "~" if te.inferred else " "
    return f"{mark}+{te.t_s:>10.3f}s"


def _row(te: TimedEvent) -> str:
    ev = te.event
    why = f"  [{te.why}]" if te.why and te.basis in (TimeBasis.NOTE, TimeBasis.SCHEDULE) else ""
    para = "  (a reporter's paraphrase)" if ev.paraphrase else ""
    return f"{_time_text(te)}  {ev.describe()}  ({ev.client}, line {ev.lineno}){why}{para}"


def read_log(lines: Iterable[str], *, date: _dt.date | None = None, until: Until | None = None) -> LogReading:
    """Read every line of a log (str lines, without or with their newline); never raises."""
    reader = LineReader(default_year=date.year if date is not None else None)
    report = ReadingReport()
    rows = TimelineRows()
    digest = Digest()
    latest: list[int] = []

    def on_event(te: TimedEvent) -> None:
        digest.feed(te)
        ev = te.event
        rows.add(ev.lineno, lambda: _row(te))
        if ev.time.dated and ev.time.date_ordinal is not None:
            if not latest or ev.time.date_ordinal > latest[0]:
                latest[:] = [ev.time.date_ordinal]

    def on_note(n: Elision) -> None:
        digest.note(n)
        flags = ([f"gap {n.gap_s:g}s"] if n.gap_s is not None else []) + ["repeats"] * n.repeats \
            + ["silence"] * n.silence + ([f"{n.attempts} attempts"] if n.attempts is not None else [])
        rows.add(n.lineno, f"{'':13}    note: {clip(n.text, 100)}  [{', '.join(flags) or 'note'}]  (line {n.lineno})")

    timeline = Timeline(on_event, date.toordinal() if date is not None else None, on_note)
    for lineno, raw in enumerate(lines, start=1):
        line = reader.read(lineno, raw)
        report.add(line)
        if line.events:
            for k, ev in enumerate(line.events):
                timeline.event(ev, same_record=k > 0 or (line.category == "understood" and ev.fmt == "continuation"))
        elif line.elision is not None:
            timeline.note(line.elision)
        elif line.recognised is not None and line.recognised.time.clock_s is not None:
            timeline.seen(line.recognised.time, lineno, f"line {lineno}")
    until_arg = None
    if until is not None:
        if until.after_s is not None:
            timeline.until_after(until.after_s)
        elif until.time is not None:
            absolute = timeline.absolute(until.time)
            if absolute is not None:
                until_arg = timeline.until_absolute(absolute)
    timeline.finish(until_arg)
    client = reader.dominant
    facts = digest.main(client)
    if facts is not None:
        client = facts.client
    latest_day = _dt.date.fromordinal(latest[0]) if latest else None
    day = latest_day or date
    version: Version | None = None
    if client == "hermes" and facts is not None:
        version = hermes_version(facts.wordings, day, date_given=latest_day is None and date is not None)
    elif client == "botpy" and facts is not None:
        version = botpy_version(dict(facts.sources), day)
    named = name_incident(facts, timeline.evidence, digest, version or Version((), ""))
    derived = None
    if facts is not None:
        visible = not (facts.lost_codes.count and not facts.coded_closes)
        derived = derive(named, facts, version or Version((), ""), visible)
    return LogReading(report, rows, timeline.evidence, digest, client, facts, version, named, derived, latest_day)
