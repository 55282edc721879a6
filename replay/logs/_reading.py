"""The reading report: per line format, what was understood, recognised, or not read at all.

Every line counts in exactly one category (``_parse.CATEGORIES``) under the format it was read
as (``hermes logging``, ``botpy``, ``koishi``, ..., ``bare`` for a line with no prefix). A few
example lines are kept per format for the categories a reader most needs to see: recognised
but not understood, and unreadable (clipped, escaped), and the timeline keeps its first and
last rows with a count of what it left out: memory stays bounded whatever the log's size.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

from ._parse import Line

EXAMPLES_PER_FORMAT = 3
"""Example lines kept per format and category."""
TIMELINE_HEAD = 60
TIMELINE_TAIL = 20
"""Timeline rows kept from the start and from the end; the rows between are counted."""
SHOWN_CATEGORIES = ("recognised", "unreadable", "other")


def clip(s: str, n: int = 160) -> str:
    """``s`` made printable (escapes) and cut to ``n`` characters."""
    if not s.isprintable():
        s = s.encode("unicode_escape", "backslashreplace").decode("ascii")
    return s if len(s) <= n else s[: n - 1] + "…"


@dataclass(slots=True)
class FormatRow:
    """One format's counts and examples: ``counts[category]``, ``clients`` understood in it."""

    fmt: str
    counts: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(slots=True)
class ReadingReport:
    """Counts over the whole log, per format; bad UTF-8 lines; paraphrased lines."""

    lines: int = 0
    formats: dict[str, FormatRow] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)
    bad_utf8: int = 0
    cut_long: int = 0
    paraphrased: int = 0

    def add(self, line: Line) -> None:
        self.lines += 1
        self.totals[line.category] += 1
        if line.category == "blank":
            return
        fmt = line.fmt or ("note" if line.category == "note" else "no known format")
        row = self.formats.get(fmt)
        if row is None:
            row = self.formats[fmt] = FormatRow(fmt)
        row.counts[line.category] += 1
        if line.client and line.category in ("understood", "activity"):
            row.clients[line.client] += 1
        if any(e.paraphrase for e in line.events):
            self.paraphrased += 1
        if line.category in SHOWN_CATEGORIES:
            kept = row.examples.setdefault(line.category, [])
            if len(kept) < EXAMPLES_PER_FORMAT:
                kept.append((line.lineno, clip(line.text)))

    @property
    def understood(self) -> int:
        return self.totals["understood"]


Row = Callable[[], str] | str
"""A timeline row, or what renders it (rendered only if it is kept)."""


@dataclass(slots=True)
class TimelineRows:
    """The printed timeline: the first :data:`TIMELINE_HEAD` and last :data:`TIMELINE_TAIL` rows,
    and how many rows between were left out. A row may be given as a function that renders it:
    only the kept ones are rendered."""

    head: list[tuple[int, Row]] = field(default_factory=list)
    tail: deque[tuple[int, Row]] = field(default_factory=lambda: deque(maxlen=TIMELINE_TAIL))
    total: int = 0

    def add(self, lineno: int, row: Row) -> None:
        self.total += 1
        if len(self.head) < TIMELINE_HEAD:
            self.head.append((lineno, row))
        else:
            self.tail.append((lineno, row))

    @property
    def elided(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def rows(self) -> list[str]:
        """The rows in order, with ``... (N rows left out) ...`` where rows were left out."""
        out = [row if isinstance(row, str) else row() for _, row in self.head]
        if self.elided > 0:
            out.append(f"... ({self.elided} rows left out) ...")
        out += [row if isinstance(row, str) else row() for _, row in self.tail]
        return out
