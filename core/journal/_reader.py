"""Reading a journal: lines in, a header and decoded steps out (pure; callers open files).

``read_journal`` takes the journal's bytes or any iterable of its lines (a file opened in
binary mode, a store's export, a list), checks the header's format, decodes every step's
input and keeps its recorded commands as they were written (a replay compares them with
``encode_command`` of the replayed ones). Every unreadable line is a JournalError naming it;
a last line cut short by a killed writer is the one exception, ignored and flagged. Steps
are numbered (``i``): a missing, repeated or reordered step is named too (a deleted last line
cannot be told from a shorter run). ``stream_journal`` reads the same way one line at a time.
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
    as a write cut short by a crash and ignored (``truncated_tail``). Every step's index
    (``i``) must follow the one before: a missing, repeated or reordered step is an error.
    """
    streamed = stream_journal(source)
    journal = Journal(header=streamed.header)
    journal.steps.extend(streamed.steps())
    journal.truncated_tail = streamed.truncated_tail
    return journal


class StreamedJournal:
    """A journal read as it streams: ``header`` at once, then :meth:`steps` one at a time (each
    checked as ``read_journal`` checks it), then ``truncated_tail``. Holds one line at a time."""

    def __init__(self, source: bytes | Iterable[bytes]) -> None:
        self._lines = _lines(source)
        self._index = 0
        self.truncated_tail = False
        line = next(self._lines, None)
        self._index = 1
        if line is None or not line.strip():
            raise JournalError("line 1: empty journal (no header)")
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise JournalError(f"line {self._index}: not JSON ({exc})") from None
        self.header = _header(record, self._index)

    def _next_nonblank(self) -> bytes | None:
        for line in self._lines:
            self._index += 1
            if line.strip():
                return line
        return None

    def steps(self) -> Iterator[tuple[int, JournalInput, list[Any]]]:
        """Every step as (line number, input, recorded commands), in order; raises JournalError
        at the first unreadable line or the first step whose index is not the next one."""
        expected = 1
        line = self._next_nonblank()
        while line is not None:
            index = self._index
            following = self._next_nonblank()
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if following is None and not line.endswith(b"\n"):
                    self.truncated_tail = True
                    return
                raise JournalError(f"line {index}: not JSON ({exc})") from None
            step = _step(record, index)
            _check_index(record, index, expected)
            yield step
            expected += 1
            line = following


def stream_journal(source: bytes | Iterable[bytes]) -> StreamedJournal:
    """Start reading a journal: the header is read and checked now (JournalError if it cannot be),
    the steps as they are asked for (``StreamedJournal.steps``)."""
    return StreamedJournal(source)


def _check_index(record: dict[str, Any], index: int, expected: int) -> None:
    i = record.get("i")
    if not isinstance(i, int) or isinstance(i, bool):
        raise JournalError(f"line {index}: step record has no index 'i'")
    if i > expected:
        gone = f"step {expected} is" if i == expected + 1 else f"steps {expected}-{i - 1} are"
        raise JournalError(f"line {index}: step {i} follows step {expected - 1}: {gone} missing")
    if i < expected:
        raise JournalError(f"line {index}: step {i} comes after step {expected - 1}: steps out of order or repeated")


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
