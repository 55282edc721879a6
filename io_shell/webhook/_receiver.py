"""WebhookReceiver: QQ's HTTP callbacks, verified, deduplicated, journaled, handed to ``on_dispatch``.

::

    receiver = WebhookReceiver(ReceiverConfig.from_env(journal="bot.sqlite"), on_dispatch=handle)
    receiver.start()                     # opens the journal, starts the delivery and hook workers
    app = receiver.wsgi_app              # mount it in any WSGI host, or serve(receiver, host, port)
    ...
    receiver.status(); receiver.is_ready()
    receiver.stop()                      # later callbacks get {"op":12,"d":1}; queued events drain

One callback, in the caller's thread or greenlet (the WSGI host's): the signature is checked
with the bot's key (``_signing``), then, under one lock, the webhook reducer
(``core.webhook.step``) decides and the step is recorded; the event goes on the delivery
queue, and the request gets its answer: at once for a rejection, after the journal commit for
an accepted event (``ReceiverConfig.ack_after_commit``), so the op 12 answer QQ relies on is
only given for an event that will survive a crash. ``on_dispatch`` runs on the delivery
worker, one event at a time, and each return (or exception: logged, counted, settled) is
stepped as the core's ``DispatchSettled``; ``on_status`` and ``on_fatal`` run on the hook
worker, in order. The workers are ``threading`` threads: real ones in a threaded WSGI host,
greenlets once gevent has monkey-patched (``qqgate run``).

The same surfaces as ``GatewayClient``: the ``core.Dispatch`` handed to ``on_dispatch``
(``seq`` numbers deliveries in this run, ``event_id`` is the top-level ``id``), the
``core.StatusChanged`` and ``core.Fatal`` hooks, and a ``GatewayStatus`` from ``status()``.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Callable

import orjson

from qqgate import core
from qqgate.core import webhook
from qqgate.core.journal import Redactor

from .._config import Recorder
from .._status import GatewayStatus
from ._config import ReceiverConfig
from ._signing import Signer

core_log = logging.getLogger("qqgate")
log = logging.getLogger("qqgate.webhook")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_END = object()


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
    recorder: Recorder = journal.open_recorder(target, config.journal_header(), config.secrets)
    return recorder


class WebhookReceiver:
    """One bot's webhook endpoint, driven by the pure webhook reducer (see the module docstring).

    ``on_dispatch(dispatch)`` gets every accepted event once (redeliveries by ``id`` are
    dropped by the reducer); ``on_fatal(fatal)`` hears every ``core.Fatal``;
    ``on_status(change)`` every ``core.StatusChanged``. Raises ValueError for an empty
    secret, TypeError for a bad argument. A receiver is started once.
    """

    def __init__(self, config: ReceiverConfig, on_dispatch: Callable[[core.Dispatch], None],
                 on_fatal: Callable[[core.Fatal], None] | None = None,
                 on_status: Callable[[core.StatusChanged], None] | None = None) -> None:
        if not isinstance(config, ReceiverConfig):
            raise TypeError("config must be an io_shell.webhook.ReceiverConfig")
        if not callable(on_dispatch):
            raise TypeError("on_dispatch must be callable")
        self.config = config
        self._signer = Signer(config.client_secret)
        self._on_dispatch = on_dispatch
        self._on_fatal = on_fatal
        self._on_status = on_status
        self._state = webhook.initial_state(config.webhook)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._redactor = Redactor(config.secrets)
        self._recorder: Recorder | None = None
        self._deliveries: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._hooks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._delivery: threading.Thread | None = None
        self._hook_runner: threading.Thread | None = None
        self._started = False
        self._stopped = False
        self._running = False
        self._detail = "not started"
        self._last_fatal: str | None = None
        self._last_ready_at: float | None = None
        self.journal_session_id: str | None = None
        self.counters = {"inputs": 0, "dispatches_settled": 0, "handler_errors": 0, "journal_errors": 0,
                         "hook_errors": 0, "bodies_refused": 0, "answer_errors": 0}
        self._status = self._snapshot()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open the journal (if any), start the workers and step ``Start``; returns at once.

        Raises RuntimeError when called twice, and what ``io_shell.journal.open_recorder``
        raises for an unusable journal target.
        """
        if self._started:
            raise RuntimeError("WebhookReceiver.start() may be called once; build a new receiver to restart")
        self._started = True
        self._recorder = _open_journal(self.config)
        session = getattr(self._recorder, "session_id", None)
        self.journal_session_id = str(session) if session is not None else None
        self._running = True
        self._delivery = threading.Thread(target=self._delivery_loop, name="qqgate-webhook-delivery", daemon=True)
        self._hook_runner = threading.Thread(target=self._hook_loop, name="qqgate-webhook-hooks", daemon=True)
        self._delivery.start()
        self._hook_runner.start()
        with self._lock:
            self._step(core.Start(time.monotonic()))

    def stop(self) -> bool:
        """Stop: later callbacks are answered ``{"op":12,"d":1}`` (QQ retries them), events
        already acknowledged still reach the handler for up to ``drain_timeout_s`` seconds,
        then the workers end and the journal is closed. Returns True when every acknowledged
        event was handled in time. Called from inside a handler it only asks for the stop and
        returns False. Idempotent.
        """
        if self._stopped:
            return True
        with self._lock:
            self._step(core.Stop(time.monotonic()))
        current = threading.current_thread()
        if current is self._delivery or current is self._hook_runner:
            return False
        self._stopped = True
        clean = True
        for worker, inbox in ((self._delivery, self._deliveries), (self._hook_runner, self._hooks)):
            inbox.put(_END)
            if worker is not None:
                worker.join(self.config.drain_timeout_s)
                if worker.is_alive():
                    clean = False
        if not clean:
            left = len(self._state.in_flight)
            log.error("webhook: %d acknowledged event(s) not handled within %.1f s of stop (the journal "
                      "holds them)", left, self.config.drain_timeout_s)
        self._running = False
        self._publish()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                flush: Any = getattr(recorder, "flush", None)
                if callable(flush):
                    flush()
                recorder.close()
            except Exception:  # noqa: BLE001 - closing must not raise into the host's shutdown
                log.exception("journal: closing failed")
        return clean

    # -- one callback --------------------------------------------------------------------------
    def handle(self, body: bytes, signature: str | None, timestamp: str | None) -> Answer:
        """Take one callback: its raw body and its ``X-Signature-Ed25519`` and
        ``X-Signature-Timestamp`` headers (None when absent); return the answer. Never raises.
        """
        try:
            verdict = self._signer.verify(timestamp, body, signature)
            try:
                text: str | bytes = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body
            with self._lock:
                number = next(self._numbers)
                inp = webhook.CallbackReceived(time.monotonic(), number, text, verdict, timestamp, time.time())
                commands = self._step(inp)
            answer_command = next((c for c in commands if isinstance(c, (webhook.Respond, webhook.AnswerValidation))
                                   and c.request == number), None)
            if answer_command is None:  # pragma: no cover - the reducer answers every callback
                log.error("webhook: the reducer gave no answer for request %d", number)
                self.counters["answer_errors"] += 1
                return _INTERNAL_ERROR
            if isinstance(answer_command, webhook.AnswerValidation):
                signed = self._signer.sign_validation(answer_command.event_ts, answer_command.plain_token)
                return Answer(200, orjson.dumps({"plain_token": answer_command.plain_token, "signature": signed}))
            if answer_command.body == webhook.ACK:
                self._commit()
            return Answer(answer_command.status, answer_command.body.encode("utf-8"))
        except Exception:  # noqa: BLE001 - one bad callback must not break the host
            self.counters["answer_errors"] += 1
            log.exception("webhook: answering a callback failed")
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
                self._recorder.record(inp, commands)  # type: ignore[arg-type]  # the recorder journals any reducer's steps
            except Exception:  # noqa: BLE001 - a broken journal must not stop the receiver
                self._journal_failed("recording a step")
        for command in commands:
            match command:
                case core.Deliver():
                    self._deliveries.put(command.dispatch)
                case core.Log():
                    self._log(command)
                case core.StatusChanged():
                    self._detail = command.detail
                    if command.phase is core.Phase.READY:
                        self._last_ready_at = time.monotonic()
                    self._hooks.put(command)
                case core.Fatal():
                    self._last_fatal = command.reason
                    self._hooks.put(command)
                case webhook.Respond() | webhook.AnswerValidation():
                    pass  # the answer goes back to the request that asked (``handle``)
        self._publish()
        return commands

    def _commit(self) -> None:
        """Wait until every recorded step is committed (``ack_after_commit``); failures are counted."""
        recorder = self._recorder
        flush: Any = getattr(recorder, "flush", None)
        if not self.config.ack_after_commit or not callable(flush):
            return
        try:
            flush(self.config.commit_timeout_s)
        except Exception:  # noqa: BLE001 - the answer stands; the failure is reported
            self._journal_failed("committing before the answer")

    def _journal_failed(self, what: str) -> None:
        self.counters["journal_errors"] += 1
        if self.counters["journal_errors"] == 1:
            log.exception("journal: %s failed (further failures are only counted)", what)

    def _log(self, command: core.Log) -> None:
        level = _LEVELS.get(command.level, logging.WARNING)
        if not core_log.isEnabledFor(level):
            return
        fields = self._redactor.redact(dict(command.fields))
        text = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items())
        core_log.log(level, "%s %s", command.event, text, extra={"qqgate_event": command.event, "qqgate_fields": fields})

    # -- workers --------------------------------------------------------------------------------
    def _delivery_loop(self) -> None:
        while True:
            dispatch = self._deliveries.get()
            if dispatch is _END:
                return
            try:
                # The handler gets its own copy of ``d``: the recorded Deliver holds the original.
                self._on_dispatch(replace(dispatch, data=orjson.loads(orjson.dumps(dispatch.data))))
            except Exception:  # noqa: BLE001 - the handler's bug is logged, counted and settled
                self.counters["handler_errors"] += 1
                log.exception("dispatch handler raised for delivery %s t=%s id=%s (settled anyway)",
                              dispatch.seq, dispatch.event_type, dispatch.event_id)
            self.counters["dispatches_settled"] += 1
            with self._lock:
                self._step(core.DispatchSettled(time.monotonic(), dispatch.seq, dispatch.session_epoch))

    def _hook_loop(self) -> None:
        while True:
            item = self._hooks.get()
            if item is _END:
                return
            try:
                if isinstance(item, core.StatusChanged):
                    if self._on_status is not None:
                        self._on_status(item)
                elif isinstance(item, core.Fatal):
                    (log.error if not item.retryable else log.warning)("fatal: %s", item.reason)
                    if self._on_fatal is not None:
                        self._on_fatal(item)
            except Exception:  # noqa: BLE001
                self.counters["hook_errors"] += 1
                log.exception("%s hook raised", type(item).__name__)

    # -- status ---------------------------------------------------------------------------------
    def _snapshot(self) -> GatewayStatus:
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

    def _publish(self) -> None:
        self._status = self._snapshot()

    def status(self) -> GatewayStatus:
        """The latest snapshot (published after every step). Never blocks.

        ``phase`` is READY while receiving; ``last_seq`` is the last delivery number;
        ``failures`` the callbacks rejected in a row; ``counters`` join the reducer's
        (``deliveries``, ``duplicates_dropped``, ``signature_rejected``, ``stale_rejected``,
        ...) with the receiver's (``handler_errors``, ``journal_errors``, ``in_flight``, ...).
        """
        return self._status

    def is_ready(self) -> bool:
        """True while the receiver runs and takes callbacks."""
        return self._status.ready

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
