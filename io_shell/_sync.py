"""OS-thread primitives that stay OS-thread primitives when a host monkey-patched gevent.

The runtime lives in a thread of its own (``_hub.HubThread``) and talks to the host's threads.
If the host ran ``gevent.monkey.patch_all()``, ``threading.Thread`` would start a greenlet in
the *host's* hub and ``threading.Lock`` would be a greenlet lock, and the isolation would be
gone. So the few primitives that cross threads are taken from the original ``_thread``
module, whatever the host did.
"""

from __future__ import annotations

from typing import Any, Callable

import gevent.monkey  # type: ignore[import-untyped]

allocate_lock: Callable[[], Any] = gevent.monkey.get_original("_thread", "allocate_lock")
"""A real OS lock (``_thread.allocate_lock``)."""
start_new_thread: Callable[..., int] = gevent.monkey.get_original("_thread", "start_new_thread")
"""Start a real OS thread (``_thread.start_new_thread(fn, args)``)."""
get_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")
"""The calling OS thread's id (under monkey patching ``threading.get_ident`` names greenlets)."""


class OnceEvent:
    """An event that is set once and never cleared; ``wait`` blocks the calling OS thread.

    Safe to set from any thread and to wait on from any number of threads.
    """

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        """Set the event (idempotent); every waiter returns."""
        if not self._set:
            self._set = True
            try:
                self._lock.release()
            except RuntimeError:  # pragma: no cover - two threads set it at once
                pass

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until set or ``timeout_s`` seconds (None: for ever); True if it is set."""
        if self._set:
            return True
        if self._lock.acquire(True, -1 if timeout_s is None else max(0.0, timeout_s)):
            self._lock.release()
        return self._set


__all__ = ["OnceEvent", "allocate_lock", "get_ident", "start_new_thread"]
