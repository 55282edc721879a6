"""The driver: one greenlet that owns the core state and executes its commands.

Structure (design.md, "The I/O shell")::

    reader/writer greenlets (per conn) ─┐
    REST greenlets (token, gateway URL) ─┤
    the timer (one greenlet)            ─┼─► inbox (gevent Queue) ─► driver: core.step,
    delivery greenlet (DispatchSettled) ─┤                            record, execute commands,
    host calls (stop)                   ─┘                            re-arm timer, publish status

Nothing but the driver calls ``core.step``, so the core is never re-entered. Everything that
can block (sockets, REST, the host's dispatch handler, the host's hooks) runs on another
greenlet, so a slow handler or a stuck socket never delays a heartbeat or a zombie check.
Times fed to the core are ``time.monotonic()`` seconds, read when the event happened.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Callable, assert_never

import gevent  # type: ignore[import-untyped]
import gevent.queue  # type: ignore[import-untyped]
import orjson

from qqgate import core
from qqgate.core.journal import Redactor

from . import _rest
from ._config import Recorder, ShellConfig
from ._connection import Connection
from ._status import GatewayStatus, snapshot

core_log = logging.getLogger("qqgate")
log = logging.getLogger("qqgate.shell")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
_END = object()
_MIN_REARM_S = 0.05
"""If the core ever returned the same past deadline after its Tick, re-arm no sooner than this
(the core's invariants forbid it; the shell must not spin even if they broke)."""


def monotonic() -> float:
    """The clock every input's ``at`` is read from (seconds)."""
    return time.monotonic()


class _Timer:
    """The one timer: a greenlet that puts ``Tick(now)`` on the queue once ``deadline`` has passed."""

    def __init__(self, put: Callable[[core.Input], None]) -> None:
        self._put = put
        self._greenlet: Any = None
        self.deadline: float | None = None
        self.fired: float | None = None
        """The deadline of the last Tick the core has processed (set by ``tick_processed``)."""
        self._queued: float | None = None

    def arm(self, deadline: float | None) -> None:
        """Fire at ``deadline`` (monotonic seconds); None cancels. Re-arming an armed deadline is a no-op."""
        if deadline is not None and deadline == self.deadline and self._greenlet is not None \
                and not self._greenlet.dead:
            return
        self.cancel()
        if deadline is None:
            return
        wait_until = deadline
        if self._queued is not None and deadline <= self._queued:
            # Its Tick is already queued behind the input just stepped: that Tick will serve it.
            self.deadline = deadline
            return
        if self.fired is not None and deadline <= self.fired:
            log.warning("core deadline %.3f did not advance after its Tick; re-arming in %.2f s",
                        deadline, _MIN_REARM_S)
            wait_until = monotonic() + _MIN_REARM_S
        self.deadline = deadline
        self._greenlet = gevent.spawn(self._wait, deadline, wait_until)

    def cancel(self) -> None:
        if self._greenlet is not None and not self._greenlet.dead:
            self._greenlet.kill(block=False)
        self._greenlet = None
        self.deadline = None

    def _wait(self, deadline: float, wait_until: float) -> None:
        while True:
            delay = wait_until - monotonic()
            if delay <= 0:
                break
            gevent.sleep(delay)
        self._queued = deadline
        self._put(core.Tick(monotonic()))

    def tick_processed(self) -> None:
        """The driver stepped the queued Tick: from now on a deadline that does not advance is a fault."""
        if self._queued is not None:
            self.fired = self._queued
            self._queued = None


class Driver:
    """Runs one gateway connection: call ``start()`` once, then ``put(core.Stop(...))`` to end it.

    Hooks run on their own greenlet in order (``on_status(StatusChanged)``,
    ``on_fatal(Fatal)``); ``on_dispatch(Dispatch)`` runs on the delivery greenlet, one
    dispatch at a time, and each return (or exception: logged, counted) becomes
    ``DispatchSettled(seq, session_epoch)``. ``publish(GatewayStatus)`` is called after every step.
    """

    def __init__(self, config: ShellConfig, *, recorder: Recorder | None,
                 on_dispatch: Callable[[core.Dispatch], None],
                 on_status: Callable[[core.StatusChanged], None] | None,
                 on_fatal: Callable[[core.Fatal], None] | None,
                 publish: Callable[[GatewayStatus], None]) -> None:
        self.config = config
        self.state = core.initial_state(config.core)
        self._recorder = recorder
        self._on_dispatch = on_dispatch
        self._on_status = on_status
        self._on_fatal = on_fatal
        self._publish_to = publish
        self._inbox: Any = gevent.queue.Queue()
        self._deliveries: Any = gevent.queue.Queue()
        self._hooks: Any = gevent.queue.Queue()
        self._timer = _Timer(self.put)
        self.connections: dict[int, Connection] = {}
        self._rest: set[Any] = set()
        self._redactor = Redactor(config.secrets)
        self._last_ready_at: float | None = None
        self._detail = "not started"
        self._last_fatal: str | None = None
        self.counters = {"inputs": 0, "dispatches_settled": 0, "handler_errors": 0,
                         "journal_errors": 0, "hook_errors": 0}
        self.greenlet: Any = None
        self._delivery: Any = None
        self._hook_runner: Any = None
        self.running = False

    # -- public ----------------------------------------------------------------------------
    def put(self, inp: core.Input) -> None:
        """Queue one input for the driver; never blocks."""
        self._inbox.put(inp)

    def start(self) -> None:
        """Spawn the driver, delivery and hook greenlets and feed ``Start``."""
        self.running = True
        self._delivery = gevent.spawn(self._delivery_loop)
        self._hook_runner = gevent.spawn(self._hook_loop)
        self.put(core.Start(monotonic()))
        self.greenlet = gevent.spawn(self._run)
        self._publish()

    def in_worker(self) -> bool:
        """True when called from the delivery or hook greenlet (a handler calling ``stop()``)."""
        current = gevent.getcurrent()
        return current is self._delivery or current is self._hook_runner

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                inp = self._inbox.get()
                self._step(inp)
                if isinstance(inp, core.Stop):
                    break
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - the driver must never die silently
            log.exception("driver crashed")
            reason = f"internal error in the gateway driver: {type(exc).__name__}: {exc}"
            self._last_fatal = reason
            self._hooks.put(core.Fatal(reason, retryable=False))
        finally:
            self.running = False
            self._shutdown()
            self._publish()

    def _step(self, inp: core.Input) -> None:
        self.state, commands = core.step(self.state, inp)
        self.counters["inputs"] += 1
        self._redactor.see_input(inp)
        self._record(inp, commands)
        for command in commands:
            try:
                self._execute(command)
            except Exception:  # noqa: BLE001 - one failed command must not stop the others
                log.exception("executing %s failed", type(command).__name__)
        self._sweep()
        if isinstance(inp, core.Tick):
            self._timer.tick_processed()
        self._timer.arm(core.next_deadline(self.state))
        self._publish()

    def _record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder.record(inp, commands)
        except Exception:  # noqa: BLE001 - a broken journal must not stop the gateway
            self.counters["journal_errors"] += 1
            if self.counters["journal_errors"] == 1:
                log.exception("journal: recording a step failed (further failures are only counted)")

    def _publish(self) -> None:
        self._publish_to(snapshot(self.state, running=self.running, last_ready_at=self._last_ready_at,
                                  detail=self._detail, last_fatal=self._last_fatal,
                                  updated_at=monotonic(), shell_counters=self.counters))

    # -- commands --------------------------------------------------------------------------
    def _execute(self, command: core.Command) -> None:
        match command:
            case core.SendFrame():
                connection = self.connections.get(command.conn)
                if connection is None or connection.closing:
                    self.put(core.SendFailed(monotonic(), command.conn, "connection already closed"))
                else:
                    connection.send(command.text)
            case core.Log():
                self._log(command)
            case core.Deliver():
                self._deliveries.put(command.dispatch)
            case core.OpenSocket():
                self._open(command)
            case core.CloseSocket():
                connection = self.connections.get(command.conn)
                if connection is not None:
                    connection.close(command.code, command.reason)
            case core.FetchToken():
                self._spawn_rest(self._fetch_token)
            case core.ResolveGateway():
                self._spawn_rest(self._resolve_gateway, command.token)
            case core.StatusChanged():
                self._detail = command.detail
                if command.phase is core.Phase.READY:
                    self._last_ready_at = self.state.now
                self._hooks.put(command)
            case core.Fatal():
                self._last_fatal = command.reason
                self._hooks.put(command)
            case _:
                assert_never(command)

    def _open(self, command: core.OpenSocket) -> None:
        old = self.connections.pop(command.conn, None)
        if old is not None:  # pragma: no cover - the core never reuses a conn id
            old.kill()
        cfg = self.config
        self.connections[command.conn] = Connection(
            command.conn, command.url, self.put, connect_timeout_s=cfg.core.connect_timeout_s,
            send_timeout_s=cfg.send_timeout_s, close_timeout_s=cfg.close_timeout_s,
            verify_tls=cfg.verify_tls, on_done=self._connection_done)

    def _connection_done(self, connection: Connection) -> None:
        if self.connections.get(connection.conn) is connection:
            del self.connections[connection.conn]

    def _sweep(self) -> None:
        """Close any socket the core no longer names (it always closes them itself; a safety net)."""
        for conn, connection in list(self.connections.items()):
            if conn != self.state.live_conn and not connection.closing:
                log.warning("connection %s left open by the core; closing it", conn)
                connection.close(core.CLIENT_RESUME_CLOSE, "connection abandoned")

    def _log(self, command: core.Log) -> None:
        level = _LEVELS.get(command.level, logging.WARNING)
        if not core_log.isEnabledFor(level):
            return
        fields = self._redactor.redact(dict(command.fields))
        text = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
        core_log.log(level, "%s %s", command.event, text,
                     extra={"qqgate_event": command.event, "qqgate_fields": fields})

    # -- REST --------------------------------------------------------------------------------
    def _spawn_rest(self, fn: Callable[..., None], *args: Any) -> None:
        greenlet = gevent.spawn(fn, *args)
        self._rest.add(greenlet)
        greenlet.link(self._rest.discard)

    def _fetch_token(self) -> None:
        try:
            token, expires_in_s = _rest.fetch_token(self.config)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes TokenFailed
            self.put(core.TokenFailed(monotonic(), self._error_text(exc)))
        else:
            self.put(core.TokenIssued(monotonic(), token, expires_in_s))

    def _resolve_gateway(self, token: str) -> None:
        try:
            url, limit = _rest.resolve_gateway(self.config, token)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes GatewayFailed
            self.put(core.GatewayFailed(monotonic(), self._error_text(exc)))
        else:
            self.put(core.GatewayResolved(monotonic(), url, limit))

    def _error_text(self, exc: BaseException) -> str:
        if isinstance(exc, _rest.RestError):
            return str(exc)
        text = f"unexpected {type(exc).__name__}: {exc}"
        redacted: str = self._redactor.redact(text)
        return redacted

    # -- the host's code -------------------------------------------------------------------
    def _delivery_loop(self) -> None:
        while True:
            dispatch = self._deliveries.get()
            if dispatch is _END:
                return
            try:
                # The host gets its own copy of ``d``: the recorded Deliver command holds the
                # original, which a journal may encode later; a handler that mutates its
                # dispatch must not rewrite history (or break the replay).
                self._on_dispatch(replace(dispatch, data=orjson.loads(orjson.dumps(dispatch.data))))
            except gevent.GreenletExit:
                raise
            except Exception:  # noqa: BLE001 - the handler's bug is logged, counted and settled
                self.counters["handler_errors"] += 1
                log.exception("dispatch handler raised for s=%s t=%s (settled anyway)",
                              dispatch.seq, dispatch.event_type)
            self.counters["dispatches_settled"] += 1
            self.put(core.DispatchSettled(monotonic(), dispatch.seq, dispatch.session_epoch))

    def _hook_loop(self) -> None:
        while True:
            item = self._hooks.get()
            if item is _END:
                return
            try:
                match item:
                    case core.StatusChanged():
                        if self._on_status is not None:
                            self._on_status(item)
                    case core.Fatal():
                        (log.error if not item.retryable else log.warning)("fatal: %s", item.reason)
                        if self._on_fatal is not None:
                            self._on_fatal(item)
            except gevent.GreenletExit:
                raise
            except Exception:  # noqa: BLE001
                self.counters["hook_errors"] += 1
                log.exception("%s hook raised", type(item).__name__)

    # -- the end -----------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """After Stop (or a crash): let close handshakes finish, then end every greenlet.

        Bounded by ``close_timeout_s + 1`` seconds in all: sockets still open after the close
        handshake are dropped, queued deliveries are dropped (unsettled, so a later resume of
        the session would replay them), and a handler still running at the end is killed.
        """
        self._timer.cancel()
        for greenlet in list(self._rest):
            greenlet.kill(block=False)
        grace = self.config.close_timeout_s
        end_by = monotonic() + grace + 1.0  # the whole shutdown, so stop()'s default 5 s suffices
        for connection in list(self.connections.values()):
            if not connection.closing:
                connection.close(1000, "client stopping")
        while self.connections and monotonic() < end_by - 0.5:
            gevent.sleep(0.01)
        for connection in list(self.connections.values()):
            connection.kill()
        # Deliveries not yet started are dropped (unsettled: a resume would replay them);
        # the one in progress may finish within the grace.
        while not self._deliveries.empty():
            self._deliveries.get_nowait()
        for worker, queue in ((self._delivery, self._deliveries), (self._hook_runner, self._hooks)):
            queue.put(_END)
            if worker is not None and worker is not gevent.getcurrent():
                worker.join(timeout=max(0.1, end_by - monotonic()))
                if not worker.dead:
                    log.warning("a host handler did not return within %.1f s of stop; killing it", grace + 1.0)
                    worker.kill(block=False)
