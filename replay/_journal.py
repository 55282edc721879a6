"""JSON-lines journals: write every step of a run, and replay a journal through the current reducer.

Format (one orjson object per line):
``{"type": "header", "format": "qqgate-journal", "format_version": 1, "client": {...},
"seed": N, ...}`` then ``{"type": "step", "i": n, "input": {...}, "commands": [...]}``.

Records and redaction come from ``core._records`` (shared with io_shell): secrets never
reach a journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Iterable

import orjson

from qqgate import core

FORMAT = core.FORMAT
FORMAT_VERSION = core.FORMAT_VERSION
Redactor = core.Redactor
step_record = core.step_record


class JournalError(ValueError):
    """A journal cannot be read: the message names the line and what is wrong."""


def write_journal(out: IO[bytes], header: dict[str, Any],
                  steps: Iterable[tuple[core.Input, tuple[core.Command, ...]]],
                  redactor: Redactor | None = None) -> int:
    """Write a header and every step as JSON lines; return the number of steps written."""
    redactor = redactor or Redactor()
    out.write(orjson.dumps(core.header_record(header)) + b"\n")
    n = 0
    for n, (inp, commands) in enumerate(steps, start=1):
        out.write(orjson.dumps(step_record(n, inp, commands, redactor)) + b"\n")
    return n


@dataclass
class Journal:
    """A parsed journal: header, steps as (line number, input, recorded command dicts)."""

    header: dict[str, Any]
    steps: list[tuple[int, core.Input, list[Any]]] = field(default_factory=list)
    truncated_tail: bool = False
    """True when the last line was cut short (a killed writer): it is ignored."""


def read_journal(data: bytes) -> Journal:
    """Parse a journal; raise JournalError naming the first unreadable line.

    A final line without its newline that does not parse is treated as a write cut short
    by a crash and ignored (``truncated_tail``).
    """
    lines = data.split(b"\n")
    complete_end = data.endswith(b"\n")
    if not lines or not lines[0].strip():
        raise JournalError("line 1: empty journal (no header)")
    journal: Journal | None = None
    for index, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if index == len(lines) and not complete_end and journal is not None:
                journal.truncated_tail = True
                break
            raise JournalError(f"line {index}: not JSON ({exc})") from None
        if journal is None:
            if not isinstance(record, dict) or record.get("type") != "header" or record.get("format") != FORMAT:
                raise JournalError(f"line {index}: not a {FORMAT} header")
            if record.get("format_version") != FORMAT_VERSION:
                raise JournalError(f"line {index}: format_version {record.get('format_version')!r} "
                                   f"is not {FORMAT_VERSION}")
            journal = Journal(header=record)
            continue
        if not isinstance(record, dict) or record.get("type") != "step":
            raise JournalError(f"line {index}: not a step record")
        try:
            inp = core.decode_input(record.get("input"))
        except core.CodecError as exc:
            raise JournalError(f"line {index}: {exc}") from None
        commands = record.get("commands")
        if not isinstance(commands, list):
            raise JournalError(f"line {index}: 'commands' is not a list")
        journal.steps.append((index, inp, commands))
    if journal is None:
        raise JournalError("no header found")
    return journal
