"""Progress of long work (soak, fuzz, crash-test, incidents --run, the benchmarks), through rich.

On a terminal (the stream is a TTY and ``TERM`` is not ``dumb``) a live bar with the count, the
rate and the time left, cleared when the work ends. Anywhere else (piped, in CI) no bar: one
plain line at most every ``PLAIN_EVERY_S`` seconds (``soak: 40/100 seeds, 12.1 seeds/s, about
5 s left``), so a short run prints nothing and a long one in a CI log still shows it moves.
The report itself is printed by the command, never by this module.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

PLAIN_EVERY_S = 30.0
"""Without a terminal, a plain progress line at most this often (seconds)."""

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""


def on_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal that can draw a bar."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):
        return False


class _Rate(ProgressColumn):
    """``12.3 seeds/s``: the task's speed, in its own unit."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = str(task.fields.get("unit", "/s"))
        return Text("" if speed is None else f"{speed:,.1f} {unit}/s", style="progress.data.speed")


class ProgressBar:
    """A progress display for ``total`` items of ``unit`` (``"seeds"``), labelled ``what``.

    Use as a context manager; ``advance(n)`` after each item. ``stream``: where it draws
    (default standard error, so the report on standard output stays clean).
    """

    def __init__(self, what: str, total: int | None, unit: str, stream: TextIO | None = None) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self._last_plain = self.start
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if on_terminal(self.stream):
            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=True)

    def __enter__(self) -> ProgressBar:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total, unit=self.unit)
        return self

    def advance(self, n: int = 1) -> None:
        """``n`` more items are done."""
        self.done += n
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=n)
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = now
            self.stream.write(self.plain_line(now) + "\n")
            self.stream.flush()

    def plain_line(self, now: float | None = None) -> str:
        """``soak: 40/100 seeds, 12.1 seeds/s, about 5 s left`` (what a non-terminal gets)."""
        elapsed = max(1e-9, (now if now is not None else time.monotonic()) - self.start)
        rate = self.done / elapsed
        total = f"/{self.total}" if self.total is not None else ""
        left = ""
        if self.total is not None and rate > 0:
            left = f", about {max(0.0, (self.total - self.done) / rate):.0f} s left"
        return f"{self.what}: {self.done}{total} {self.unit}, {rate:.1f} {self.unit}/s{left}"

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


