"""One WebSocket connection epoch (``conn``): its reader greenlet and its writer greenlet.

Everything here only *reports*: every outcome becomes an input naming this ``conn``, handed
to the driver (SocketOpened, FrameReceived, SocketClosed, ConnectFailed, SendFailed). A
greenlet of an old connection can therefore never touch a newer one; at worst it produces
inputs the core ignores as stale (design.md, "Connection epochs").

Greenlets of one connection (both in the runtime's hub thread, ``_hub``):

- ``main``, the reader: opens the TCP (+TLS) socket with gevent-native sockets, does the
  WebSocket upgrade with websocket-client, then reads frames (``_wsframes.FrameReader``, with
  the message-size and fragment limits) until the peer closes, the transport ends or a limit
  is broken. Every whole message read in one ``recv`` goes to the driver as one batch, and
  after ``YIELD_EVERY_S`` of reading without a pause it yields to the hub, so a flood cannot
  keep the loop from firing timers: heartbeats go out on time however fast the server sends. While the host has
  ``inbox_size`` dispatches it has not settled, the reader stops reading (TCP pushes back;
  a stall long enough ends as a zombie connection, resumed from the last settled seq).
- ``writer``: sends text frames, the latest pong and the close frame in order, each bounded
  by ``send_timeout_s``. It is the only greenlet that writes, so a slow write never blocks
  the driver and two greenlets never wait on one socket. Pongs are not queued: only the
  reply to the most recent ping is kept (RFC 6455 §5.5.3), so a ping flood cannot grow it.

A limit or protocol violation closes the socket with its code (1009 message too big, 1007
invalid UTF-8, 1002 protocol error) without waiting for the peer, and reports SocketClosed
with no code (the core resumes after backoff). websocket-client's own ping and reconnect
features are not used: liveness is the core's job. WebSocket-level pings are answered here;
they are not frames of the gateway protocol and do not reach the core.
"""

from __future__ import annotations

import collections
import logging
import socket
import ssl
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]
import gevent.socket  # type: ignore[import-untyped]
import gevent.ssl  # type: ignore[import-untyped]
import websocket

from qqgate import core

from ._config import cleartext_refused, is_loopback  # noqa: F401  (re-exported)
from ._wsframes import CLOSE, PING, TEXT, FrameError, FrameReader, close_frame, parse_close, pong_frame, text_frame

log = logging.getLogger("qqgate.shell")

Feed = Callable[[core.Input], None]
"""Hands one input to the driver (steps it at once, in the hub thread)."""
FeedMany = Callable[[list[core.Input]], None]

RECV_BYTES = 65536
"""One ``recv`` reads at most this much."""
LINGER_BYTES = 4 * RECV_BYTES
"""At most this much is read and discarded after our close frame (see ``_linger``)."""
YIELD_EVERY_S = 0.005
"""A reader that has read for this long (seconds) without waiting on its socket yields to the
hub: under any flood a heartbeat waits at most this long (plus the timer grid) for its turn."""


class _Pong:
    """Writer marker: send the latest pong payload."""


_PONG = _Pong()
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


