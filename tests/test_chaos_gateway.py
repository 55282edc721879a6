"""The chaos gateway on real loopback sockets: a websocket-client peer and http.client.

The gateway runs in its own gevent hub in a background thread (``start_in_thread``), so
these tests are plain blocking code and nothing is monkey-patched. Every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

pytest.importorskip("wsproto")
websocket = pytest.importorskip("websocket")

from qqgate.replay import SCENARIOS  # noqa: E402
from qqgate.replay.world import (  # noqa: E402
    Ban, DnsOutage, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes, ServerClose,
    StallConnects, WorldSpec,
)
from qqgate.replay.world.gateway import ChaosGateway  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUIET = WorldSpec(heartbeat_timeout_s=1e9, session_cycle_s=None, message_interval_s=None)
"""No cycle, no messages, no heartbeat timeout: only what a test asks for happens."""
EOF = "eof"


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., ChaosGateway]]:
    started: list[ChaosGateway] = []

    def make(world: WorldSpec = QUIET, scale: float = 1.0, **kw: Any) -> ChaosGateway:
        gw = ChaosGateway(world, time_scale=scale, **kw).start_in_thread()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


class Peer:
    """A minimal gateway client: websocket-client, one frame at a time."""

    def __init__(self, url: str, timeout: float = 3.0, token: str = "not-a-token") -> None:
        self.ws = websocket.create_connection(url, timeout=timeout)
        self.auth = f"QQBot {token}"
        """The Identify/Resume ``token`` field: a token the gateway issued (``connected``)."""

    def send(self, obj: Any) -> None:
        self.ws.send(json.dumps(obj))

    def recv(self, timeout: float = 3.0) -> Any:
        """A decoded frame, ("close", code, reason), or EOF (no close frame)."""
        self.ws.settimeout(timeout)
        while True:
            try:
                opcode, frame = self.ws.recv_data_frame(True)
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return EOF
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = bytes(frame.data)
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                return ("close", code, data[2:].decode())
            if opcode == websocket.ABNF.OPCODE_TEXT:
                return json.loads(frame.data)

    def silent_for(self, seconds: float) -> bool:
        """True when nothing at all (no frame, no close, no EOF) arrives for ``seconds``."""
        try:
            got = self.recv(seconds)
        except websocket.WebSocketTimeoutException:
            return True
        raise AssertionError(f"expected silence, got {got!r}")

    def hello(self) -> int:
        frame = self.recv()
        assert frame["op"] == 10, frame
        interval: int = frame["d"]["heartbeat_interval"]
        return interval

    def identify(self) -> dict[str, Any]:
        self.send({"op": 2, "d": {"token": self.auth, "intents": 1 << 25, "shard": [0, 1]}})
        ready: dict[str, Any] = self.recv()
        assert ready["t"] == "READY", ready
        return ready

    def until(self, pred: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
        """Frames up to and including the first one matching ``pred``."""
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"condition not met; got {out!r}"
            frame = self.recv(left)
            out.append(frame)
            if pred(frame):
                return out
            assert isinstance(frame, dict), f"connection ended first: {out!r}"

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass


def connected(gw: ChaosGateway) -> Peer:
    """A peer with a token from the gateway's token endpoint, past Hello."""
    peer = Peer(gw.ws_url, token=token(gw))
    peer.hello()
    return peer


def is_c2c(frame: Any) -> bool:
    return isinstance(frame, dict) and frame.get("t") == "C2C_MESSAGE_CREATE"


