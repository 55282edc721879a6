"""The host's side: where dispatches, status changes and fatals are handed over, off the hub.

The runtime thread (``_hub``) never runs host code. Each client has a ``HostSide`` that the
driver fills from the hub thread without blocking (``put_dispatch``, ``put_event``, then
``wake`` once per batch of inputs); host code takes them on threads of its own:

- ``CallbackHost``: ``on_dispatch`` / ``on_status`` / ``on_fatal`` run on an executor
  (anything with ``submit(fn)``, e.g. a ``concurrent.futures.ThreadPoolExecutor``; by default
  the shared ``HandlerPool`` of daemon threads, so a handler that never returns cannot keep
  the process from exiting), each kind
  in order on a *strand* of its own: dispatches one at a time in ``seq`` order, status and
  fatal callbacks in order on a second strand, so a handler stuck on a dispatch does not
  hide a FATAL. A strand takes one executor thread while it has work and none while idle,
  so 10,000 quiet clients hold no thread.
- ``QueueHost``: dispatches go to a thread-safe queue the host iterates
  (``GatewayClient.dispatches()``); status and fatal callbacks still run on a strand.

Each dispatch is settled (``settle(dispatch)``, thread-safe) when its handler returned (or
raised: logged and counted) or, for the queue, when the host asks for the next one. Settles
are coalesced by the driver into one ``DispatchSettled`` step per batch.

An asyncio face sits on the same seam: a HostSide whose ``put_dispatch`` does
``loop.call_soon_threadsafe`` and settles when the coroutine returns.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from typing import Any, Callable, Iterator, Protocol

from qqgate import core

from ._sync import allocate_lock, start_new_thread

log = logging.getLogger("qqgate.shell")

Event = core.StatusChanged | core.Fatal
Settle = Callable[[core.Dispatch], None]

DEFAULT_HANDLER_THREADS = 32
"""Threads of the shared default executor: this many clients may run a handler at once."""

class Executor(Protocol):
    """Runs ``fn()`` on some thread other than the caller's (``concurrent.futures.Executor`` is one)."""

    def submit(self, fn: Callable[[], None], /) -> Any: ...


class HandlerPool:
    """Up to ``max_threads`` daemon threads running submitted calls; threads start on demand and
    then wait for work. Daemon: a host handler that never returns does not keep the process
    alive at exit (a ``ThreadPoolExecutor`` joins its threads at exit)."""

    def __init__(self, max_threads: int = DEFAULT_HANDLER_THREADS) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = allocate_lock()
        self._max = max_threads
        self._threads = 0
        self._idle = 0

    def submit(self, fn: Callable[[], None], /) -> None:
        with self._lock:
            start = self._idle <= 0 and self._threads < self._max
            if start:
                self._threads += 1
            else:
                self._idle -= 1  # an idle thread takes it (or it waits for one: idle < 0)
        self._tasks.put(fn)
        if start:
            start_new_thread(self._work, ())

    def _work(self) -> None:
        while True:
            fn = self._tasks.get()
            try:
                fn()
            except BaseException:  # noqa: BLE001 - a strand logs its callbacks' errors itself
                log.exception("host callback failed")
            with self._lock:
                self._idle += 1


_default_executor: HandlerPool | None = None
_default_lock = allocate_lock()
_in_handler = threading.local()


def default_executor() -> HandlerPool:
    """The process-wide pool for host callbacks, made on first use."""
    global _default_executor
    with _default_lock:
        if _default_executor is None:
            _default_executor = HandlerPool()
        return _default_executor


def in_handler() -> Any:
    """The HostSide whose callback the calling thread is running, or None."""
    return getattr(_in_handler, "host", None)


class HostSide(Protocol):
    """What the driver hands over; every method is called from the hub thread and must not block."""

    def put_dispatch(self, dispatch: core.Dispatch) -> None:
        """One dispatch to handle, in order; settle it with the ``settle`` given at construction."""

    def put_event(self, event: Event) -> None:
        """A StatusChanged or Fatal for the host's callbacks."""

    def wake(self) -> None:
        """The end of a batch: make sure the host is working on what was put."""

    def close(self) -> None:
        """The client ended: drop dispatches not yet started (unsettled: a resume replays them),
        deliver the events already put, then end."""


