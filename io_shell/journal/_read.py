"""Reading a journal store: list its sessions, read one, export it as JSON lines.

The export is byte for byte the portable journal format that ``core.journal.read_journal``
reads: the header line (``core.journal.header_line``) then one step line per committed step
(``core.journal.step_line``), each newline-terminated. The stored event states already are those lines, so an
export copies them without decoding. Every function opens the store read-only (a SQLite
file is never created) and raises JournalStoreError when it is missing, unreachable, not a
journal store, or has no such session. These functions block: call them off the gevent hub.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator
from uuid import UUID

import orjson

from ._store import SESSION_TOPIC, STEP_TOPIC, JournalStoreError, Store, parse_target

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class SessionInfo:
    """One journaled connection session: its id, committed step count and header dict."""

    session_id: str
    steps: int
    header: dict[str, Any]


@contextlib.contextmanager
def _open(target: str | os.PathLike[str]) -> Iterator[Store]:
    store = Store(parse_target(target, create=False), create=False)
    try:
        yield store
    finally:
        store.close()


def _header(store: Store, session: UUID, line: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict):
        raise JournalStoreError(f"{store.target.display}: session {session}: unreadable header")
    return header


def _resolve(store: Store, session_id: str | None) -> UUID:
    """The session named by ``session_id`` (a UUID or a unique prefix of one; None: the latest)."""
    if session_id is None:
        latest = store.latest_session()
        if latest is None:
            raise JournalStoreError(f"{store.target.display}: the store holds no session")
        return latest
    text = session_id.strip().lower()
    try:
        session = UUID(text)
    except ValueError:
        session = None
    if session is not None:
        if store.index_header(session) is None:
            raise JournalStoreError(f"{store.target.display}: no session {session}")
        return session
    if not text or any(c not in "0123456789abcdef-" for c in text):
        raise JournalStoreError(f"not a session id: {session_id!r}")
    matches = [sid for sid, _ in store.session_index() if str(sid).startswith(text)]
    if len(matches) != 1:
        raise JournalStoreError(f"{store.target.display}: {'no' if not matches else len(matches)} "
                                f"session(s) start with {session_id!r}")
    return matches[0]


def list_sessions(target: str | os.PathLike[str]) -> list[SessionInfo]:
    """Every session in ``target``, oldest first, with its committed step count and header."""
    with _open(target) as store:
        return [SessionInfo(str(sid), max(store.last_version(sid) - 1, 0), _header(store, sid, line))
                for sid, line in store.session_index()]


def _lines(store: Store, session: UUID) -> Iterator[bytes]:
    """The header line then every committed step line of ``session``, without newlines.

    Raises JournalStoreError on a stream that is not header + steps 1..n in order.
    """
    expected = 1
    header_line = store.index_header(session)
    for event in store.events(session):
        if event.originator_version != expected:
            raise JournalStoreError(f"{store.target.display}: session {session}: event {expected} is "
                                    f"missing (found version {event.originator_version})")
        if expected == 1:
            if event.topic != SESSION_TOPIC:
                raise JournalStoreError(f"{store.target.display}: session {session}: first event is "
                                        f"{event.topic!r}, not the header")
            header_line = event.state
            yield header_line
        elif event.topic != STEP_TOPIC:
            raise JournalStoreError(f"{store.target.display}: session {session}: event {expected} is "
                                    f"{event.topic!r}, not a step")
        else:
            yield event.state
        expected += 1
    if expected == 1:
        # Only the index knows this session (the stream's first commit never happened).
        if header_line is None:
            raise JournalStoreError(f"{store.target.display}: no session {session}")
        yield header_line


def read_session(target: str | os.PathLike[str],
                 session_id: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, step records in order) of a session; ``session_id`` None means the latest.

    ``session_id`` may be a full UUID or a unique prefix. The header is the
    ``core.journal.header_record`` dict; each record is ``{"type": "step", "i": n, ...}``
    exactly as ``core.journal.step_record`` built it.
    """
    with _open(target) as store:
        session = _resolve(store, session_id)
        lines = _lines(store, session)
        header = _header(store, session, next(lines))
        return header, [orjson.loads(line) for line in lines]


def export_jsonl(target: str | os.PathLike[str], session_id: str | None, out: BinaryIO) -> int:
    """Write a session as a JSON-lines journal to ``out``; return the number of steps written.

    ``session_id`` None exports the latest session. Raises JournalStoreError (nothing is
    written when the session cannot be found) and whatever ``out.write`` raises.
    """
    with _open(target) as store:
        session = _resolve(store, session_id)
        steps = -1
        for line in _lines(store, session):
            out.write(line + b"\n")
            steps += 1
        return steps


def journal_bytes(target: str | os.PathLike[str], session_id: str | None = None) -> bytes:
    """The JSON-lines journal of a session as bytes (``core.journal.read_journal`` input)."""
    with _open(target) as store:
        session = _resolve(store, session_id)
        return b"".join(line + b"\n" for line in _lines(store, session))


def looks_like_store(target: str | os.PathLike[str]) -> bool:
    """True when ``target`` is a PostgreSQL URL or a SQLite file (not a .jsonl or a text log).

    Reads at most 16 bytes; never raises for an unreadable file (returns False).
    """
    text = os.fspath(target)
    if text.startswith(("postgresql://", "postgres://", "sqlite:")):
        return True
    try:
        with open(text, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False