# -- HTTP helpers -------------------------------------------------------------------------------
def request(gw: ChaosGateway, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPResponse, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    raw = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=raw, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp, json.loads(data) if data else None


def token(gw: ChaosGateway) -> str:
    status, _, body = request(gw, "POST", "/app/getAppAccessToken", {"appId": "102", "clientSecret": "s"})
    assert status == 200
    value: str = body["access_token"]
    return value


def auth(gw: ChaosGateway) -> dict[str, str]:
    return {"Authorization": f"QQBot {token(gw)}", "X-Union-Appid": "102"}


# -- the gateway --------------------------------------------------------------------------------
def test_hello_carries_the_scaled_interval(make_gateway: Callable[..., ChaosGateway]) -> None:
    assert connected_interval(make_gateway(scale=1.0)) == 41250
    assert connected_interval(make_gateway(scale=10.0)) == 4125


def connected_interval(gw: ChaosGateway) -> int:
    peer = Peer(gw.ws_url)
    try:
        return peer.hello()
    finally:
        peer.close()


def test_identify_ready_acks_and_messages_with_increasing_s(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=1e9, session_cycle_s=None, message_interval_s=20.0),
                      scale=400.0)
    peer = connected(gw)
    ready = peer.identify()
    assert ready["s"] == 1 and ready["op"] == 0 and ready["d"]["session_id"]
    assert int(ready["d"]["user"]["id"]) > 0
    peer.send({"op": 1, "d": 1})
    assert any(f == {"op": 11} for f in peer.until(lambda f: f == {"op": 11}))
    msgs = [f for f in peer.until(lambda f: is_c2c(f) and f["s"] >= 6) if is_c2c(f)]
    seqs = [m["s"] for m in msgs]
    assert all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs)) and seqs[0] >= 2
    ids = [m["d"]["id"] for m in msgs]
    assert set(ids) <= {msg_id for _, msg_id in gw.pushed}
    peer.close()


def test_duplicate_dispatches_repeat_the_message_id(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=1e9, session_cycle_s=None, message_interval_s=20.0,
                                duplicate_probability=1.0), scale=400.0)
    peer = connected(gw)
    peer.identify()
    msgs = [f for f in peer.until(lambda f: is_c2c(f) and f["s"] >= 5) if is_c2c(f)]
    assert [m["d"]["id"] for m in msgs[:4:2]] == [m["d"]["id"] for m in msgs[1:4:2]]
    assert [m["s"] for m in msgs[:4]] == [2, 3, 4, 5]
    peer.close()


def test_op7_then_4009_after_the_scaled_cycle(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=1e9, message_interval_s=None), scale=1200.0)
    opened = time.monotonic()
    peer = connected(gw)
    peer.identify()
    assert peer.recv(5.0) == {"op": 7}
    elapsed = time.monotonic() - opened
    assert 1.2 < elapsed < 2.5, elapsed  # 1800 ± 3 model seconds = 1.5 s ± 2.5 ms
    assert peer.recv() == ("close", 4009, "Session timed out")
    assert gw.events_of("server_session_cycle")


def test_resume_replays_missed_dispatches_then_resumed(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=1e9, session_cycle_s=None, message_interval_s=20.0),
                      scale=400.0)
    peer = connected(gw)
    session_id = peer.identify()["d"]["session_id"]
    seen = {f["s"]: f["d"]["id"] for f in peer.until(lambda f: is_c2c(f) and f["s"] >= 5) if is_c2c(f)}
    peer.close()
    assert gw.wait_for(lambda: not gw.link.open_conns(), 3.0)
    peer = connected(gw)
    peer.send({"op": 6, "d": {"token": peer.auth, "session_id": session_id, "seq": 2}})
    frames = peer.until(lambda f: f.get("t") == "RESUMED")
    replayed, resumed = frames[:-1], frames[-1]
    last = resumed["s"]
    assert last >= 5 and resumed["d"] == ""
    assert [f["s"] for f in replayed] == list(range(3, last + 1))
    assert all(f["d"]["id"] == seen[f["s"]] for f in replayed if f["s"] in seen)
    after = peer.until(is_c2c)[-1]
    assert after["s"] == last + 1
    assert gw.link.server.resumes_accepted == 1
    peer.close()


