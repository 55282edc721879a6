"""GatewayClient: the embedding API of the I/O shell.

::

    client = GatewayClient(ShellConfig.from_env(core=core.Config(seed=...)), on_dispatch=handle)
    client.start()              # non-blocking: spawns the driver greenlet
    ...
    if not client.is_ready():   # a send path fails fast instead of waiting on a dead gateway
        ...
    client.status()             # a GatewayStatus snapshot; never blocks
    client.stop()               # Stop → close 1000 → driver ends → journal closed

The host runs a gevent hub (it may or may not have monkey-patched; see io_shell._rest and
io_shell._connection for how each works either way). Every callback runs on a greenlet of
its own, never on the driver: ``on_dispatch`` on the delivery greenlet (in order, one at a
time; a slow handler delays only later dispatches, never heartbeats), ``on_status`` and
``on_fatal`` on the hook greenlet.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any, Callable

from qqgate import core

from ._config import Recorder, ShellConfig
from ._driver import Driver
from ._status import GatewayStatus, snapshot

log = logging.getLogger("qqgate.shell")


def open_journal(config: ShellConfig) -> Recorder | None:
    """The recorder for ``config.journal``: None, the object itself, or ``io_shell.journal.open_recorder``.

    Raises ImportError when a target string is given but ``io_shell.journal`` is missing,
    and whatever ``open_recorder`` raises for a bad target.
    """
    target = config.journal
    if target is None or isinstance(target, Recorder):
        return target
    journal: Any = importlib.import_module(".journal", __package__)
    recorder: Recorder = journal.open_recorder(target, config.journal_header(), config.secrets)
    return recorder


class GatewayClient:
    """One bot's gateway connection, driven by the pure core.

    ``on_dispatch(dispatch)`` gets every ``core.Dispatch`` once, in order (duplicates by
    ``d.id`` are dropped by the core); when it returns (or raises: logged, counted in
    ``handler_errors``) the dispatch is settled, so a resume never skips an unhandled one.
    ``on_fatal(fatal)`` hears every ``core.Fatal`` (``retryable=False``: the client stopped
    for good in FAILED). ``on_status(change)`` hears every ``core.StatusChanged``.
    A client is started once; build a new one to reconnect after ``stop()``.
    """

    def __init__(self, shell_config: ShellConfig, on_dispatch: Callable[[core.Dispatch], None],
                 on_fatal: Callable[[core.Fatal], None] | None = None,
                 on_status: Callable[[core.StatusChanged], None] | None = None) -> None:
        if not isinstance(shell_config, ShellConfig):
            raise TypeError("shell_config must be an io_shell.ShellConfig")
        if not callable(on_dispatch):
            raise TypeError("on_dispatch must be callable")
        self.config = shell_config
        self._on_dispatch = on_dispatch
        self._on_fatal = on_fatal
        self._on_status = on_status
        self._recorder: Recorder | None = None
        self._driver: Driver | None = None
        self._stopped = False
        self._journal_session_id: str | None = None
        self._status: GatewayStatus = snapshot(
            core.initial_state(shell_config.core), running=False, last_ready_at=None,
            detail="not started", last_fatal=None, updated_at=time.monotonic(), shell_counters={})

    def _publish(self, status: GatewayStatus) -> None:
        self._status = status

    def start(self) -> None:
        """Open the journal (if any) and spawn the driver; returns at once.

        Raises RuntimeError when called twice, and what ``open_journal`` raises.
        """
        if self._driver is not None or self._stopped:
            raise RuntimeError("GatewayClient.start() may be called once; build a new client to restart")
        if not self.config.verify_tls:
            log.warning("TLS certificate verification is OFF (verify_tls=False): "
                        "the token and gateway traffic can be intercepted")
        self._recorder = open_journal(self.config)
        session = getattr(self._recorder, "session_id", None)
        self._journal_session_id = str(session) if session is not None else None
        self._driver = Driver(self.config, recorder=self._recorder, on_dispatch=self._on_dispatch,
                              on_status=self._on_status, on_fatal=self._on_fatal, publish=self._publish)
        self._driver.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop: close the socket with 1000, wait up to ``timeout_s`` seconds for the driver to end,
        then close the journal. Returns True when the driver ended in time (else it was killed).

        Called from inside ``on_dispatch``/``on_status``/``on_fatal`` it only asks for the
        stop and returns False at once (the driver waits for that handler to return).
        Idempotent.
        """
        driver = self._driver
        if driver is None:
            self._stopped = True
            self._close_journal()
            return True
        if self._stopped and (driver.greenlet is None or driver.greenlet.dead):
            return True
        self._stopped = True
        if driver.greenlet is not None and not driver.greenlet.dead:
            driver.put(core.Stop(time.monotonic()))
        if driver.in_worker():
            return False
        clean = True
        if driver.greenlet is not None:
            driver.greenlet.join(timeout=timeout_s)
            if not driver.greenlet.dead:
                log.warning("gateway driver did not end within %.1f s of stop(); killing it", timeout_s)
                driver.greenlet.kill(block=True, timeout=1.0)
                clean = False
        self._close_journal()
        return clean

    def _close_journal(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            flush: Any = getattr(recorder, "flush", None)
            if callable(flush):
                flush()
            recorder.close()
        except Exception:  # noqa: BLE001 - closing must not raise into the host's shutdown
            log.exception("journal: closing failed")

    def status(self) -> GatewayStatus:
        """The latest snapshot (published after every step). Never blocks or yields."""
        return self._status

    def is_ready(self) -> bool:
        """True while the driver runs and the connection is READY: a send path can fail fast on False."""
        return self._status.ready

    @property
    def journal_session_id(self) -> str | None:
        """The journal's session id, when the recorder has one."""
        return self._journal_session_id

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait (cooperatively) until the driver ends; True if it has. For hosts with nothing else to do."""
        driver = self._driver
        if driver is None or driver.greenlet is None:
            return True
        driver.greenlet.join(timeout=timeout_s)
        return bool(driver.greenlet.dead)


__all__ = ["GatewayClient", "open_journal"]
