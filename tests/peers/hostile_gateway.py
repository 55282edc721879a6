"""A hostile QQ gateway on 127.0.0.1, in a process of its own, for tests/test_hostile_server.py.

Usage: python hostile_gateway.py CASE HELLO_MS LIFETIME_S [ATTACK_S]

Serves ``POST /app/getAppAccessToken`` and ``GET /gateway/bot`` over HTTP and a gateway
WebSocket. Every connection gets Hello (``HELLO_MS``), READY on Identify, RESUMED on Resume and
an ACK for every heartbeat; the *first* connection is then attacked once 2 heartbeats have
arrived, for at most ``ATTACK_S`` seconds (default 5) or until the client closes it:

- ``fragments``: a text message that never ends (64 KiB continuation frames, no FIN);
- ``huge-frame``: one frame announcing 100 MB, its payload streamed after the header;
- ``dispatch-flood``: ``FLOOD_N`` pre-encoded dispatches as fast as the socket takes them;
- ``ping-flood``: WebSocket pings as fast as the socket takes them;
- ``binary-garbage``: binary frames of random bytes, then random bytes that are no frame at all;
- ``close-reason``: a close frame with a 200-byte reason (a control frame may carry 125);
- ``calm``: no attack; a dispatch every 100 ms on every connection (blocking-handler tests).

The judge is independent of the client: every heartbeat the server receives is printed as a
JSON line ``{"ev": "hb", "conn": n, "t": monotonic}`` (CLOCK_MONOTONIC is system-wide, so the
times compare with the client's), with ``conn``, ``attack``, ``attack_end``, ``client_close``,
``identify`` and ``resume`` events. Client frames are parsed by wsproto; the hostile frames are
written by hand (no library writes broken frames). The process exits by itself after
``LIFETIME_S`` seconds. Loopback only.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

HOST = "127.0.0.1"
TOKEN = "hostile-token-ABCDEFG"
FLOOD_N = 100_000
"""Dispatches in the flood (about 14 MB)."""
CASE = ""
HELLO_MS = 1000
ATTACK_S = 5.0
FLOOD: list[bytes] = []
FLOOD_BATCH = 1000
_print_lock = threading.Lock()
_conns = 0
_conns_lock = threading.Lock()


def emit(**fields: Any) -> None:
    fields.setdefault("t", time.monotonic())
    line = json.dumps(fields)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def frame(op: int, payload: bytes, fin: bool = True) -> bytes:
    """One unmasked server frame."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        head = struct.pack("!BB", b0, n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


def text(obj: Any) -> bytes:
    return frame(1, json.dumps(obj, separators=(",", ":")).encode())


def dispatch(seq: int) -> bytes:
    return text({"op": 0, "s": seq, "t": "C2C_MESSAGE_CREATE", "id": f"C2C:m{seq}",
                 "d": {"id": f"m{seq}", "content": "hello", "author": {"user_openid": "E4F4"}}})


class Http(BaseHTTPRequestHandler):
    ws_port = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply({"access_token": TOKEN, "expires_in": "7200"})

    def do_GET(self) -> None:
        self._reply({"url": f"ws://{HOST}:{self.ws_port}/websocket", "shards": 1,
                     "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 1000,
                                             "max_concurrency": 1}})


