"""Blocking calls made cooperative: the shell's one way into gevent's threadpool.

A REST call (``requests``: DNS, TLS) or a journal commit (sqlite3, psycopg) blocks the thread
it runs on; on the gevent hub that would stall every greenlet, the core's timer included
(design.md, "The I/O shell": blocking C calls run in gevent's threadpool).

- ``in_threadpool(fn)``: run ``fn()`` in the hub's threadpool; the calling greenlet waits,
  the others run.
- ``run_cooperatively(fn, *args)``: on the calling greenlet when ``socket`` is
  monkey-patched (the call already yields), else in the threadpool.

Both re-raise ``fn``'s exception on the calling greenlet. It travels back as a value: gevent
would otherwise print a traceback for every pool task that raises.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

_T = TypeVar("_T")


def in_threadpool(fn: Callable[[], _T]) -> _T:
    """Run blocking ``fn()`` in gevent's threadpool, waiting cooperatively; return its result.

    Call it from a greenlet of the hub's thread. Raises what ``fn`` raises.
    """
    import gevent  # type: ignore[import-untyped]

    def boxed() -> tuple[bool, Any]:
        try:
            return True, fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling greenlet
            return False, exc

    ok, value = gevent.get_hub().threadpool.apply(boxed)
    if not ok:
        raise value
    result: _T = value
    return result


def run_cooperatively(fn: Callable[..., _T], *args: Any) -> _T:
    """Run blocking ``fn(*args)`` without blocking the gevent hub; exceptions propagate.

    On the calling greenlet when ``socket`` is monkey-patched, else in the hub's threadpool.
    """
    import gevent.monkey  # type: ignore[import-untyped]

    if gevent.monkey.is_module_patched("socket"):
        return fn(*args)
    return in_threadpool(lambda: fn(*args))
