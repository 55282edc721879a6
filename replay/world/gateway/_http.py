"""One TCP connection of the chaos gateway: HTTP/1.1 with h11, upgraded to WebSocket at /websocket.

REST and the gateway share one port, as ``api.sgroup.qq.com`` serves both. Each connection
is parsed by h11 (keep-alive included); a ``GET /websocket`` with ``Upgrade: websocket``
is handed to wsproto with ``initiate_upgrade_connection`` (h11 has already parsed it).
Connect faults act here:

- ``DnsOutage``: the TCP connection is reset at once (SO_LINGER 0), REST included.
- ``RefuseConnects``: a WebSocket upgrade is reset before any answer; REST still works.
- ``StallConnects``: a WebSocket upgrade is never answered; the socket stays open until
  the client gives up (or the gateway stops).

Every JSON response carries exactly ``Content-Type: application/json`` (botpy compares the
header with ``==``) and an ``X-Tps-trace-Id`` (botpy logs it).
"""

from __future__ import annotations

import socket
import struct
import uuid
from typing import Any, Callable, Protocol
from urllib.parse import unquote, urlsplit

import h11
import orjson
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from .._faults import DnsOutage, RefuseConnects, StallConnects
from .._network import TimedT
from .._trace import ConnectRefused, ConnectReset, ConnectStalled, TraceEvent
from ._ws import RECV_BYTES, WsOutlet, drop

MAX_BODY_BYTES = 1 << 20
WEBSOCKET_PATHS = ("/websocket", "/websocket/")


class Frontend(Protocol):
    """What a connection needs from the gateway (``_app.ChaosGateway`` provides it)."""

    def window(self, kind: type[TimedT]) -> TimedT | None:
        """The timed fault of ``kind`` in force now, or None."""
        ...

    def note(self, event: TraceEvent) -> None: ...

    @property
    def model_now(self) -> float: ...

    def rest(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]: ...

    def websocket(self, outlet: WsOutlet) -> Callable[[str | bytes], None]:
        """Register an upgraded connection; return the callback for its text frames."""
        ...

    def websocket_ended(self, outlet: WsOutlet) -> None: ...

    def stalled(self, sock: Any, add: bool) -> None: ...


def reset(sock: Any) -> None:
    """Abort ``sock`` with a TCP RST (SO_LINGER on, zero timeout)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _is_upgrade(headers: dict[str, str]) -> bool:
    return "websocket" in headers.get("upgrade", "").lower()


class HttpConnection:
    """Serve one accepted TCP connection (the gevent StreamServer handler)."""

    def __init__(self, frontend: Frontend, sock: Any) -> None:
        self.frontend = frontend
        self.sock = sock
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)

    def serve(self) -> None:
        if self.frontend.window(DnsOutage):
            self.frontend.note(ConnectReset(self.frontend.model_now, "DnsOutage"))
            reset(self.sock)
            return
        try:
            while self._one_request():
                self.h11.start_next_cycle()
        except (OSError, h11.ProtocolError):
            pass
        finally:
            drop(self.sock)

    def _next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = self.sock.recv(RECV_BYTES)
            self.h11.receive_data(data)

    def _one_request(self) -> bool:
        """Serve one request; True to go on with the next one on this connection."""
        try:
            event = self._next_event()
        except h11.RemoteProtocolError:
            self._respond(400, {"code": 400, "message": "bad request"})
            return False
        if not isinstance(event, h11.Request):
            return False
        method = event.method.decode("ascii", "replace")
        target = event.target.decode("ascii", "replace")
        path = unquote(urlsplit(target).path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        if path in WEBSOCKET_PATHS and method == "GET" and _is_upgrade(headers):
            self._upgrade(event)
            return False
        body = self._read_body()
        if body is None:
            self._respond(413, {"code": 413, "message": "body too large"})
            return False
        if path in WEBSOCKET_PATHS:
            status, payload = 400, {"code": 400, "message": "expected a WebSocket upgrade"}
        else:
            status, payload = self.frontend.rest(method, path, headers, body)
        self._respond(status, payload)
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def _read_body(self) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self._next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY_BYTES:
                    return None
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:
                raise h11.RemoteProtocolError("connection ended inside a request body")

    def _respond(self, status: int, payload: Any) -> None:
        if self.h11.our_state is not h11.SEND_RESPONSE:
            return
        body = orjson.dumps(payload)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   ("X-Tps-trace-Id", uuid.uuid4().hex), ("Server", "qqgate-chaos")]
        out = self.h11.send(h11.Response(status_code=status, headers=headers))
        out += self.h11.send(h11.Data(data=body)) + self.h11.send(h11.EndOfMessage())
        self.sock.sendall(out)

    def _upgrade(self, request: h11.Request) -> None:
        refused = self.frontend.window(RefuseConnects)
        if refused is not None:
            self.frontend.note(ConnectRefused(self.frontend.model_now, refused.error))
            reset(self.sock)
            return
        if self.frontend.window(StallConnects):
            self.frontend.note(ConnectStalled(self.frontend.model_now))
            self._stall()
            return
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.initiate_upgrade_connection(list(request.headers), request.target)
            events = list(ws.events())
        except WsRemoteProtocolError as exc:
            self._respond(400, {"code": 400, "message": f"bad WebSocket handshake: {exc}"})
            return
        if not events or not isinstance(events[0], Request):
            self._respond(400, {"code": 400, "message": "bad WebSocket handshake"})
            return
        self.sock.sendall(ws.send(AcceptConnection()))
        trailing, _ = self.h11.trailing_data
        outlet = WsOutlet(self.sock, ws)
        on_text = self.frontend.websocket(outlet)
        try:
            outlet.serve(on_text, bytes(trailing))
        finally:
            self.frontend.websocket_ended(outlet)

    def _stall(self) -> None:
        """Never answer: read and discard until the client hangs up."""
        self.frontend.stalled(self.sock, True)
        try:
            while self.sock.recv(RECV_BYTES):
                pass
        except OSError:
            pass
        finally:
            self.frontend.stalled(self.sock, False)
