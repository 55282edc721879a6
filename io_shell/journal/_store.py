"""The journal store: eventsourcing recorders on SQLite (default) or PostgreSQL.

Layout (two tables, built with eventsourcing's persistence layer):

- ``qqgate_steps``, an *aggregate recorder* (``SQLiteAggregateRecorder`` /
  ``PostgresAggregateRecorder``): one stream per connection session, the originator id being
  the session's UUID. Version 1 is the ``SessionStarted`` event (state: the orjson header
  line); version ``i + 1`` is the ``StepRecorded`` event of step ``i`` (state: the orjson
  step record, exactly the JSON-lines form). Batches go in with ``insert_events``, one
  transaction per batch.
- ``qqgate_sessions``, an *application recorder*: a copy of every ``SessionStarted`` event,
  so that ``select_notifications`` lists the sessions in the order they started without
  scanning the steps.

Targets: a file path (or ``sqlite:`` + path) is a SQLite file in WAL mode (eventsourcing
sets it); ``postgresql://user:pass@host:port/db[?schema=NAME&connect_timeout=S]`` is a
PostgreSQL database (schema default "public", connect timeout default 5 s per attempt).
Every failure of a store is raised as JournalStoreError whose message names the target
with its password masked, never a secret.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import parse_qs, quote, unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder, ApplicationRecorder, InfrastructureFactory, InfrastructureFactoryError,
    PersistenceError, StoredEvent,
)
from eventsourcing.utils import Environment

from qqgate.core.journal import JournalError

SESSION_TOPIC = "qqgate.journal:SessionStarted"
"""Topic of the first event of a session stream (state: the header line)."""
STEP_TOPIC = "qqgate.journal:StepRecorded"
"""Topic of one step event (state: the step line)."""
SESSIONS_TABLE = "qqgate_sessions"
STEPS_TABLE = "qqgate_steps"
PAGE_SIZE = 5000
"""Events read per query when a session is read or exported."""
CONNECT_TIMEOUT_S = 5
"""PostgreSQL connect timeout (seconds) for one attempt."""


class JournalStoreError(JournalError):
    """A journal store cannot be opened, read or written; the message says which and why.

    One of the journal's exception family (a ``core.journal.JournalError``).
    """


class JournalWriteError(JournalStoreError):
    """A recorder could not commit its steps: the journal ends at its last committed step."""


@dataclass(frozen=True)
class Target:
    """A parsed store target: ``kind`` is "sqlite" or "postgres"; ``display`` hides any password."""

    kind: str
    env: dict[str, str]
    display: str
    path: Path | None = None


def parse_target(target: str | os.PathLike[str], *, create: bool) -> Target:
    """Parse a store target; raise JournalStoreError when it cannot name a store.

    ``create`` False (reading): a SQLite file must already exist and is opened without
    creating anything.
    """
    text = os.fspath(target)
    if not isinstance(text, str) or not text.strip():
        raise JournalStoreError("empty journal store target")
    if text.startswith(("postgresql://", "postgres://")):
        return _postgres_target(text)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:"):]
        if text.startswith("//"):
            text = text[2:]
    path = Path(text).expanduser().absolute()
    if create:
        if not path.parent.is_dir():
            raise JournalStoreError(f"{path}: cannot create a journal store: no directory {path.parent}")
        mode = "rwc"
    else:
        if not path.is_file():
            raise JournalStoreError(f"{path}: no such journal store (file not found)")
        mode = "rw" if os.access(path, os.W_OK) else "ro"
        _check_sqlite_file(path, mode)
    uri = f"file:{quote(str(path))}?mode={mode}"
    return Target("sqlite", {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": uri},
                  str(path), path)


def _check_sqlite_file(path: Path, mode: str) -> None:
    """Raise JournalStoreError unless ``path`` is a SQLite database holding the journal tables."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=5.0)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise JournalStoreError(f"{path}: not a SQLite journal store ({exc})") from None
    missing = sorted({SESSIONS_TABLE, STEPS_TABLE} - names)
    if missing:
        raise JournalStoreError(f"{path}: not a qqgate journal store (no table {', '.join(missing)})")


def _postgres_target(url: str) -> Target:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        raise JournalStoreError("PostgreSQL URL has a bad port") from None
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    dbname = unquote(parts.path.lstrip("/"))
    host = parts.hostname or ""
    shown = f"postgresql://{quote(user)}{':***' if password else ''}@{host}:{port}/{dbname}"
    if not (host and user and dbname):
        raise JournalStoreError(f"{shown}: a PostgreSQL target needs user, host and database "
                                "(postgresql://user:pass@host:port/db)")
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"schema", "connect_timeout"})
    if unknown:
        raise JournalStoreError(f"{shown}: unknown URL parameter(s) {', '.join(unknown)} "
                                "(known: schema, connect_timeout)")
    timeout = query.get("connect_timeout", [str(CONNECT_TIMEOUT_S)])[-1]
    if not timeout.isdigit() or int(timeout) < 1:
        raise JournalStoreError(f"{shown}: connect_timeout must be a whole number of seconds >= 1")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": host, "POSTGRES_PORT": str(port), "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": password, "POSTGRES_CONNECT_TIMEOUT": timeout,
        "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2",
    }
    if query.get("schema"):
        env["POSTGRES_SCHEMA"] = query["schema"][-1]
    return Target("postgres", env, shown)


