"""The driver: owns one client's core state and executes its commands, in the runtime's hub thread.

Structure (design.md, "The I/O shell")::

    reader greenlet (per conn) ── FrameReceived batch ─┐
    writer greenlet (per conn) ── SendFailed ──────────┤
    REST greenlets ── TokenIssued, GatewayResolved ────┼─► feed: core.step, record,
    the hub's timer heap (_hub.Scheduler) ── Tick ─────┤         execute, re-arm once per batch
    host threads (stop, settle) ── via HubThread.call ─┘

There is no driver greenlet and no queue between the reader and the core: ``feed`` steps the
input at once on whatever runs in the hub thread (a reader, a timer callback, a REST
greenlet). Executing a command never blocks or switches greenlets (sockets are written by
the connection's writer, REST calls run on greenlets of their own, host code on the host's
threads), so one step always finishes before anything else runs and the core is never
re-entered: an input that a command produces (SendFailed for a closed socket) is queued and
stepped right after. One timer per client, as a deadline in the hub's heap, re-armed once
per batch. Times fed to the core are ``time.monotonic()`` seconds, read when the event
happened.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace
from typing import Any, Callable, assert_never

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]
import orjson

from qqgate import core
from qqgate.core.journal import Redactor

from . import _rest
from ._config import Recorder, ShellConfig
from ._connection import Connection, Limits, cleartext_refused
from ._host import HostSide
from ._hub import HubThread
from ._sync import OnceEvent, allocate_lock
from ._tokens import TokenBroker

core_log = logging.getLogger("qqgate")
log = logging.getLogger("qqgate.shell")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
_MIN_REARM_S = 0.05
"""If the core ever returned the same past deadline after its Tick, re-arm no sooner than this
(the core's invariants forbid it; the shell must not spin even if they broke)."""
_TERMINAL = (core.Phase.STOPPED, core.Phase.FAILED)


def monotonic() -> float:
    """The clock every input's ``at`` is read from (seconds)."""
    return time.monotonic()


class Driver:
    """Runs one client's gateway connection in ``hub``; ``start()`` once, then ``stop_soon()``.

    Hub-thread only, except the methods marked thread-safe (``start``, ``stop_soon``,
    ``settle``). The driver ends after STOPPED or FAILED (a Stop, a non-retryable Fatal, or a
    crash of its own): sockets are closed (bounded by ``close_timeout_s + 1`` s), the host
    side is closed, ``running`` turns False and ``ended`` is set.
    """

    def __init__(self, config: ShellConfig, hub: HubThread, host: HostSide, *,
                 recorder: Recorder | None, redactor: Redactor) -> None:
        self.config = config
        self.hub = hub
        self.host = host
        self.state = core.initial_state(config.core)
        self._recorder = recorder
        self.redactor = redactor
        self._pending: deque[core.Input] = deque()
        self._stepping = False
        self.connections: dict[int, Connection] = {}
        self._rest: set[Any] = set()
        self.timer_slot: float | None = None
        self._tick_at: float | None = None
        self.last_ready_at: float | None = None
        self.detail = "not started"
        self.last_fatal: str | None = None
        self.counters = {"inputs": 0, "dispatches_settled": 0, "handler_errors": 0,
                         "journal_errors": 0, "hook_errors": 0, "reader_pauses": 0}
        self.running = False
        self.ended = OnceEvent()
        self._ending = False
        self._limits = Limits(config.max_message_bytes, config.max_fragments, config.inbox_size)
        self._copy_data = recorder is not None
        # Settles from host threads, coalesced (thread-safe part).
        self._settle_lock = allocate_lock()
        self._settles: list[tuple[int, int]] = []
        self._settle_wake = False
        self._delivered = 0
        self._settled = 0
        self._room: Any = None
        self._acks_seen = 0
        self.heartbeat_latency_s: float | None = None
        """The last heartbeat's round trip to its ACK (seconds); None before the first ACK."""

    # -- thread-safe entry points -------------------------------------------------------------
    def start(self) -> None:
        """Feed ``Start`` in the hub thread (from any thread)."""
        self.running = True
        self.detail = "starting"
        self.hub.call(self._start_here, monotonic())

    def stop_soon(self) -> None:
        """Feed ``Stop`` in the hub thread (from any thread); ``ended`` tells when it is done."""
        self.hub.call(self.feed, core.Stop(monotonic()))

    def settle(self, dispatch: core.Dispatch) -> None:
        """The host finished with ``dispatch`` (from any thread): becomes ``DispatchSettled``,
        coalesced with the other settles of the same batch (only the latest seq of a session
        epoch is stepped: settling is "up to seq")."""
        entry = (dispatch.seq, dispatch.session_epoch)
        with self._settle_lock:
            self._settled += 1
            settles = self._settles
            if settles and settles[-1][1] == entry[1]:
                settles[-1] = entry
            else:
                settles.append(entry)
            if self._settle_wake:
                return
            self._settle_wake = True
        try:
            self.hub.call(self._flush_settles)
        except RuntimeError:  # the hub has stopped: nothing to settle any more
            pass

    def backlog(self) -> int:
        """Dispatches handed to the host and not yet settled."""
        return self._delivered - self._settled

    # -- the hub side -------------------------------------------------------------------------
    def _start_here(self, at: float) -> None:
        self._room = gevent.event.Event()
        self.feed(core.Start(at))

    def _flush_settles(self) -> None:
        with self._settle_lock:
            settles, self._settles = self._settles, []
            self._settle_wake = False
        if self._ending:
            return
        now = monotonic()
        self.counters["dispatches_settled"] = self._settled
        self._pending.extend(core.DispatchSettled(now, seq, epoch) for seq, epoch in settles)
        if not self._stepping:
            self._drain()
        room = self._room
        if room is not None and self.backlog() < self.config.inbox_size:
            room.set()

    def _heartbeat_acked(self, state: core.State) -> None:
        """A heartbeat ACK arrived in the batch just stepped: its round trip, from the heartbeat's
        send time (seconds; ``GatewayClient.status().heartbeat_latency_s``, discord.py's
        ``latency``)."""
        self._acks_seen = state.counters.heartbeat_acks
        conn = state.conn
        if conn is not None and conn.heartbeat_sent_at is not None:
            self.heartbeat_latency_s = max(0.0, monotonic() - conn.heartbeat_sent_at)

    def on_timer(self, now: float) -> None:
        """The hub's scheduler: this driver's deadline slot has come."""
        self._tick_at = now
        self.feed(core.Tick(now))

    def feed(self, inp: core.Input) -> None:
        """Step ``inp`` now (or right after the step in progress). Hub thread only."""
        if self._ending and not isinstance(inp, core.Stop):
            return
        self._pending.append(inp)
        if not self._stepping:
            self._drain()

    def feed_many(self, inputs: list[core.Input]) -> None:
        """Step ``inputs`` in order, as one batch (one timer re-arm, one hand-over to the host)."""
        if self._ending:
            return
        self._pending.extend(inputs)
        if not self._stepping:
            self._drain()

    def _drain(self) -> None:
        self._stepping = True
        pending = self._pending
        try:
            while pending:
                self._step(pending.popleft())
        except BaseException as exc:  # noqa: BLE001 - the driver must never die silently
            pending.clear()
            self._crashed(exc)
        finally:
            self._stepping = False
        self.host.wake()
        if self._ending:
            return
        state = self.state
        if state.counters.heartbeat_acks != self._acks_seen:  # once per batch, not per dispatch
            self._heartbeat_acked(state)
        phase = state.phase
        if phase is core.Phase.STOPPED or phase is core.Phase.FAILED:
            self._end()
            return
        deadline = core.next_deadline(self.state)
        tick_at, self._tick_at = self._tick_at, None
        if deadline is not None and tick_at is not None and deadline <= tick_at:
            log.warning("core deadline %.3f did not advance after its Tick; re-arming in %.2f s",
                        deadline, _MIN_REARM_S)
            deadline = monotonic() + _MIN_REARM_S
        self.hub.scheduler.arm(self, deadline)

    def _step(self, inp: core.Input) -> None:
        old_live = self.state.live_conn
        self.state, commands = core.step(self.state, inp)
        self.counters["inputs"] += 1
        if type(inp) is core.TokenIssued:
            self.redactor.see_input(inp)
        if self._recorder is not None:
            self._record(inp, commands)
        for command in commands:
            try:
                self._execute(command)
            except Exception:  # noqa: BLE001 - one failed command must not stop the others
                log.exception("executing %s failed", type(command).__name__)
        if self.state.live_conn != old_live:
            self._sweep()

    def _record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        assert self._recorder is not None
        try:
            self._recorder.record(inp, commands)
        except Exception as exc:  # noqa: BLE001 - a broken journal must not stop the gateway
            self.counters["journal_errors"] += 1
            if self.counters["journal_errors"] == 1:
                log.error("journal: recording a step failed (further failures are only counted): %s",
                          self.redactor.text(f"{type(exc).__name__}: {exc}"))

    # -- commands -------------------------------------------------------------------------------
    def _execute(self, command: core.Command) -> None:
        match command:
            case core.Deliver():
                dispatch = command.dispatch
                if self._copy_data:
                    # The recorded Deliver holds the original ``d``, which the journal encodes
                    # later: the host gets its own, so a handler that mutates its dispatch cannot
                    # rewrite history. Without a journal nothing else holds it: no copy.
                    dispatch = replace(dispatch, data=orjson.loads(orjson.dumps(dispatch.data)))
                self._delivered += 1
                self.host.put_dispatch(dispatch)
            case core.SendFrame():
                connection = self.connections.get(command.conn)
                if connection is None or connection.closing:
                    self._pending.append(core.SendFailed(monotonic(), command.conn, "connection already closed"))
                else:
                    connection.send(command.text)
            case core.Log():
                self._log(command)
            case core.OpenSocket():
                self._open(command)
            case core.CloseSocket():
                connection = self.connections.get(command.conn)
                if connection is not None:
                    connection.close(command.code, command.reason)
            case core.FetchToken():
                self._spawn_rest(self._fetch_token, command.force)
            case core.ResolveGateway():
                self._spawn_rest(self._resolve_gateway, command.token)
            case core.StatusChanged():
                change: core.StatusChanged = self._scrubbed(command)
                self.detail = change.detail
                if change.phase is core.Phase.READY:
                    self.last_ready_at = self.state.now
                self.host.put_event(change)
            case core.Fatal():
                fatal: core.Fatal = self._scrubbed(command)
                self.last_fatal = fatal.reason
                (log.error if not fatal.retryable else log.warning)("fatal: %s", fatal.reason)
                self.host.put_event(fatal)
            case _:
                assert_never(command)

    def _scrubbed(self, event: Any) -> Any:
        """``event`` with secrets removed from its text (a detail can quote an error message)."""
        name = "detail" if isinstance(event, core.StatusChanged) else "reason"
        text = getattr(event, name)
        clean = self.redactor.text(text)
        return event if clean == text else replace(event, **{name: clean})

    def _open(self, command: core.OpenSocket) -> None:
        old = self.connections.pop(command.conn, None)
        if old is not None:  # pragma: no cover - the core never reuses a conn id
            old.kill()
        cfg = self.config
        self.connections[command.conn] = Connection(
            command.conn, command.url, self.feed, self.feed_many, connect_timeout_s=cfg.core.connect_timeout_s,
            send_timeout_s=cfg.send_timeout_s, close_timeout_s=cfg.close_timeout_s,
            verify_tls=cfg.verify_tls, limits=self._limits, backlog=self.backlog, room=self._room,
            scrub=self.redactor.text, on_done=self._connection_done)

    def _connection_done(self, connection: Connection) -> None:
        if self.connections.get(connection.conn) is connection:
            del self.connections[connection.conn]

    def _sweep(self) -> None:
        """Close any socket the core no longer names (it always closes them itself; a safety net)."""
        live = self.state.live_conn
        for conn, connection in list(self.connections.items()):
            if conn != live and not connection.closing:
                log.warning("connection %s left open by the core; closing it", conn)
                connection.close(core.CLIENT_RESUME_CLOSE, "connection abandoned")

    def _log(self, command: core.Log) -> None:
        level = _LEVELS.get(command.level, logging.WARNING)
        if not core_log.isEnabledFor(level):
            return
        fields = self.redactor.redact(dict(command.fields))
        text = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
        core_log.log(level, "%s %s", command.event, text,
                     extra={"qqgate_event": command.event, "qqgate_fields": fields,
                           "qqgate_app_id": self.config.app_id})

    # -- REST -------------------------------------------------------------------------------------
    def _spawn_rest(self, fn: Callable[..., None], *args: Any) -> None:
        greenlet = gevent.spawn(fn, *args)
        self._rest.add(greenlet)
        greenlet.link(self._rest.discard)

    def _fetch_token(self, force: bool = False) -> None:
        try:
            # One fetcher per bot per process: the sender (``_sender``) shares it (``_tokens``).
            token, expires_in_s = TokenBroker.of(self.hub).get(self.config, self.redactor, force=force)
        except gevent.GreenletExit:
            raise
        except _rest.CredentialsRejected as exc:
            self.feed(core.TokenFailed(monotonic(), str(exc), retryable=False))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes TokenFailed
            self.feed(core.TokenFailed(monotonic(), self._error_text(exc)))
        else:
            self.feed(core.TokenIssued(monotonic(), token, expires_in_s))

    def _resolve_gateway(self, token: str) -> None:
        try:
            url, limit = _rest.resolve_gateway(self.config, token, self.redactor)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes GatewayFailed
            self.feed(core.GatewayFailed(monotonic(), self._error_text(exc)))
            return
        refused = cleartext_refused(url, self.config.insecure)
        if refused is not None:
            self.feed(core.GatewayFailed(monotonic(), refused, retryable=False))
        else:
            self.feed(core.GatewayResolved(monotonic(), url, limit))

    def _error_text(self, exc: BaseException) -> str:
        if isinstance(exc, _rest.RestError):
            return str(exc)
        return self.redactor.text(f"unexpected {type(exc).__name__}: {exc}")[:300]

    # -- the end ------------------------------------------------------------------------------------
    def _crashed(self, exc: BaseException) -> None:
        log.error("gateway driver crashed: %s", self.redactor.text(f"{type(exc).__name__}: {exc}"),
                  exc_info=(type(exc), exc, exc.__traceback__))
        reason = self.redactor.text(f"internal error in the gateway driver: {type(exc).__name__}: {exc}")
        self.last_fatal = reason
        self.host.put_event(core.Fatal(reason, retryable=False))
        self._end()

    def _end(self) -> None:
        """STOPPED, FAILED or crashed: no more steps; close sockets (bounded), then tell everyone."""
        if self._ending:
            return
        self._ending = True
        self.running = False
        self.hub.scheduler.arm(self, None)
        for greenlet in list(self._rest):
            greenlet.kill(block=False)
        if self._room is not None:
            self._room.set()
        gevent.spawn(self._shutdown)

    def _shutdown(self) -> None:
        """Let close handshakes finish (``close_timeout_s``), drop what is left, close the host side.

        Bounded by ``close_timeout_s + 1`` seconds in all. Dispatches the host has not started
        are dropped (unsettled, so a later resume of the session would replay them).
        """
        try:
            grace = self.config.close_timeout_s
            end_by = monotonic() + grace + 1.0
            for connection in list(self.connections.values()):
                if not connection.closing:
                    connection.close(1000, "client stopping")
            while self.connections and monotonic() < end_by - 0.5:
                gevent.sleep(0.01)
            for connection in list(self.connections.values()):
                connection.kill()
        finally:
            try:
                self.host.close()
            finally:
                self.ended.set()


__all__ = ["Driver", "monotonic"]
