"""Writing a timeline's pictures for the subcommands (``--html``, ``--png``), and the log replay's timeline."""

from __future__ import annotations

import calendar
import datetime as _dt
from pathlib import Path
from typing import Any, TextIO

from .._runner import Outcome
from ._build import timeline_of_outcomes
from ._html import write_html
from ._model import Timeline
from ._png import PictureError, write_png


def write_pictures(timeline: Timeline, *, html: Path | None, png: Path | None, out: TextIO, err: TextIO,
                   command: str) -> bool:
    """Write the page to ``html`` and the picture to ``png`` (either may be None), say so on
    ``out`` (``html      report.html: 180 KB``); on a failure write one line to ``err``
    (``qqgate COMMAND: ...``) and return False."""
    for path, writer, label in ((html, write_html, "html"), (png, write_png, "png")):
        if path is None:
            continue
        try:
            size = writer(timeline, path)
        except PictureError as exc:
            err.write(f"qqgate {command}: {exc}\n")
            return False
        except OSError as exc:
            err.write(f"qqgate {command}: cannot write {path}: {exc.strerror or exc}\n")
            return False
        out.write(f"{label:<9} timeline written to {path} ({size / 1024:.0f} KB)\n")
    return True


def _event_unix_s(event: Any) -> float | None:
    ordinal, clock = getattr(event, "date_ordinal", None), getattr(event, "clock_s", None)
    if not isinstance(ordinal, int) or not isinstance(clock, (int, float)):
        return None
    day = _dt.date.fromordinal(ordinal)
    return calendar.timegm(day.timetuple()) + float(clock)


def timeline_of_log_replay(name: str, first_event: Any, lead_in_s: float, legacy: Outcome,
                           core_run: Outcome, *, incident: str, seed: int, hours: float) -> Timeline:
    """The timeline of ``qqgate replay LOG``: the legacy model and the core in the world derived
    from the log, side by side. ``first_event``: the log's first readable event (its date and
    time of day, when it has them, anchor the wall clock: the derived world puts it at
    ``lead_in_s`` seconds)."""
    first = _event_unix_s(first_event)
    origin = None if first is None else first - lead_in_s
    note = (f"the log's own clock (its first line is at +{lead_in_s:g} s of the derived world; the log "
            "does not say its time zone)") if origin is not None else ""
    return timeline_of_outcomes(f"qqgate replay {name}: {incident}", [("legacy", legacy), ("core", core_run)],
                                notes=[f"the world derived from the log, {hours:.2f} simulated hours, seed {seed}"],
                                origin_unix_s=origin, origin_note=note)


__all__ = ["PictureError", "timeline_of_log_replay", "write_pictures"]
