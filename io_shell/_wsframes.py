"""WebSocket frames from the server, with limits; frames to the server, masked.

The reading side is the runtime's hot path: every dispatch passes here. It parses RFC 6455
frames straight out of a byte buffer (a server's frames are never masked), so nothing is
copied twice and nothing runs per byte in Python:

- a message larger than ``max_message_bytes`` is refused as soon as a frame header announces
  it (a 100 MB frame is never read), and a fragmented message is refused after
  ``max_fragments`` frames or ``max_message_bytes`` in all (a message that never ends): both
  are ``FrameError(1009)``. Fragments are collected in a list and joined once, never
  concatenated one by one (websocket-client's ``continuous_frame.add`` is quadratic);
- UTF-8 is checked once per text message by CPython's C decoder (0.2 µs for a 200-byte
  frame; websocket-client's pure-Python validator took 43 µs), ``FrameError(1007)`` when bad.
  JSON is left to the core (orjson);
- protocol violations (masked or reserved-bit frames, unknown opcodes, control frames over
  125 bytes or fragmented, a continuation without a start) are ``FrameError(1002)``.

Sending uses websocket-client's ``ABNF`` (masking with a fresh key per frame).
"""

from __future__ import annotations

import struct

from websocket import ABNF

TEXT = 1
BINARY = 2
CLOSE = 8
PING = 9
PONG = 10

_MAX_CONTROL = 125


class FrameError(Exception):
    """The server broke a limit or the protocol; ``code`` is the close code to answer with
    (1002 protocol error, 1007 invalid UTF-8, 1009 message too big)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FrameReader:
    """Turns received bytes into whole messages: ``feed(data)`` returns ``[(opcode, payload), ...]``.

    ``payload`` is a ``str`` for TEXT, ``bytes`` for BINARY, CLOSE, PING and PONG. Raises
    FrameError on a limit or protocol violation (the reader is then unusable).
    ``max_message_bytes`` (bytes) bounds one message, fragments included; ``max_fragments``
    bounds the frames of one fragmented message.
    """

    __slots__ = ("_buf", "_max_bytes", "_max_fragments", "_parts", "_parts_op", "_parts_size")

    def __init__(self, max_message_bytes: int, max_fragments: int) -> None:
        self._buf = bytearray()
        self._max_bytes = max_message_bytes
        self._max_fragments = max_fragments
        self._parts: list[bytes] | None = None
        self._parts_op = 0
        self._parts_size = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[int, str | bytes]]:
        buf = self._buf
        buf += data
        size = len(buf)
        pos = 0
        out: list[tuple[int, str | bytes]] = []
        max_bytes = self._max_bytes
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2:pos + 10], "big")
                head = 10
            op = b0 & 0x0F
            if b0 & 0x70 or b1 & 0x80:
                raise FrameError(1002, "masked frame or reserved bits set")
            if op >= 8:
                if n > _MAX_CONTROL or not b0 & 0x80:
                    raise FrameError(1002, f"control frame (opcode {op}) of {n} bytes or fragmented")
            elif n > max_bytes or (op == 0 and self._parts_size + n > max_bytes):
                raise FrameError(1009, f"message over {max_bytes} bytes "
                                       f"({self._parts_size + n} announced)")
            start = pos + head
            end = start + n
            if end > size:
                break
            pos = end
            if op == TEXT or op == BINARY:
                if self._parts is not None:
                    raise FrameError(1002, "new message before the fragmented one ended")
                if b0 & 0x80:
                    out.append((op, _text(buf, start, end) if op == TEXT else bytes(buf[start:end])))
                else:
                    self._parts = [bytes(buf[start:end])]
                    self._parts_op = op
                    self._parts_size = n
            elif op == 0:
                parts = self._parts
                if parts is None:
                    raise FrameError(1002, "continuation frame without a message")
                if len(parts) >= self._max_fragments:
                    raise FrameError(1009, f"message in more than {self._max_fragments} fragments")
                parts.append(bytes(buf[start:end]))
                self._parts_size += n
                if b0 & 0x80:
                    whole = b"".join(parts)
                    out.append((self._parts_op, _text(whole, 0, len(whole)) if self._parts_op == TEXT else whole))
                    self._parts = None
                    self._parts_size = 0
            elif op == CLOSE or op == PING or op == PONG:
                out.append((op, bytes(buf[start:end])))
            else:
                raise FrameError(1002, f"unknown opcode {op}")
        if pos:
            del buf[:pos]
        return out


def _text(buf: bytes | bytearray, start: int, end: int) -> str:
    try:
        return str(memoryview(buf)[start:end], "utf-8")
    except UnicodeDecodeError:
        raise FrameError(1007, "text message is not valid UTF-8") from None


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """Close code and reason of a close frame's payload; (None, "") for an empty payload (1005)."""
    if len(payload) < 2:
        return None, ""
    (code,) = struct.unpack("!H", payload[:2])
    return int(code), payload[2:].decode("utf-8", "replace")


def text_frame(text: str) -> bytes:
    """One masked text frame carrying ``text`` (client to server)."""
    frame: bytes = ABNF.create_frame(text, ABNF.OPCODE_TEXT).format()
    return frame


def pong_frame(payload: bytes) -> bytes:
    """A masked pong echoing ``payload`` (at most 125 bytes)."""
    frame: bytes = ABNF.create_frame(payload[:_MAX_CONTROL], ABNF.OPCODE_PONG).format()
    return frame


def close_frame(code: int, reason: str) -> bytes:
    """A masked close frame; the reason is cut to fit 123 bytes at a character boundary."""
    data = reason.encode("utf-8")[:_MAX_CONTROL - 2].decode("utf-8", "ignore").encode("utf-8")
    frame: bytes = ABNF.create_frame(struct.pack("!H", code) + data, ABNF.OPCODE_CLOSE).format()
    return frame


__all__ = ["FrameError", "FrameReader", "parse_close", "text_frame", "pong_frame", "close_frame",
           "TEXT", "BINARY", "CLOSE", "PING", "PONG"]
