"""Importing a hermes-agent log: read it, time it, diagnose it, and print what was found.

``import_log(text)`` runs the three stages (``_parse``, ``_timeline``, ``_diagnose``) and
returns a ``LogImport``; ``summary_lines`` renders one for ``qqgate replay FILE.log``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._diagnose import LEAD_IN_S, Diagnosis, diagnose
from ._parse import ParsedLog, parse_log
from ._timeline import Timeline, build_timeline, parsed_lines, timeline_lines


def summary_lines(parsed: ParsedLog, tl: Timeline, d: Diagnosis) -> list[str]:
    """The diagnosis, the world, the timeline (``+12.000s  CLOSED ...  (line 3)``, ``~`` marks
    inferred times) and the unreadable lines, as printable lines."""
    out = [f"incident: {d.incident}: {d.title}",
           f"legacy model: v{d.legacy_version}, heartbeat task alive: {d.legacy_heartbeat_alive}, "
           f"close codes visible: {d.legacy_close_codes_visible}"]
    out += ["evidence:"] + [f"  - {s}" for s in d.evidence]
    out.append(f"world (run for {d.run_for_s:g}s; log time 0 = run time {LEAD_IN_S:g}s):")
    out += [f"  - {x!r}" for x in d.world.faults] or ["  - (no faults)"]
    if d.world.session_conflict_s:
        out.append(f"  - session_conflict_s={d.world.session_conflict_s:g}")
    return out + timeline_lines(tl) + parsed_lines(parsed)


@dataclass(slots=True)
class LogImport:
    """A log read, timed and diagnosed: ``parsed`` (events, elisions, unreadable lines,
    comment count), ``timeline`` (seconds from the first event) and ``diagnosis``."""

    parsed: ParsedLog
    timeline: Timeline
    diagnosis: Diagnosis

    def summary_lines(self) -> list[str]:
        """Everything as printable lines (see :func:`summary_lines`)."""
        return summary_lines(self.parsed, self.timeline, self.diagnosis)


def import_log(text: str | bytes) -> LogImport:
    """Read a hermes-agent text log (bytes are decoded as UTF-8, bad bytes replaced), rebuild
    its timeline and diagnose it. Never raises on any input text."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    parsed = parse_log(text)
    timeline = build_timeline(parsed)
    return LogImport(parsed, timeline, diagnose(timeline))
