"""ChaosGateway: the server model on real sockets, with REST, faults and a record of what happened.

Use it in a process that runs gevent (``start()`` spawns greenlets in the caller's hub and
returns at once), or from plain blocking code with ``start_in_thread()``, which runs a
private gevent hub in a daemon thread; every method may then be called from any thread
(calls into the model are carried into the gateway's hub). No monkey patching is needed
either way: the gateway only uses gevent's own sockets.

Listens on 127.0.0.1 only. ``http_base`` stands for both ``https://bots.qq.com`` (the
token endpoint) and ``https://api.sgroup.qq.com`` (the OpenAPI); ``ws_url`` is what
``GET /gateway`` returns.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from typing import Any, Callable, TypeVar

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.event  # type: ignore[import-untyped, unused-ignore]
import gevent.monkey  # type: ignore[import-untyped, unused-ignore]
import gevent.pool  # type: ignore[import-untyped, unused-ignore]
from gevent.server import StreamServer  # type: ignore[import-untyped, unused-ignore]
import orjson

from .._faults import Fault, fault_from_json
from .._network import TimedT
from .._trace import GatewayListening, GatewayStopping, TraceEvent
from .._spec import WorldSpec
from ._http import HttpConnection
from ._link import GatewayEvent, RealTimeLink
from ._http_api import RestApi, SentMessage, error
from ._ws import WsOutlet, drop

HOST = "127.0.0.1"
_thread_id: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")
"""The OS thread's id even when threading is monkey-patched (then get_ident names greenlets)."""
T = TypeVar("T")


