"""One WebSocket connection epoch (``conn``): its connect/reader greenlet and its writer greenlet.

Everything here only *reports*: every outcome becomes an input naming this ``conn`` that is
put on the driver's queue (SocketOpened, FrameReceived, SocketClosed, ConnectFailed,
SendFailed). A greenlet of an old connection can therefore never touch a newer one; at
worst it produces inputs the core ignores as stale (design.md, "Connection epochs").

Greenlets of one connection:

- ``main``: opens the TCP (+TLS) socket with gevent-native sockets (cooperative whether or
  not the host monkey-patched), does the WebSocket upgrade with websocket-client, then reads
  frames until the peer closes or the transport ends. It is the only greenlet that reads.
- ``writer``: sends text frames, pongs and the close frame in order, each bounded by
  ``send_timeout_s``. It is the only greenlet that writes, so a slow write never blocks the
  driver and two greenlets never wait on one socket.
- a reaper, only after ``close()``: waits ``close_timeout_s`` for the peer's close reply,
  then kills ``main`` and drops the socket (a half-open peer never answers).

websocket-client's own ping and reconnect features are not used: liveness is the core's job.
WebSocket-level pings from the server are answered with a pong; they are not frames of the
gateway protocol and do not reach the core.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
import gevent.queue  # type: ignore[import-untyped]
import gevent.socket  # type: ignore[import-untyped]
import gevent.ssl  # type: ignore[import-untyped]
import websocket

from qqgate import core

log = logging.getLogger("qqgate.shell")

Put = Callable[[core.Input], None]
"""Puts one input on the driver's queue; never blocks (the queue is unbounded)."""

_MAX_CLOSE_REASON = 120
"""A close frame's reason must fit in 123 bytes (RFC 6455 §5.5)."""


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason.encode("utf-8")[:_MAX_CLOSE_REASON].decode("utf-8", "ignore")


class _Pong:
    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


_END = object()
"""Writer sentinel: stop after what is queued."""


