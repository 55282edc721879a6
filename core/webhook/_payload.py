"""The body of one callback, decoded: an op 13 validation, an op 0 event, an op 1 heartbeat, or a rejection.

The payload is the gateway's own (bot-docs ``interface-framework/event-emit``, "通用数据结构
Payload": ``{"id": event id, "op": opcode, "d": ..., "s": seq, "t": event type}``, "the same
structure on webhook and websocket"). Callbacks use op 0 (Dispatch) and op 13 (callback-URL
validation, ``d`` = ``{"plain_token", "event_ts"}``); botgo (``interaction/webhook``) also
answers an op 1 heartbeat with op 11 and the ``d`` it carried, which is kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import orjson

MAX_PLAIN_TOKEN = 256
"""Longer ``plain_token`` values are refused (the docs' example has 20 characters)."""


@dataclass(frozen=True, slots=True)
class Validation:
    """op 13: prove we hold the bot secret by signing ``event_ts + plain_token``."""

    plain_token: str
    event_ts: str


@dataclass(frozen=True, slots=True)
class Event:
    """op 0: ``event_id`` is the top-level ``id`` (redeliveries repeat it), ``event_type`` is
    ``t``, ``data`` is ``d``, ``seq`` is ``s`` when it is an integer."""

    event_id: str | None
    event_type: str
    data: Any
    seq: int | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """op 1: answered with op 11 and the same ``d`` (botgo's ``GenHeartbeatACK``)."""

    d: int


@dataclass(frozen=True, slots=True)
class Malformed:
    """Not a payload this receiver can take; ``reason`` says why (answered with 400)."""

    reason: str


Callback = Union[Validation, Event, Heartbeat, Malformed]


def decode_callback(body: str | bytes) -> Callback:
    """Decode a callback body; never raises (every problem is a ``Malformed``)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Malformed("body is not JSON (or not UTF-8)")
    if not isinstance(obj, dict):
        return Malformed("body is not a JSON object")
    op = obj.get("op")
    if type(op) is not int:
        return Malformed("op is missing or not an integer")
    d = obj.get("d")
    if op == 0:
        event_type = obj.get("t")
        if not isinstance(event_type, str) or not event_type:
            return Malformed("op 0 without an event type t")
        event_id = obj.get("id")
        seq = obj.get("s")
        return Event(event_id if isinstance(event_id, str) and event_id else None, event_type, d,
                     seq if type(seq) is int else None)
    if op == 13:
        if not isinstance(d, dict):
            return Malformed("op 13 without a d object")
        plain_token, event_ts = d.get("plain_token"), d.get("event_ts")
        if not isinstance(plain_token, str) or not isinstance(event_ts, str) or not plain_token or not event_ts:
            return Malformed("op 13 without string plain_token and event_ts")
        if len(plain_token) > MAX_PLAIN_TOKEN or len(event_ts) > 32:
            return Malformed("op 13 plain_token or event_ts too long")
        return Validation(plain_token, event_ts)
    if op == 1:
        return Heartbeat(d if type(d) is int and 0 <= d < 1 << 32 else 0)
    return Malformed(f"unsupported opcode {op}")


def safe_unsigned_validation(validation: Validation) -> bool:
    """Whether an op 13 with no signature may be answered (``allow_unsigned_validation``):
    ``event_ts`` all digits and no ``{`` in ``plain_token``, so the signature we give cannot
    also be a valid signature of a JSON event body under any timestamp."""
    return validation.event_ts.isdigit() and validation.event_ts.isascii() and "{" not in validation.plain_token
