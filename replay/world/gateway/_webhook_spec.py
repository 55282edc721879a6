"""The chaos gateway's webhook mode, as data: what to push, how QQ retries, which faults to inject.

Pure (no I/O): ``WebhookSpec`` and ``WebhookFaults`` are plain values, ``plan_event`` turns
event number n and a seeded RNG into the exact bytes to post and the faults to apply to it,
so a run with a seed pushes the same stream every time.

Protocol facts (protocol.md, "Webhook"): a callback is the gateway payload ``{"id", "op": 0,
"d", "s", "t"}`` POSTed with ``X-Signature-Ed25519`` (hex Ed25519 over
``X-Signature-Timestamp`` + body), ``User-Agent: QQBot-Callback`` and ``X-Bot-Appid``
(bot-docs ``interface-framework/event-emit`` and ``sign``); the answer is ``{"op":12,"d":0}``
(``d`` 1 asks for a retry, botgo ``interaction/webhook``); a late or failed answer makes QQ
deliver again, up to 3 times, with the same top-level ``id`` (AstrBot PR #6320). QQ's retry
schedule and its answer deadline are not documented: ``retry_delays_s`` and
``answer_deadline_s`` are this gateway's choices (the 2024 draft said "answer within 3 s"),
and every attempt is signed afresh with the current time (whether QQ re-signs a retry is not
documented either).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson

EVENT_TYPE = "C2C_MESSAGE_CREATE"
OPENID = "E4F4AEA33253A2797FB897C50B81D7ED"


@dataclass(frozen=True)
class WebhookFaults:
    """Per-event fault probabilities (0..1), drawn from the spec's seed.

    - ``bad_signature``: before the event, a forged copy (signed with another key) is posted;
      the receiver must refuse it (401).
    - ``stale_timestamp``: before the event, a copy validly signed ``stale_age_s`` seconds ago
      is posted (a captured request replayed); the receiver must refuse it.
    - ``duplicate``: once acknowledged, the event is delivered again with the same ``id`` (a
      redelivery); it must be acknowledged and not handled twice.
    - ``out_of_order``: the event is held back ``hold_back_s`` seconds so later ones overtake it.
    - ``late_answer``: the answer to the first attempt arrives "after the retry deadline" (this
      gateway ignores it), so the event is retried with the same ``id``: a slow answer as QQ
      sees it.
    """

    bad_signature: float = 0.0
    stale_timestamp: float = 0.0
    duplicate: float = 0.0
    out_of_order: float = 0.0
    late_answer: float = 0.0
    stale_age_s: float = 3600.0
    hold_back_s: float = 0.5

    NAMES = ("bad_signature", "stale_timestamp", "duplicate", "out_of_order", "late_answer")

    def validate(self) -> None:
        """Raise ValueError naming a probability outside 0..1 or a duration <= 0."""
        for name in self.NAMES:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"WebhookFaults.{name} must be a probability in [0, 1], got {value!r}")
        for name in ("stale_age_s", "hold_back_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"WebhookFaults.{name} must be > 0 seconds")


@dataclass(frozen=True)
class WebhookSpec:
    """One webhook run. Durations are wall-clock seconds.

    ``url``: the callback URL (http:// on loopback). ``messages``: events to push (None: until
    stopped), one every ``interval_s`` on average (exponential gaps; 0: back to back).
    ``retries`` after the first attempt (QQ: up to 3), ``retry_delays_s[k]`` before retry
    k+1, ``answer_deadline_s`` for each answer. ``validate``: first prove the URL with op 13,
    trying ``validation_attempts`` times ``validation_gap_s`` apart (a receiver still coming
    up); events are pushed only to a validated URL. ``concurrency`` bounds the deliveries in
    progress at once.
    """

    url: str
    app_id: str = "102000000"
    messages: int | None = 100
    interval_s: float = 0.05
    retries: int = 3
    retry_delays_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    answer_deadline_s: float = 3.0
    validate: bool = True
    validation_attempts: int = 40
    validation_gap_s: float = 0.25
    concurrency: int = 64
    faults: WebhookFaults = field(default_factory=WebhookFaults)
    seed: int = 1

    def validate_spec(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not self.url.startswith("http://"):
            raise ValueError(f"WebhookSpec.url must be an http:// URL (loopback; TLS is the proxy's), got {self.url!r}")
        if self.messages is not None and self.messages < 0:
            raise ValueError("WebhookSpec.messages must be >= 0 or None")
        if self.interval_s < 0 or self.answer_deadline_s <= 0 or self.validation_gap_s <= 0:
            raise ValueError("WebhookSpec: interval_s must be >= 0, answer_deadline_s and validation_gap_s > 0")
        if self.retries < 0 or len(self.retry_delays_s) < self.retries or min(self.retry_delays_s, default=0) < 0:
            raise ValueError("WebhookSpec: retries >= 0, one retry delay >= 0 per retry")
        if self.validation_attempts < 1 or self.concurrency < 1:
            raise ValueError("WebhookSpec: validation_attempts and concurrency must be >= 1")
        self.faults.validate()


@dataclass(frozen=True)
class PlannedEvent:
    """Event ``n`` (1, 2, ...): its top-level ``id``, its message id (``d.id``), the body bytes
    to post (the same bytes on every attempt), the gap before it (seconds) and its faults."""

    n: int
    event_id: str
    msg_id: str
    body: bytes
    gap_s: float
    faults: frozenset[str]


def event_ids(n: int) -> tuple[str, str]:
    """(top-level event ``id``, message ``d.id``) of event ``n``."""
    return f"{EVENT_TYPE}:chaos-wh{n:07d}", f"ROBOT1.0_chaos-wh{n:07d}"


def plan_event(spec: WebhookSpec, n: int, rng: random.Random) -> PlannedEvent:
    """Event ``n`` of ``spec``'s stream: a C2C message whose content is ``message n``."""
    event_id, msg_id = event_ids(n)
    body = orjson.dumps({"id": event_id, "op": 0, "s": n, "t": EVENT_TYPE, "d": {
        "id": msg_id, "content": f"message {n}", "timestamp": "2026-11-01T12:00:00+08:00",
        "author": {"user_openid": OPENID, "union_openid": OPENID}}})
    gap = rng.expovariate(1.0 / spec.interval_s) if spec.interval_s > 0 else 0.0
    faults = frozenset(name for name in WebhookFaults.NAMES if rng.random() < getattr(spec.faults, name))
    return PlannedEvent(n, event_id, msg_id, body, gap, faults)
