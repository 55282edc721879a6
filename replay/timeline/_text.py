"""The terminal timeline (``qqgate timeline``): a journal's life, one line per thing that mattered.

Phase changes, connects, closes with their codes, Identify/Resume, Hello, op 7/op 9, zombies,
failures and Fatal get a line each; the routine between them (heartbeats, their ACKs, dispatches
delivered) is folded into one line with its counts, and a heartbeat that got no ACK is called out
on that line. Times are wall clock when the journal's header anchors one (UTC, the date whenever
it changes), else ``+H:MM:SS.mmm`` from the first step. Colours through rich, only on a terminal.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterator, TextIO

from rich.console import Console
from rich.text import Text

from ._model import Lane, MarkKind, Timeline

K = MarkKind
ROUTINE = frozenset({K.HEARTBEAT, K.ACK, K.DELIVERED})
"""Marks folded into one line between the ones that matter."""
STYLE = {
    K.SERVER_CLOSE: "bold red", K.CLIENT_CLOSE: "magenta", K.ZOMBIE: "bold red", K.SERVER_DROP: "red",
    K.FATAL: "bold white on red", K.CONNECT_FAILED: "red", K.REQUEST_FAILED: "red", K.LOST: "bold red",
    K.DELIVERED_TWICE: "bold red", K.DEDUPLICATED: "yellow", K.READY: "green", K.OPEN: "cyan",
    K.RECONNECT: "yellow", K.INVALID_SESSION: "yellow",
}
PHASE_STYLE = {"READY": "bold green", "BACKING_OFF": "yellow", "FAILED": "bold red", "STOPPED": "dim"}


@dataclass
class _Fold:
    first: float = 0.0
    last: float = 0.0
    heartbeats: int = 0
    acks: int = 0
    delivered: int = 0
    unacked: int = 0
    waiting: bool = False

    def add(self, at: float, kind: MarkKind) -> None:
        if not (self.heartbeats or self.acks or self.delivered):
            self.first = at
        self.last = at
        if kind is K.HEARTBEAT:
            if self.waiting:
                self.unacked += 1  # the one before got no ACK before this one went out
            self.heartbeats += 1
            self.waiting = True
        elif kind is K.ACK:
            self.acks += 1
            self.waiting = False
        else:
            self.delivered += 1

    def __bool__(self) -> bool:
        return bool(self.heartbeats or self.acks or self.delivered)


class _Clock:
    """Formats times: the date on the first line and whenever it changes."""

    def __init__(self, timeline: Timeline) -> None:
        self.origin = timeline.origin_unix_s
        self.day: str | None = None

    def __call__(self, at: float) -> str:
        if self.origin is None:
            whole = int(at)
            return f"+{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(at % 1 * 1000):03d}"
        t = _dt.datetime.fromtimestamp(self.origin + at, _dt.timezone.utc)
        day = t.strftime("%Y-%m-%d")
        text = t.strftime("%H:%M:%S") + f".{t.microsecond // 1000:03d}"
        if day != self.day:
            self.day = day
            return f"{day} {text}"
        return text


def _fold_text(fold: _Fold, clock: _Clock) -> Text:
    parts = []
    if fold.heartbeats or fold.acks:
        parts.append(f"{fold.heartbeats} heartbeats, {fold.acks} ACKs")
    if fold.delivered:
        parts.append(f"{fold.delivered} dispatches delivered")
    line = Text(f"  … {', '.join(parts)} (until {clock(fold.last)})", style="dim")
    if fold.unacked:
        line.append(f"; {fold.unacked} heartbeat(s) without an ACK before the next", style="bold red")
    if fold.waiting:
        line.append("; the last heartbeat got no ACK", style="bold red")
    return line


def lane_lines(lane: Lane, clock: _Clock) -> Iterator[Text]:
    """The lane as lines: marks and phase changes in time order (at one instant, what happened
    before the phase it caused), the routine folded."""
    events: list[tuple[float, int, Text | MarkKind]] = []
    for band in lane.bands:
        events.append((band.start, 1, Text.assemble(("phase ", "dim"), (band.phase, PHASE_STYLE.get(band.phase, "bold")),
                                                    f": {band.detail}" if band.detail else "")))
    for m in lane.marks:
        if m.kind in ROUTINE:
            events.append((m.at, 2, m.kind))
        else:
            events.append((m.at, 0, Text(m.label, style=STYLE.get(m.kind, ""))))
    for w in lane.windows:
        events.append((w.start, 0, Text(f"{w.label}: {w.detail}", style="bold red")))
    events.sort(key=lambda e: (e[0], e[1]))
    fold = _Fold()
    for at, _, what in events:
        if isinstance(what, MarkKind):
            fold.add(at, what)
            continue
        if fold:
            yield _fold_text(fold, clock)
            fold = _Fold()
        yield Text.assemble((clock(at), "cyan"), "  ", what)
    if fold:
        yield _fold_text(fold, clock)


def print_timeline(timeline: Timeline, out: TextIO, *, limit: int = 0, color: bool | None = None) -> int:
    """Print ``timeline`` to ``out``; ``limit`` > 0 stops after that many lines per lane and says
    how many were left out. ``color`` None: only when ``out`` is a terminal. Returns the number
    of lines printed."""
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False,
                      force_terminal=color, no_color=color is False)
    console.print(Text(timeline.title, style="bold"))
    for note in timeline.notes:
        console.print(Text(note, style="dim"))
    console.print(Text("times: " + ("UTC; " if timeline.origin_unix_s is not None else "") +
                       (timeline.origin_note or "from the first step"), style="dim"))
    printed = 0
    for lane in timeline.lanes:
        clock = _Clock(timeline)
        console.print(Text(f"\n{lane.title}" + (" (phases derived from socket events)" if lane.phases_derived else ""),
                           style="bold"))
        shown = 0
        lines = lane_lines(lane, clock)
        for line in lines:
            if limit and shown >= limit:
                rest = 1 + sum(1 for _ in lines)
                console.print(Text(f"… {rest} more lines (--limit 0 prints them all)", style="bold"))
                break
            console.print(line)
            shown += 1
        printed += shown
        for label, value in lane.summary:
            console.print(Text(f"  {label}: {value}", style="dim"))
    return printed
