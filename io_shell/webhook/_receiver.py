"""WebhookReceiver: QQ's HTTP callbacks, verified, deduplicated, journaled, handed to ``on_dispatch``.

::

    receiver = WebhookReceiver(ReceiverConfig.from_env(journal="bot.sqlite"), on_dispatch=handle)
    receiver.start()                     # opens the journal
    ReceiverServer(receiver, "127.0.0.1", 8443).start()   # or mount receiver.wsgi_app in any WSGI host
    ...
    receiver.status(); receiver.is_ready()
    receiver.stop()                      # later callbacks get {"op":12,"d":1}; acknowledged events drain

One callback, on the thread or greenlet the WSGI host calls from: the signature is checked
with the bot's key (``_signing``), then, under one lock, the webhook reducer
(``core.webhook.step``) decides and the step is recorded; the request gets its answer at once
for a rejection and, for an accepted event, once the journal has committed the step
(``ReceiverConfig.ack_after_commit``): the op 12 answer QQ relies on is only given for an event
that survives a crash. On the runtime's hub thread (``ReceiverServer``) that wait is
cooperative; on a host's own threads it blocks that thread only.

Delivery is the gateway's own (``io_shell._host.CallbackHost``): ``on_dispatch`` on a host
thread, one event at a time and in order (``None``: take them from ``dispatches()``), each
return (or exception: logged, counted) stepped as the core's ``DispatchSettled``; ``on_status``
and ``on_fatal`` in order on a strand of their own. The same surfaces as ``GatewayClient``:
``core.Dispatch`` (``seq`` numbers the deliveries of this run, ``event_id`` is the top-level
``id``), ``core.StatusChanged``, ``core.Fatal``, and a ``GatewayStatus`` from ``status()``.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterator

import orjson

from qqgate import core
from qqgate.core import webhook
from qqgate.core.journal import Redactor

from .._config import Recorder
from .._host import CallbackHost, DispatchQueue, Executor, in_handler
from .._status import GatewayStatus
from .._sync import allocate_lock
from ._config import ReceiverConfig
from ._restart import load_restore_point
from ._signing import Signer

if TYPE_CHECKING:
    from .._hub import HubThread

core_log = logging.getLogger("qqgate")
log = logging.getLogger("qqgate.webhook")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to one callback: ``status`` and the JSON ``body`` bytes."""

    status: int
    body: bytes


_INTERNAL_ERROR = Answer(500, b'{"code":500,"message":"internal error"}')


def _open_journal(config: ReceiverConfig) -> Recorder | None:
    target = config.journal
    if target is None or isinstance(target, Recorder):
        return target
    from .. import journal
    # The writer is an OS thread of its own, as for the gateway: record() never blocks a hub.
    recorder: Recorder = journal.open_recorder(target, config.journal_header(), config.secrets, mode="thread")
    return recorder