class Conn:
    """One client connection: a reader (this thread) and, while attacking, a sender thread."""

    def __init__(self, sock: socket.socket, index: int) -> None:
        self.sock = sock
        self.index = index
        self.ws = WSConnection(ConnectionType.SERVER)
        self.lock = threading.Lock()
        # The reader never writes: a reader blocked behind a flood in sendall would stop
        # seeing heartbeats (and the judge would blame the client). One writer thread sends
        # urgent frames (Hello, READY, ACKs, pongs) first, then the bulk of an attack.
        self.urgent: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.bulk: queue.Queue[bytes] = queue.Queue(maxsize=8)
        self.heartbeats = 0
        self.closed = False
        self.mute = False
        threading.Thread(target=self.write, daemon=True).start()

    def send(self, data: bytes) -> None:
        """Queue an urgent frame (never blocks); dropped while an attack owns the stream (inside
        an unfinished message an ACK would be the server's own protocol error)."""
        if not self.mute:
            self.urgent.put(data)

    def send_bulk(self, data: bytes) -> None:
        """Queue attack bytes; blocks while 8 chunks wait (so an attack cannot outrun the socket)."""
        while not self.closed:
            try:
                self.bulk.put(data, timeout=0.1)
                return
            except queue.Full:
                continue
        raise OSError("closed")

    def write(self) -> None:
        try:
            while not self.closed:
                try:
                    data = self.urgent.get_nowait()
                except queue.Empty:
                    try:
                        data = self.bulk.get(timeout=0.01)
                    except queue.Empty:
                        continue
                self.sock.sendall(data)
        except OSError:
            self.closed = True

    def serve(self) -> None:
        emit(ev="conn", conn=self.index)
        parts: list[str] = []
        try:
            while True:
                data = self.sock.recv(65536)
                self.ws.receive_data(data or None)
                for event in self.ws.events():
                    if isinstance(event, Request):
                        self.send(self.ws.send(AcceptConnection()))
                        self.send(text({"op": 10, "d": {"heartbeat_interval": HELLO_MS}}))
                    elif isinstance(event, TextMessage):
                        parts.append(event.data)
                        if event.message_finished:
                            self.on_frame(json.loads("".join(parts)))
                            parts.clear()
                    elif isinstance(event, Ping):
                        self.send(self.ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        emit(ev="client_close", conn=self.index, code=event.code, reason=event.reason[:60])
                        return
                if not data:
                    emit(ev="client_eof", conn=self.index)
                    return
        except OSError as exc:
            emit(ev="client_gone", conn=self.index, error=type(exc).__name__)
        finally:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def on_frame(self, obj: dict[str, Any]) -> None:
        op = obj.get("op")
        if op == 1:
            emit(ev="hb", conn=self.index, d=obj.get("d"))
            self.send(text({"op": 11}))
            self.heartbeats += 1
            if self.index == 1 and self.heartbeats == 2 and CASE != "calm":
                threading.Thread(target=self.attack, daemon=True).start()
        elif op == 2:
            emit(ev="identify", conn=self.index)
            self.send(text({"op": 0, "s": 1, "t": "READY", "d": {"version": 1, "session_id": "hostile-1",
                                                                 "user": {"id": "1", "bot": True}, "shard": [0, 1]}}))
            if CASE == "calm":
                threading.Thread(target=self.trickle, daemon=True).start()
        elif op == 6:
            emit(ev="resume", conn=self.index, seq=obj.get("d", {}).get("seq"))
            self.send(text({"op": 0, "s": obj.get("d", {}).get("seq") or 1, "t": "RESUMED", "d": ""}))
            if CASE == "calm":
                threading.Thread(target=self.trickle, daemon=True).start()

    def trickle(self) -> None:
        seq = 1
        while not self.closed:
            time.sleep(0.1)
            seq += 1
            try:
                self.send_bulk(dispatch(10_000 * self.index + seq))
            except OSError:
                return

    def attack(self) -> None:
        emit(ev="attack", conn=self.index, case=CASE)
        self.mute = CASE in ("fragments", "huge-frame")
        while not self.urgent.empty():  # what was queued before the attack goes out first
            time.sleep(0.005)
        time.sleep(0.02)
        end = time.monotonic() + ATTACK_S
        sent = 0
        why = "time"
        try:
            if CASE == "fragments":
                chunk = b"x" * 65536
                self.send_bulk(frame(1, b'{"op":0,"d":"', fin=False))
                while time.monotonic() < end and not self.closed:
                    self.send_bulk(frame(0, chunk, fin=False))
                    sent += len(chunk)
            elif CASE == "huge-frame":
                self.send_bulk(struct.pack("!BBQ", 0x81, 127, 100_000_000))
                chunk = b"y" * 65536
                while time.monotonic() < end and not self.closed and sent < 100_000_000:
                    self.send_bulk(chunk)
                    sent += len(chunk)
            elif CASE == "dispatch-flood":
                for data in FLOOD:  # encoded before listening: the sender only writes
                    self.send_bulk(data)
                    sent += FLOOD_BATCH
                    if self.closed:
                        break
                why = "all sent"
            elif CASE == "ping-flood":
                ping = frame(9, b"p" * 100) * 500
                while time.monotonic() < end and not self.closed:
                    self.send_bulk(ping)
                    sent += 500
            elif CASE == "binary-garbage":
                for _ in range(200):
                    self.send_bulk(frame(2, os.urandom(200)))
                    sent += 1
                time.sleep(0.5)
                while time.monotonic() < end and not self.closed:
                    self.send_bulk(os.urandom(4096))
                    sent += 1
                    time.sleep(0.01)
            elif CASE == "close-reason":
                self.send_bulk(frame(8, struct.pack("!H", 4009) + b"r" * 200))
                sent = 1
                while time.monotonic() < end and not self.closed:
                    time.sleep(0.05)
        except OSError as exc:
            why = f"client closed ({type(exc).__name__})"
        emit(ev="attack_end", conn=self.index, sent=sent, why=why if not self.closed else "client closed")


def main(argv: list[str]) -> int:
    global CASE, HELLO_MS, ATTACK_S, _conns
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    CASE, HELLO_MS, lifetime = argv[1], int(argv[2]), float(argv[3])
    if len(argv) == 5:
        ATTACK_S = float(argv[4])
    if CASE == "dispatch-flood":
        for first in range(2, FLOOD_N + 2, FLOOD_BATCH):
            FLOOD.append(b"".join(dispatch(s) for s in range(first, min(first + FLOOD_BATCH, FLOOD_N + 2))))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(16)
    Http.ws_port = listener.getsockname()[1]
    http = ThreadingHTTPServer((HOST, 0), Http)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    emit(ev="listening", http=http.server_address[1], ws=Http.ws_port)
    listener.settimeout(0.2)
    stop_at = time.monotonic() + lifetime
    while time.monotonic() < stop_at:
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with _conns_lock:
            _conns += 1
            index = _conns
        threading.Thread(target=Conn(sock, index).serve, daemon=True).start()
    emit(ev="exit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
