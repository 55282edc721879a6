"""Gateway frames: decoding what the server sends, encoding what the client sends.

Shapes are protocol.md's ("Frames"): ``{"op": int, "d": any, "s": int?, "t": str?, "id": str?}``.
Decoding never raises: a frame the core cannot use becomes a ``Rejected`` with a reason,
which the step function logs and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson


class Op:
    """Gateway opcodes (protocol.md, "Frames")."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    RESUME = 6
    RECONNECT = 7
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11
    HTTP_CALLBACK_ACK = 12


SERVER_OPS = frozenset({Op.DISPATCH, Op.HEARTBEAT, Op.RECONNECT, Op.INVALID_SESSION,
                        Op.HELLO, Op.HEARTBEAT_ACK})
"""Opcodes a server may send on the WebSocket; anything else is rejected."""


class Frame(NamedTuple):
    """A decoded server frame. ``s`` and ``t`` are set (int, str) for op 0 Dispatch.

    A named tuple rather than a frozen dataclass: one is built for every frame, and a named
    tuple costs a third as much (benchmarks/, figure 1).
    """

    op: int
    d: Any
    s: int | None
    t: str | None
    id: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame the core could not use; ``reason`` says why (logged and counted)."""

    reason: str


_new = tuple.__new__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_frame(text: str | bytes) -> Frame | Rejected:
    """Decode one WebSocket message. Binary messages, bad JSON and wrong types are Rejected.

    JSON nested deeper than 1024 levels is bad JSON: orjson.loads refuses it since 3.9.15
    (CVE-2024-27454), the floor pyproject.toml pins, so every version the core runs on
    rejects the same frames.
    """
    if not isinstance(text, str):
        return Rejected("binary frame (the gateway speaks JSON text frames)")
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejected(f"invalid JSON: {exc}")
    if type(obj) is not dict:
        return Rejected(f"frame is a JSON {type(obj).__name__}, not an object")
    op = obj.get("op")
    if type(op) is not int:
        return Rejected("frame has no integer 'op'")
    s = obj.get("s")
    t = obj.get("t")
    event_id = obj.get("id")
    if op == 0:  # Op.DISPATCH, by far the most frequent: checked first
        if type(s) is not int or s < 0:
            return Rejected("dispatch without a non-negative integer 's'")
        if type(t) is not str or not t:
            return Rejected("dispatch without a string 't'")
        return _new(Frame, (0, obj.get("d"), s, t, event_id if type(event_id) is str else None))
    if op not in SERVER_OPS:
        return Rejected(f"unknown or client-only opcode {op}")
    s = s if _is_int(s) else None
    t = t if isinstance(t, str) else None
    if op == Op.HELLO:
        d = obj.get("d")
        interval = d.get("heartbeat_interval") if isinstance(d, dict) else None
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or not 0 < interval <= 3_600_000:
            return Rejected("Hello without a heartbeat_interval in (0, 3600000] ms")
    return Frame(op, obj.get("d"), s, t, event_id if type(event_id) is str else None)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def heartbeat_frame(seq: int | None) -> str:
    """op 1 Heartbeat; ``d`` is the last received ``s`` (null before any).

    Formatted directly (the same bytes ``orjson.dumps`` gives: ``seq`` is an int or None),
    because every heartbeat builds one.
    """
    return '{"op":1,"d":null}' if seq is None else f'{{"op":1,"d":{seq}}}'



def identify_frame(token: str, intents: int, shard: tuple[int, int]) -> str:
    """op 2 Identify with ``"QQBot <token>"`` (protocol.md; botgo's missing prefix is a known bug)."""
    return _dumps({"op": Op.IDENTIFY, "d": {"token": f"QQBot {token}", "intents": intents,
                                            "shard": [shard[0], shard[1]], "properties": {}}})


def resume_frame(token: str, session_id: str, seq: int) -> str:
    """op 6 Resume; the server replays every dispatch with ``s > seq`` then sends RESUMED."""
    return _dumps({"op": Op.RESUME, "d": {"token": f"QQBot {token}", "session_id": session_id,
                                          "seq": seq}})
