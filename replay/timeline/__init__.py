"""qqgate.replay.timeline: a run as a picture in time (replay proper).

- ``_model``: the timeline model: lanes of phase bands, marks and findings, the world's faults
  as windows, on one time axis with an optional wall-clock origin. Pure data.
- ``_lane``: one client's lane read off its steps (a simulated run's journal or a journal file).
- ``_build``: timelines from simulated runs side by side (with what only the world saw) or from
  one journal (with the wall clock its header anchors).
- renderers: ``_html`` (one self-contained HTML file, inline SVG, zoom and pan), ``_png`` (a
  static picture through matplotlib, an optional extra) and ``_text`` (the terminal timeline);
  ``_output`` writes the pictures a subcommand asked for.
"""

from ._build import (
    client_title, journal_origin, lane_of_outcome, timeline_of_journal, timeline_of_outcomes, wall_text,
    world_windows,
)
from ._output import PictureError, timeline_of_log_replay, write_pictures
from ._png import write_png
from ._text import print_timeline
from ._lane import StepView, read_lane, steps_of_journal, steps_of_run
from ._html import render_html, timeline_data, write_html
from ._model import ROW_OF, ROWS, Band, FindingMark, Lane, Mark, MarkKind, Timeline, Window

__all__ = [
    "client_title", "journal_origin", "lane_of_outcome", "timeline_of_journal", "timeline_of_outcomes",
    "wall_text", "world_windows",
    "StepView", "read_lane", "steps_of_journal", "steps_of_run",
    "render_html", "timeline_data", "write_html", "write_png", "PictureError", "timeline_of_log_replay",
    "write_pictures", "print_timeline",
    "ROW_OF", "ROWS", "Band", "FindingMark", "Lane", "Mark", "MarkKind", "Timeline", "Window",
]