def test_silent_connection_dropped_without_close_frame(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=60.0, session_cycle_s=None, message_interval_s=None),
                      scale=60.0)  # heartbeat timeout: 1 s
    peer = connected(gw)
    peer.identify()
    for _ in range(5):  # heartbeats keep it alive past the timeout
        peer.send({"op": 1, "d": 1})
        assert peer.recv() == {"op": 11}
        time.sleep(0.3)
    quiet_from = time.monotonic()
    assert peer.recv(5.0) == EOF
    assert 0.6 < time.monotonic() - quiet_from < 2.5
    assert gw.events_of("server_heartbeat_timeout")


def test_half_open_stops_both_directions_without_closing(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(WorldSpec(heartbeat_timeout_s=60.0, session_cycle_s=None, message_interval_s=None),
                      scale=120.0)  # heartbeat timeout: 0.5 s
    old = connected(gw)
    old.identify()
    old.send({"op": 1, "d": 1})
    assert old.recv() == {"op": 11}
    gw.trigger(HalfOpen(0.0))
    old.send({"op": 1, "d": 1})
    assert old.silent_for(1.0)  # no ACK, and no close even after the server gave up on it
    assert gw.events_of("server_closed_unseen")
    assert not gw.events_of("server_closed")
    fresh = connected(gw)  # a new flow is unaffected
    fresh.identify()
    fresh.send({"op": 1, "d": 1})
    assert fresh.recv() == {"op": 11}
    old.close()
    assert gw.wait_for(lambda: bool(gw.events_of("client_closed_unseen")), 3.0)
    fresh.close()


@pytest.mark.parametrize("code,expected", [(4900, ("close", 4900, "internal error")), (None, EOF)])
def test_server_close_with_a_code_or_a_drop(make_gateway: Callable[..., ChaosGateway],
                                            code: int | None, expected: Any) -> None:
    gw = make_gateway()
    peer = connected(gw)
    peer.identify()
    gw.trigger(ServerClose(0.0, code, "internal error" if code else ""))
    assert peer.recv() == expected


def test_invalidated_session_gets_op9_then_4006(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(scale=10.0)
    peer = connected(gw)
    session_id = peer.identify()["d"]["session_id"]
    gw.trigger(InvalidateSessions(0.0))
    assert peer.recv() == EOF
    peer = connected(gw)
    peer.send({"op": 6, "d": {"token": peer.auth, "session_id": session_id, "seq": 1}})
    assert peer.recv() == {"op": 9, "d": False}
    assert peer.recv() == ("close", 4006, "session id invalid")


def test_ban_closes_now_and_after_every_identify(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    peer = connected(gw)
    peer.identify()
    gw.trigger(Ban(0.0, 4915, "bot banned"))
    assert peer.recv() == ("close", 4915, "bot banned")
    peer = connected(gw)
    peer.send({"op": 2, "d": {"token": peer.auth, "intents": 1, "shard": [0, 1]}})
    assert peer.recv() == ("close", 4915, "bot banned")


def test_rejected_resume_is_closed_at_once(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    peer = connected(gw)
    session_id = peer.identify()["d"]["session_id"]
    peer.close()
    gw.trigger(RejectResumes(0.0, None, None))
    peer = connected(gw)
    peer.send({"op": 6, "d": {"token": peer.auth, "session_id": session_id, "seq": 1}})
    assert peer.recv() == EOF


def test_refused_connects_reset_the_upgrade_but_rest_works(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(scale=10.0)
    gw.trigger(RefuseConnects(0.0, 8.0))  # 0.8 s of wall time
    with pytest.raises((OSError, websocket.WebSocketException)):
        Peer(gw.ws_url)
    status, _, body = request(gw, "GET", "/gateway", headers=auth(gw))
    assert status == 200 and body["url"] == gw.ws_url
    assert gw.events_of("connect_refused")
    assert gw.wait_for(lambda: gw.link.window(RefuseConnects) is None, 3.0)
    connected(gw).close()


def test_stalled_connects_never_answer_the_upgrade(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    gw.trigger(StallConnects(0.0, None))
    started = time.monotonic()
    with pytest.raises((websocket.WebSocketTimeoutException, TimeoutError)):
        Peer(gw.ws_url, timeout=0.5)
    assert time.monotonic() - started >= 0.45
    assert gw.events_of("connect_stalled")


def test_dns_outage_resets_rest_too(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    gw.trigger(DnsOutage(0.0, None))
    with pytest.raises(OSError):
        request(gw, "POST", "/app/getAppAccessToken", {"appId": "1", "clientSecret": "s"})


def test_scheduled_faults_fire_at_scaled_times(make_gateway: Callable[..., ChaosGateway]) -> None:
    world = WorldSpec(heartbeat_timeout_s=1e9, session_cycle_s=None, message_interval_s=None,
                      faults=(ServerClose(600.0, 4008, "sending too fast"),))
    started = time.monotonic()
    gw = make_gateway(world, scale=600.0)  # the close falls 1 s after start
    peer = connected(gw)
    peer.identify()
    assert peer.recv(5.0) == ("close", 4008, "sending too fast")
    assert 0.7 < time.monotonic() - started < 2.5


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_plays_its_faults(make_gateway: Callable[..., ChaosGateway], name: str) -> None:
    world = SCENARIOS[name].world
    gw = make_gateway(world, scale=6000.0)  # the latest fault (4500 s) falls after 0.75 s
    peer = Peer(gw.ws_url)
    assert peer.hello() == round(world.heartbeat_interval_ms / 6000.0)
    peer.close()
    expected = sorted(type(f).__name__ for f in world.faults)
    assert gw.wait_for(lambda: len(gw.events_of("fault")) == len(expected), 5.0)
    assert sorted(e.fields["fault"] for e in gw.events_of("fault")) == expected


# -- REST ---------------------------------------------------------------------------------------
def test_token_endpoint_shape(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    status, resp, body = request(gw, "POST", "/app/getAppAccessToken", {"appId": "102", "clientSecret": "s"})
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == "7200" and isinstance(body["access_token"], str)
    again = request(gw, "POST", "/app/getAppAccessToken", {"appId": "102", "clientSecret": "s"})[2]
    assert again["access_token"] == body["access_token"]  # a new one only in the last 60 s
    scaled = make_gateway(scale=100.0)
    assert request(scaled, "POST", "/app/getAppAccessToken", {"appId": "1", "clientSecret": "s"})[2][
        "expires_in"] == "72"


def test_gateway_and_user_endpoints(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway(scale=1000.0)
    headers = auth(gw)
    status, resp, body = request(gw, "GET", "/gateway", headers=headers)
    assert (status, body) == (200, {"url": gw.ws_url})
    assert resp.getheader("Content-Type") == "application/json"
    status, _, bot = request(gw, "GET", "/gateway/bot", headers=headers)
    assert status == 200 and bot["url"] == gw.ws_url and bot["shards"] == 1
    limit = bot["session_start_limit"]
    assert set(limit) == {"total", "remaining", "reset_after", "max_concurrency"}
    assert limit["reset_after"] == 86_400 and limit["max_concurrency"] == 1
    peer = connected(gw)
    peer.identify()
    assert request(gw, "GET", "/gateway/bot", headers=headers)[2]["session_start_limit"][
        "remaining"] == limit["remaining"] - 1
    status, _, me = request(gw, "GET", "/users/@me", headers=headers)
    assert status == 200 and me["id"].isdigit()
    peer.close()


@pytest.mark.parametrize("header", [None, "Bearer x", "QQBot not-a-token"])
def test_api_needs_a_valid_qqbot_token(make_gateway: Callable[..., ChaosGateway], header: str | None) -> None:
    gw = make_gateway()
    status, resp, body = request(gw, "GET", "/gateway", headers={"Authorization": header} if header else {})
    assert status == 401 and resp.getheader("Content-Type") == "application/json" and body["message"]


@pytest.mark.parametrize("path,kind,target", [
    ("/v2/users/E4F4AEA3/messages", "c2c", "E4F4AEA3"),
    ("/v2/groups/G1/messages", "group", "G1"),
])
def test_send_endpoints_answer_and_record(make_gateway: Callable[..., ChaosGateway],
                                          path: str, kind: str, target: str) -> None:
    gw = make_gateway()
    status, resp, body = request(gw, "POST", path, {"content": "hi", "msg_type": 0, "msg_id": "ROBOT1.0_x"},
                                 headers=auth(gw))
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    assert set(body) == {"id", "timestamp"}
    (sent,) = gw.sent_messages
    assert (sent.kind, sent.target, sent.msg_id, sent.content, sent.id) == (kind, target, "ROBOT1.0_x", "hi",
                                                                           body["id"])


def test_errors_are_json_too(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    headers = auth(gw)
    cases = [
        (request(gw, "GET", "/nope", headers=headers), 404),
        (request(gw, "POST", "/app/getAppAccessToken", b"{not json"), 400),
        (request(gw, "POST", "/app/getAppAccessToken", [1, 2]), 400),
        (request(gw, "POST", "/app/getAppAccessToken", {"appId": "1"}), 400),
        (request(gw, "POST", "/v2/users/u/messages", b"nope", headers=headers), 400),
        (request(gw, "GET", "/v2/users/u/messages", headers=headers), 405),
        (request(gw, "GET", "/websocket"), 400),
    ]
    for (status, resp, body), expected in cases:
        assert status == expected and resp.getheader("Content-Type") == "application/json"
        assert body["code"] == expected
    assert gw.sent_messages == []


def test_control_endpoints(make_gateway: Callable[..., ChaosGateway]) -> None:
    gw = make_gateway()
    peer = connected(gw)
    peer.identify()
    status, _, body = request(gw, "POST", "/_chaos/trigger", {"fault": "ServerClose", "code": 4009})
    assert (status, body) == (200, {"applied": "ServerClose"})
    assert peer.recv() == ("close", 4009, "")
    state = request(gw, "GET", "/_chaos/state")[2]
    assert state["identifies"] == 1 and any(e["kind"] == "server_closed" for e in state["events"])
    assert request(gw, "POST", "/_chaos/trigger", {"fault": "Nope"})[0] == 400


# -- the command line ---------------------------------------------------------------------------
def test_cli_help_explains_the_options() -> None:
    out = subprocess.run([sys.executable, "-m", "qqgate", "gateway", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for word in ("--port", "--scenario", "--time-scale", "--duration", "half-open", "/websocket"):
        assert word in out.stdout


def test_cli_serves_a_scenario_and_stops_after_duration() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qqgate", "gateway", "--scenario", "session-cycle", "--time-scale", "1200",
         "--duration", "4", "--message-interval", "0", "--heartbeat-timeout", "100000"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split("WebSocket ")[1].rstrip(")\n")
        base = line.split()[2]
        conn = http.client.HTTPConnection(base.split("//")[1].split(":")[0], int(base.rsplit(":", 1)[1]), timeout=5)
        conn.request("POST", "/app/getAppAccessToken", json.dumps({"appId": "1", "clientSecret": "s"}))
        issued = json.loads(conn.getresponse().read())["access_token"]
        conn.close()
        peer = Peer(url, token=issued)
        assert peer.hello() == 34  # round(41250 / 1200)
        peer.send({"op": 2, "d": {"token": peer.auth, "intents": 1, "shard": [0, 1]}})
        frames = peer.until(lambda f: f == {"op": 7}, timeout=3.0)
        assert frames[0]["t"] == "READY"
        assert peer.recv() == ("close", 4009, "Session timed out")
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait(5)
    assert proc.returncode == 0, err
    assert "server_session_cycle" in out and "stopped: identifies=1" in out
