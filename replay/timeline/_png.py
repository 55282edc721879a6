"""The timeline as a static picture (PNG, or SVG/PDF by the file's suffix) through matplotlib.

The same lanes, rows, colours and faults as the HTML page, for the whole run at once. A mark
kind with more marks than ``DENSITY_ABOVE`` is drawn as a density strip (counts in
``DENSITY_BINS`` equal bins over the run, bar height on a log scale), as the page does when
zoomed out. matplotlib is an optional extra (``pip install 'qqgate[png]'``); without it,
``write_png`` raises ``PictureError`` saying so. No pyplot: a ``Figure`` of its own on the Agg
canvas, so nothing global changes and no display is needed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ._build import wall_text
from ._model import ROWS, Lane, MarkKind, Timeline

DENSITY_ABOVE = 400
"""A mark kind with more marks than this in a lane is drawn as a density strip."""
DENSITY_BINS = 600
"""Bins of a density strip over the whole run."""

PHASE_COLOURS = {
    "IDLE": "#e0e0e0", "RESOLVING": "#fdd49e", "CONNECTING": "#fdae6b", "AWAITING_HELLO": "#fd8d3c",
    "IDENTIFYING": "#9ecae1", "RESUMING": "#c6dbef", "READY": "#a1d99b", "BACKING_OFF": "#fcbba1",
    "FAILED": "#cb181d", "STOPPED": "#969696",
}
"""The phase colours of the page (``_html_assets``)."""
KIND_STYLE: dict[MarkKind, tuple[str, str]] = {
    MarkKind.HEARTBEAT: ("#2171b5", "|"), MarkKind.ACK: ("#238b45", "|"), MarkKind.HELLO: ("#6a51a3", "D"),
    MarkKind.OPEN: ("#08519c", "o"), MarkKind.IDENTIFY: ("#3f007d", "s"), MarkKind.RESUME: ("#807dba", "s"),
    MarkKind.READY: ("#006d2c", "o"), MarkKind.CONNECT_FAILED: ("#cb181d", "x"),
    MarkKind.REQUEST_FAILED: ("#e6550d", "x"), MarkKind.RECONNECT: ("#8c6d31", "^"),
    MarkKind.INVALID_SESSION: ("#d94801", "^"), MarkKind.SERVER_CLOSE: ("#a50f15", "v"),
    MarkKind.CLIENT_CLOSE: ("#54278f", "v"), MarkKind.ZOMBIE: ("#e31a1c", "*"),
    MarkKind.SERVER_DROP: ("#636363", "x"), MarkKind.FATAL: ("#67000d", "X"),
    MarkKind.DELIVERED: ("#74c476", "|"), MarkKind.DEDUPLICATED: ("#fd8d3c", "|"),
    MarkKind.DELIVERED_TWICE: ("#e31a1c", "|"), MarkKind.LOST: ("#cb181d", "x"),
}
"""(colour, matplotlib marker) of each mark kind: the page's colours."""


TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
"""Time-axis steps (seconds): the smallest that gives at most 12 ticks."""


class PictureError(Exception):
    """A picture cannot be made (matplotlib is missing); the message says what to install."""


def _matplotlib() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PictureError("--png needs matplotlib, an optional extra: pip install 'qqgate[png]' "
                           "(or pip install matplotlib)") from None
    return Figure, FigureCanvasAgg