def preload_driver(target: str | os.PathLike[str]) -> None:
    """Import the PostgreSQL driver now, in this thread, when ``target`` is a PostgreSQL URL.

    Under gevent monkey-patching psycopg's first import cannot run in a threadpool thread
    (it starts a subprocess). Raises JournalStoreError when the driver is not installed.
    """
    if os.fspath(target).startswith(("postgresql://", "postgres://")):
        try:
            import eventsourcing.postgres  # noqa: F401
        except ImportError as exc:
            raise JournalStoreError(f"PostgreSQL support is not installed ({exc}); "
                                    "pip install 'eventsourcing[postgres]'") from None


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [PersistenceError, InfrastructureFactoryError, sqlite3.Error,
                                         OSError]
    with contextlib.suppress(ImportError):
        import psycopg
        errors.append(psycopg.Error)
    return tuple(errors)


class Store:
    """An open journal store: the two recorders over one eventsourcing datastore.

    ``create`` True makes the tables when missing (recording); False only reads. Raises
    JournalStoreError when the store cannot be reached or is not a journal store. Blocking:
    call it off the gevent hub (the recorder does).
    """

    def __init__(self, target: Target, *, create: bool) -> None:
        self.target = target
        self._errors = _driver_errors()
        env = dict(target.env, CREATE_TABLE="yes" if create else "no")
        if target.kind == "postgres":
            preload_driver("postgresql://")
        with self._guard("cannot open"):
            self._factory = InfrastructureFactory.construct(Environment("qqgate", env))
            try:
                self.sessions, self.steps = self._recorders(create)
            except BaseException:
                self._factory.close()
                raise

    def _recorders(self, create: bool) -> tuple[ApplicationRecorder, AggregateRecorder]:
        sessions: ApplicationRecorder
        steps: AggregateRecorder
        if self.target.kind == "sqlite":
            from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder, SQLiteFactory
            assert isinstance(self._factory, SQLiteFactory)
            sessions = SQLiteApplicationRecorder(self._factory.datastore, events_table_name=SESSIONS_TABLE)
            steps = SQLiteAggregateRecorder(self._factory.datastore, events_table_name=STEPS_TABLE)
            if create:
                sessions.create_table()
                steps.create_table()
        else:
            from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
            assert isinstance(self._factory, PostgresFactory)
            pg_sessions = PostgresApplicationRecorder(self._factory.datastore, events_table_name=SESSIONS_TABLE)
            pg_steps = PostgresAggregateRecorder(self._factory.datastore, events_table_name=STEPS_TABLE)
            if create:
                pg_sessions.create_table()
                pg_steps.create_table()
            sessions, steps = pg_sessions, pg_steps
        return sessions, steps

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except JournalStoreError:
            raise
        except self._errors as exc:
            detail = str(exc).strip() or type(exc).__name__
            raise JournalStoreError(f"{self.target.display}: {what}: {detail}") from None

    def start_session(self, session: UUID, header_line: bytes) -> None:
        """Write the SessionStarted event: in the session index, then as version 1 of the stream."""
        event = StoredEvent(session, 1, SESSION_TOPIC, header_line)
        with self._guard("cannot start a session"):
            self.sessions.insert_events([event])
            self.steps.insert_events([event])

    def append(self, events: Sequence[StoredEvent]) -> None:
        """Insert step events in one transaction (all or none)."""
        with self._guard("cannot append steps"):
            self.steps.insert_events(events)

    def session_index(self) -> Iterator[tuple[UUID, bytes]]:
        """(session id, header line) of every session, in the order they started."""
        start: int | None = None
        while True:
            with self._guard("cannot list sessions"):
                page = self.sessions.select_notifications(start, PAGE_SIZE, topics=[SESSION_TOPIC])
            for n in page:
                yield _uuid(n.originator_id), n.state
            if len(page) < PAGE_SIZE:
                return
            start = page[-1].id + 1

    def latest_session(self) -> UUID | None:
        """The session that started last, or None in an empty store."""
        with self._guard("cannot list sessions"):
            last = self.sessions.max_notification_id()
            if not last:
                return None
            page = self.sessions.select_notifications(last, 1)
        return _uuid(page[0].originator_id) if page else None

    def index_header(self, session: UUID) -> bytes | None:
        """The header line the session index holds for ``session`` (None: unknown session)."""
        with self._guard("cannot read the session index"):
            found = self.sessions.select_events(session, limit=1)
        return found[0].state if found else None

    def last_version(self, session: UUID) -> int:
        """The highest committed version of the session's stream (0 when it has none)."""
        with self._guard("cannot read a session"):
            found = self.steps.select_events(session, desc=True, limit=1)
        return found[0].originator_version if found else 0

    def events(self, session: UUID, *, gt: int = 0) -> Iterator[StoredEvent]:
        """The stream's events with version > ``gt``, in order, read a page at a time."""
        while True:
            with self._guard("cannot read a session"):
                page = self.steps.select_events(session, gt=gt, limit=PAGE_SIZE)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            gt = page[-1].originator_version

    def close(self) -> None:
        """Close the datastore's connections (idempotent)."""
        with contextlib.suppress(Exception):
            self._factory.close()


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
