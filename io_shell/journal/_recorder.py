"""JournalRecorder: journals every step of one connection session without blocking the driver.

``record(inp, commands)`` only appends the pair to an in-memory queue (no I/O, no
encoding): it is safe to call from the driver greenlet on the gevent hub. One writer takes
the queue in batches of at most ``batch_size`` steps, encodes each step as the journal
format's ``step_line`` (the registered secrets and every access token become placeholders),
and commits the batch with the aggregate recorder's ``insert_events``: one transaction per
batch, so a killed process leaves a journal that ends at its last committed step. A partial
batch is committed ``flush_interval_s`` seconds after its first step, or at once on
``flush()`` and ``close()``.

Two writer modes:

- ``"gevent"``: the writer is a greenlet; encoding and the blocking commit run in gevent's
  threadpool (``io_shell._cooperative.in_threadpool``), so the hub keeps serving other greenlets.
  ``record``/``flush``/``close`` must be called from the hub's thread.
- ``"thread"``: the writer is a daemon OS thread (plain programs, tests).

``"auto"`` (default) picks "gevent" when ``threading`` is monkey-patched, else "thread".

If a commit fails (store gone, disk full) the recorder stops: later steps are dropped
(counted in ``dropped``), ``error`` holds the cause, and ``flush()``/``close()`` raise
JournalWriteError. The journal stays a valid prefix of the session.
"""

from __future__ import annotations

import collections
import importlib.metadata
import os
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterable, Literal, Protocol

from eventsourcing.persistence import StoredEvent

from qqgate import core
from qqgate.core.journal import Redactor, Step, header_line, step_line

from .._cooperative import in_threadpool
from ._store import STEP_TOPIC, JournalStoreError, JournalWriteError, Store, parse_target, preload_driver

Mode = Literal["auto", "gevent", "thread"]

MAX_PENDING = 200_000
"""Steps waiting for the writer beyond which the recorder gives up (a store far too slow)."""


class _Event(Protocol):
    def set(self) -> None: ...

    def clear(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def _threading_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("threading"))


