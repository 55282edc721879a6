"""ChaosWebhook: the chaos gateway's webhook mode, QQ's HTTP callback delivery against a real receiver.

``ChaosWebhook(spec, secret)`` first proves the callback URL with op 13 (a signed
``{"op":13,"d":{"plain_token","event_ts"}}``; the answer must echo ``plain_token`` and sign
``event_ts + plain_token``), then posts the numbered event stream of ``spec``, each event
signed with the bot secret, retried with the same ``id`` after a late, failed or ``d:1``
answer up to ``spec.retries`` times, with the faults of ``spec.faults`` injected
(``_webhook_spec``). Everything it did and every answer it got is recorded: ``validation``,
``records`` (one ``EventRecord`` per event), ``attacks`` (forged and replayed copies) and
``summary()``.

A receiver that is down is seen as it is on QQ's side: refused connections, retried after
``retry_delays_s``, and an event given up after the last retry. Like ``ChaosGateway`` it runs
in the caller's gevent hub (``start()``) or in a thread of its own (``start_in_thread()``),
never monkey-patches, and only posts where it is told (tests: 127.0.0.1).
"""

from __future__ import annotations

import random
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.event  # type: ignore[import-untyped, unused-ignore]
import gevent.lock  # type: ignore[import-untyped, unused-ignore]
import gevent.monkey  # type: ignore[import-untyped, unused-ignore]
import orjson

from ._webhook_http import PostFailed, Target, post
from ._webhook_keys import QQKey
from ._webhook_spec import PlannedEvent, WebhookSpec, plan_event

_thread_id: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")
ACKED = "acked"
"""An attempt answered 200 with ``{"op":12,"d":0}`` in time."""


@dataclass
class Attempt:
    """One POST of an event: when (monotonic seconds), which try (1 = the first), what came back.

    ``outcome``: ``acked``; ``retry asked`` (``d`` 1); ``late`` (a good answer this gateway
    counted as past its deadline, the late_answer fault); ``status N`` (any other answer);
    ``refused``, ``reset``, ``timeout``, ``bad response`` (no usable answer).
    """

    at: float
    number: int
    outcome: str
    status: int | None = None


@dataclass
class EventRecord:
    """Everything about event ``n``: its ids, faults, attempts, and how it ended.

    ``acked``: some attempt was acknowledged; ``given_up``: every attempt failed (QQ gives up:
    lost unless the receiver had it); ``redelivered``: the duplicate fault's extra delivery and
    its outcome.
    """

    n: int
    event_id: str
    msg_id: str
    faults: frozenset[str]
    attempts: list[Attempt] = field(default_factory=list)
    acked: bool = False
    given_up: bool = False
    redelivered: str | None = None


