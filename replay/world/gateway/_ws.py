"""The server side of one WebSocket connection: wsproto over a gevent socket.

wsproto does the framing (RFC 6455); this module only moves bytes. One reader greenlet
(the connection's own) feeds received bytes to wsproto and hands complete text messages
to the link; one writer greenlet drains a queue, so the model can send or close from
any greenlet without ever blocking, and frames leave in the order the model made them
(op 7 before its 4009 close, replayed dispatches before RESUMED).

Closing, as the model asks (``close(code, reason, style)``): a code sends a close frame and
waits up to ``CLOSE_REPLY_TIMEOUT_S`` for the client's reply before closing TCP. With no
code, ``style`` says how: ``"fin"`` closes TCP without a close frame (the client sees EOF),
``"empty"`` sends a close frame with no status code (the client sees 1005, ``code=None``),
``"reset"`` aborts TCP with an RST. A client's close frame is answered at once (RFC 6455
§5.5.1). Binary messages are handed to the link as ``bytes`` (the model refuses them). A black-holed connection (``blackhole()``) stops
sending and stops reading frames without closing anything: bytes from the client are
read and discarded only so the socket is released when the client finally closes it.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.queue  # type: ignore[import-untyped, unused-ignore]
import struct

from wsproto import WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    BytesMessage, CloseConnection, Event, Message, Ping, TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

RECV_BYTES = 65536
CLOSE_REPLY_TIMEOUT_S = 2.0


def reset(sock: Any) -> None:
    """Abort ``sock`` with a TCP RST (SO_LINGER on, zero timeout); errors are ignored."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def drop(sock: Any) -> None:
    """Close ``sock`` with a FIN (no WebSocket close frame); errors are ignored."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class WsOutlet:
    """One upgraded connection. Implements the link's ``Outlet`` protocol."""

    def __init__(self, sock: Any, ws: WSConnection) -> None:
        self._sock = sock
        self._ws = ws
        self._queue: Any = gevent.queue.Queue()
        self._blackholed = False
        self._closing = False
        self._close_timer: Any = None
        self.client_close_code: int | None = None
        """The code of the client's close frame, if it sent one."""

    # -- Outlet ------------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        if not self._blackholed and not self._closing:
            self._queue.put(("text", text))

    def close(self, code: int | None, reason: str, style: str = "fin") -> None:
        if self._closing or self._blackholed:
            return
        self._closing = True
        self._queue.put(("close", code, reason, style))

    def blackhole(self) -> None:
        self._blackholed = True

    def abort(self) -> None:
        """Drop the TCP connection now, whatever its state (the gateway is stopping)."""
        self._closing = True
        drop(self._sock)

    # -- serving -------------------------------------------------------------------------
    def serve(self, on_text: Callable[[str | bytes], None], initial: bytes = b"") -> None:
        """Run until the connection ends (in the connection's greenlet); the socket is closed after."""
        writer = gevent.spawn(self._write_loop)
        try:
            self._read_loop(on_text, initial)
        finally:
            if self._close_timer is not None:
                self._close_timer.kill(block=False)
            writer.kill(block=False)
            drop(self._sock)

    def _read_loop(self, on_text: Callable[[str | bytes], None], initial: bytes) -> None:
        parts: list[str | bytes] = []
        data = initial
        while True:
            if data and not self._blackholed:
                try:
                    self._ws.receive_data(data)
                except RemoteProtocolError:
                    return
                for event in self._ws.events():
                    if self._handle(event, parts, on_text):
                        return
            try:
                data = self._sock.recv(RECV_BYTES)
            except OSError:
                return
            if not data:
                return

    def _handle(self, event: Event, parts: list[str | bytes], on_text: Callable[[str | bytes], None]) -> bool:
        """Act on one wsproto event; True when the connection is over."""
        if isinstance(event, (TextMessage, BytesMessage)):
            chunk = event.data
            parts.append(chunk if isinstance(chunk, str) else bytes(chunk))
            if event.message_finished:
                whole: str | bytes = ("".join(p for p in parts if isinstance(p, str))
                                      if isinstance(event, TextMessage)
                                      else b"".join(p for p in parts if isinstance(p, bytes)))
                parts.clear()
                on_text(whole)
        elif isinstance(event, Ping):
            self._queue.put(("event", event.response()))
        elif isinstance(event, CloseConnection):
            self.client_close_code = int(event.code)
            if self._ws.state is ConnectionState.REMOTE_CLOSING:
                self._closing = True
                self._queue.put(("event", event.response()))
                self._queue.put(("end",))
                return False  # keep reading until the writer has closed the socket
            return True  # the reply to our own close frame
        return False

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if self._blackholed:
                continue
            try:
                if item[0] == "text":
                    self._sock.sendall(self._ws.send(Message(data=item[1])))
                elif item[0] == "event":
                    self._sock.sendall(self._ws.send(item[1]))
                elif item[0] == "close":
                    code, reason, style = item[1], item[2], item[3]
                    if code is None and style == "reset":
                        reset(self._sock)
                        return
                    if code is None and style != "empty":
                        drop(self._sock)
                        return
                    close = (CloseConnection(code=CloseReason.NO_STATUS_RCVD) if code is None
                             else CloseConnection(code=code, reason=reason or None))
                    self._sock.sendall(self._ws.send(close))
                    self._close_timer = gevent.spawn_later(CLOSE_REPLY_TIMEOUT_S, drop, self._sock)
                else:  # "end"
                    drop(self._sock)
                    return
            except LocalProtocolError:
                continue  # e.g. a frame after the close handshake started: nothing to send
            except OSError:
                drop(self._sock)
                return
