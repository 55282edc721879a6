"""The I/O shell on real loopback sockets: GatewayClient against a live gateway.

The client runs as any host would use it: this test's thread is plain blocking code (no gevent
hub, no monkey patching), the runtime has its own thread (``io_shell._hub``) and the handlers
run on host threads. Two peers, both on 127.0.0.1, each in a thread with a gevent hub of its
own (``qqgate run`` is tested in a subprocess):

- ``replay.world.gateway.ChaosGateway``: the server model on real sockets, time-scaled so that
  Hello says 500 ms; used for READY, heartbeats, dispatch delivery, 4009, half-open links
  and the journal.
- ``StandInPeer`` (below): a tiny scripted HTTP + WebSocket peer (gevent.pywsgi, wsproto)
  for what the model does not do on purpose: wake a half-open connection up after the
  client has moved on (stale readers), answer REST calls with errors.

Every test is bounded by an alarm; the whole module runs in well under a minute.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import threading

import gevent
import gevent.event
import gevent.pywsgi
import gevent.server
import orjson
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

from qqgate import core
from qqgate.core import journal
from qqgate.io_shell import journal as journal_store
from qqgate.replay import replay_journal
from qqgate.io_shell import GatewayClient, RestError, ShellConfig, ShellConfigError
from qqgate.io_shell import _rest
from qqgate.io_shell._connection import open_websocket
from qqgate.io_shell._host import HandlerPool
from qqgate.io_shell._hub import HubThread

try:
    from qqgate.replay.world import HalfOpen, ServerClose, WorldSpec
    from qqgate.replay.world.gateway import ChaosGateway
except ImportError:  # pragma: no cover - the chaos gateway lives in another package
    ChaosGateway = None

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "102000001"
SECRET = "client-secret-XYZZY-42"
INTERVAL_S = 0.5
"""Hello's heartbeat interval in every test (the chaos gateway is time-scaled to it)."""
SCALE = 41250 / 500
"""Chaos-gateway time scale: the model's 41 250 ms Hello becomes 500 ms."""

needs_chaos = pytest.mark.skipif(ChaosGateway is None, reason="replay.world.gateway is not available")


# -- helpers -----------------------------------------------------------------------------------
class ListRecorder:
    """A recorder that keeps every step in a list."""

    def __init__(self) -> None:
        self.steps: list[tuple[core.Input, tuple[core.Command, ...]]] = []
        self.closed = False

    def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        self.steps.append((inp, commands))

    def close(self) -> None:
        self.closed = True

    def when(self, pred: Callable[[core.Input, tuple[core.Command, ...]], bool]) -> list[float]:
        """The ``at`` of every recorded step matching ``pred``."""
        return [inp.at for inp, cmds in self.steps if pred(inp, cmds)]


def sent_ops(cmds: tuple[core.Command, ...]) -> list[int]:
    return [orjson.loads(c.text)["op"] for c in cmds if isinstance(c, core.SendFrame)]


def wait_for(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


def core_config(**fields: Any) -> core.Config:
    base: dict[str, Any] = dict(seed=7, open_floor_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.2,
                                connect_timeout_s=2.0, hello_timeout_s=2.0, ready_timeout_s=2.0,
                                request_timeout_s=3.0)
    base.update(fields)
    return core.Config(**base)


def shell_config(http_base: str, recorder: Any = None, **fields: Any) -> ShellConfig:
    core_fields = fields.pop("core_fields", {})
    values: dict[str, Any] = dict(app_id=APP_ID, client_secret=SECRET, api_base=http_base,
                                  token_url=http_base + "/app/getAppAccessToken", request_timeout_s=2.0,
                                  close_timeout_s=0.5, core=core_config(**core_fields), journal=recorder)
    values.update(fields)
    return ShellConfig(**values)


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    """Every test ends within 40 s, whatever happens."""
    def expired(_sig: int, _frame: Any) -> None:
        raise AssertionError("test exceeded 40 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(40)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def clients() -> Iterator[list[GatewayClient]]:
    made: list[GatewayClient] = []
    yield made
    for client in made:
        client.stop(timeout_s=3)


@pytest.fixture
def chaos() -> Iterator[Any]:
    if ChaosGateway is None:
        pytest.skip("replay.world.gateway is not available")
    world = WorldSpec(message_interval_s=2.0, session_cycle_s=None, latency_s=0.0)
    gateway = ChaosGateway(world, time_scale=SCALE).start_in_thread()
    yield gateway
    gateway.stop()


# -- a scripted peer ---------------------------------------------------------------------------
class PeerConn:
    """One accepted WebSocket connection of the StandInPeer."""

    def __init__(self, index: int, sock: Any) -> None:
        self.index = index
        self.sock = sock
        self.ws = WSConnection(ConnectionType.SERVER)
        self.frozen = False
        self.thaw = gevent.event.Event()
        self.on_thaw: list[Any] = []
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.client_close: tuple[int | None, str] | None = None
        self.last_sent_at = 0.0

    def send_json(self, obj: Any) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=orjson.dumps(obj).decode())))
        self.last_sent_at = time.monotonic()

    def close(self, code: int, reason: str) -> None:
        self.sock.sendall(self.ws.send(CloseConnection(code=code, reason=reason)))