@dataclass(frozen=True)
class Attack:
    """A copy of event ``n`` the receiver must refuse: ``kind`` bad_signature or stale_timestamp,
    ``status`` what it answered (None: no answer)."""

    n: int
    kind: str
    status: int | None

    @property
    def refused(self) -> bool:
        """Answered with a 4xx."""
        return self.status is not None and 400 <= self.status < 500

    @property
    def accepted(self) -> bool:
        """Answered with a 2xx: the receiver took a forged or replayed request."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Validation:
    """The op 13 exchange: ``ok`` once an answer echoed the token with a valid signature;
    ``attempts`` made; ``problem`` the last reason it was not ok."""

    ok: bool = False
    attempts: int = 0
    problem: str = ""


class ChaosWebhook:
    """Pushes ``spec``'s event stream to a webhook receiver as QQ does (see the module docstring).

    ``secret`` is the bot's AppSecret (the receiver must hold the same). ``on_note(text)`` is
    called in the hub for each notable thing (validation, an event given up, an attack let
    through), for a console. Raises ValueError for a bad spec or an empty secret.
    """

    def __init__(self, spec: WebhookSpec, secret: str, *, on_note: Callable[[str], None] | None = None) -> None:
        spec.validate_spec()
        self.spec = spec
        self._key = QQKey(secret)
        self._forger = QQKey("chaos-forger-" + str(spec.seed))
        self._target = Target.parse(spec.url)
        self._on_note = on_note
        self._rng = random.Random(spec.seed)
        self.validation = Validation()
        self.records: dict[int, EventRecord] = {}
        self.attacks: list[Attack] = []
        self.done = False
        """True once every event has ended (acked or given up), or validation failed."""
        self._main: Any = None
        self._group: Any = None
        self._hub: Any = None
        self._thread: threading.Thread | None = None
        self._thread_ident: int | None = None
        self._thread_done: Any = None
        self.started_at: float | None = None
        self.finished_at: float | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "ChaosWebhook":
        """Start pushing in the current thread's gevent hub; returns at once."""
        if self._main is not None:
            raise RuntimeError("already started")
        import gevent.pool  # type: ignore[import-untyped, unused-ignore]
        self._hub = gevent.get_hub()
        self._thread_ident = _thread_id()
        self._group = gevent.pool.Pool(self.spec.concurrency)
        self.started_at = time.monotonic()
        self._main = gevent.spawn(self._run)
        return self

    def start_in_thread(self, timeout_s: float = 10.0) -> "ChaosWebhook":
        """``start()`` in a daemon thread with its own gevent hub, for blocking callers (tests)."""
        started = threading.Event()

        def main() -> None:
            self._thread_done = gevent.event.Event()
            self.start()
            started.set()
            while not self._thread_done.is_set():  # a timed wait keeps the hub alive once the run ends
                self._thread_done.wait(0.5)

        self._thread = threading.Thread(target=main, name="chaos-webhook", daemon=True)
        self._thread.start()
        if not started.wait(timeout_s):
            raise RuntimeError("the chaos webhook did not start in time")
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop pushing: every delivery in progress is abandoned. Idempotent."""
        if self._main is None:
            return
        if self._hub is None or _thread_id() == self._thread_ident:
            self._stop_here()
        else:
            done = threading.Event()

            def run() -> None:
                try:
                    self._stop_here()
                finally:
                    done.set()
            self._hub.loop.run_callback_threadsafe(gevent.spawn, run)
            done.wait(timeout_s)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _stop_here(self) -> None:
        main, self._main = self._main, None
        if main is not None:
            main.kill(block=False)
        if self._group is not None:
            self._group.kill(block=False)
        if self._thread_done is not None:
            self._thread_done.set()

    def wait(self, timeout_s: float, poll_s: float = 0.02) -> bool:
        """Block (any thread) until ``done`` or ``timeout_s`` seconds; True when done."""
        deadline = time.monotonic() + timeout_s
        sleep = gevent.sleep if _thread_id() == self._thread_ident else time.sleep
        while not self.done:
            if time.monotonic() >= deadline:
                return False
            sleep(poll_s)
        return True

    # -- the run -----------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        if self._on_note is not None:
            self._on_note(text)

    def _headers(self, timestamp: str, signature: str) -> list[tuple[str, str]]:
        return [("User-Agent", "QQBot-Callback"), ("X-Bot-Appid", self.spec.app_id),
                ("X-Signature-Timestamp", timestamp), ("X-Signature-Ed25519", signature)]

    def _run(self) -> None:
        try:
            if self.spec.validate and not self._validate():
                return
            n = 0
            while self.spec.messages is None or n < self.spec.messages:
                n += 1
                event = plan_event(self.spec, n, self._rng)
                if event.gap_s:
                    gevent.sleep(event.gap_s)
                self.records[n] = EventRecord(n, event.event_id, event.msg_id, event.faults)
                self._group.spawn(self._deliver, event)
            self._group.join()
        finally:
            self.done = True
            self.finished_at = time.monotonic()

    def _validate(self) -> bool:
        spec, v = self.spec, self.validation
        for _ in range(spec.validation_attempts):
            v.attempts += 1
            token = "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(20))
            event_ts = str(int(time.time()))
            body = orjson.dumps({"op": 13, "d": {"plain_token": token, "event_ts": event_ts}})
            stamp = str(int(time.time()))
            try:
                status, answer = post(self._target, body, self._headers(stamp, self._key.sign(stamp, body)),
                                      spec.answer_deadline_s)
            except PostFailed as exc:
                v.problem = exc.reason
                gevent.sleep(spec.validation_gap_s)
                continue
            try:
                obj = orjson.loads(answer)
            except orjson.JSONDecodeError:
                obj = None
            if status != 200 or not isinstance(obj, dict):
                v.problem = f"status {status}, not a JSON object"
            elif obj.get("plain_token") != token:
                v.problem = "plain_token not echoed"
            elif not self._key.answer_is_valid(event_ts, token, obj.get("signature")):
                v.problem = "signature does not verify"
            else:
                v.ok, v.problem = True, ""
                self._note(f"callback URL validated (op 13) after {v.attempts} attempt(s)")
                return True
            break  # a receiver that answers wrongly will not answer rightly on a retry
        self._note(f"callback URL NOT validated after {v.attempts} attempt(s): {v.problem}")
        return False

    def _post_event(self, body: bytes, timestamp: str, signature: str) -> tuple[str, int | None]:
        try:
            status, answer = post(self._target, body, self._headers(timestamp, signature), self.spec.answer_deadline_s)
        except PostFailed as exc:
            return exc.reason, None
        if status == 200:
            try:
                obj = orjson.loads(answer)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and obj.get("op") == 12:
                return (ACKED if obj.get("d") == 0 else "retry asked"), status
        return f"status {status}", status

    def _attack(self, event: PlannedEvent, kind: str) -> None:
        if kind == "bad_signature":
            stamp = str(int(time.time()))
            signature = self._forger.sign(stamp, event.body)
        else:
            stamp = str(int(time.time() - self.spec.faults.stale_age_s))
            signature = self._key.sign(stamp, event.body)
        _, status = self._post_event(event.body, stamp, signature)
        attack = Attack(event.n, kind, status)
        self.attacks.append(attack)
        if attack.accepted:
            self._note(f"event {event.n}: a {kind.replace('_', ' ')} copy was ACCEPTED (status {status})")

    def _deliver(self, event: PlannedEvent) -> None:
        record = self.records[event.n]
        spec = self.spec
        if "out_of_order" in event.faults:
            gevent.sleep(spec.faults.hold_back_s)
        for kind in ("bad_signature", "stale_timestamp"):
            if kind in event.faults:
                self._attack(event, kind)
        late = "late_answer" in event.faults
        for number in range(1, spec.retries + 2):
            stamp = str(int(time.time()))
            outcome, status = self._post_event(event.body, stamp, self._key.sign(stamp, event.body))
            if outcome == ACKED and late and number == 1:
                outcome = "late"
            record.attempts.append(Attempt(time.monotonic(), number, outcome, status))
            if outcome == ACKED:
                record.acked = True
                break
            if number <= spec.retries:
                gevent.sleep(spec.retry_delays_s[number - 1])
        else:
            record.given_up = True
            self._note(f"event {event.n} ({event.event_id}) given up after {spec.retries + 1} attempts: "
                       f"{record.attempts[-1].outcome}")
        if record.acked and "duplicate" in event.faults:
            stamp = str(int(time.time()))
            record.redelivered, _ = self._post_event(event.body, stamp, self._key.sign(stamp, event.body))

    # -- results ----------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts of the run so far: events, acknowledged, given up, attempts, retries, attacks
        sent, refused (4xx) and accepted (2xx; unanswered ones are neither), redeliveries, and
        whether the URL was validated."""
        records = list(self.records.values())
        attempts = sum(len(r.attempts) for r in records)
        return {
            "validated": self.validation.ok, "events": len(records),
            "acked": sum(r.acked for r in records), "given_up": sum(r.given_up for r in records),
            "attempts": attempts, "retries": attempts - len([r for r in records if r.attempts]),
            "late_answers": sum(a.outcome == "late" for r in records for a in r.attempts),
            "redeliveries": sum(r.redelivered is not None for r in records),
            "attacks": len(self.attacks), "attacks_refused": sum(a.refused for a in self.attacks),
            "attacks_accepted": sum(a.accepted for a in self.attacks),
        }
