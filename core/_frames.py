"""Gateway frames: decoding what the server sends, encoding what the client sends.

Shapes are protocol.md's ("Frames"): ``{"op": int, "d": any, "s": int?, "t": str?, "id": str?}``.
Decoding never raises: a frame the core cannot use becomes a ``Rejected`` with a reason,
which the step function logs and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded server frame. ``s`` and ``t`` are set (int, str) for op 0 Dispatch."""

    op: int
    d: Any
    s: int | None
    t: str | None
    id: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame the core could not use; ``reason`` says why (logged and counted)."""

    reason: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_frame(text: str | bytes) -> Frame | Rejected:
    """Decode one WebSocket message. Binary messages, bad JSON and wrong types are Rejected."""
    if not isinstance(text, str):
        return Rejected("binary frame (the gateway speaks JSON text frames)")
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejected(f"invalid JSON: {exc}")
    if not isinstance(obj, dict):
        return Rejected(f"frame is a JSON {type(obj).__name__}, not an object")
    op = obj.get("op")
    if not _is_int(op):
        return Rejected("frame has no integer 'op'")
    if op not in SERVER_OPS:
        return Rejected(f"unknown or client-only opcode {op}")
    s = obj.get("s")
    t = obj.get("t")
    event_id = obj.get("id")
    if op == Op.DISPATCH:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            return Rejected("dispatch without a non-negative integer 's'")
        if not isinstance(t, str) or not t:
            return Rejected("dispatch without a string 't'")
    else:
        s = s if _is_int(s) else None
        t = t if isinstance(t, str) else None
    if op == Op.HELLO:
        d = obj.get("d")
        interval = d.get("heartbeat_interval") if isinstance(d, dict) else None
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or not 0 < interval <= 3_600_000:
            return Rejected("Hello without a heartbeat_interval in (0, 3600000] ms")
    return Frame(op=op, d=obj.get("d"), s=s, t=t,
                 id=event_id if isinstance(event_id, str) else None)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def heartbeat_frame(seq: int | None) -> str:
    """op 1 Heartbeat; ``d`` is the last received ``s`` (null before any)."""
    return _dumps({"op": Op.HEARTBEAT, "d": seq})


def identify_frame(token: str, intents: int, shard: tuple[int, int]) -> str:
    """op 2 Identify with ``"QQBot <token>"`` (protocol.md; botgo's missing prefix is a known bug)."""
    return _dumps({"op": Op.IDENTIFY, "d": {"token": f"QQBot {token}", "intents": intents,
                                            "shard": [shard[0], shard[1]], "properties": {}}})


def resume_frame(token: str, session_id: str, seq: int) -> str:
    """op 6 Resume; the server replays every dispatch with ``s > seq`` then sends RESUMED."""
    return _dumps({"op": Op.RESUME, "d": {"token": f"QQBot {token}", "session_id": session_id,
                                          "seq": seq}})