class JournalRecorder:
    """Journals one session; build it with ``open_recorder``.

    ``session_id`` is the session's UUID (str). ``recorded`` counts accepted ``record()``
    calls, ``committed`` the steps durably in the store, ``dropped`` the steps lost after a
    failure. Use as a context manager to ``close()`` on exit.
    """

    def __init__(self, store: Store, session: uuid.UUID, redactor: Redactor, *,
                 batch_size: int, flush_interval_s: float, mode: Literal["gevent", "thread"]) -> None:
        self._store = store
        self._uuid = session
        self.session_id = str(session)
        self._redactor = redactor
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self.mode = mode
        self._pending: collections.deque[Step] = collections.deque()
        self._recorded = 0
        self._committed = 0
        self._dropped = 0
        self._flush_upto = 0
        self._closing = False
        self._closed = False
        self.error: BaseException | None = None
        self._offload: Callable[[Callable[[], None]], None]
        self._new_event: Callable[[], _Event]
        self._writer: Any
        if mode == "gevent":
            import gevent  # type: ignore[import-untyped]
            import gevent.event  # type: ignore[import-untyped]
            self._new_event, self._offload = gevent.event.Event, in_threadpool
        else:
            self._new_event, self._offload = threading.Event, lambda fn: fn()
        self._wake = self._new_event()
        """Set when the writer has something to do: a first or a full batch, a flush, close."""
        self._progress = self._new_event()
        """Set (and replaced) after every commit or failure: what ``flush()`` waits on."""
        if mode == "gevent":
            self._writer = gevent.spawn(self._run)
        else:
            self._writer = threading.Thread(target=self._run, daemon=True,
                                            name=f"qqgate-journal-{self.session_id[:8]}")
            self._writer.start()

    def __repr__(self) -> str:
        return (f"JournalRecorder(session_id={self.session_id!r}, store={self._store.target.display!r}, "
                f"recorded={self._recorded}, committed={self._committed}, mode={self.mode!r})")

    @property
    def recorded(self) -> int:
        """Steps accepted by ``record()`` so far."""
        return self._recorded

    @property
    def committed(self) -> int:
        """Steps committed to the store so far (a prefix of the recorded ones)."""
        return self._committed

    @property
    def dropped(self) -> int:
        """Steps not journaled because the recorder had failed (see ``error``)."""
        return self._dropped

    # -- the driver's side -------------------------------------------------------------
    def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        """Queue one step. Never blocks and never does I/O; call it from one greenlet/thread.

        Raises JournalWriteError only when called after ``close()``. After a store failure
        steps are dropped silently here (``error`` and ``flush()`` report the failure).
        """
        if self._closing:
            raise JournalWriteError(f"{self!r}: record() after close()")
        if self.error is not None:
            self._dropped += 1
            return
        self._pending.append((inp, commands))
        self._recorded += 1
        n = len(self._pending)
        if n > MAX_PENDING:
            self._fail(JournalWriteError(f"{self._store.target.display}: the store is too slow: "
                                         f"{n} steps waiting"))
        elif n == 1 or n >= self._batch_size:
            self._wake.set()

    def flush(self, timeout_s: float | None = None) -> None:
        """Block until every step recorded so far is committed.

        Raises JournalWriteError if the recorder failed, TimeoutError after ``timeout_s``
        seconds (None: no limit). In gevent mode only the calling greenlet waits.
        """
        target = self._recorded
        if target > self._flush_upto:
            self._flush_upto = target
        self._wake.set()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            progress = self._progress
            if self.error is not None:
                raise JournalWriteError(f"journal session {self.session_id}: only {self._committed} of "
                                        f"{self._recorded} steps committed: {self.error}") from self.error
            if self._committed >= target:
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"journal flush: {self._committed} of {target} steps committed "
                                   f"after {timeout_s} s")
            progress.wait(remaining)

    def close(self, timeout_s: float | None = None) -> None:
        """Commit what is queued, stop the writer and close the store (idempotent).

        Raises JournalWriteError if some recorded step could not be committed, TimeoutError
        if the writer does not finish within ``timeout_s`` seconds (None: no limit).
        """
        if self._closed:
            return
        try:
            self.flush(timeout_s)
        finally:
            self._closing = True
            self._wake.set()
            self._writer.join(timeout_s)
            if not self._writer_alive():
                self._closed = True
                self._offload(self._store.close)

    def __enter__(self) -> JournalRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer's side -------------------------------------------------------------
    def _writer_alive(self) -> bool:
        if self.mode == "gevent":
            return not self._writer.dead
        return bool(self._writer.is_alive())

    def _run(self) -> None:
        try:
            while self.error is None:
                self._wake.clear()
                n = len(self._pending)
                if n == 0:
                    if self._closing:
                        return
                    self._wake.wait()
                    continue
                urgent = n >= self._batch_size or self._closing or self._flush_upto > self._committed
                if not urgent:
                    self._wake.wait(self._flush_interval_s)
                    if self.error is not None:  # failed while waiting (a store far too slow)
                        break
                self._commit_next()
        except BaseException as exc:  # the writer must never die silently
            self._fail(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if self.error is not None:  # only the writer empties the queue: no race with popleft
                self._dropped += len(self._pending)
                self._pending.clear()
            self._signal_progress()

    def _commit_next(self) -> None:
        count = min(len(self._pending), self._batch_size)
        batch = [self._pending.popleft() for _ in range(count)]
        first = self._committed + 1
        try:
            self._offload(lambda: self._encode_and_insert(first, batch))
        except Exception as exc:
            self._dropped += count
            self._fail(exc)
            return
        self._committed += count
        self._signal_progress()

    def _encode_and_insert(self, first: int, batch: list[Step]) -> None:
        """Runs off the hub: encode (redacting) and insert one batch in one transaction."""
        redactor, uid = self._redactor, self._uuid
        self._store.append([StoredEvent(uid, i + 1, STEP_TOPIC, step_line(i, inp, commands, redactor))
                            for i, (inp, commands) in enumerate(batch, start=first)])

    def _fail(self, exc: BaseException) -> None:
        """Stop journaling: keep the first error; the writer drops what is queued and exits."""
        if self.error is None:
            self.error = exc
        self._wake.set()
        self._signal_progress()

    def _signal_progress(self) -> None:
        progress, self._progress = self._progress, self._new_event()
        progress.set()


def _versions(header: dict[str, Any]) -> dict[str, Any]:
    versions = dict(header.get("versions") or {})
    versions.setdefault("qqgate", core.__version__)
    try:
        versions.setdefault("eventsourcing", importlib.metadata.version("eventsourcing"))
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        pass
    return versions


def open_recorder(target: str | os.PathLike[str], header: dict[str, Any],
                  secrets: Iterable[tuple[str, str]] = (), batch_size: int = 256,
                  flush_interval_s: float = 0.05, mode: Mode = "auto") -> JournalRecorder:
    """Start a new journal session in ``target`` and return its recorder.

    ``target``: a SQLite file path (created with its tables if missing) or a
    ``postgresql://user:pass@host:port/db`` URL. ``header``: the header fields
    (``core.journal.journal_header``); ``versions`` gains the qqgate and eventsourcing
    versions, and ``session_id``, ``started_at_unix_s`` and ``started_at_monotonic_s`` are
    added. It is redacted like every step and written before this returns (as the stream's first event).
    ``secrets``: (secret, label) pairs redacted everywhere, e.g. the client secret;
    access tokens from TokenIssued are redacted automatically. ``batch_size`` (steps, ≥ 1)
    bounds one transaction; ``flush_interval_s`` (seconds, > 0) is how long a partial batch
    may wait. ``mode``: see the module docstring.

    Raises ValueError on bad arguments, TypeError (orjson's) on a header that is not
    JSON-serializable, JournalStoreError when the store cannot be opened or written. In
    gevent mode the blocking work runs in gevent's threadpool.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(flush_interval_s, (int, float)) or not flush_interval_s > 0:
        raise ValueError(f"flush_interval_s must be a number > 0 (seconds), got {flush_interval_s!r}")
    if mode not in ("auto", "gevent", "thread"):
        raise ValueError(f"mode must be 'auto', 'gevent' or 'thread', got {mode!r}")
    chosen: Literal["gevent", "thread"] = (
        ("gevent" if _threading_patched() else "thread") if mode == "auto" else mode)
    redactor = Redactor(secrets)
    session = uuid.uuid4()
    fields = dict(header)
    fields["versions"] = _versions(header)
    fields["session_id"] = str(session)
    if "started_at_unix_s" not in fields:  # the wall clock and the steps' clock, read together
        fields["started_at_unix_s"], fields["started_at_monotonic_s"] = time.time(), time.monotonic()
    first_line = header_line(fields, redactor)

    def open_and_start() -> Store:
        store = Store(parse_target(target, create=True), create=True)
        try:
            store.start_session(session, first_line)
        except BaseException:
            store.close()
            raise
        return store

    if chosen == "gevent":
        preload_driver(target)  # imports must happen on the hub's thread, not in the pool
        store = in_threadpool(open_and_start)
    else:
        store = open_and_start()
    return JournalRecorder(store, session, redactor, batch_size=batch_size,
                           flush_interval_s=float(flush_interval_s), mode=chosen)


__all__ = ["JournalRecorder", "open_recorder", "JournalStoreError", "JournalWriteError", "MAX_PENDING"]
