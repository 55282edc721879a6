"""A text frame from the client, decoded once by the link that carries it.

The link decodes the frame as it leaves the client (simulator) or reaches the server (chaos
gateway), notes what it was (``sent_event``), and hands the decoded frame to the server
model: nothing downstream parses the text again or recognises it by its bytes, so a client
may lay its JSON out any way it likes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ._trace import HeartbeatSent, IdentifySent, ResumeSent


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """One decoded client frame.

    ``is_json`` is False when the text is not JSON at all, ``binary`` True for a binary
    message (the server closes with 4002 either way). ``op`` and ``d`` are the object's values
    (any JSON; None when absent or when the frame is not an object, which the server treats as
    an unknown opcode).
    """

    is_json: bool
    op: Any = None
    d: Any = None
    binary: bool = False


def decode_client_frame(text: str | bytes) -> ClientFrame:
    """Decode ``text`` (one WebSocket message from the client: ``str`` for a text message,
    ``bytes`` for a binary one, which is never decoded); never raises."""
    if not isinstance(text, str):
        return ClientFrame(is_json=False, binary=True)
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ClientFrame(is_json=False)
    if not isinstance(frame, dict):
        return ClientFrame(is_json=True)
    return ClientFrame(is_json=True, op=frame.get("op"), d=frame.get("d"))


def sent_event(at: float, conn: int, frame: ClientFrame) -> HeartbeatSent | IdentifySent | ResumeSent | None:
    """The trace event for a heartbeat (op 1), Identify (op 2) or Resume (op 6), compared as the
    server model compares opcodes; None for any other frame."""
    d: dict[str, Any] = frame.d if isinstance(frame.d, dict) else {}
    if frame.op == 1:
        return HeartbeatSent(at, conn)
    if frame.op == 2:
        return IdentifySent(at, conn, d.get("intents"), d.get("shard"))
    if frame.op == 6:
        return ResumeSent(at, conn, d.get("session_id"), d.get("seq"))
    return None