class ChaosGateway:
    """A real WebSocket + HTTP QQ gateway on 127.0.0.1, driven by ``GatewayServer``.

    ``world`` gives the server parameters and the fault schedule (fault times are model
    seconds from ``start()``); with ``time_scale`` X every server-side duration is divided
    by X. ``port`` 0 picks a free port. ``on_event`` is called (in the gateway's hub) for
    every event as it is recorded.
    """

    def __init__(self, world: WorldSpec | None = None, time_scale: float = 1.0, port: int = 0,
                 *, seed: int = 1, on_event: Callable[[GatewayEvent], None] | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.world = world if world is not None else WorldSpec()
        self.time_scale = time_scale
        self.port = port
        self.seed = seed
        self._on_event = on_event
        self._link: RealTimeLink | None = None
        self._api: RestApi | None = None
        self._server: Any = None
        self._outlets: dict[WsOutlet, int] = {}
        self._stalled: set[Any] = set()
        self._hub: Any = None
        self._thread: threading.Thread | None = None
        self._thread_ident: int | None = None
        self._thread_done: Any = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> ChaosGateway:
        """Listen and arm the fault schedule, in the current thread's gevent hub; returns at once."""
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = StreamServer((HOST, self.port), self._handle, spawn=gevent.pool.Pool())
        self._server.start()
        self.port = int(self._server.server_port)
        self._hub = gevent.get_hub()
        self._thread_ident = _thread_id()
        self._link = RealTimeLink(self.world, self.time_scale, random.Random(self.seed), self._on_event)
        self._api = RestApi(lambda headers: self.ws_url, lambda: self.link.server, lambda: self.link.now,
                            self.time_scale)
        self._link.note(GatewayListening(self._link.now, self.port, self.time_scale))
        self._link.schedule_faults()
        return self

    def start_in_thread(self, timeout_s: float = 10.0) -> ChaosGateway:
        """``start()`` in a daemon thread with its own gevent hub, for blocking callers (tests)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                self._thread_done = gevent.event.Event()
                self.start()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            self._thread_done.wait()

        self._thread = threading.Thread(target=main, name="chaos-gateway", daemon=True)
        self._thread.start()
        if not started.wait(timeout_s):
            raise RuntimeError("the chaos gateway did not start in time")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop listening, drop every connection, cancel every timer. Idempotent."""
        if self._server is None:
            return
        self.call(self._stop_here, timeout_s)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _stop_here(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        if self._link is not None:
            self._link.note(GatewayStopping(self._link.now))
            self._link.stop()
        for outlet in list(self._outlets):
            outlet.abort()
        for sock in list(self._stalled):
            drop(sock)
        server.stop(timeout=0.2)  # then idle keep-alive HTTP handlers are killed
        if self._thread_done is not None:
            self._thread_done.set()

    def __enter__(self) -> ChaosGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T], timeout_s: float = 5.0) -> T:
        """Run ``fn`` in the gateway's hub (at once when already there) and return its result."""
        if self._hub is None or _thread_id() == self._thread_ident:
            return fn()
        done = threading.Event()
        box: list[Any] = []

        def run() -> None:
            try:
                box.append((True, fn()))
            except BaseException as exc:
                box.append((False, exc))
            finally:
                done.set()

        self._hub.loop.run_callback_threadsafe(gevent.spawn, run)
        if not done.wait(timeout_s):
            raise TimeoutError("the chaos gateway's hub did not answer in time")
        ok, value = box[0]
        if not ok:
            raise value
        result: T = value
        return result

    # -- what tests and hosts use ----------------------------------------------------------
    @property
    def link(self) -> RealTimeLink:
        if self._link is None:
            raise RuntimeError("the chaos gateway is not started")
        return self._link

    @property
    def http_base(self) -> str:
        """``http://127.0.0.1:PORT``: the token endpoint and the OpenAPI both live here."""
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/websocket"

    @property
    def events(self) -> list[GatewayEvent]:
        """Every event so far: (monotonic time, typed event), the model's notes included."""
        return list(self._link.events) if self._link is not None else []

    @property
    def sent_messages(self) -> list[SentMessage]:
        """Messages received on the send endpoints, in order."""
        return list(self._api.sent_messages) if self._api is not None else []

    @property
    def pushed(self) -> list[tuple[float, str]]:
        """(model time, d.id) of every message dispatch the model pushed."""
        return list(self.link.server.pushed)

    @property
    def token_requests(self) -> int:
        return self._api.token_requests if self._api is not None else 0

    @property
    def model_now(self) -> float:
        return self.link.now

    def trigger(self, fault: Fault) -> None:
        """Apply ``fault`` now (its ``at`` is ignored; a timed fault starts now for its duration)."""
        link = self.link
        self.call(lambda: link.trigger(fault))

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.01) -> bool:
        """Poll ``predicate`` until it holds (True) or ``timeout_s`` passes (False); works from any thread."""
        deadline = time.monotonic() + timeout_s
        sleep: Callable[[float], None] = (
            gevent.sleep if _thread_id() == self._thread_ident else time.sleep)
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            sleep(poll_s)

    def events_of(self, kind: str, **match: Any) -> list[GatewayEvent]:
        """The events named ``kind`` (``"server_closed"``, ...) whose fields include every ``match`` item."""
        return [e for e in self.events
                if e.kind == kind and all(e.fields.get(k) == v for k, v in match.items())]

    # -- Frontend (called by _http in the hub) ----------------------------------------------
    def _handle(self, sock: Any, address: Any) -> None:
        # Small frames (a close, an ACK) must not wait out the peer's delayed ACK (~40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        HttpConnection(self, sock).serve()

    def window(self, kind: type[TimedT]) -> TimedT | None:
        return self.link.window(kind)

    def note(self, event: TraceEvent) -> None:
        self.link.note(event)

    def rest(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        assert self._api is not None
        if path.startswith("/_chaos/"):
            return self._control(method, path, body)
        return self._api.handle(method, path, headers, body)

    def websocket(self, outlet: WsOutlet) -> Callable[[str | bytes], None]:
        link = self.link
        conn = link.attach(outlet)
        self._outlets[outlet] = conn
        return lambda text: link.received(conn, text)

    def websocket_ended(self, outlet: WsOutlet) -> None:
        conn = self._outlets.pop(outlet, None)
        if conn is not None:
            self.link.detached(conn, outlet.client_close_code)

    def stalled(self, sock: Any, add: bool) -> None:
        if add:
            self._stalled.add(sock)
        else:
            self._stalled.discard(sock)

    # -- /_chaos/: the same controls over HTTP, for clients in other processes ---------------
    def _control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/_chaos/state" and method == "GET":
            server = self.link.server
            return 200, {
                "model_now": self.link.now, "time_scale": self.time_scale,
                "open_conns": server.open_conns(), "identifies": server.identifies,
                "resumes_accepted": server.resumes_accepted, "token_requests": self.token_requests,
                "pushed": [msg_id for _, msg_id in server.pushed],
                "sent_messages": [{"kind": m.kind, "target": m.target, "id": m.id, "body": m.body}
                                  for m in self.sent_messages],
                "events": [{"at": e.at, "kind": e.kind, **e.fields} for e in self.events[-1000:]]}
        if path == "/_chaos/trigger" and method == "POST":
            try:
                fault = fault_from_json(orjson.loads(body))
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
            self.link.trigger(fault)
            return 200, {"applied": type(fault).__name__}
        if path in ("/_chaos/state", "/_chaos/trigger"):
            return error(405, "method not allowed")
        return error(404, "not found")