class _Strand:
    """Runs submitted calls one at a time, in order, on an executor; holds no thread while idle."""

    def __init__(self, executor: Executor, host: Any) -> None:
        self._executor = executor
        self._host = host
        self._items: collections.deque[tuple[Callable[[Any], None], Any]] = collections.deque()
        self._lock = allocate_lock()
        self._running = False
        self.closed = False

    def add(self, fn: Callable[[Any], None], arg: Any) -> None:
        self._items.append((fn, arg))

    def clear(self) -> None:
        self._items.clear()

    def kick(self) -> None:
        if self._running or not self._items:
            return
        with self._lock:
            if self._running:
                return
            self._running = True
        try:
            self._executor.submit(self._drain)
        except RuntimeError:  # the executor was shut down (interpreter exit)
            self._running = False

    def _drain(self) -> None:
        items = self._items
        _in_handler.host = self._host
        try:
            while True:
                try:
                    fn, arg = items.popleft()
                except IndexError:
                    with self._lock:
                        if not items:
                            self._running = False
                            return
                    continue
                fn(arg)
        finally:
            _in_handler.host = None


class CallbackHost:
    """Host callbacks on an executor: dispatches on one strand, status and fatal on another.

    ``on_dispatch(dispatch)`` may block as long as it likes (only later dispatches wait);
    when it returns or raises (logged, counted in ``handler_errors``) the dispatch is settled.
    ``on_dispatch`` None: dispatches go to a ``QueueHost``-like queue instead (``queue``).
    """

    def __init__(self, settle: Settle, on_dispatch: Callable[[core.Dispatch], None] | None,
                 on_status: Callable[[core.StatusChanged], None] | None,
                 on_fatal: Callable[[core.Fatal], None] | None, counters: dict[str, int],
                 executor: Executor | None = None) -> None:
        self._settle = settle
        self._on_dispatch = on_dispatch
        self._on_status = on_status
        self._on_fatal = on_fatal
        self.counters = counters
        executor = executor if executor is not None else default_executor()
        self._dispatches = _Strand(executor, self)
        self._events = _Strand(executor, self)
        self.queue: DispatchQueue | None = None if on_dispatch is not None else DispatchQueue(settle)
        self._closed = False

    def put_dispatch(self, dispatch: core.Dispatch) -> None:
        if self.queue is not None:
            self.queue.put(dispatch)
        elif not self._closed:
            self._dispatches.add(self._run_dispatch, dispatch)

    def put_event(self, event: Event) -> None:
        if not self._closed and (self._on_status is not None or self._on_fatal is not None):
            self._events.add(self._run_event, event)

    def wake(self) -> None:
        self._dispatches.kick()
        self._events.kick()

    def close(self) -> None:
        self._closed = True
        self._dispatches.clear()
        if self.queue is not None:
            self.queue.end()
        self._events.kick()

    def _run_dispatch(self, dispatch: core.Dispatch) -> None:
        if self._closed:
            return
        handler = self._on_dispatch
        assert handler is not None
        try:
            handler(dispatch)
        except Exception:  # noqa: BLE001 - the handler's bug is logged, counted and settled
            self.counters["handler_errors"] += 1
            log.exception("dispatch handler raised for s=%s t=%s (settled anyway)",
                          dispatch.seq, dispatch.event_type)
        self._settle(dispatch)

    def _run_event(self, event: Event) -> None:
        try:
            if isinstance(event, core.StatusChanged):
                if self._on_status is not None:
                    self._on_status(event)
            elif self._on_fatal is not None:
                self._on_fatal(event)
        except Exception:  # noqa: BLE001
            self.counters["hook_errors"] += 1
            log.exception("%s hook raised", type(event).__name__)


_END = object()


class DispatchQueue:
    """Dispatches for a host that pulls them: ``get(timeout_s)`` from any thread, in order.

    Iterating (``for dispatch in queue``) settles each dispatch when the next is asked for,
    i.e. when the loop body for it has finished; the iteration ends when the client ends.
    A dispatch taken with ``get`` is settled with ``settle(dispatch)``.
    """

    def __init__(self, settle: Settle) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.settle = settle
        self._ended = False

    def put(self, dispatch: core.Dispatch) -> None:
        if not self._ended:
            self._queue.put(dispatch)

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put(_END)

    def get(self, timeout_s: float | None = None) -> core.Dispatch | None:
        """The next dispatch; None when the client has ended or after ``timeout_s`` seconds."""
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _END:
            self._queue.put(_END)  # every later get ends too
            return None
        dispatch: core.Dispatch = item
        return dispatch

    def __iter__(self) -> Iterator[core.Dispatch]:
        while True:
            dispatch = self.get()
            if dispatch is None:
                return
            yield dispatch
            self.settle(dispatch)


__all__ = ["CallbackHost", "DispatchQueue", "Executor", "HandlerPool", "HostSide", "DEFAULT_HANDLER_THREADS", "default_executor",
           "in_handler"]
