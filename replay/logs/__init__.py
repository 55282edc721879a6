"""Importing hermes-agent text logs for ``qqgate replay FILE.log`` (design.md, "replay/").

``import_log(text)`` (``_import``) reads a log in any of the forms incidents.md quotes
(``_parse``), gives every event a time in seconds from the first one (``_timeline``), names the
incident and derives the WorldSpec that reproduces it (``_diagnose``)::

    imp = import_log(open("logs_samples/death-loop.log").read())
    imp.diagnosis.incident            # "death-loop"
    imp.diagnosis.world.faults        # (ServerClose(at=29.0, code=None, reason=''),)
    print("\\n".join(imp.summary_lines()))

Part of replay proper: may import the world (for WorldSpec and faults) and the scenarios.
"""

from ._diagnose import DEATH_LOOP_TRIGGER_AT_S, LEAD_IN_S, TITLES, Diagnosis, diagnose
from ._import import LogImport, import_log, summary_lines
from ._parse import (
    Elision, EventKind, FailKind, LogEvent, ParsedLog, classify, parse_elision, parse_line,
    parse_log,
)
from ._timeline import (
    DEFAULT_STEP_S, TimeBasis, TimedElision, TimedEvent, Timeline, build_timeline, parsed_lines,
    timeline_lines,
)

__all__ = [
    "DEATH_LOOP_TRIGGER_AT_S", "LEAD_IN_S", "TITLES", "Diagnosis", "LogImport", "diagnose",
    "import_log", "summary_lines",
    "Elision", "EventKind", "FailKind", "LogEvent", "ParsedLog", "classify", "parse_elision",
    "parse_line", "parse_log",
    "DEFAULT_STEP_S", "TimeBasis", "TimedElision", "TimedEvent", "Timeline", "build_timeline",
    "parsed_lines", "timeline_lines",
]
