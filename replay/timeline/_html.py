"""The timeline as one self-contained HTML file: inline SVG drawn by a small script, no network.

The page holds the timeline as JSON (times in integer milliseconds and step numbers, both
delta-encoded; labels in a string table) and each lane's steps, gzip-compressed and base64-encoded, which the browser
unpacks with its own ``DecompressionStream`` after the first paint (a step's record is what a
hover shows). The script (``_html_assets``) draws only what is in view: a mark kind with more
marks in view than fit one per 4 pixels is drawn as a density strip (a count per 4-pixel bin,
the count in its hover), and phase bands narrower than a pixel merge into the pixel's
longest phase, so a 48-hour run zooms from the whole run down to single heartbeats.
"""

from __future__ import annotations

import base64
import gzip
import html
from pathlib import Path
from typing import Any

import orjson

from qqgate import core

from ._html_assets import CSS, SCRIPT
from ._model import ROW_OF, ROWS, Lane, MarkKind, Timeline

KINDS = [kind for row in ROWS.values() for kind in row]
"""Mark kinds in the order the page lists them (row by row)."""
PHASES = [phase.value for phase in core.Phase]


class _Strings:
    """A string table: each distinct string once, referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def table(self) -> list[str]:
        return list(self.index)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _deltas(values: list[int]) -> list[int]:
    out, last = [], 0
    for v in values:
        out.append(v - last)
        last = v
    return out


def _lane_data(lane: Lane, strings: _Strings) -> dict[str, Any]:
    bands = []
    last = 0
    for band in lane.bands:
        start = _ms(band.start)
        phase = PHASES.index(band.phase) if band.phase in PHASES else strings(band.phase) + len(PHASES)
        bands += [start - last, phase, strings(band.detail)]
        last = start
    marks = []
    for kind in KINDS:
        chosen = [m for m in lane.marks if m.kind is kind]
        if not chosen:
            continue
        marks.append({"k": kind.value, "t": _deltas([_ms(m.at) for m in chosen]),
                      "s": _deltas([m.step + 1 for m in chosen]), "l": [strings(m.label) for m in chosen],
                      "g": [strings(m.tag) for m in chosen] if any(m.tag for m in chosen) else []})
    return {
        "key": lane.key, "title": lane.title, "derived": lane.phases_derived,
        "summary": lane.summary,
        "bands": bands, "bandsEnd": _ms(lane.bands[-1].end) if lane.bands else 0,
        "marks": marks,
        "windows": [[_ms(w.start), _ms(w.end), w.label, w.detail] for w in lane.windows],
        "findings": [[None if f.at is None else _ms(f.at), f.name, f.summary, f.count, f.failure]
                     for f in lane.findings],
        "steps": len(lane.steps),
    }


def timeline_data(timeline: Timeline) -> dict[str, Any]:
    """The page's JSON: everything but the steps (``steps_blob`` packs those)."""
    strings = _Strings()
    lanes = [_lane_data(lane, strings) for lane in timeline.lanes]
    return {
        "v": 1, "title": timeline.title, "notes": timeline.notes, "end": _ms(timeline.end_s),
        "origin": timeline.origin_unix_s, "originNote": timeline.origin_note,
        "windows": [[_ms(w.start), _ms(w.end), w.label, w.detail] for w in timeline.windows],
        "phases": PHASES, "rows": {row: [k.value for k in kinds] for row, kinds in ROWS.items()},
        "lanes": lanes, "strings": strings.table(),
    }


def steps_blob(lane: Lane) -> str:
    """A lane's step records as a JSON array of strings, gzip-compressed, base64 (ASCII)."""
    raw = b"[" + b",".join(orjson.dumps(step.decode("utf-8", errors="replace")) for step in lane.steps) + b"]"
    return base64.b64encode(gzip.compress(raw, 6, mtime=0)).decode("ascii")


def _script_json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8").replace("</", "<\\/")


def render_html(timeline: Timeline) -> str:
    """The whole page as text. Deterministic: the same timeline gives the same bytes."""
    title = html.escape(timeline.title)
    blobs = "\n".join(f'<script type="application/octet-stream" id="steps-{i}">{steps_blob(lane)}</script>'
                      for i, lane in enumerate(timeline.lanes))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qqgate timeline: {title}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<div id="notes"></div>
<div id="toolbar">
<button id="zoom-out" title="zoom out (-)">&minus;</button>
<button id="zoom-in" title="zoom in (+)">+</button>
<button id="zoom-fit" title="the whole run (0)">whole run</button>
<span id="range"></span>
<span class="hint">wheel: zoom at the pointer &middot; drag: pan &middot; double-click: whole run &middot; hover: the step</span>
</div>
</header>
<main>
<div id="chart"><svg id="timeline" xmlns="http://www.w3.org/2000/svg" role="img"
 aria-label="timeline of {title}"></svg></div>
<div id="tooltip" hidden></div>
<noscript><p>This timeline is drawn by a small script inside this file; enable scripts to see it.</p></noscript>
<section id="legend"></section>
<section id="details"></section>
</main>
<script type="application/json" id="timeline-data">{_script_json(timeline_data(timeline))}</script>
{blobs}
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_html(timeline: Timeline, path: str | Path) -> int:
    """Write the page to ``path``; return its size in bytes. Raises OSError when it cannot."""
    data = render_html(timeline).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)


__all__ = ["KINDS", "PHASES", "render_html", "steps_blob", "timeline_data", "write_html", "ROW_OF", "MarkKind"]
