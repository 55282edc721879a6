"""Reading a journal: lines in, a header and decoded steps out (pure; callers open files).

``read_journal`` takes the journal's bytes or any iterable of its lines (a file opened in
binary mode, a store's export, a list), checks the header's format, decodes every step's
input and keeps its recorded commands as they were written (a replay compares them with
``encode_command`` of the replayed ones). Every unreadable line is a JournalError naming it;
a last line cut short by a killed writer is the one exception, ignored and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import orjson

from ._codec import JournalInput, decode_input
from ._errors import CodecError, JournalError
from ._header import FORMAT, FORMAT_VERSION


@dataclass
class Journal:
    """A parsed journal: the header record and the steps as (line number, input, recorded commands)."""

    header: dict[str, Any]
    steps: list[tuple[int, JournalInput, list[Any]]] = field(default_factory=list)
    truncated_tail: bool = False
    """True when the last line was cut short (no newline, not JSON: a killed writer); it is ignored."""


def _lines(source: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            if end < 0:
                yield data[start:]
                return
            yield data[start:end + 1]
            start = end + 1
    else:
        yield from source


def read_journal(source: bytes | Iterable[bytes]) -> Journal:
    """Parse a journal; raise JournalError naming the first unreadable line (counting from 1).

    ``source``: the whole journal as bytes, or its lines, each with or without its newline.
    Blank lines are skipped. A final line without its newline that does not parse is taken
    as a write cut short by a crash and ignored (``truncated_tail``).
    """
    journal: Journal | None = None
    lines = _lines(source)
    line = next(lines, None)
    if line is None or not line.strip():
        raise JournalError("line 1: empty journal (no header)")
    index = 0
    while line is not None:
        index += 1
        following = next(lines, None)
        if not line.strip():
            line = following
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if following is None and not line.endswith(b"\n") and journal is not None:
                journal.truncated_tail = True
                break
            raise JournalError(f"line {index}: not JSON ({exc})") from None
        if journal is None:
            journal = Journal(header=_header(record, index))
        else:
            journal.steps.append(_step(record, index))
        line = following
    if journal is None:
        raise JournalError("no header found")
    return journal


def _header(record: Any, index: int) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("type") != "header" or record.get("format") != FORMAT:
        raise JournalError(f"line {index}: not a {FORMAT} header")
    if record.get("format_version") != FORMAT_VERSION:
        raise JournalError(f"line {index}: format_version {record.get('format_version')!r} "
                           f"is not {FORMAT_VERSION}")
    return record


def _step(record: Any, index: int) -> tuple[int, JournalInput, list[Any]]:
    if not isinstance(record, dict) or record.get("type") != "step":
        raise JournalError(f"line {index}: not a step record")
    try:
        inp = decode_input(record.get("input"))
    except CodecError as exc:
        raise JournalError(f"line {index}: {exc}") from None
    commands = record.get("commands")
    if not isinstance(commands, list):
        raise JournalError(f"line {index}: 'commands' is not a list")
    return index, inp, commands
