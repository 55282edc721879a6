"""GatewayClient: the embedding API of the I/O shell.

::

    client = GatewayClient(ShellConfig.from_env(core=core.Config(seed=...)), on_dispatch=handle)
    client.start()              # returns at once; the runtime runs in its own thread
    ...
    if not client.is_ready():   # a send path fails fast instead of waiting on a dead gateway
        ...
    client.status()             # a GatewayStatus snapshot; never blocks
    client.stop()               # Stop → close 1000 → driver ends → journal closed

Isolation by construction: the gevent runtime (sockets, timers, REST, ``core.step``) runs in an
OS thread with a gevent hub of its own (``_hub.HubThread``, one per process, shared by every
client). Nothing of the host runs there: any host works as it is (plain blocking code,
threads, asyncio, even a monkey-patched gevent program), no monkey-patching is needed, and
no handler can delay a heartbeat (a ``time.sleep(10)`` or a CPU-bound loop in a handler costs
the heartbeat at most the interpreter's 5 ms switch interval).

Host code runs on host threads (``_host``): ``on_dispatch`` on an executor (a shared pool of
daemon threads unless ``executor`` is given), one dispatch at a time, in order; when
it returns (or raises: logged, counted) the dispatch is settled, so a resume never skips an
unhandled one. ``on_status`` and ``on_fatal`` run in order on a strand of their own. Without
``on_dispatch`` (None) dispatches wait in a thread-safe queue: ``for d in client.dispatches()``.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any, Callable, Iterator

from qqgate import core
from qqgate.core.journal import Redactor

from ._config import Recorder, ShellConfig
from ._driver import Driver
from ._host import CallbackHost, DispatchQueue, Executor, in_handler
from ._hub import HubThread
from ._status import GatewayStatus, snapshot

log = logging.getLogger("qqgate.shell")


def open_journal(config: ShellConfig) -> Recorder | None:
    """The recorder for ``config.journal``: None, the object itself, or ``io_shell.journal.open_recorder``.

    The recorder's writer is an OS thread of its own (``mode="thread"``): ``record`` is called
    from the runtime's hub thread and never blocks it. Raises ImportError when a target string
    is given but ``io_shell.journal`` is missing, and whatever ``open_recorder`` raises for a
    bad target.
    """
    target = config.journal
    if target is None or isinstance(target, Recorder):
        return target
    journal: Any = importlib.import_module(".journal", __package__)
    recorder: Recorder = journal.open_recorder(target, config.journal_header(), config.secrets, mode="thread")
    return recorder


class GatewayClient:
    """One bot's gateway connection, driven by the pure core, in the runtime's own thread.

    ``on_dispatch(dispatch)`` gets every ``core.Dispatch`` once, in order (duplicates by
    ``d.id`` are dropped by the core), on a host thread; ``None`` queues them for
    ``dispatches()``. ``on_fatal(fatal)`` hears every ``core.Fatal`` (``retryable=False``:
    the client stopped for good in FAILED, ``join()`` returns). ``on_status(change)`` hears
    every ``core.StatusChanged``. ``executor`` runs those callbacks (anything with
    ``submit(fn)``; default: the shared ``_host.HandlerPool`` of daemon threads, at most
    ``_host.DEFAULT_HANDLER_THREADS`` clients in a handler at once); ``hub`` is the
    runtime thread (default: the process-wide ``HubThread.shared()``). A client is started
    once; build a new one to reconnect after ``stop()``.
    """

    def __init__(self, shell_config: ShellConfig, on_dispatch: Callable[[core.Dispatch], None] | None,
                 on_fatal: Callable[[core.Fatal], None] | None = None,
                 on_status: Callable[[core.StatusChanged], None] | None = None, *,
                 executor: Executor | None = None, hub: HubThread | None = None) -> None:
        if not isinstance(shell_config, ShellConfig):
            raise TypeError("shell_config must be an io_shell.ShellConfig")
        for name, value in (("on_dispatch", on_dispatch), ("on_fatal", on_fatal), ("on_status", on_status)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None")
        self.config = shell_config
        self._on_dispatch = on_dispatch
        self._on_fatal = on_fatal
        self._on_status = on_status
        self._executor = executor
        self._hub = hub
        self._redactor = Redactor(shell_config.secrets)
        self._recorder: Recorder | None = None
        self._driver: Driver | None = None
        self._host: CallbackHost | None = None
        self._stopped = False
        self._journal_session_id: str | None = None
        self._idle_state = core.initial_state(shell_config.core)

    def start(self) -> None:
        """Open the journal (if any) and start the connection in the runtime thread; returns at once.

        Works from any thread of any host (no event loop or monkey-patching needed). Raises
        RuntimeError when called twice or when the runtime thread cannot start, and what
        ``open_journal`` raises.
        """
        if self._driver is not None or self._stopped:
            raise RuntimeError("GatewayClient.start() may be called once; build a new client to restart")
        if not self.config.verify_tls:
            log.warning("TLS certificate verification is OFF (verify_tls=False): "
                        "the token and gateway traffic can be intercepted")
        hub = self._hub if self._hub is not None else HubThread.shared()
        self._recorder = open_journal(self.config)
        session = getattr(self._recorder, "session_id", None)
        self._journal_session_id = str(session) if session is not None else None
        counters: dict[str, int] = {}
        host = self._make_host(counters)
        driver = Driver(self.config, hub, host, recorder=self._recorder, redactor=self._redactor)
        host.counters = driver.counters  # one dict: handler and hook errors count with the rest
        self._host, self._driver = host, driver
        driver.start()

    def _make_host(self, counters: dict[str, int]) -> CallbackHost:
        """The host side dispatches and events go to (a seam for other faces: the asyncio
        client hands them to its event loop instead of host threads)."""
        return CallbackHost(self._settle, self._on_dispatch, self._on_status, self._on_fatal, counters,
                            self._executor)

    def _settle(self, dispatch: core.Dispatch) -> None:
        driver = self._driver
        if driver is not None:
            driver.settle(dispatch)

    def dispatches(self) -> Iterator[core.Dispatch]:
        """Dispatches in order, for a client built with ``on_dispatch=None``; blocks the calling
        thread for the next one and ends when the client ends. Each dispatch is settled when the
        loop asks for the next (its body finished); take them one consumer at a time.

        Raises RuntimeError when the client has an ``on_dispatch`` or was not started.
        """
        queue = self.dispatch_queue
        return iter(queue)

    @property
    def dispatch_queue(self) -> DispatchQueue:
        """The thread-safe queue behind ``dispatches()`` (``get(timeout_s)``, ``settle(dispatch)``)."""
        host = self._host
        if host is None:
            raise RuntimeError("start() the client before taking dispatches")
        if host.queue is None:
            raise RuntimeError("this client delivers to on_dispatch; build it with on_dispatch=None to iterate")
        return host.queue

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop: close the socket with 1000, wait up to ``timeout_s`` seconds for the runtime to end
        this client, then close the journal. Returns True when it ended in time.

        From inside ``on_dispatch``/``on_status``/``on_fatal`` it only asks for the stop and
        returns False at once. Idempotent; callable from any thread.
        """
        driver = self._driver
        self._stopped = True
        if driver is None:
            self._close_journal()
            return True
        if not driver.ended.is_set():
            try:
                driver.stop_soon()
            except RuntimeError:  # the runtime thread is gone
                driver.ended.set()
        if in_handler() is self._host:
            return False
        clean = driver.ended.wait(timeout_s)
        if not clean:
            log.warning("gateway client did not end within %.1f s of stop()", timeout_s)
        self._close_journal()
        return clean

    def join(self, timeout_s: float | None = None) -> bool:
        """Block the calling thread until this client has ended (a ``stop()``, a non-retryable
        Fatal such as a ban, or a crash of the runtime); True if it has. The journal is closed
        when it returns True."""
        driver = self._driver
        if driver is None:
            return True
        ended = driver.ended.wait(timeout_s)
        if ended and in_handler() is not self._host:
            self._close_journal()
        return ended

    def _close_journal(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            flush: Any = getattr(recorder, "flush", None)
            if callable(flush):
                flush()
            recorder.close()
        except Exception as exc:  # noqa: BLE001 - closing must not raise into the host's shutdown
            log.error("journal: closing failed: %s", self._redactor.text(f"{type(exc).__name__}: {exc}"))

    def status(self) -> GatewayStatus:
        """A snapshot of the connection, built now from the runtime's latest state. Never blocks;
        safe from any thread."""
        driver = self._driver
        if driver is None:
            return snapshot(self._idle_state, running=False, last_ready_at=None, detail="not started",
                            last_fatal=None, updated_at=time.monotonic(), shell_counters={})
        return snapshot(driver.state, running=driver.running, last_ready_at=driver.last_ready_at,
                        detail=driver.detail, last_fatal=driver.last_fatal, updated_at=time.monotonic(),
                        shell_counters=driver.counters, heartbeat_latency_s=driver.heartbeat_latency_s)

    def is_ready(self) -> bool:
        """True while the client runs and the connection is READY: a send path can fail fast on False."""
        driver = self._driver
        return driver is not None and driver.running and driver.state.phase is core.Phase.READY

    @property
    def running(self) -> bool:
        """True from ``start()`` until the client stopped or failed for good."""
        driver = self._driver
        return driver is not None and driver.running

    def redact(self, text: str) -> str:
        """``text`` with the client secret and every access token this client received replaced
        by placeholders: for anything the host prints or stores about this client."""
        return self._redactor.text(text)

    @property
    def journal_session_id(self) -> str | None:
        """The journal's session id, when the recorder has one."""
        return self._journal_session_id


__all__ = ["GatewayClient", "open_journal"]
