"""The runtime's own OS thread and gevent hub, and the one timer that serves every session in it.

Isolation by construction: every greenlet of every ``GatewayClient`` (readers, writers, REST
calls) and every ``core.step`` runs in a ``HubThread``, an OS thread with a gevent hub of its
own. The host (asyncio, threads, plain blocking code, even a gevent program that patched
everything) never runs in that thread, so no host code can delay a heartbeat, and no host
needs monkey-patching. Calls into the hub cross with ``call`` (libev's thread-safe async
watcher); what comes out to the host crosses through thread-safe queues (``_host``).

Timers are deadlines (aioquic's ``get_timer()``): each driver asks for one wake-up at
``core.next_deadline``. They are kept in one heap per hub and served by one libev timer
watcher, on a grid of ``grid_s`` seconds: a deadline is rounded *up* to the grid, so sessions
due within the same slot are woken together by one wake-up of the loop instead of one each
(the core ignores nothing it needs: a Tick at or after a deadline runs it; a heartbeat is
therefore at most ``grid_s`` late by design, 20 ms by default against QQ's 41.25 s interval).
No greenlet is spawned per deadline.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from concurrent.futures import Future
from typing import Any, Callable, Protocol, TypeVar

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]

from ._sync import OnceEvent, allocate_lock, get_ident, start_new_thread

log = logging.getLogger("qqgate.shell")

T = TypeVar("T")

DEFAULT_GRID_S = 0.02
"""Timer grid (seconds): deadlines are rounded up to a multiple of it."""
_MIN_DELAY_S = 0.0005


class Timed(Protocol):
    """What the scheduler wakes: a driver with a ``timer_slot`` attribute and ``on_timer(now)``."""

    timer_slot: float | None

    def on_timer(self, now: float) -> None: ...


class Scheduler:
    """Deadlines of many drivers on one libev timer (hub thread only).

    ``arm(owner, deadline)`` asks for ``owner.on_timer(now)`` at the first grid slot at or
    after ``deadline`` (monotonic seconds; None cancels). Re-arming the same slot is free;
    an abandoned slot stays in the heap and is skipped when it comes up.
    """

    def __init__(self, loop: Any, grid_s: float = DEFAULT_GRID_S) -> None:
        if not grid_s >= 0:
            raise ValueError(f"grid_s must be >= 0 seconds, got {grid_s!r}")
        self._loop = loop
        self.grid_s = grid_s
        self._heap: list[tuple[float, int, Timed]] = []
        self._order = itertools.count()
        self._watcher: Any = None
        self._watcher_at: float | None = None
        self.wakeups = 0
        """Times the timer fired (for benchmarks: wake-ups per heartbeat)."""

    def arm(self, owner: Timed, deadline: float | None) -> None:
        if deadline is None:
            owner.timer_slot = None
            return
        grid = self.grid_s
        slot = math.ceil(deadline / grid) * grid if grid else deadline
        if slot < deadline:  # float rounding: never earlier than asked
            slot = deadline
        if slot == owner.timer_slot:
            return
        owner.timer_slot = slot
        heapq.heappush(self._heap, (slot, next(self._order), owner))
        if self._watcher_at is None or slot < self._watcher_at:
            self._start(slot)

    def _start(self, at: float) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        self._loop.update_now()
        self._watcher_at = at
        self._watcher = self._loop.timer(max(_MIN_DELAY_S, at - time.monotonic()))
        self._watcher.start(self._fire)

    def _fire(self) -> None:
        self._watcher = None
        self._watcher_at = None
        self.wakeups += 1
        heap = self._heap
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            slot, _, owner = heapq.heappop(heap)
            if owner.timer_slot != slot:
                continue  # re-armed elsewhere or cancelled
            owner.timer_slot = None
            try:
                owner.on_timer(now)
            except Exception:  # pragma: no cover - a driver handles its own errors
                log.exception("timer callback failed")
        if heap:
            self._start(heap[0][0])


class HubThread:
    """An OS thread running a gevent hub for runtime work; ``call`` carries work into it.

    ``HubThread.shared()`` is the process-wide one every ``GatewayClient`` uses unless given
    another: one thread for all bots of a process (one hub, one heap of deadlines). It is a
    daemon thread started on first use. ``stop()`` ends it (tests).
    """

    _shared: "HubThread | None" = None
    _shared_lock = allocate_lock()

    def __init__(self, name: str = "qqgate-hub", grid_s: float = DEFAULT_GRID_S) -> None:
        self.name = name
        self._grid_s = grid_s
        self._started = OnceEvent()
        self._ended = OnceEvent()
        self._loop: Any = None
        self._done: Any = None
        self._keepalive: Any = None
        self.scheduler: Scheduler
        self.ident: int | None = None
        self._failure: BaseException | None = None
        start_new_thread(self._main, ())
        if not self._started.wait(10.0):
            raise RuntimeError(f"{name}: the runtime thread did not start within 10 s")
        if self._failure is not None:
            raise RuntimeError(f"{name}: the runtime thread failed to start: {self._failure!r}")

    @classmethod
    def shared(cls) -> "HubThread":
        """The process-wide hub thread, started on first use (and again if it was stopped)."""
        with cls._shared_lock:
            hub = cls._shared
            if hub is None or hub._ended.is_set():
                hub = cls._shared = cls()
            return hub

    def _main(self) -> None:
        try:
            import threading
            try:  # a name for debuggers and py-spy; harmless if threading is patched
                threading.current_thread().name = self.name
            except Exception:  # noqa: BLE001
                pass
            self.ident = get_ident()
            hub = gevent.get_hub()
            self._loop = hub.loop
            self.scheduler = Scheduler(self._loop, self._grid_s)
            self._done = gevent.event.Event()
            # The loop must not run dry while no client is busy (gevent would raise LoopExit):
            # a referenced timer keeps it alive until stop().
            self._keepalive = self._loop.timer(3600.0, 3600.0)
            self._keepalive.start(lambda: None)
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._failure = exc
            self._started.set()
            return
        self._started.set()
        try:
            self._done.wait()
        finally:
            self._ended.set()

    # -- crossing into the hub ---------------------------------------------------------------
    def in_hub(self) -> bool:
        """True when called from this hub's OS thread."""
        return get_ident() == self.ident

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub thread soon (from any thread; never blocks).

        ``fn`` runs as a loop callback: it must not block or switch greenlets (spawn one
        for that). Its exceptions are logged.
        """
        if self._ended.is_set():
            raise RuntimeError(f"{self.name} has stopped")
        self._loop.run_callback_threadsafe(_guarded, fn, args)

    def run(self, fn: Callable[[], T], timeout_s: float | None = 10.0) -> T:
        """Run ``fn()`` on a greenlet of the hub and wait for its result (from another thread).

        Raises what ``fn`` raises, or TimeoutError after ``timeout_s`` seconds.
        """
        if self.in_hub():
            return fn()
        future: Future[T] = Future()

        def run_it() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

        self.call(gevent.spawn, run_it)
        return future.result(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """End the hub thread (its greenlets are abandoned); True when it ended in time."""
        if not self._ended.is_set():
            self._loop.run_callback_threadsafe(self._end_here)
        return self._ended.wait(timeout_s)


    def _end_here(self) -> None:
        self._keepalive.stop()
        self._done.set()


def _guarded(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - a loop callback must not take the hub down
        log.exception("runtime callback %r failed", getattr(fn, "__qualname__", fn))


__all__ = ["DEFAULT_GRID_S", "HubThread", "Scheduler", "Timed"]
