"""Sending with the managed token, typed events, the router, metrics, health and JSON logs.

The send endpoints are judged by the chaos gateway's record of what it received; the error and
retry rules by a scripted WSGI peer on 127.0.0.1 that answers what the docs describe (401, 429
with Retry-After, 500, the rate-limit code 22009, 202 pending, a dropped connection).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from qqgate import core
from qqgate.io_shell import (
    BotPool, C2CMessage, ChannelMessage, DirectMessage, Event, EventRouter, Friendship, GatewayClient,
    GroupMembership, GroupMessage, Interaction, JsonFormatter, MessageSender, Metrics, RateLimited, SendError,
    TokenBroker, parse_event,
)
from qqgate.io_shell._hub import HubThread

from _chaos import bounded, shell_config, start_gateway, wait_for

try:
    from prometheus_client import CollectorRegistry
    from qqgate.replay.world import Ban
except ImportError:  # pragma: no cover
    CollectorRegistry = Ban = None


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    yield from bounded(60)


@pytest.fixture
def chaos() -> Iterator[Any]:
    gateway = start_gateway()
    yield gateway
    gateway.stop()


def dispatch(event_type: str, d: Any, seq: int = 5, event_id: str | None = "EV:1") -> core.Dispatch:
    return core.Dispatch(seq, event_type, event_id, d, "k", 1)


# -- sending against the chaos gateway ----------------------------------------------------------
def test_the_four_kinds_reach_their_endpoints_and_replies_count_msg_seq(chaos: Any) -> None:
    sender = MessageSender(shell_config(chaos.http_base))
    sender.send_c2c("USER1", "a", msg_id="M1")
    sender.send_c2c("USER1", "b", msg_id="M1")
    sender.send_group("GROUP1", "c", msg_id="M2")
    sender.send_channel("CHAN1", "d")
    sent = sender.send_dm("GUILD1", "e", event_id="EV9", msg_seq=7)
    assert sent.id and sent.id.startswith("ROBOT1.0_chaos") and not sent.pending
    got = [(m.kind, m.target, m.content, m.body.get("msg_id"), m.body.get("msg_seq"), m.body.get("event_id"))
           for m in chaos.sent_messages]
    assert got == [("c2c", "USER1", "a", "M1", 1, None), ("c2c", "USER1", "b", "M1", 2, None),
                   ("group", "GROUP1", "c", "M2", 1, None), ("channel", "CHAN1", "d", None, None, None),
                   ("dm", "GUILD1", "e", None, 7, "EV9")]
    assert all(m.body["msg_type"] == 0 for m in chaos.sent_messages)
    with pytest.raises(ValueError):
        sender.send("fax", "x", "no")
    with pytest.raises(ValueError):
        sender.send("c2c", "a/b", "no")


def test_one_token_fetch_serves_the_connection_and_the_sender(chaos: Any) -> None:
    config = shell_config(chaos.http_base)
    client = GatewayClient(config, on_dispatch=lambda d: None)
    client.start()
    try:
        wait_for(client.is_ready, 10, "READY")
        sender = MessageSender(config)
        for i in range(5):
            sender.send_c2c("USER1", f"m{i}")
        assert chaos.token_requests == 1
        assert TokenBroker.of(HubThread.shared()).fetches(config) == 1
    finally:
        client.stop(timeout_s=3)


# -- the docs' error rules, against a scripted peer -------------------------------------------------
class Peer:
    """A WSGI server on 127.0.0.1 that answers each request with the next scripted answer."""

    def __init__(self, answers: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.tokens = 0
        self.expires_in = "7200"
        self.token_delay_s = 0.0

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            path = environ["PATH_INFO"]
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            if path == "/app/getAppAccessToken":
                self.tokens += 1
                time.sleep(self.token_delay_s)
                out = {"access_token": f"tok-{self.tokens}", "expires_in": self.expires_in}
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(out).encode()]
            self.requests.append((environ.get("HTTP_AUTHORIZATION", ""), path, json.loads(body)))
            status, answer, headers = self.answers.pop(0) if self.answers else (200, {"id": "X", "timestamp": 1}, {})
            if status == 0:  # drop the connection without an answer
                raise ConnectionAbortedError("dropped")
            start_response(f"{status} S", [("Content-Type", "application/json"), *headers.items()])
            return [json.dumps(answer).encode()]

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def log_exception(self, *args: Any) -> None:  # type: ignore[override]
                pass

        self.server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sender(self, **fields: Any) -> MessageSender:
        waits: list[float] = []
        sender = MessageSender(shell_config(self.base, app_id=f"app-{id(self)}"), sleep=waits.append, **fields)
        sender.waits = waits  # type: ignore[attr-defined]
        return sender

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_401_refetches_the_token_once_and_429_waits_as_told() -> None:
    peer = Peer([(401, {"code": 11243, "message": "check token not pass"}, {}),
                 (429, {"code": 22009, "message": "msg limit exceed"}, {"Retry-After": "2"}),
                 (200, {"id": "OK1", "timestamp": 1}, {})])
    try:
        sender = peer.sender()
        sent = sender.send_c2c("U", "hi", msg_id="M")
        assert sent.id == "OK1"
        auths = [a for a, _p, _b in peer.requests]
        assert auths == ["QQBot tok-1", "QQBot tok-2", "QQBot tok-2"], "a refused token is fetched again"
        assert sender.waits == [2.0]  # type: ignore[attr-defined]
        assert [b["msg_seq"] for _a, _p, b in peer.requests] == [1, 1, 1], "a retry sends the same msg_seq"
    finally:
        peer.close()


def test_a_rate_limit_beyond_max_wait_raises_and_500_is_retried_once() -> None:
    peer = Peer([(429, {"code": 22009, "message": "msg limit exceed"}, {"Retry-After": "60"}),
                 (500, {"code": 500, "message": "internal"}, {}), (500, {"code": 500, "message": "internal"}, {}),
                 (200, {"code": 22009, "message": "msg limit exceed"}, {}),
                 (200, {"code": 22009, "message": "msg limit exceed"}, {}),
                 (200, {"code": 22009, "message": "msg limit exceed"}, {}),
                 (400, {"code": 304027, "message": "MSG_EXPIRE"}, {}),
                 (202, {"code": 304024, "message": "REPLY_MSG_ASYNC_OK"}, {})])
    try:
        sender = peer.sender(max_wait_s=5.0)
        with pytest.raises(RateLimited) as limited:
            sender.send_group("G", "x")
        assert limited.value.retry_after_s == 60.0 and limited.value.status == 429 and limited.value.code == 22009
        with pytest.raises(SendError) as failed:
            sender.send_group("G", "y")
        assert failed.value.status == 500 and failed.value.attempts == 2
        with pytest.raises(RateLimited) as coded:  # HTTP 200 with a rate-limit code is not a success
            sender.send_group("G", "z")
        assert coded.value.code == 22009 and coded.value.attempts == 3
        with pytest.raises(SendError) as expired:
            sender.send_group("G", "w", msg_id="OLD")
        assert expired.value.code == 304027 and expired.value.attempts == 1 and "MSG_EXPIRE" in str(expired.value)
        pending = sender.send_group("G", "v")
        assert pending.pending and pending.raw["code"] == 304024
        assert "tok-" not in str(limited.value) + str(failed.value) + str(expired.value)
    finally:
        peer.close()


def test_a_dropped_connection_is_retried_with_the_same_body_then_fails_clearly() -> None:
    peer = Peer([(0, None, {}), (200, {"id": "OK2", "timestamp": 2}, {}), (0, None, {}), (0, None, {}),
                 (0, None, {})])
    try:
        sender = peer.sender(max_attempts=3)
        assert sender.send_c2c("U", "a", msg_id="M9").id == "OK2"
        assert [b for _a, _p, b in peer.requests][:2] == [{"msg_type": 0, "content": "a", "msg_id": "M9",
                                                           "msg_seq": 1}] * 2
        with pytest.raises(SendError) as failed:
            sender.send_c2c("U", "b")
        assert failed.value.status == 0 and failed.value.attempts == 3
    finally:
        peer.close()


# -- typed events and the router ----------------------------------------------------------------------
def test_typed_events_from_the_docs_shapes_and_bad_fields_never_crash() -> None:
    c2c = parse_event(dispatch("C2C_MESSAGE_CREATE", {"author": {"user_openid": "U1"}, "content": "hi",
                                                      "id": "M1", "timestamp": "2023-11-06T13:37:18+08:00"}))
    assert isinstance(c2c, C2CMessage) and c2c.user_openid == "U1" and c2c.content == "hi" and c2c.seq == 5
    group = parse_event(dispatch("GROUP_AT_MESSAGE_CREATE", {"author": {"member_openid": "MEM"}, "content": " x",
                                                             "id": "M2", "group_openid": "G1"}))
    assert isinstance(group, GroupMessage) and group.group_openid == "G1" and group.member_openid == "MEM"
    at = parse_event(dispatch("AT_MESSAGE_CREATE", {"author": {"id": "1", "username": "u"}, "content": "c",
                                                    "id": "M3", "channel_id": "C1", "guild_id": "GU"}))
    assert isinstance(at, ChannelMessage) and at.channel_id == "C1" and at.author_username == "u"
    dm = parse_event(dispatch("DIRECT_MESSAGE_CREATE", {"author": {"id": "1"}, "content": "c", "id": "M4",
                                                        "guild_id": "DMG", "channel_id": "C"}))
    assert isinstance(dm, DirectMessage) and dm.guild_id == "DMG"
    button = parse_event(dispatch("INTERACTION_CREATE", {"id": "I1", "type": 11, "chat_type": 1, "scene": "group",
                                                         "group_openid": "G1", "group_member_openid": "MEM",
                                                         "data": {"resolved": {"button_id": "b1",
                                                                               "button_data": "yes"}}}))
    assert isinstance(button, Interaction) and button.button_data == "yes" and button.chat_type == 1
    joined = parse_event(dispatch("GROUP_ADD_ROBOT", {"group_openid": "C9F7", "op_member_openid": "E4F4",
                                                      "timestamp": 1699240248}))
    assert isinstance(joined, GroupMembership) and joined.added and joined.op_member_openid == "E4F4"
    left = parse_event(dispatch("FRIEND_DEL", {"openid": "U2", "timestamp": 1}))
    assert isinstance(left, Friendship) and not left.added
    with pytest.raises(RuntimeError):
        left.reply("bye")  # a removal cannot be answered
    for bad in ({"author": 5, "id": "M"}, {"author": {}, "id": "M"}, {"author": {"user_openid": "U"}},
                {"author": {"user_openid": "U"}, "id": "M", "content": 7}, [1, 2], None,
                {"author": {"user_openid": ["U"]}, "id": "M"}):
        event = parse_event(dispatch("C2C_MESSAGE_CREATE", bad))
        assert type(event) is Event and event.problem and event.raw == bad
    unknown = parse_event(dispatch("MESSAGE_AUDIT_PASS", {"x": 1}))
    assert type(unknown) is Event and unknown.problem is None and unknown.raw == {"x": 1}


def test_replies_go_where_the_docs_say(chaos: Any) -> None:
    sender = MessageSender(shell_config(chaos.http_base))
    d = {"author": {"user_openid": "U1"}, "content": "hi", "id": "M1"}
    parse_event(dispatch("C2C_MESSAGE_CREATE", d), sender).reply("one")
    parse_event(dispatch("C2C_MESSAGE_CREATE", d), sender).reply("two")
    parse_event(dispatch("INTERACTION_CREATE", {"id": "I1", "chat_type": 2, "user_openid": "U3"}), sender).reply("b")
    parse_event(dispatch("GROUP_ADD_ROBOT", {"group_openid": "G7"}, event_id="GROUP_ADD_ROBOT:1"), sender).reply("w")
    got = [(m.kind, m.target, m.body.get("msg_id"), m.body.get("msg_seq"), m.body.get("event_id"))
           for m in chaos.sent_messages]
    assert got == [("c2c", "U1", "M1", 1, None), ("c2c", "U1", "M1", 2, None), ("c2c", "U3", None, None, "I1"),
                   ("group", "G7", None, None, "GROUP_ADD_ROBOT:1")]


def test_the_router_by_name_class_and_star_and_a_raising_handler() -> None:
    router = EventRouter()
    got: list[tuple[str, Any]] = []
    router.on("C2C_MESSAGE_CREATE")(lambda e: got.append(("name", e.id)))
    router.on(GroupMessage)(lambda e: got.append(("class", e.group_openid)))
    router.on("*")(lambda e: got.append(("star", e.event_type)))

    @router.on("c2c_message_create")
    def broken(event: C2CMessage) -> None:
        raise RuntimeError("handler bug")

    router(dispatch("C2C_MESSAGE_CREATE", {"author": {"user_openid": "U"}, "id": "M1", "content": ""}))
    router(dispatch("GROUP_AT_MESSAGE_CREATE", {"group_openid": "G", "id": "M2", "content": ""}))
    router(dispatch("C2C_MESSAGE_CREATE", {"id": "M3"}))  # no author: untyped, "*" only
    router(dispatch("READY", {"session_id": "s"}))
    assert got == [("name", "M1"), ("star", "C2C_MESSAGE_CREATE"), ("class", "G"),
                   ("star", "GROUP_AT_MESSAGE_CREATE"), ("star", "C2C_MESSAGE_CREATE"), ("star", "READY")]
    assert router.errors == 1 and router.untyped == 1
    with pytest.raises(ValueError):
        router.on(Event)


# -- metrics, health, JSON logs ---------------------------------------------------------------------
def test_metrics_and_health_per_bot_with_one_banned() -> None:
    shared, alone = start_gateway(max_concurrency=10), start_gateway()
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    pool = BotPool()
    pool.add(shell_config(shared.http_base, app_id="201"), lambda d: time.sleep(0.002), name="good")
    pool.add(shell_config(alone.http_base, app_id="202"), lambda d: None, name="doomed")
    metrics.watch_pool(pool)
    server = metrics.serve()
    try:
        pool.start()
        wait_for(lambda: all(s.ready for s in pool.status().values()), 10, "both READY")
        wait_for(lambda: pool.stats("good").handled >= 3 and pool["good"].status().heartbeat_latency_s is not None,
                 10, "handled dispatches and an ACK")
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as answer:
            assert answer.status == 200 and json.loads(answer.read())["status"] == "ready"
        alone.trigger(Ban(at=0, code=4915, reason="bot banned"))
        wait_for(lambda: pool.health()["doomed"] == "failed", 10, "doomed FAILED")
        with pytest.raises(urllib.error.HTTPError) as unhealthy:
            urllib.request.urlopen(server.url + "/healthz", timeout=5)
        body = json.loads(unhealthy.value.read())
        assert unhealthy.value.code == 503 and body["status"] == "failed"
        assert body["bots"]["good"]["health"] == "ready" and body["bots"]["doomed"]["health"] == "failed"
        with urllib.request.urlopen(server.url + "/metrics", timeout=5) as answer:
            text = answer.read().decode()
        lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line and not line.startswith("#")}
        assert lines['qqgate_bot_ready{bot="good"}'] == 1.0 and lines['qqgate_bot_ready{bot="doomed"}'] == 0.0
        assert lines['qqgate_bot_phase{bot="doomed",phase="FAILED"}'] == 1.0
        assert lines['qqgate_fatals_total{bot="doomed",retryable="false"}'] == 1.0
        assert lines['qqgate_reconnects_total{bot="doomed",reason="close_4915"}'] == 1.0
        assert lines['qqgate_sessions_total{bot="good",kind="identify"}'] == 1.0
        assert lines['qqgate_dispatches_total{bot="good",outcome="delivered"}'] >= 3
        assert lines['qqgate_handler_seconds_count{bot="good"}'] >= 3
        assert 0 < lines['qqgate_heartbeat_latency_seconds{bot="good"}'] < 0.5
        assert lines['qqgate_heartbeats_sent_total{bot="good"}'] >= 1
    finally:
        server.stop()
        metrics.close()
        pool.stop(timeout_s=5)
        shared.stop()
        alone.stop()


def test_json_log_records_carry_the_core_event_fields_and_app_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    record = logging.LogRecord("qqgate", logging.WARNING, __file__, 1, "socket_closed %s", ("conn=1",), None)
    record.qqgate_event = "socket_closed"
    record.qqgate_fields = {"conn": 1, "code": 4009, "reason": "Session timed out"}
    record.qqgate_app_id = "102000001"
    handler.emit(record)
    out = json.loads(stream.getvalue())
    assert out["event"] == "socket_closed" and out["fields"]["code"] == 4009 and out["app_id"] == "102000001"
    assert out["level"] == "warning" and out["message"] == "socket_closed conn=1" and out["time"].endswith("+00:00")


def test_the_router_and_the_sender_serve_the_webhook_transport_too(chaos: Any) -> None:
    from qqgate.io_shell.webhook import ReceiverConfig, WebhookReceiver
    from qqgate.io_shell.webhook._signing import Signer

    secret = "webhook-embed-secret-31"
    sender = MessageSender(shell_config(chaos.http_base, app_id="102000555", secret=secret))
    router = EventRouter(sender)
    router.on(C2CMessage)(lambda m: m.reply(f"echo: {m.content}"))
    receiver = WebhookReceiver(ReceiverConfig(app_id="102000555", client_secret=secret), on_dispatch=router)
    receiver.start()
    try:
        body = json.dumps({"id": "C2C_MESSAGE_CREATE:w1", "op": 0, "s": 1, "t": "C2C_MESSAGE_CREATE",
                           "d": {"id": "ROBOT1.0_w1", "content": "via webhook",
                                 "author": {"user_openid": "WUSER"}}}).encode()
        stamp = str(int(time.time()))
        receiver.handle(body, Signer(secret).sign(stamp.encode() + body), stamp)
        wait_for(lambda: len(chaos.sent_messages) == 1, 10, "the reply")
    finally:
        receiver.stop()
    (reply,) = chaos.sent_messages
    assert (reply.kind, reply.target, reply.content, reply.msg_id) == ("c2c", "WUSER", "echo: via webhook",
                                                                       "ROBOT1.0_w1")


def test_the_token_broker_fetches_once_for_many_and_again_only_when_due() -> None:
    import gevent

    peer = Peer([])
    hub = HubThread("qqgate-test-tokens")
    try:
        broker = TokenBroker.of(hub)
        config = shell_config(peer.base, app_id="broker-app")
        peer.token_delay_s = 0.2

        def five_at_once() -> list[str]:
            greenlets = [gevent.spawn(broker.get, config) for _ in range(5)]
            gevent.joinall(greenlets, raise_error=True)
            return [g.value[0] for g in greenlets]

        assert hub.run(five_at_once) == ["tok-1"] * 5 and peer.tokens == 1, "one fetch, shared by all"
        peer.token_delay_s = 0.0
        assert broker.token(config) == "tok-1" and peer.tokens == 1, "7200 s left: reused"
        assert broker.token(config, force=True) == "tok-2" and peer.tokens == 2, "forced (a 401, a 4004)"
        other = shell_config(peer.base, app_id="broker-app", secret="a-different-secret")
        assert broker.token(other) == "tok-3", "another secret is another entry"

        short = shell_config(peer.base, app_id="short-lived")
        peer.expires_in = "30"  # inside the last 60 s: the connection asks QQ every time it asks
        hub.run(lambda: broker.get(short))
        hub.run(lambda: broker.get(short))
        assert peer.tokens == 5
        assert broker.token(short) == "tok-5" and peer.tokens == 5, "the sender reuses one fetched < 5 s ago"
        assert broker.fetches(short) == 2
    finally:
        hub.stop()
        peer.close()