def describe_error(exc: BaseException) -> str:
    """A one-line, human-readable reason for a socket-level exception."""
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return f"handshake refused: HTTP {exc.status_code}"
    if isinstance(exc, gevent.Timeout) or isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"DNS resolution error: {exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_websocket(url: str, timeout_s: float, verify_tls: bool) -> websocket.WebSocket:
    """Open ``url`` (ws:// or wss://) and complete the WebSocket upgrade within ``timeout_s`` seconds.

    Uses gevent sockets (and gevent's SSL for wss://, certificate verified unless
    ``verify_tls`` is False). The returned WebSocket has no timeout (reads wait for ever;
    the core decides when a connection is dead). Raises on any failure (OSError, ssl.SSLError,
    websocket.WebSocketException, gevent.Timeout, ValueError for a bad URL).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws(s) URL: {url[:80]!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    with gevent.Timeout(timeout_s):
        sock = gevent.socket.create_connection((parts.hostname, port), timeout=timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                # gevent's own SSLContext: ``gevent.ssl.create_default_context`` hands back the
                # stdlib context (blocking handshakes) unless ssl is monkey-patched.
                context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.load_default_certs(ssl.Purpose.SERVER_AUTH)
                if not verify_tls:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock, server_hostname=parts.hostname)
            ws = websocket.WebSocket(enable_multithread=False)
            untyped_ws: Any = ws  # websocket-client leaves connect/recv_frame/shutdown unannotated
            untyped_ws.connect(url, socket=sock, timeout=timeout_s, suppress_origin=True)
        except BaseException:
            sock.close()
            raise
    ws.settimeout(None)
    return ws


class Connection:
    """Connection epoch ``conn`` to ``url``: spawned at once, reports through ``put``.

    ``on_done(connection)`` is called once when its greenlets are finished and the socket is
    closed. ``send(text)`` and ``close(code, reason)`` never block.
    """

    def __init__(self, conn: int, url: str, put: Put, *, connect_timeout_s: float,
                 send_timeout_s: float, close_timeout_s: float, verify_tls: bool,
                 on_done: Callable[["Connection"], None]) -> None:
        self.conn = conn
        self.url = url
        self._put = put
        self._connect_timeout_s = connect_timeout_s
        self._send_timeout_s = send_timeout_s
        self._close_timeout_s = close_timeout_s
        self._verify_tls = verify_tls
        self._on_done = on_done
        self._outbox: Any = gevent.queue.Queue()
        self.ws: websocket.WebSocket | None = None
        self.closing = False
        self._finished = False
        self._writer: Any = None
        self.main: Any = gevent.spawn(self._main)
        self.main.link(lambda _greenlet: self._finish())

    # -- commands from the driver ---------------------------------------------------------
    def send(self, text: str) -> None:
        """Queue one text frame; a failure comes back as SendFailed(conn)."""
        if not self.closing:
            self._outbox.put(text)

    def close(self, code: int, reason: str) -> None:
        """Send a close frame, wait up to ``close_timeout_s`` for the peer, then drop the socket."""
        if self.closing:
            return
        self.closing = True
        if self.ws is None or self._writer is None or self._writer.dead:
            self.kill()
            return
        self._outbox.put(_Close(code, reason))
        gevent.spawn(self._reap)

    def kill(self) -> None:
        """Drop the connection now: no close handshake, no more inputs from it."""
        self.closing = True
        if not self.main.dead:
            self.main.kill(block=False)  # its link runs _finish

    # -- greenlets --------------------------------------------------------------------------
    def _main(self) -> None:
        """Connect, report, read. Its end (return, kill, crash) runs ``_finish`` through a link."""
        try:
            ws = open_websocket(self.url, self._connect_timeout_s, self._verify_tls)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an input
            if not self.closing:
                self.closing = True  # ending: the driver's sweep must not close it again
                self._put(core.ConnectFailed(time.monotonic(), self.conn, describe_error(exc)))
            return
        self.ws = ws
        if self.closing:
            return
        self._writer = gevent.spawn(self._write_loop, ws)
        self._put(core.SocketOpened(time.monotonic(), self.conn))
        code, reason = self._read_loop(ws)
        self.closing = True  # ending (a queued close reply still goes out in _finish)
        self._put(core.SocketClosed(time.monotonic(), self.conn, code, reason))

    def _read_loop(self, ws: Any) -> tuple[int | None, str]:
        """Read until the peer closes (its code and reason) or the transport ends (None)."""
        assembler = websocket.continuous_frame(False, False)
        while True:
            try:
                frame = ws.recv_frame()
                op = frame.opcode
                if op in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_CONT):
                    assembler.validate(frame)
                    assembler.add(frame)
                    if not assembler.is_fire(frame):
                        continue
                    opcode, whole = assembler.extract(frame)
                    data = whole.data
                    text: str | bytes
                    if opcode == websocket.ABNF.OPCODE_TEXT:
                        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else str(data)
                    else:
                        text = bytes(data)
                    self._put(core.FrameReceived(time.monotonic(), self.conn, text))
                elif op == websocket.ABNF.OPCODE_CLOSE:
                    code, reason = _parse_close(frame.data)
                    if not self.closing:
                        self._outbox.put(_Close(code if code is not None else 1000, ""))
                    return code, reason
                elif op == websocket.ABNF.OPCODE_PING:
                    self._outbox.put(_Pong(bytes(frame.data)[:125]))
            except gevent.GreenletExit:
                raise
            except websocket.WebSocketConnectionClosedException:
                return None, "connection lost (EOF)"
            except Exception as exc:  # noqa: BLE001 - reset, protocol violation, bad UTF-8
                if not self.closing:
                    self._outbox.put(_Close(1002, "protocol error"))
                return None, describe_error(exc)

    def _write_loop(self, ws: websocket.WebSocket) -> None:
        while True:
            item = self._outbox.get()
            if item is _END:
                return
            try:
                with gevent.Timeout(self._send_timeout_s):
                    if isinstance(item, str):
                        ws.send(item)
                    elif isinstance(item, _Pong):
                        ws.pong(item.payload)
                    elif isinstance(item, _Close):
                        ws.send_close(item.code, item.reason)
                        return
            except gevent.GreenletExit:
                raise
            except BaseException as exc:  # noqa: BLE001 - gevent.Timeout included
                if isinstance(item, str) and not self.closing:
                    self._put(core.SendFailed(time.monotonic(), self.conn, describe_error(exc)))
                return

    def _reap(self) -> None:
        self.main.join(timeout=self._close_timeout_s)
        if not self.main.dead:
            self.main.kill(block=False)  # its link runs _finish

    def _finish(self) -> None:
        """After ``main`` ended: let a queued close frame out (briefly), stop the writer, close
        the socket, tell the driver. Runs once, on its own greenlet (a link of ``main``)."""
        if self._finished:
            return
        self._finished = True
        self.closing = True
        writer = self._writer
        try:
            if writer is not None and not writer.dead:
                self._outbox.put(_END)
                writer.join(timeout=min(0.5, self._close_timeout_s))
        finally:
            if writer is not None:
                writer.kill(block=False)
            ws: Any = self.ws
            if ws is not None:
                try:
                    ws.shutdown()
                except Exception:  # noqa: BLE001 - already closed
                    pass
            try:
                self._on_done(self)
            except Exception:  # pragma: no cover - the driver's bookkeeping must not kill a greenlet
                log.exception("connection %s: on_done failed", self.conn)


def _parse_close(data: bytes) -> tuple[int | None, str]:
    """Close code and reason of a close frame's payload; (None, "") for an empty payload (1005)."""
    if len(data) < 2:
        return None, ""
    (code,) = struct.unpack("!H", bytes(data[:2]))
    return int(code), bytes(data[2:]).decode("utf-8", "replace")