def _lane_rows(ax: Any, lane: Lane, top: float, end: float) -> None:
    """Draw one lane with its top at ``top`` (rows go down by 1 each)."""
    bands_y = top - 0.5
    merged: list[tuple[float, float, str]] = []
    pixel = end / 3000.0
    for band in lane.bands:
        if merged and band.end - merged[-1][0] < pixel:  # narrower than a pixel: merge
            merged[-1] = (merged[-1][0], band.end - merged[-1][0], merged[-1][2])
        else:
            merged.append((band.start, band.end - band.start, band.phase))
    for phase in {p for _, _, p in merged}:
        ax.broken_barh([(s, w) for s, w, p in merged if p == phase], (bands_y - 0.35, 0.7),
                       facecolors=PHASE_COLOURS.get(phase, "#cccccc"), edgecolor="none")
    for w in lane.windows:
        ax.broken_barh([(w.start, max(w.end - w.start, end / 1500))], (bands_y - 0.35, 0.7),
                       facecolors="none", edgecolor="#a50f15", hatch="////", linewidth=0)
    labels = [(bands_y, "phase (derived)" if lane.phases_derived else "phase")]
    by_kind: dict[MarkKind, list[float]] = {}
    for m in lane.marks:
        by_kind.setdefault(m.kind, []).append(m.at)
    for r, (row, kinds) in enumerate(ROWS.items()):
        y = top - 1.5 - r
        labels.append((y, row))
        for kind in kinds:
            times = by_kind.get(kind, [])
            if not times:
                continue
            colour, marker = KIND_STYLE[kind]
            offset = 0.18 if kind is MarkKind.HEARTBEAT else -0.18 if kind is MarkKind.ACK else 0.0
            if len(times) > DENSITY_ABOVE:
                width = end / DENSITY_BINS
                counts: dict[int, int] = {}
                for t in times:
                    b = min(int(t / width), DENSITY_BINS - 1)
                    counts[b] = counts.get(b, 0) + 1
                most = max(counts.values())
                for b, n in counts.items():
                    h = 0.15 + 0.6 * math.log1p(n) / math.log1p(most)
                    ax.broken_barh([(b * width, width * 0.9)], (y + offset - h / 2, h), facecolors=colour,
                                   alpha=0.75, edgecolor="none")
            else:
                ax.plot(times, [y + offset] * len(times), linestyle="none", marker=marker, color=colour,
                        markersize=7 if marker != "|" else 9, markeredgewidth=1.5)
    fy = top - 1.5 - len(ROWS)
    labels.append((fy, "findings"))
    dated = sorted((f for f in lane.findings if f.at is not None), key=lambda f: f.at or 0.0)
    for n, f in enumerate(dated):
        colour = "#a50f15" if f.failure else "#08519c"
        ax.plot([f.at], [fy], marker=">", color=colour, markersize=9)
        ax.annotate(f.name + (f" ×{f.count}" if f.count > 1 else ""), (f.at, fy), xytext=(8, -4 - 9 * (n % 3)),
                    textcoords="offset points", color=colour, fontsize=9, fontweight="bold")
    for y, text in labels:
        ax.annotate(text, (0, y), xycoords=("axes fraction", "data"), xytext=(-6, -3),
                    textcoords="offset points", ha="right", fontsize=8, color="#666666")
    ax.annotate(lane.title, (0, top), xycoords=("axes fraction", "data"), xytext=(0, -2),
                textcoords="offset points", ha="left", fontsize=10, fontweight="bold")


def write_png(timeline: Timeline, path: str | Path, *, width_in: float = 16.0, dpi: int = 110) -> int:
    """Draw the whole timeline to ``path`` (PNG; ``.svg``/``.pdf`` by suffix); return its size in
    bytes. Raises PictureError without matplotlib, OSError when the file cannot be written."""
    Figure, Canvas = _matplotlib()
    per_lane = len(ROWS) + 3
    height = 1.2 + 0.32 * (1 + per_lane * len(timeline.lanes))
    fig = Figure(figsize=(width_in, height), dpi=dpi)
    Canvas(fig)
    ax = fig.add_axes((0.12, 0.08, 0.86, 0.84 if len(timeline.lanes) > 1 else 0.78))
    end = max(timeline.end_s, 1.0)
    top = 0.0
    ax.annotate("faults", (0, top), xycoords=("axes fraction", "data"), xytext=(-6, -3),
                textcoords="offset points", ha="right", fontsize=8, color="#666666")
    bottom = top - 1 - per_lane * len(timeline.lanes)
    for w in timeline.windows:
        if w.end - w.start > end / 1500:
            ax.axvspan(w.start, w.end, color="#756bb1", alpha=0.10, linewidth=0)
        else:
            ax.axvline(w.start, color="#756bb1", linestyle="--", linewidth=1)
        ax.annotate(w.label, (w.start, top), xytext=(2, -3), textcoords="offset points", fontsize=8,
                    color="#54278f")
    for i, lane in enumerate(timeline.lanes):
        _lane_rows(ax, lane, top - 1 - i * per_lane, end)
    ax.set_xlim(0, end)
    ax.set_ylim(bottom, top + 0.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    step = next((s for s in TICK_STEPS_S if end / s <= 12), TICK_STEPS_S[-1])
    ticks = [k * step for k in range(int(end // step) + 1)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([wall_text(timeline, t) for t in ticks], fontsize=8)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    clock = "UTC; " + timeline.origin_note if timeline.origin_unix_s is not None else \
        "time from the start of the run"
    fig.suptitle(f"{timeline.title}", fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.935 if len(timeline.lanes) > 1 else 0.89,
             " · ".join([*timeline.notes, clock]) + f" · density strips above {DENSITY_ABOVE} marks",
             fontsize=8, color="#555555")
    fig.savefig(str(path))
    return Path(path).stat().st_size
