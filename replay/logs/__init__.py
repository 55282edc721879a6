"""Reading real QQ bot logs for ``qqgate replay FILE.log`` (design.md, "replay/").

One pass over the lines, in bounded memory (``_import.read_log``)::

    reading = read_log(open("bot.log", encoding="utf-8"))
    reading.incident                 # "death_loop", "no_incident", "inconclusive", ...
    reading.named.evidence           # the lines that show it, with their times
    reading.derived.world            # the WorldSpec behind it; .runs: the model runs
    reading.report                   # per format: understood / recognised / unreadable

Parts: the line vocabulary (``_events``), line formats and envelopes (``_formats``), reporters'
notes (``_elisions``), the readers as tables of ``pattern → event`` per client (``_rules``,
``_clients_py``, ``_clients_js``, ``_clients``), the line reader (``_parse``), timing
(``_timeline``), facts (``_digest``), versions (``_versions``), the incident taxonomy
(``_diagnose``), worlds and model runs (``_worlds``), the reading report (``_reading``).
Part of replay proper: may import the world (for WorldSpec and faults).
"""

from ._clients import CLIENTS, ClientInfo
from ._diagnose import DEAD_LINK_SILENCE_S, STOPPED_SILENCE_S, TAXONOMY, Evidence, Named
from ._digest import ClientFacts, Digest
from ._events import ALIVE, DROPS, LIFECYCLE, UP, Elision, EventKind, FailKind, LineTime, LogEvent, Recognised
from ._formats import Prefix, read_prefix, unwrap
from ._import import LogReading, Until, read_log
from ._parse import CATEGORIES, Line, LineReader
from ._reading import FormatRow, ReadingReport, TimelineRows, clip
from ._timeline import TimeBasis, TimedEvent, TimeEvidence, Timeline
from ._versions import HERMES_VERSIONS, Version, botpy_version, hermes_era, hermes_version
from ._worlds import DEATH_LOOP_DROP_S, LEAD_IN_S, Derived, ModelRun, version_label

__all__ = [
    "CLIENTS", "ClientInfo",
    "DEAD_LINK_SILENCE_S", "STOPPED_SILENCE_S", "TAXONOMY", "Evidence", "Named",
    "ClientFacts", "Digest",
    "ALIVE", "DROPS", "LIFECYCLE", "UP", "Elision", "EventKind", "FailKind", "LineTime", "LogEvent", "Recognised",
    "Prefix", "read_prefix", "unwrap",
    "LogReading", "Until", "read_log",
    "CATEGORIES", "Line", "LineReader",
    "FormatRow", "ReadingReport", "TimelineRows", "clip",
    "TimeBasis", "TimedEvent", "TimeEvidence", "Timeline",
    "HERMES_VERSIONS", "Version", "botpy_version", "hermes_era", "hermes_version",
    "DEATH_LOOP_DROP_S", "LEAD_IN_S", "Derived", "ModelRun", "version_label",
]