class StandInPeer:
    """Token + /gateway/bot over HTTP (gevent.pywsgi) and a gateway WebSocket (wsproto)."""

    def __init__(self, ws_url: str | None = None, tls: tuple[str, str] | None = None) -> None:
        self._ssl_args: dict[str, str] = {"certfile": tls[0], "keyfile": tls[1]} if tls else {}
        self.http: Any = None
        self.wss: Any = None
        self._ws_url = ws_url
        self._scheme = "s" if tls else ""
        self.conns: list[PeerConn] = []
        self.tokens: list[str] = []
        self.http_requests: list[tuple[str, str, dict[str, str]]] = []
        self.session_id = "sess-standin"
        self.dispatches: list[dict[str, Any]] = []

    def start(self) -> "StandInPeer":
        """Serve from a thread with a gevent hub of its own (this test's thread stays plain)."""
        started = threading.Event()

        def main() -> None:
            self._hub = gevent.get_hub()
            self.http = gevent.pywsgi.WSGIServer(("127.0.0.1", 0), self._wsgi, log=None, error_log=None,
                                                 **self._ssl_args)
            self.wss = gevent.server.StreamServer(("127.0.0.1", 0), self._serve, **self._ssl_args)
            self.http.start()
            self.wss.start()
            self._done = gevent.event.Event()
            started.set()
            self._done.wait()
            self.wss.stop(timeout=1)
            self.http.stop(timeout=1)

        self._thread = threading.Thread(target=main, name="stand-in-peer", daemon=True)
        self._thread.start()
        assert started.wait(10)
        return self

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` in the peer's hub (its sockets belong there) and wait for it."""
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._hub.loop.run_callback_threadsafe(lambda: gevent.spawn(run))
        assert done.wait(5)

    def stop(self) -> None:
        self._hub.loop.run_callback_threadsafe(self._done.set)
        self._thread.join(5)

    @property
    def http_base(self) -> str:
        return f"http{self._scheme}://127.0.0.1:{self.http.server_port}"

    @property
    def ws_url(self) -> str:
        return self._ws_url or f"ws{self._scheme}://127.0.0.1:{self.wss.server_port}/websocket"

    # HTTP
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        self.http_requests.append((method, path, headers))

        def reply(status: str, body: Any) -> list[bytes]:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            start_response(status, [("Content-Type", "application/json")])
            return [data]

        if path == "/app/getAppAccessToken" and method == "POST":
            body = orjson.loads(environ["wsgi.input"].read() or b"{}")
            if body.get("appId") != APP_ID or body.get("clientSecret") != SECRET:
                # A careless server echoing the request: the client must still not leak the secret.
                return reply("401 Unauthorized", {"code": 100016, "message": "invalid appid or secret",
                                                  "echo": body.get("clientSecret")})
            self.tokens.append(f"tok-{len(self.tokens) + 1}")
            return reply("200 OK", {"access_token": self.tokens[-1], "expires_in": "7200"})
        if path == "/gateway/bot" and method == "GET":
            if headers.get("authorization") != f"QQBot {self.tokens[-1] if self.tokens else ''}" \
                    or headers.get("x-union-appid") != APP_ID:
                return reply("401 Unauthorized", {"code": 11241, "message": "wrong token"})
            return reply("200 OK", {"url": self.ws_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}})
        if path == "/not-json":
            return reply("200 OK", b"<html>maintenance</html>")
        return reply("404 Not Found", {"code": 404, "message": "not found"})

    # WebSocket
    def _serve(self, sock: Any, _address: Any) -> None:
        pc = PeerConn(len(self.conns) + 1, sock)
        self.conns.append(pc)
        text: list[str] = []
        try:
            while True:
                data = sock.recv(65536)
                if pc.frozen:  # half-open: what the client sends is lost, nothing comes back
                    pc.thaw.wait()
                    for action in pc.on_thaw:
                        action()
                    pc.frozen = False
                    continue
                pc.ws.receive_data(data or None)
                for event in pc.ws.events():
                    if isinstance(event, Request):
                        sock.sendall(pc.ws.send(AcceptConnection()))
                        pc.send_json({"op": 10, "d": {"heartbeat_interval": int(INTERVAL_S * 1000)}})
                    elif isinstance(event, TextMessage):
                        text.append(event.data)
                        if event.message_finished:
                            self._on_frame(pc, orjson.loads("".join(text)))
                            text.clear()
                    elif isinstance(event, Ping):
                        sock.sendall(pc.ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        pc.client_close = (event.code, event.reason or "")
                        if pc.ws.state is ConnectionState.REMOTE_CLOSING:
                            sock.sendall(pc.ws.send(event.response()))
                        return
                if not data:
                    return
        except OSError:
            return
        finally:
            sock.close()

    def _on_frame(self, pc: PeerConn, frame: dict[str, Any]) -> None:
        pc.received.append((time.monotonic(), frame))
        op = frame.get("op")
        if op == 1:
            pc.send_json({"op": 11})
        elif op == 2:
            self.dispatches = []
            pc.send_json({"op": 0, "s": 1, "t": "READY", "d": {
                "version": 1, "session_id": self.session_id, "user": {"id": "1", "username": "bot", "bot": True},
                "shard": [0, 1]}})
        elif op == 6:
            for dispatch in self.dispatches:
                if dispatch["s"] > frame["d"]["seq"]:
                    pc.send_json(dispatch)
            pc.send_json({"op": 0, "s": self.last_seq, "t": "RESUMED", "d": ""})

    @property
    def last_seq(self) -> int:
        return self.dispatches[-1]["s"] if self.dispatches else 1

    def push(self, pc: PeerConn, msg_id: str) -> None:
        dispatch = {"op": 0, "s": self.last_seq + 1, "t": "C2C_MESSAGE_CREATE", "id": f"C2C:{msg_id}",
                    "d": {"id": msg_id, "content": "hello", "author": {"user_openid": "E4F4"}}}
        self.dispatches.append(dispatch)
        pc.send_json(dispatch)


@pytest.fixture
def peer() -> Iterator[StandInPeer]:
    p = StandInPeer().start()
    yield p
    p.stop()


# -- the happy path, heartbeats, delivery, status, stop ----------------------------------------------
@needs_chaos
def test_ready_heartbeats_ordered_delivery_status_and_clean_stop(chaos: Any, clients: list[GatewayClient]) -> None:
    recorder = ListRecorder()
    delivered: list[core.Dispatch] = []
    release = threading.Event()
    blocked_at: list[float] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        delivered.append(dispatch)
        if len(delivered) == 5:  # one slow handler: 3 heartbeat intervals
            blocked_at.append(time.monotonic())
            release.wait(timeout=3 * INTERVAL_S)

    client = GatewayClient(shell_config(chaos.http_base, recorder), on_dispatch=on_dispatch)
    clients.append(client)
    assert client.status().phase == "IDLE" and not client.is_ready()
    t0 = time.monotonic()
    client.start()
    wait_for(client.is_ready, 5, "READY")
    ready_s = time.monotonic() - t0
    status = client.status()
    assert status.phase == "READY" and status.conn == 1 and status.session_id
    assert status.last_ready_at is not None and status.heartbeat_interval_s == INTERVAL_S

    # status() is built from the runtime's latest state, from this (host) thread, without waiting.
    start = time.perf_counter()
    for _ in range(10_000):
        client.status()
    per_call_us = (time.perf_counter() - start) / 10_000 * 1e6
    assert per_call_us < 50

    # A slow handler holds dispatch 5 for 1.5 s; heartbeats and ACKs carry on meanwhile.
    wait_for(lambda: bool(blocked_at), 5, "the slow handler")
    acks_before = client.status().counters["heartbeat_acks"]
    time.sleep(3 * INTERVAL_S - 0.1)
    during = client.status()
    assert during.ready and during.counters["heartbeat_acks"] >= acks_before + 2
    assert during.counters["zombies_detected"] == 0
    assert during.settled_seq is not None and during.last_seq is not None
    assert during.settled_seq < during.last_seq  # settled stops at the held dispatch
    release.set()
    wait_for(lambda: len(delivered) >= 15, 5, "15 dispatches")

    assert client.stop(timeout_s=5) is True
    final = client.status()
    assert final.phase == "STOPPED" and not final.running and not client.is_ready()
    assert recorder.closed
    # Delivery: in order, exactly once, every dispatch settled.
    seqs = [d.seq for d in delivered]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1 and delivered[0].event_type == "READY"
    ids = [d.data["id"] for d in delivered if d.event_type != "READY"]
    pushed = [msg_id for _, msg_id in chaos.pushed]
    assert ids == pushed[:len(ids)] and len(pushed) - len(ids) <= 3
    assert final.settled_seq == seqs[-1] and final.counters["dispatches_settled"] == len(delivered)
    # The server saw a clean close 1000 from the client.
    assert chaos.wait_for(lambda: bool(chaos.events_of("ws_ended", conn=1)), 2)
    assert chaos.events_of("ws_ended", conn=1)[0].fields["code"] == 1000
    print(f"\n[io_shell] READY after {ready_s * 1000:.1f} ms; status() {per_call_us:.2f} µs/call; "
          f"{final.counters['heartbeat_acks']} ACKs")


# -- 4009, half-open, exactly-once, journal replay ------------------------------------------------------
@needs_chaos
def test_4009_resumes_at_once_and_half_open_is_detected_within_two_intervals(
        chaos: Any, clients: list[GatewayClient]) -> None:
    recorder = ListRecorder()
    delivered: list[core.Dispatch] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        delivered.append(replace(dispatch, data=dict(dispatch.data)))
        dispatch.data.clear()  # a handler that consumes its event must not rewrite the journal

    config = shell_config(chaos.http_base, recorder)
    client = GatewayClient(config, on_dispatch=on_dispatch)
    clients.append(client)
    client.start()
    wait_for(lambda: client.is_ready() and client.status().counters["heartbeat_acks"] >= 2, 5, "READY + 2 ACKs")

    # 1. Server close 4009: Resume goes out at once (no backoff; the floor is long past).
    chaos.trigger(ServerClose(at=0, code=4009, reason="Session timed out"))
    fault_at = chaos.events_of("fault", fault="ServerClose")[0].at
    wait_for(lambda: client.is_ready() and client.status().conn == 2, 3, "RESUMED on conn 2")
    resume_at = recorder.when(lambda i, c: 6 in sent_ops(c))[0]
    closed_at = recorder.when(lambda i, c: isinstance(i, core.SocketClosed) and i.code == 4009)[0]
    resume_latency = resume_at - fault_at
    assert resume_latency < 0.1 + config.core.open_floor_s
    wait_for(lambda: client.status().counters["heartbeat_acks"] >= 5, 5, "ACKs on conn 2")

    # 2. Half-open: the flow is black-holed, no close. Zombie rule: close + reconnect.
    chaos.trigger(HalfOpen(at=0))
    half_open_at = chaos.events_of("fault", fault="HalfOpen")[0].at
    wait_for(lambda: client.is_ready() and client.status().conn == 3, 4, "RESUMED on conn 3")
    zombie_at = recorder.when(lambda i, c: any(isinstance(x, core.Log) and x.event == "zombie_connection" for x in c))[0]
    last_inbound = max(recorder.when(lambda i, c: isinstance(i, core.FrameReceived) and i.conn == 2 and i.at < zombie_at))
    open3_at = recorder.when(lambda i, c: any(isinstance(x, core.OpenSocket) and x.conn == 3 for x in c))[0]
    assert zombie_at - last_inbound <= 2 * INTERVAL_S + 0.05
    assert open3_at - half_open_at <= 2 * INTERVAL_S + config.core.backoff_cap_s + 0.05
    wait_for(lambda: len(delivered) >= 40, 6, "40 dispatches")
    assert client.stop() is True

    status = client.status()
    assert status.counters["identifies_sent"] == 1 and status.counters["resumes_sent"] == 2
    seqs = [d.seq for d in delivered]
    ids = [d.data["id"] for d in delivered if d.event_type != "READY"]
    pushed = [msg_id for _, msg_id in chaos.pushed]
    assert seqs == sorted(set(seqs)) and len(ids) == len(set(ids))
    assert ids == pushed[:len(ids)]  # nothing lost across the 4009 and the dead link

    # Journal: every step was recorded, and the core replays it to identical commands.
    assert recorder.steps and isinstance(recorder.steps[0][0], core.Start)
    assert status.counters["inputs"] == len(recorder.steps)
    state = core.initial_state(config.core)
    for i, (inp, commands) in enumerate(recorder.steps):
        state, again = core.step(state, inp)
        assert [journal.encode_command(c) for c in again] == [journal.encode_command(c) for c in commands], i
    data = b"".join(journal.journal_lines(config.journal_header(), recorder.steps,
                                          journal.Redactor(config.secrets)))
    result = replay_journal(journal.read_journal(data))
    assert result.divergence is None and result.steps == len(recorder.steps)
    token = next(i.token for i, _ in recorder.steps if isinstance(i, core.TokenIssued))
    assert token.encode() not in data and SECRET.encode() not in data
    print(f"\n[io_shell] 4009 → Resume sent {resume_latency * 1000:.1f} ms after the server's close "
          f"({(resume_at - closed_at) * 1000:.1f} ms after the client read it); half-open: zombie "
          f"declared {(zombie_at - last_inbound) * 1000:.0f} ms after the last inbound frame "
          f"({(zombie_at - half_open_at) * 1000:.0f} ms after the fault), new socket "
          f"{(open3_at - half_open_at) * 1000:.0f} ms after the fault; {len(recorder.steps)} steps replayed")


@needs_chaos
def test_handler_that_raises_is_logged_counted_and_settled(
        chaos: Any, clients: list[GatewayClient], caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[int] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        delivered.append(dispatch.seq)
        if dispatch.seq == 3:
            raise ValueError("handler bug")

    client = GatewayClient(shell_config(chaos.http_base), on_dispatch=on_dispatch)
    clients.append(client)
    with caplog.at_level(logging.ERROR, logger="qqgate"):
        client.start()
        wait_for(lambda: len(delivered) >= 8, 5, "8 dispatches")
        wait_for(lambda: (client.status().settled_seq or 0) >= delivered[-1] - 1, 2, "settles")
    status = client.status()
    assert status.counters["handler_errors"] == 1 and status.ready
    assert delivered[:4] == [1, 2, 3, 4]
    errors = [r for r in caplog.records if "dispatch handler raised" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info is not None and "s=3" in errors[0].getMessage()


@needs_chaos
def test_real_journal_records_a_replayable_session(chaos: Any, clients: list[GatewayClient], tmp_path: Path) -> None:
    target = str(tmp_path / "journal.sqlite")
    config = shell_config(chaos.http_base, target)
    client = GatewayClient(config, on_dispatch=lambda d: None)
    clients.append(client)
    client.start()
    assert client.journal_session_id
    wait_for(lambda: client.is_ready() and client.status().counters["heartbeat_acks"] >= 2, 5, "READY")
    chaos.trigger(ServerClose(at=0, code=4009, reason="Session timed out"))
    wait_for(lambda: client.is_ready() and client.status().conn == 2, 3, "RESUMED")
    assert client.stop() is True
    inputs = client.status().counters["inputs"]

    data = journal_store.journal_bytes(target, client.journal_session_id)
    assert SECRET.encode() not in data and b"QQBot tok" not in data
    parsed = journal.read_journal(data)
    assert len(parsed.steps) == inputs
    result = replay_journal(parsed)
    assert result.divergence is None, result.divergence


@needs_chaos
def test_stop_from_a_handler_and_a_broken_recorder_do_not_wedge_the_driver(
        chaos: Any, clients: list[GatewayClient]) -> None:
    class BrokenRecorder(ListRecorder):
        def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
            raise OSError("disk full")

    answers: list[bool] = []
    holder: list[GatewayClient] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        if dispatch.seq == 3:
            answers.append(holder[0].stop())

    client = GatewayClient(shell_config(chaos.http_base, BrokenRecorder()), on_dispatch=on_dispatch)
    holder.append(client)
    clients.append(client)
    client.start()
    wait_for(lambda: not client.status().running and client.status().phase == "STOPPED", 5, "stopped by the handler")
    assert answers == [False]  # asked from inside a handler: no join, no deadlock
    assert client.status().counters["journal_errors"] == client.status().counters["inputs"] > 5
    assert client.stop() is True


@needs_chaos
def test_stop_is_bounded_even_when_a_handler_never_returns(chaos: Any, clients: list[GatewayClient]) -> None:
    entered = threading.Event()

    def on_dispatch(dispatch: core.Dispatch) -> None:
        entered.set()
        never.wait(3600)

    never = threading.Event()
    client = GatewayClient(shell_config(chaos.http_base), on_dispatch=on_dispatch, executor=HandlerPool(1))
    clients.append(client)
    client.start()
    wait_for(entered.is_set, 5, "the stuck handler")
    started = time.monotonic()
    assert client.stop(timeout_s=5) is True
    took = time.monotonic() - started
    assert took < client.config.close_timeout_s + 1.2 and client.status().phase == "STOPPED"
    never.set()


def test_a_crash_inside_the_driver_is_reported_not_silent(
        monkeypatch: pytest.MonkeyPatch, clients: list[GatewayClient]) -> None:
    import qqgate.io_shell._driver as driver_module

    real_step = core.step

    def step(state: core.State, inp: core.Input) -> Any:
        if isinstance(inp, core.TokenFailed):
            raise RuntimeError("core bug")
        return real_step(state, inp)

    monkeypatch.setattr(driver_module.core, "step", step)
    fatals: list[core.Fatal] = []
    config = shell_config("http://127.0.0.1:9")  # nothing listens: TokenFailed at once
    client = GatewayClient(config, on_dispatch=lambda d: None, on_fatal=fatals.append)
    clients.append(client)
    client.start()
    wait_for(lambda: bool(fatals), 5, "the crash reported as Fatal")
    assert not fatals[0].retryable and "core bug" in fatals[0].reason
    wait_for(lambda: not client.status().running, 2, "the driver ended")
    assert not client.is_ready() and client.status().last_fatal == fatals[0].reason


def test_timer_never_spins_on_a_deadline_that_does_not_advance(
        monkeypatch: pytest.MonkeyPatch, clients: list[GatewayClient]) -> None:
    import qqgate.io_shell._driver as driver_module

    # A core whose deadline never advances (its invariants forbid it): the driver must not spin.
    stuck_at = time.monotonic() - 1.0
    monkeypatch.setattr(driver_module.core, "next_deadline", lambda state: stuck_at)
    recorder = ListRecorder()
    client = GatewayClient(shell_config("http://127.0.0.1:9", recorder), on_dispatch=lambda d: None)
    clients.append(client)
    client.start()
    time.sleep(0.5)
    monkeypatch.undo()
    steps = [i for i, _ in recorder.steps]
    ticks = [i.at for i in steps if isinstance(i, core.Tick)]
    others = len(steps) - len(ticks)
    assert 3 <= len(ticks) <= 0.5 / 0.05 + others + 2  # not in a loop
    # Tick after Tick comes 50 ms later at the earliest (another input may bring one sooner).
    back_to_back = [b.at - a.at for a, b in zip(steps, steps[1:]) if isinstance(a, core.Tick) and isinstance(b, core.Tick)]
    assert back_to_back and min(back_to_back) >= 0.045


def test_scheduler_coalesces_deadlines_onto_its_grid() -> None:
    hub = HubThread(name="test-hub", grid_s=0.05)
    try:
        fired: list[tuple[str, float]] = []

        class Owner:
            def __init__(self, name: str) -> None:
                self.name = name
                self.timer_slot: float | None = None

            def on_timer(self, now: float) -> None:
                fired.append((self.name, now))

        owners = [Owner(f"o{i}") for i in range(20)]
        base = time.monotonic() + 0.2
        # 20 deadlines spread over 40 ms, one of them re-armed twice and one cancelled.
        def arm() -> None:
            for i, owner in enumerate(owners):
                hub.scheduler.arm(owner, base + i * 0.002)
            hub.scheduler.arm(owners[0], base + 0.01)
            hub.scheduler.arm(owners[0], base + 0.012)
            hub.scheduler.arm(owners[1], None)
        wakeups_before = hub.run(lambda: hub.scheduler.wakeups)
        hub.run(arm)
        time.sleep(0.45)
        wakeups = hub.run(lambda: hub.scheduler.wakeups) - wakeups_before
        names = sorted(name for name, _ in fired)
        assert names == sorted(o.name for o in owners if o.name != "o1")  # each once, o1 cancelled
        assert all(now >= base for _, now in fired)  # never early
        assert wakeups <= 2  # 19 deadlines on at most two 50 ms slots
    finally:
        assert hub.stop()


# -- a stale reader of an old connection ----------------------------------------------------------------
def test_stale_reader_of_an_old_connection_cannot_disturb_the_new_one(
        peer: StandInPeer, clients: list[GatewayClient]) -> None:
    recorder = ListRecorder()
    delivered: list[core.Dispatch] = []
    # close_timeout_s 3 s: conn 1's reader is still alive long after the core moved to conn 2.
    client = GatewayClient(shell_config(peer.http_base, recorder, close_timeout_s=3.0), on_dispatch=delivered.append)
    clients.append(client)
    client.start()
    wait_for(lambda: client.is_ready() and client.status().counters["heartbeat_acks"] >= 2, 5, "READY + ACKs")
    old = peer.conns[0]
    peer.call(lambda: peer.push(old, "m-1"))
    wait_for(lambda: client.status().settled_seq == 2, 2, "m-1 settled")

    old.frozen = True  # half-open: the peer goes silent, nothing is closed
    frozen_at = old.last_sent_at
    wait_for(lambda: client.is_ready() and client.status().conn == 2, 4, "RESUMED on conn 2")
    detected = recorder.when(lambda i, c: any(isinstance(x, core.Log) and x.event == "zombie_connection" for x in c))[0]
    assert detected - frozen_at <= 2 * INTERVAL_S + 0.05
    assert peer.conns[1].received[-1][1]["op"] in (1, 6)
    assert client.status().counters["resumes_sent"] == 1

    # The old connection wakes up: a dispatch and a 4009 on conn 1, read by its still-running reader.
    stale_before = client.status().counters["stale_inputs"]
    old.on_thaw = [lambda: peer.push(old, "stale-1"), lambda: old.close(4009, "Session timed out")]
    peer.call(old.thaw.set)
    wait_for(lambda: client.status().counters["stale_inputs"] >= stale_before + 2, 2, "stale inputs")
    time.sleep(2 * INTERVAL_S)
    status = client.status()
    assert status.ready and status.conn == 2 and status.counters["sockets_opened"] == 2
    assert "stale-1" not in [d.data.get("id") for d in delivered if isinstance(d.data, dict)]
    stale = [(i, c) for i, c in recorder.steps if getattr(i, "conn", None) == 1 and i.at > detected]
    assert any(isinstance(i, core.FrameReceived) for i, _ in stale)
    assert any(isinstance(i, core.SocketClosed) and i.code == 4009 for i, _ in stale)
    assert all(isinstance(x, core.Log) for _, c in stale for x in c)
    assert peer.conns[1].client_close is None  # the new connection was never touched
    assert len(peer.conns) == 2


# -- REST ----------------------------------------------------------------------------------------------
def test_rest_token_and_gateway_url(peer: StandInPeer) -> None:
    config = shell_config(peer.http_base)
    token, expires_in_s = _rest.fetch_token(config)
    assert (token, expires_in_s) == ("tok-1", 7200.0)
    url, limit = _rest.resolve_gateway(config, token)
    assert url == peer.ws_url
    assert limit == core.SessionStartLimit(total=1000, remaining=999, reset_after_ms=14_400_000, max_concurrency=1)
    method, path, headers = peer.http_requests[-1]
    assert (method, path) == ("GET", "/gateway/bot")
    assert headers["authorization"] == "QQBot tok-1" and headers["x-union-appid"] == APP_ID

    with pytest.raises(_rest.CredentialsRejected) as bad_secret:
        _rest.fetch_token(replace(config, client_secret=SECRET + "-wrong"))
    text = str(bad_secret.value)
    assert "HTTP 401" in text and "invalid appid or secret" in text and SECRET not in text
    with pytest.raises(RestError) as bad_token:
        _rest.resolve_gateway(config, "tok-forged")
    assert "HTTP 401" in str(bad_token.value) and "tok-forged" not in str(bad_token.value)
    with pytest.raises(RestError, match="not JSON"):
        _rest.fetch_token(replace(config, token_url=peer.http_base + "/not-json"))
    closed = gevent.server.StreamServer(("127.0.0.1", 0), lambda s, a: None)
    closed.init_socket()
    port = closed.server_port
    closed.close()
    with pytest.raises(RestError, match="cannot connect") as refused:
        _rest.fetch_token(replace(config, token_url=f"http://127.0.0.1:{port}/app/getAppAccessToken"))
    assert len(str(refused.value)) < 400


def test_failures_are_never_silent_and_never_leak_the_secret(
        clients: list[GatewayClient], caplog: pytest.LogCaptureFixture) -> None:
    fatals: list[core.Fatal] = []
    changes: list[core.StatusChanged] = []
    closed = gevent.server.StreamServer(("127.0.0.1", 0), lambda s, a: None)
    closed.init_socket()
    port = closed.server_port
    closed.close()
    config = shell_config(f"http://127.0.0.1:{port}", core_fields={"fatal_after_failures": 2, "backoff_cap_s": 0.1})
    client = GatewayClient(config, on_dispatch=lambda d: None, on_fatal=fatals.append, on_status=changes.append)
    clients.append(client)
    with caplog.at_level(logging.DEBUG, logger="qqgate"):
        client.start()
        wait_for(lambda: bool(fatals), 5, "a retryable Fatal")
    status = client.status()
    assert fatals[0].retryable and "cannot connect" in fatals[0].reason
    assert status.failures >= 2 and status.running and not status.ready
    assert status.phase in ("BACKING_OFF", "RESOLVING") and status.last_fatal == fatals[0].reason
    assert any(c.phase is core.Phase.BACKING_OFF for c in changes)
    assert SECRET not in caplog.text and SECRET not in repr(config) and "<hidden>" in repr(config)


def test_invalid_credentials_are_a_final_fatal_with_the_apis_words_and_join_returns(
        peer: StandInPeer, clients: list[GatewayClient], caplog: pytest.LogCaptureFixture) -> None:
    fatals: list[core.Fatal] = []
    config = shell_config(peer.http_base, client_secret=SECRET + "-wrong")
    client = GatewayClient(config, on_dispatch=lambda d: None, on_fatal=fatals.append)
    clients.append(client)
    with caplog.at_level(logging.DEBUG, logger="qqgate"):
        client.start()
        assert client.join(timeout_s=5) is True  # ended by itself: no stop() needed
    wait_for(lambda: bool(fatals), 2, "the Fatal delivered")
    status = client.status()
    assert [f.retryable for f in fatals] == [False]
    assert "invalid appid or secret" in fatals[0].reason and "100016" in fatals[0].reason
    assert status.phase == "FAILED" and not status.running and not client.running
    assert status.counters["sockets_opened"] == 0 and len(peer.http_requests) == 1  # asked once, no retry
    assert SECRET not in caplog.text and SECRET not in fatals[0].reason


def test_refused_websocket_connect_backs_off_and_retries(clients: list[GatewayClient]) -> None:
    closed = gevent.server.StreamServer(("127.0.0.1", 0), lambda s, a: None)
    closed.init_socket()
    port = closed.server_port
    closed.close()
    dead = StandInPeer(ws_url=f"ws://127.0.0.1:{port}/websocket").start()
    try:
        recorder = ListRecorder()
        client = GatewayClient(shell_config(dead.http_base, recorder), on_dispatch=lambda d: None)
        clients.append(client)
        client.start()
        wait_for(lambda: client.status().counters["sockets_opened"] >= 3, 5, "three connect attempts")
        failed = [i for i, _ in recorder.steps if isinstance(i, core.ConnectFailed)]
        assert failed and "Connection refused" in failed[0].error
        opens = recorder.when(lambda i, c: any(isinstance(x, core.OpenSocket) for x in c))
        assert all(b - a >= 0.05 for a, b in zip(opens, opens[1:]))  # the floor holds
    finally:
        dead.stop()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gevent's server-side ssl.PROTOCOL_TLS
def test_tls_is_verified_unless_explicitly_disabled(tmp_path: Path, clients: list[GatewayClient]) -> None:
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                          capture_output=True, timeout=20) if shutil.which("openssl") else None
    if made is None or made.returncode != 0:
        pytest.skip("openssl cannot make a self-signed certificate here")
    peer = StandInPeer(tls=(cert, key)).start()
    try:
        verified = shell_config(peer.http_base)
        with pytest.raises(RestError, match="TLS error") as rest_refused:
            _rest.fetch_token(verified)
        assert "CERTIFICATE_VERIFY_FAILED" in str(rest_refused.value)
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            open_websocket(peer.ws_url, 2.0, verify_tls=True)
        # Only an explicit verify_tls=False talks to a self-signed peer (REST and wss://).
        client = GatewayClient(replace(verified, verify_tls=False), on_dispatch=lambda d: None)
        clients.append(client)
        client.start()
        wait_for(lambda: client.is_ready() and client.status().counters["heartbeat_acks"] >= 1, 5, "READY over TLS")
        assert peer.conns[0].received[0][1]["op"] == 2
        assert client.stop() is True and peer.conns[0].client_close == (1000, "client stopping")
    finally:
        peer.stop()


# -- configuration -------------------------------------------------------------------------------------
def test_shell_config(caplog: pytest.LogCaptureFixture) -> None:
    config = ShellConfig(app_id=APP_ID, client_secret=SECRET)
    assert SECRET not in repr(config) and SECRET not in str(config)
    assert config.api_base == "https://api.sgroup.qq.com" and config.verify_tls is True
    assert config.token_url == "https://bots.qq.com/app/getAppAccessToken"
    with pytest.raises(ShellConfigError, match="QQ_APP_ID"):
        ShellConfig.from_env({"QQ_CLIENT_SECRET": "x"})
    with pytest.raises(ShellConfigError, match="QQ_CLIENT_SECRET"):
        ShellConfig.from_env({"QQ_APP_ID": "1", "QQ_CLIENT_SECRET": " "})
    assert ShellConfig.from_env({"QQ_APP_ID": "1", "QQ_CLIENT_SECRET": "s"}).client_secret == "s"
    with pytest.raises(ShellConfigError, match="api_base"):
        ShellConfig(app_id="1", client_secret="s", api_base="ftp://x")
    with pytest.raises(ShellConfigError, match="close_timeout_s"):
        ShellConfig(app_id="1", client_secret="s", close_timeout_s=0)
    with pytest.raises(core.ConfigError):
        ShellConfig(app_id="1", client_secret="s", core=core.Config(open_floor_s=0))
    header = config.journal_header()
    assert header["client"]["client"] == "core" and header["client"]["config"] == config.core.to_dict()
    insecure = GatewayClient(replace(config, verify_tls=False, api_base="http://127.0.0.1:9",
                                     token_url="http://127.0.0.1:9/t"), on_dispatch=lambda d: None)
    with caplog.at_level(logging.WARNING, logger="qqgate"):
        insecure.start()
        insecure.stop(timeout_s=2)
    assert "TLS certificate verification is OFF" in caplog.text


# -- qqgate run ----------------------------------------------------------------------------------------
def _qqgate(args: list[str], env: dict[str, str]) -> Any:
    return subprocess.Popen([sys.executable, "-m", "qqgate", "run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_run_without_credentials_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QQ_APP_ID", "QQ_CLIENT_SECRET")}
    proc = _qqgate(["--no-journal", "--duration", "1"], env)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "QQ_APP_ID" in err


@needs_chaos
def test_cli_run_prints_status_and_dispatches_and_stops_on_sigint(chaos: Any, tmp_path: Path) -> None:
    env = dict(os.environ, QQ_APP_ID=APP_ID, QQ_CLIENT_SECRET=SECRET, PYTHONUNBUFFERED="1")
    proc = _qqgate(["--api-base", chaos.http_base, "--token-url", chaos.http_base + "/app/getAppAccessToken",
                    "--journal", str(tmp_path / "run.sqlite"), "--intents", "0x2000000", "--seed", "5",
                    "--duration", "20"], env)
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    dispatched = lambda: sum(" dispatch s=" in line for line in lines) >= 3  # noqa: E731
    wait_for(lambda: dispatched() or proc.poll() is not None, 15, "three dispatch lines")
    if not dispatched():
        reader.join(timeout=2)
        pytest.fail(f"qqgate run ended early (exit {proc.poll()}):\n" + "\n".join(lines) + "\n" + proc.stderr.read())
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=10) == 0, err
    reader.join(timeout=2)
    text = "\n".join(lines)
    assert "status READY: READY, session" in text and "dispatch s=2 C2C_MESSAGE_CREATE" in text
    assert "status STOPPED" in text and "stopped: phase=STOPPED" in lines[-1]
    assert SECRET not in text and SECRET not in err
    assert chaos.wait_for(lambda: bool(chaos.events_of("ws_ended", code=1000)), 2)
    # The run's journal replays through the current core to identical commands.
    assert " journal " in text
    data = journal_store.journal_bytes(str(tmp_path / "run.sqlite"))
    assert SECRET.encode() not in data
    parsed = journal.read_journal(data)
    assert parsed.header["seed"] == 5 and len(parsed.steps) > 10
    assert replay_journal(parsed).divergence is None