class WebhookReceiver:
    """One bot's webhook endpoint, driven by the pure webhook reducer (see the module docstring).

    ``on_dispatch(dispatch)`` gets every accepted event once (redeliveries by ``id`` are
    dropped by the reducer), on a host thread; ``None`` queues them for ``dispatches()``.
    ``on_fatal(fatal)`` hears every ``core.Fatal``; ``on_status(change)`` every
    ``core.StatusChanged``. ``executor`` runs those callbacks (default: the runtime's shared
    pool of daemon threads). Raises ValueError for an empty secret, TypeError for a bad
    argument. A receiver is started once.
    """

    def __init__(self, config: ReceiverConfig, on_dispatch: Callable[[core.Dispatch], None] | None,
                 on_fatal: Callable[[core.Fatal], None] | None = None,
                 on_status: Callable[[core.StatusChanged], None] | None = None, *,
                 executor: Executor | None = None) -> None:
        if not isinstance(config, ReceiverConfig):
            raise TypeError("config must be an io_shell.webhook.ReceiverConfig")
        for name, value in (("on_dispatch", on_dispatch), ("on_fatal", on_fatal), ("on_status", on_status)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None")
        self.config = config
        self._signer = Signer(config.client_secret)
        self._state = webhook.initial_state(config.webhook)
        self._lock = allocate_lock()  # an OS lock even under monkey-patching; never held across a switch
        self._settles: collections.deque[core.Dispatch] = collections.deque()
        self._requests = 0
        self._redactor = Redactor(config.secrets)
        self._recorder: Recorder | None = None
        self.counters: dict[str, int] = {"inputs": 0, "dispatches_settled": 0, "handler_errors": 0,
                                         "journal_errors": 0, "hook_errors": 0, "bodies_refused": 0,
                                         "answer_errors": 0}
        self._host = CallbackHost(self._settle, on_dispatch, on_status, on_fatal, self.counters, executor)
        self._copy_data = False
        self._started = False
        self._stopped = False
        self._running = False
        self._detail = "not started"
        self._last_fatal: str | None = None
        self._last_ready_at: float | None = None
        self.hub: HubThread | None = None
        """The hub thread a ``ReceiverServer`` serves this receiver from (set by the server)."""
        self.journal_session_id: str | None = None
        self.restored_from: str | None = None
        """The journal session this receiver restored from (``ReceiverConfig.restore``), if any."""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open the journal (if any) and step ``Start``; returns at once.

        Raises RuntimeError when called twice, and what ``io_shell.journal.open_recorder``
        raises for an unusable journal target.
        """
        if self._started:
            raise RuntimeError("WebhookReceiver.start() may be called once; build a new receiver to restart")
        self._started = True
        restored = self._restore_point() if self.config.restore else None  # before this run's session exists
        self._recorder = _open_journal(self.config)
        self._copy_data = self._recorder is not None
        session = getattr(self._recorder, "session_id", None)
        self.journal_session_id = str(session) if session is not None else None
        self._running = True
        with self._lock:
            if restored is not None:
                self._step(replace(restored, at=time.monotonic()))
            self._step(core.Start(time.monotonic()))
        self._host.wake()

    def _restore_point(self) -> webhook.CallbacksRestored | None:
        """What the journal store's last webhook session of this bot left (``_restart``), or None.

        A store that cannot be read is logged and counted (``restore_errors``), and the
        receiver starts afresh."""
        target = self.config.journal
        if not isinstance(target, str):
            return None
        try:
            point = load_restore_point(target, self.config.app_id, time.monotonic())
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read must not stop the bot
            self.counters["restore_errors"] = self.counters.get("restore_errors", 0) + 1
            log.error("webhook: cannot restore from %s: %s", self._redactor.text(str(target)),
                      self._redactor.text(f"{type(exc).__name__}: {exc}"))
            return None
        if point is None:
            return None
        self.restored_from = point.session_id
        restored = point.restored
        if restored is not None:
            log.info("webhook: restored from journal session %s (%d steps): %d handled event ids, "
                     "%d unhandled events delivered again", point.session_id, point.steps,
                     len(restored.dedupe_keys), len(restored.unhandled))
        return restored

    def stop(self) -> bool:
        """Stop: later callbacks are answered ``{"op":12,"d":1}`` (QQ retries them); events
        already acknowledged still reach the handler for up to ``drain_timeout_s`` seconds;
        then the host side and the journal are closed. Returns True when every acknowledged
        event was handled in time. From inside a handler it only asks for the stop and returns
        False. Idempotent; callable from any thread.
        """
        if self._stopped:
            return True
        if self._started:
            with self._lock:
                self._step(core.Stop(time.monotonic()))
            self._host.wake()
        if in_handler() is self._host:
            return False
        self._stopped = True
        deadline = time.monotonic() + self.config.drain_timeout_s
        while self._state.in_flight and self._host.queue is None and time.monotonic() < deadline:
            self._drain_settles()
            time.sleep(0.005)
        self._drain_settles()
        left = len(self._state.in_flight)
        if left and self._host.queue is None:
            log.error("webhook: %d acknowledged event(s) not handled within %.1f s of stop (the journal "
                      "holds them)", left, self.config.drain_timeout_s)
        self._running = False
        self._host.close()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                flush: Any = getattr(recorder, "flush", None)
                if callable(flush):
                    flush()
                recorder.close()
            except Exception as exc:  # noqa: BLE001 - closing must not raise into the host's shutdown
                log.error("journal: closing failed: %s", self._redactor.text(f"{type(exc).__name__}: {exc}"))
        return not left

    # -- one callback --------------------------------------------------------------------------
    def handle(self, body: bytes, signature: str | None, timestamp: str | None) -> Answer:
        """Take one callback: its raw body and its ``X-Signature-Ed25519`` and
        ``X-Signature-Timestamp`` headers (None when absent); return the answer. Thread-safe;
        never raises.
        """
        try:
            verdict = self._signer.verify(timestamp, body, signature)
            try:
                text: str | bytes = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body
            with self._lock:
                self._requests += 1
                number = self._requests
                inp = webhook.CallbackReceived(time.monotonic(), number, text, verdict, timestamp, time.time())
                commands = self._step(inp)
            if self._settles:
                self._drain_settles()
            self._host.wake()
            answer = next((c for c in commands if isinstance(c, (webhook.Respond, webhook.AnswerValidation))
                           and c.request == number), None)
            if answer is None:  # pragma: no cover - the reducer answers every callback
                log.error("webhook: the reducer gave no answer for request %d", number)
                self.counters["answer_errors"] += 1
                return _INTERNAL_ERROR
            if isinstance(answer, webhook.AnswerValidation):
                signed = self._signer.sign_validation(answer.event_ts, answer.plain_token)
                return Answer(200, orjson.dumps({"plain_token": answer.plain_token, "signature": signed}))
            if answer.body == webhook.ACK:
                self._commit()
            return Answer(answer.status, answer.body.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - one bad callback must not break the host
            self.counters["answer_errors"] += 1
            log.error("webhook: answering a callback failed: %s", self._redactor.text(f"{type(exc).__name__}: {exc}"))
            return _INTERNAL_ERROR

    def refuse(self, reason: str) -> None:
        """Count a request refused before it reached the reducer (a body too large, a method
        other than POST), and log it. Called by the WSGI adapter."""
        self.counters["bodies_refused"] += 1
        log.warning("webhook: request refused: %s", reason)

    # -- the step, under the lock --------------------------------------------------------------
    def _step(self, inp: webhook.WebhookInput) -> tuple[webhook.WebhookCommand, ...]:
        self._state, commands = webhook.step(self._state, inp)
        self.counters["inputs"] += 1
        if self._recorder is not None:
            try:
                self._recorder.record(inp, commands)  # type: ignore[arg-type]  # the store journals any reducer's steps
            except Exception:  # noqa: BLE001 - a broken journal must not stop the receiver
                self._journal_failed("recording a step")
        for command in commands:
            match command:
                case core.Deliver():
                    dispatch = command.dispatch
                    if self._copy_data:  # the journal's copy of ``d`` must not change under the handler
                        dispatch = replace(dispatch, data=orjson.loads(orjson.dumps(dispatch.data)))
                    self._host.put_dispatch(dispatch)
                case core.Log():
                    self._log(command)
                case core.StatusChanged():
                    self._detail = command.detail
                    if command.phase is core.Phase.READY:
                        self._last_ready_at = time.monotonic()
                    self._host.put_event(command)
                case core.Fatal():
                    self._last_fatal = command.reason
                    self._host.put_event(command)
                case webhook.Respond() | webhook.AnswerValidation():
                    pass  # the answer goes back to the request that asked (``handle``)
        return commands

    def _settle(self, dispatch: core.Dispatch) -> None:
        """The host finished with ``dispatch`` (any thread; never waits for the lock).

        The settle is queued and stepped by whichever thread holds the lock next: a handler
        thread never queues behind the callbacks of a busy server (with 16 threads posting,
        a handler that waited its turn for the lock would fall ever further behind).
        """
        self._settles.append(dispatch)
        self._drain_settles()

    def _drain_settles(self) -> None:
        """Step every queued settle, if the lock is free; a holder that finds it taken leaves
        them to the thread holding it, which drains after releasing it."""
        settles = self._settles
        while settles and self._lock.acquire(False):
            try:
                while settles:
                    dispatch = settles.popleft()
                    self.counters["dispatches_settled"] += 1
                    self._step(core.DispatchSettled(time.monotonic(), dispatch.seq, dispatch.session_epoch))
            finally:
                self._lock.release()

    def _commit(self) -> None:
        """Wait until every recorded step is committed (``ack_after_commit``); failures are counted.

        On the hub thread that serves this receiver the wait runs in the hub's threadpool, so
        the hub keeps serving; on any other thread it blocks that thread.
        """
        recorder = self._recorder
        flush: Any = getattr(recorder, "flush", None)
        if not self.config.ack_after_commit or not callable(flush):
            return
        timeout_s = self.config.commit_timeout_s
        try:
            hub = self.hub
            if hub is not None and hub.in_hub():
                from .._cooperative import in_threadpool
                in_threadpool(lambda: flush(timeout_s))
            else:
                flush(timeout_s)
        except Exception:  # noqa: BLE001 - the answer stands; the failure is reported
            self._journal_failed("committing before the answer")

    def _journal_failed(self, what: str) -> None:
        self.counters["journal_errors"] += 1
        if self.counters["journal_errors"] == 1:
            log.error("journal: %s failed (further failures are only counted)", what)

    def _log(self, command: core.Log) -> None:
        level = _LEVELS.get(command.level, logging.WARNING)
        if not core_log.isEnabledFor(level):
            return
        fields = self._redactor.redact(dict(command.fields))
        text = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
        core_log.log(level, "%s %s", command.event, text, extra={"qqgate_event": command.event, "qqgate_fields": fields})

    # -- the host's views -----------------------------------------------------------------------
    def dispatches(self) -> Iterator[core.Dispatch]:
        """Events in order, for a receiver built with ``on_dispatch=None`` (as
        ``GatewayClient.dispatches``); each is settled when the loop asks for the next."""
        return iter(self.dispatch_queue)

    @property
    def dispatch_queue(self) -> DispatchQueue:
        """The thread-safe queue behind ``dispatches()``; RuntimeError with an ``on_dispatch``."""
        if self._host.queue is None:
            raise RuntimeError("this receiver delivers to on_dispatch; build it with on_dispatch=None to iterate")
        return self._host.queue

    def status(self) -> GatewayStatus:
        """A snapshot built now; never blocks, safe from any thread.

        ``phase`` is READY while receiving; ``last_seq`` is the last delivery number;
        ``failures`` the callbacks rejected in a row; ``counters`` join the reducer's
        (``deliveries``, ``duplicates_dropped``, ``signature_rejected``, ``stale_rejected``,
        ...) with the receiver's (``handler_errors``, ``journal_errors``, ``in_flight``, ...).
        """
        s = self._state
        counters = s.counters.as_dict()
        counters.update(self.counters)
        counters["in_flight"] = len(s.in_flight)
        return GatewayStatus(
            phase=s.phase.value, ready=self._running and s.phase is core.Phase.READY, running=self._running,
            conn=None, session_id=None, last_seq=s.delivered or None, settled_seq=None,
            last_ready_at=self._last_ready_at, next_retry_at=None, next_deadline=None, heartbeat_interval_s=None,
            failures=s.rejected_in_row, detail=self._detail, last_fatal=self._last_fatal,
            updated_at=time.monotonic(), counters=MappingProxyType(counters))

    def is_ready(self) -> bool:
        """True while the receiver runs and takes callbacks."""
        return self._running and self._state.phase is core.Phase.READY

    def redact(self, text: str) -> str:
        """``text`` with the bot secret replaced by its placeholder: for anything the host prints."""
        return self._redactor.text(text)

    @property
    def public_key_hex(self) -> str:
        """The bot's Ed25519 public key (hex): safe to show, it does not reveal the secret."""
        return self._signer.public_key_hex

    @property
    def wsgi_app(self) -> Callable[..., Any]:
        """This receiver as a WSGI application (``io_shell.webhook.wsgi_app``)."""
        from ._wsgi import wsgi_app
        return wsgi_app(self)


__all__ = ["Answer", "WebhookReceiver"]