def open_websocket(url: str, timeout_s: float, verify_tls: bool) -> Any:
    """Open ``url`` (ws:// or wss://), complete the WebSocket upgrade within ``timeout_s`` seconds,
    and return the connected gevent socket (plain or TLS), positioned after the handshake.

    Uses gevent sockets (and gevent's SSL for wss://, certificate verified unless
    ``verify_tls`` is False); the upgrade (request, ``Sec-WebSocket-Accept`` check) is
    websocket-client's, which reads the response byte by byte, so no frame is read ahead.
    The socket has no timeout (reads wait for ever; the core decides when a connection is
    dead). Raises on any failure (OSError, ssl.SSLError, websocket.WebSocketException,
    gevent.Timeout, ValueError for a bad URL).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError("not a ws:// or wss:// URL")
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
            ws: Any = websocket.WebSocket(enable_multithread=False, skip_utf8_validation=True)
            ws.connect(url, socket=sock, timeout=timeout_s, suppress_origin=True)
        except BaseException:
            sock.close()
            raise
    sock.settimeout(None)
    return sock


class Limits:
    """The connection's limits (``ShellConfig``): bytes per message, fragments per message, and
    how many unsettled dispatches the host may hold before the reader stops reading."""

    __slots__ = ("max_message_bytes", "max_fragments", "inbox_size")

    def __init__(self, max_message_bytes: int, max_fragments: int, inbox_size: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.max_fragments = max_fragments
        self.inbox_size = inbox_size


class Connection:
    """Connection epoch ``conn`` to ``url``: spawned at once, reports through ``feed``/``feed_many``.

    ``on_done(connection)`` is called once when its greenlets are finished and the socket is
    closed. ``send(text)`` and ``close(code, reason)`` never block or switch greenlets, so the
    driver may call them while it steps. ``backlog()`` is the number of dispatches the host
    holds unsettled; ``room`` is an event the driver sets when it falls below the bound.
    ``scrub`` removes secrets from an error text before it is shortened or reported.
    """

    def __init__(self, conn: int, url: str, feed: Feed, feed_many: FeedMany, *, connect_timeout_s: float,
                 send_timeout_s: float, close_timeout_s: float, verify_tls: bool, limits: Limits,
                 backlog: Callable[[], int], room: Any, scrub: Callable[[str], str],
                 on_done: Callable[["Connection"], None]) -> None:
        self.conn = conn
        self.url = url
        self._feed = feed
        self._feed_many = feed_many
        self._connect_timeout_s = connect_timeout_s
        self._send_timeout_s = send_timeout_s
        self._close_timeout_s = close_timeout_s
        self._verify_tls = verify_tls
        self._limits = limits
        self._backlog = backlog
        self._room = room
        self._scrub = scrub
        self._on_done = on_done
        self._outbox: collections.deque[Any] = collections.deque()
        self._wake: Any = gevent.event.Event()
        self._pong: bytes | None = None
        self.sock: Any = None
        self.closing = False
        self._finished = False
        self._writer: Any = None
        self.frames_read = 0
        self.yields = 0
        self.main: Any = gevent.spawn(self._main)
        self.main.link(lambda _greenlet: self._finish())

    # -- commands from the driver (never block, never switch) -------------------------------
    def send(self, text: str) -> None:
        """Queue one text frame; a failure comes back as SendFailed(conn)."""
        if not self.closing:
            self._outbox.append(text_frame(text))
            self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Send a close frame, wait up to ``close_timeout_s`` for the peer, then drop the socket."""
        if self.closing:
            return
        self.closing = True
        if self.sock is None or self._writer is None or self._writer.dead:
            self.kill()
            return
        self._outbox.append(close_frame(code, reason))
        self._wake.set()
        gevent.spawn(self._reap)

    def kill(self) -> None:
        """Drop the connection now: no close handshake, no more inputs from it."""
        self.closing = True
        if self.main.dead:
            return
        if self.main is gevent.getcurrent():
            self._killed_from_inside = True  # the reader ends after the batch it is feeding
        else:
            self.main.kill(block=False)  # its link runs _finish

    # -- the reader ---------------------------------------------------------------------------
    def _main(self) -> None:
        """Connect, report, read. Its end (return, kill, crash) runs ``_finish`` through a link."""
        try:
            sock = open_websocket(self.url, self._connect_timeout_s, self._verify_tls)
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an input
            if not self.closing:
                self.closing = True  # ending: the driver's sweep must not close it again
                self._feed(core.ConnectFailed(time.monotonic(), self.conn, self._reason(exc)))
            return
        self.sock = sock
        if self.closing:
            return
        self._writer = gevent.spawn(self._write_loop, sock)
        self._feed(core.SocketOpened(time.monotonic(), self.conn))
        code, reason = self._read_loop(sock)
        self.closing = True  # ending (a queued close reply still goes out in _finish)
        self._feed(core.SocketClosed(time.monotonic(), self.conn, code, reason))

    def _reason(self, exc: BaseException) -> str:
        """Scrubbed first, shortened second: a secret cut in half cannot be found any more."""
        return self._scrub(describe_error(exc))[:300]

    def _read_loop(self, sock: Any) -> tuple[int | None, str]:
        """Read until the peer closes (its code and reason), the transport ends or a limit
        breaks (None and why)."""
        limits = self._limits
        reader = FrameReader(limits.max_message_bytes, limits.max_fragments)
        recv = sock.recv
        conn = self.conn
        feed_many = self._feed_many
        frame_received = core.FrameReceived
        monotonic = time.monotonic
        inbox_size = limits.inbox_size
        last_yield = monotonic()
        while True:
            try:
                data = recv(RECV_BYTES)
            except gevent.GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - reset, TLS error
                return None, self._reason(exc)
            if not data:
                return None, "connection lost (EOF)"
            try:
                messages = reader.feed(data)
            except FrameError as exc:
                return self._violation(exc.code, exc.reason)
            if messages:
                at = monotonic()
                inputs: list[core.Input] = []
                for op, payload in messages:
                    if op == TEXT or op == 2:
                        inputs.append(frame_received(at, conn, payload))
                    elif op == PING:
                        self._queue_pong(payload)  # type: ignore[arg-type]
                    elif op == CLOSE:
                        if inputs:
                            feed_many(inputs)
                        code, reason = parse_close(payload)  # type: ignore[arg-type]
                        if not self.closing:
                            self._outbox.append(close_frame(code if code is not None else 1000, ""))
                            self._wake.set()
                        return code, reason
                if inputs:
                    # Also while closing: a late frame of a left connection is a stale input the
                    # core counts, never one that touches the newer connection.
                    self.frames_read += len(inputs)
                    feed_many(inputs)
            if self._killed_from_inside:
                return None, "connection dropped"
            now = monotonic()
            if now - last_yield >= YIELD_EVERY_S:
                # Reading for YIELD_EVERY_S without the socket running dry: let the loop run
                # timers and the other sessions first. ``gevent.idle()``, not ``sleep(0)``: a
                # greenlet resumed by sleep(0) runs again before the loop looks at its timers
                # (a timer then fires ~200 ms late); idle waits until the loop has nothing due.
                self.yields += 1
                gevent.idle()
                last_yield = monotonic()
            while self._backlog() >= inbox_size and not self.closing:
                self._room.clear()
                self._room.wait(1.0)  # the host holds inbox_size unsettled dispatches: stop reading
                last_yield = monotonic()

    _killed_from_inside = False

    def _violation(self, code: int, reason: str) -> tuple[int | None, str]:
        """The server broke a limit or the protocol: close with ``code`` at once, without waiting."""
        if not self.closing:
            self._outbox.append(close_frame(code, reason))
            self._wake.set()
        return None, f"closed by the client with {code}: {reason}"

    def _queue_pong(self, payload: bytes) -> None:
        if self.closing:
            return
        if self._pong is None:
            self._outbox.append(_PONG)
            self._wake.set()
        self._pong = payload  # only the latest ping is answered

    # -- the writer ---------------------------------------------------------------------------
    def _write_loop(self, sock: Any) -> None:
        outbox = self._outbox
        wake = self._wake
        while True:
            while not outbox:
                wake.clear()
                wake.wait()
            item = outbox.popleft()
            if item is _END:
                return
            if item is _PONG:
                data, self._pong = self._pong, None
                if data is None:
                    continue
                item = pong_frame(data)
            try:
                with gevent.Timeout(self._send_timeout_s):
                    sock.sendall(item)
            except gevent.GreenletExit:
                raise
            except BaseException as exc:  # noqa: BLE001 - gevent.Timeout included
                if not self.closing:
                    self.closing = True
                    self._feed(core.SendFailed(time.monotonic(), self.conn, self._reason(exc)))
                return
            if item[0] == 0x88:  # a close frame: nothing may follow it
                return

    def _linger(self, sock: Any) -> None:
        """Half-close, then read and discard what the peer still sends (briefly, boundedly):
        closing a socket with unread data makes the kernel answer RST, and a peer that gets a
        reset may never read the close frame just sent."""
        try:
            sock.shutdown(socket.SHUT_WR)
            with gevent.Timeout(min(0.25, self._close_timeout_s), False):
                drained = 0
                while drained < LINGER_BYTES:
                    data = sock.recv(RECV_BYTES)
                    if not data:
                        break
                    drained += len(data)
        except Exception:  # noqa: BLE001 - already reset or closed
            pass

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
                self._outbox.append(_END)
                self._wake.set()
                writer.join(timeout=min(0.5, self._close_timeout_s))
        finally:
            if writer is not None:
                writer.kill(block=False)
            sock = self.sock
            if sock is not None:
                self._linger(sock)
                try:
                    sock.close()
                except Exception:  # noqa: BLE001 - already closed
                    pass
            try:
                self._on_done(self)
            except Exception:  # pragma: no cover - the driver's bookkeeping must not kill a greenlet
                log.exception("connection %s: on_done failed", self.conn)


__all__ = ["Connection", "Limits", "cleartext_refused", "describe_error", "is_loopback", "open_websocket"]
