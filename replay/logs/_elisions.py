"""Reporters' notes inside pasted logs: elisions, annotations, and what they say about time.

Real excerpts are edited by the people who post them (logs_samples/real/*.meta.json say how):
``... (exactly ~60s later)``, ``# ... ~60 seconds later ...``, ``(silent for 17 minutes)``,
``===== SILENCE =====``, ``...（该序列每 5-15 秒重复约 10 次）...``, a line that is only a time
and an arrow (``08:12:55 ~ 08:51:59  ← ZERO logs — completely silent for ~39 minutes``), or an
arrow at the end of a real line (``05:40:47  QQ WebSocket closed   ← 服务端 30min 滚动断开``,
``14:14:38.183  WARNING: WebSocket closed   <-- ~72s later``). This module finds them and reads
the gap (seconds), a stated number of attempts, and whether they say the log went silent or a
cycle repeats. Never raises on input text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._events import NO_TIME, Elision, LineTime
from ._formats import _TIME, line_time

MAX_ELISION_CHARS = 400
"""Only the first this-many characters of a note are searched."""

_START_RE = re.compile(r"\.\.\.|…|\[\s*(?:\.\.\.|…|snip)\s*\]|<\s*(?:\.\.\.|…|snip)\s*>|={3,}")
_GAP_RE = re.compile(
    r"(?<![每\d.-])(?P<n>\d{1,9}(?:\.\d{1,6})?)\s*\+?\s*"
    r"(?P<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|秒|分钟|分|小时|天)"
    r"(?![a-z])", re.IGNORECASE)
_UNIT_S = {"ms": 0.001, "mi": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
           "秒": 1.0, "分": 60.0, "小": 3600.0, "天": 86400.0}
_ATTEMPTS_RE = re.compile(r"(?P<n>\d{1,6})\s*(?:次|times\b|(?:failed\s+)?(?:connection\s+|reconnect\s+)?attempts?\b)",
                          re.IGNORECASE)
_REPEATS_RE = re.compile(r"repeat|again|indefinitely|forever|over and over|loop|cycle|重复|反复|循环", re.IGNORECASE)
_SILENCE_RE = re.compile(
    r"silen|nothing|quiet|zero logs|no (?:more |further |other )?(?:qq\w* )?(?:log|line|output|message)|没有|静默",
    re.IGNORECASE)
_TIME_FIND_RE = re.compile(_TIME)
_NOTE_STARTS = frozenset(".…[<=(（#")
"""The first characters a whole-line note can have."""
_ARROW_RE = re.compile(r"\s(?:←|<-{1,2}|⟵)\s*")
_TRAILING_NOTE_RE = re.compile(r"\s{2,}（[^（）]{1,80}）\s*$")


@dataclass(frozen=True, slots=True)
class Split:
    """A line with its reporter's note taken off: ``line`` (may be empty), ``note`` (or None)."""

    line: str
    note: str | None


def split_note(line: str) -> Split:
    """Take an arrow note (``← ...``, ``<-- ...``) or a trailing full-width ``（...）`` off a line."""
    if "←" not in line and "<-" not in line and "⟵" not in line and "）" not in line:
        return Split(line, None)
    m = _ARROW_RE.search(line)
    if m is not None:
        return Split(line[:m.start()].rstrip(), line[m.end():].strip())
    if line.startswith(("←", "<--")):
        return Split("", line.lstrip("←<- ").strip())
    t = _TRAILING_NOTE_RE.search(line)
    if t is not None:
        return Split(line[:t.start()].rstrip(), t.group(0).strip())
    return Split(line, None)


def time_only(text: str, default_year: int | None = None) -> LineTime | None:
    """The (last) time of a text that is only a time or a time range (``08:12:55 ~ 08:51:59``)."""
    stamps = list(_TIME_FIND_RE.finditer(text))
    if not stamps or _TIME_FIND_RE.sub("", text).strip(" ~–-\t"):
        return None
    got = line_time(stamps[-1], default_year)
    return got[0] if got is not None else None


def read_note(lineno: int, text: str, time: LineTime = NO_TIME) -> Elision:
    """What a note says: its gap (first ``number unit`` not after 每/every), attempts, flags."""
    head = text[:MAX_ELISION_CHARS]
    gap: float | None = None
    m = _GAP_RE.search(head)
    if m is not None and not re.search(r"(?:every|每)\s*$", head[:m.start()], re.IGNORECASE):
        unit = m.group("unit").lower()
        key = "ms" if unit.startswith("milli") or unit == "ms" else unit[0]
        gap = float(m.group("n")) * _UNIT_S.get(key, 1.0)
    attempts = _ATTEMPTS_RE.search(head)
    return Elision(lineno=lineno, text=text, gap_s=gap, repeats=_REPEATS_RE.search(head) is not None,
                   silence=_SILENCE_RE.search(head) is not None,
                   attempts=int(attempts.group("n")) if attempts else None, time=time)


def as_elision(lineno: int, stripped: str) -> Elision | None:
    """The elision a whole line stands for, or None: it starts with ``...``/``…``/``[...]``/
    ``<snip>``/``===``, or is wholly in parentheses (ASCII or full-width), or is a ``#`` comment
    that stands for left-out lines (``# ... ~60 seconds later ...``)."""
    if stripped[:1] not in _NOTE_STARTS:
        return None
    if stripped.startswith("#"):
        body = stripped.lstrip("#").strip()
        note = read_note(lineno, body)
        return note if note.gap_s is not None or body.startswith(("...", "…")) else None
    if _START_RE.match(stripped) or (stripped.startswith("(") and stripped.endswith(")")) \
            or (stripped.startswith("（") and stripped.endswith("）")):
        return read_note(lineno, stripped)
    return None
