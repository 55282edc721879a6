"""What a file given to ``qqgate replay`` is, decided from its first bytes; and its lines, streamed.

:func:`classify` looks at the path and at most the first :data:`SNIFF_BYTES` of the file and
says what it is: a journal store (the SQLite header), a JSON-lines journal (its header record,
or the ``.jsonl`` name), a text log, or something that cannot be replayed, with one line saying
why (missing, a directory, a device, empty, binary data, not UTF-8 text, a ``.sqlite`` file
that is not one). Nothing is read further before that answer: a 2 GB file of zeros or
``/dev/zero`` is refused after one read.

:func:`iter_text_lines` streams a file's lines as text in bounded memory: it reads blocks,
cuts every line at :data:`MAX_LINE_BYTES` (the rest of an over-long line is skipped, not
kept) and decodes each as UTF-8, replacing bad bytes (counted).
"""

from __future__ import annotations

import codecs
import enum
import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Iterator

SNIFF_BYTES = 65536
"""How much of a file is read to decide what it is."""
MAX_LINE_BYTES = 32768
"""The longest line read (bytes); the rest of a longer line is skipped and counted."""
BLOCK_BYTES = 1 << 20
SQLITE_MAGIC = b"SQLite format 3\x00"
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
JOURNAL_HEADER_START = b'{"type":"header"'


class InputKind(str, enum.Enum):
    """What a replay input is."""

    STORE = "store"
    JOURNAL = "journal"
    LOG = "log"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Classified:
    """The answer: ``kind``, and for ``REFUSED`` the one-line ``reason``."""

    kind: InputKind
    reason: str = ""


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_readable(path: str) -> str | None:
    """None when ``path`` can be read as a file (a regular file or a pipe); else why not, in a
    few words (``no such file``, ``a directory``, ``a character device``, ``permission denied``)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no such file"
    except NotADirectoryError:
        return "no such file (a part of the path is not a directory)"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        return _kind_of_mode(st.st_mode)
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def sniff(head: bytes, name: str) -> Classified:
    """What a file is from its first bytes ``head`` (at most :data:`SNIFF_BYTES`) and its name."""
    lowered = name.lower()
    if not head:
        what = "an empty file (0 bytes)"
        if lowered.endswith(STORE_SUFFIXES):
            what += ": not a journal store"
        return Classified(InputKind.REFUSED, what)
    if head.startswith(SQLITE_MAGIC):
        return Classified(InputKind.STORE)
    nul = head.find(b"\x00")
    if lowered.endswith(STORE_SUFFIXES):
        return Classified(InputKind.REFUSED, "not a SQLite journal store: its first 16 bytes are not the SQLite "
                                             "header" + (f" (a NUL byte at offset {nul})" if nul >= 0 else ""))
    if nul >= 0:
        return Classified(InputKind.REFUSED, f"binary data, not a log or a journal (a NUL byte at offset {nul})")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the sniff is fine
    except UnicodeDecodeError as exc:
        return Classified(InputKind.REFUSED, f"not UTF-8 text (byte 0x{head[exc.start]:02x} at offset {exc.start}); "
                                             "convert it first, e.g. iconv -f GB18030 -t UTF-8")
    if lowered.endswith(".jsonl") or head.lstrip().startswith(JOURNAL_HEADER_START):
        return Classified(InputKind.JOURNAL)
    return Classified(InputKind.LOG)


@dataclass
class Opened:
    """An input opened and sniffed: what it is, the bytes read so far (``head``), and the open
    stream positioned after them (None unless it is a log or a journal; the caller closes it)."""

    what: Classified
    head: bytes = b""
    stream: BinaryIO | None = None

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def open_input(path: str) -> Opened:
    """Open ``path`` and decide what it is (module docstring) from at most its first
    :data:`SNIFF_BYTES`; a log or a journal is left open for streaming (a pipe is read once)."""
    if path.startswith(("postgresql://", "postgres://", "sqlite:")):
        return Opened(Classified(InputKind.STORE))
    problem = check_readable(path)
    if problem is not None:
        return Opened(Classified(InputKind.REFUSED, problem))
    try:
        fh = open(path, "rb")
    except OSError as exc:
        return Opened(Classified(InputKind.REFUSED, exc.strerror or str(exc)))
    try:
        head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        fh.close()
        return Opened(Classified(InputKind.REFUSED, exc.strerror or str(exc)))
    what = sniff(head, os.path.basename(path))
    if what.kind in (InputKind.LOG, InputKind.JOURNAL):
        return Opened(what, head, fh)
    fh.close()
    return Opened(what, head)


@dataclass
class LineStats:
    """What streaming met: lines whose bytes were not UTF-8, lines cut at :data:`MAX_LINE_BYTES`."""

    bad_utf8: int = 0
    cut_long: int = 0


def iter_byte_lines(fh: BinaryIO, stats: LineStats, head: bytes = b"") -> Iterator[bytes]:
    """The lines of a binary stream (``head`` first, already read from it), each at most
    :data:`MAX_LINE_BYTES`, without their newline; never holds more than a block and a line."""
    buf = head
    skipping = False
    while True:
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            if skipping:
                skipping = False
            else:
                yield buf[start:end]
            start = end + 1
        rest = buf[start:]
        if len(rest) > MAX_LINE_BYTES and not skipping:
            yield rest[:MAX_LINE_BYTES]
            stats.cut_long += 1
            skipping = True
        if skipping:
            rest = b""
        block = fh.read(BLOCK_BYTES)
        if not block:
            if rest and not skipping:
                yield rest
            return
        buf = rest + block


def iter_text_lines(fh: BinaryIO, stats: LineStats, head: bytes = b"") -> Iterator[str]:
    """:func:`iter_byte_lines` decoded as UTF-8 (bad bytes replaced and counted in ``stats``)."""
    for raw in iter_byte_lines(fh, stats, head):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            stats.bad_utf8 += 1
            yield raw.decode("utf-8", errors="replace")


MAX_JOURNAL_LINE_BYTES = 64 << 20
"""The longest journal line read (bytes): a longer one is an error, not a cut."""


def journal_lines_of(fh: BinaryIO, head: bytes = b"") -> Iterator[bytes]:
    """The lines of a journal stream (``head`` first), each with its newline if it had one; a
    line longer than :data:`MAX_JOURNAL_LINE_BYTES` raises JournalError."""
    from qqgate.core.journal import JournalError
    pending = head
    lineno = 0
    while True:
        end = pending.find(b"\n")
        if end >= 0:
            lineno += 1
            yield pending[:end + 1]
            pending = pending[end + 1:]
            continue
        more = fh.readline(MAX_JOURNAL_LINE_BYTES + 1 - len(pending))
        if not more:
            if pending:
                yield pending
            return
        pending += more
        if len(pending) > MAX_JOURNAL_LINE_BYTES and not pending.endswith(b"\n"):
            raise JournalError(f"line {lineno + 1}: longer than {MAX_JOURNAL_LINE_BYTES >> 20} MB")
