"""Every opcode of protocol.md ("Frames"), as the core receives and sends it."""

from __future__ import annotations

import pytest

from qqgate.core import (
    CloseSocket, Deliver, Log, OpenSocket, Phase, SendFrame, SocketClosed, Stop,
)
from conftest import (
    INTERVAL_MS, SESSION, TOKEN, URL, Driver, dispatch_text, dumps, frames, has, of_type, ops,
)


# ---------------------------------------------------------------------------------------
# op 10 Hello and op 2 Identify


@pytest.mark.parametrize("interval_ms", [1_000, 30_000, 41_250, 45_000])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hello_interval_sets_heartbeat_schedule(interval_ms: int, seed: int) -> None:
    d = Driver(seed=seed)
    d.connect_ready(at=100.0, interval_ms=interval_ms)
    interval = interval_ms / 1000.0
    assert d.heartbeat_interval_s == pytest.approx(interval)

    d.keep_alive(until=100.0 + 4 * interval)
    beats = d.times_of(SendFrame, lambda c: '"op":1' in c.text)
    assert len(beats) >= 3
    # First beat jittered within (Hello, Hello + interval]; then one per interval.
    assert 100.0 < beats[0] <= 100.0 + interval
    for a, b in zip(beats, beats[1:]):
        assert b - a == pytest.approx(interval)


def test_first_heartbeat_is_jittered_across_seeds() -> None:
    firsts = set()
    for seed in range(12):
        d = Driver(seed=seed)
        d.connect_ready(at=0.0)
        d.tick_until(lambda c: 1 in ops(c))
        firsts.add(round(d.now, 6))
    assert len(firsts) >= 10, firsts
    assert all(0.0 < t <= INTERVAL_MS / 1000.0 for t in firsts)


def test_first_heartbeat_without_jitter_is_one_interval_after_hello() -> None:
    d = Driver(first_heartbeat_jitter=False)
    d.connect_ready(at=7.0)
    cmds = d.tick_until(lambda c: 1 in ops(c))
    assert d.now == pytest.approx(7.0 + INTERVAL_MS / 1000.0)
    assert frames(cmds) == [{"op": 1, "d": 1}]


@pytest.mark.parametrize("intents,shard_id,shard_count", [
    (1 << 25 | 1 << 30, 0, 1),
    (1 << 0 | 1 << 9 | 1 << 12, 0, 1),
    (1 << 26, 1, 2),
])
def test_identify_payload(intents: int, shard_id: int, shard_count: int) -> None:
    d = Driver(intents=intents, shard_id=shard_id, shard_count=shard_count)
    d.start(0.0)
    d.token(0.0, token="tok-xyz")
    d.gateway(0.0)
    d.opened(0.0)
    cmds = d.hello(0.5)
    (identify,) = frames(cmds)
    assert identify["op"] == 2
    assert identify["d"]["token"] == "QQBot tok-xyz"
    assert identify["d"]["intents"] == intents
    assert identify["d"]["shard"] == [shard_id, shard_count]
    assert d.phase is Phase.IDENTIFYING
    assert of_type(cmds, SendFrame)[0].conn == d.conn


def test_default_shard_is_0_of_1() -> None:
    d = Driver()
    cmds = d.connect_ready(at=0.0)
    identify = [f for f in frames(cmds) if f["op"] == 2][0]
    assert identify["d"]["shard"] == [0, 1]
    assert identify["d"]["token"] == f"QQBot {TOKEN}"


def test_second_hello_on_one_connection_is_rejected() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    before = d.state
    cmds = d.hello(1.0, interval_ms=1_000)
    assert not has(cmds, SendFrame)
    assert d.counters.frames_rejected == before.counters.frames_rejected + 1
    assert d.state.conn == before.conn._replace(last_received_at=1.0)


# ---------------------------------------------------------------------------------------
# op 0 Dispatch


def test_dispatch_is_delivered_with_seq_type_id_and_data() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    text = ('{"op":0,"s":42,"t":"C2C_MESSAGE_CREATE","id":"C2C_MESSAGE_CREATE:abc","d":'
            '{"author":{"user_openid":"E4F4AEA33253A2797FB897C50B81D7ED"},"content":"hello",'
            '"id":"ROBOT1.0_b6nx","timestamp":"2023-11-06T13:37:18+08:00"}}')
    cmds = d.recv(1.0, text)
    (deliver,) = of_type(cmds, Deliver)
    assert deliver.dispatch.seq == 42
    assert deliver.dispatch.event_type == "C2C_MESSAGE_CREATE"
    assert deliver.dispatch.event_id == "C2C_MESSAGE_CREATE:abc"
    assert deliver.dispatch.data["content"] == "hello"
    assert deliver.dispatch.data["id"] == "ROBOT1.0_b6nx"
    assert d.last_seq == 42
    assert d.counters.dispatches_delivered == 2  # READY and this one


def test_ready_sets_session_and_is_delivered() -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0); d.hello(0.0)
    assert d.session_id is None
    cmds = d.ready(0.2, session_id="sess-abc", s=1)
    assert d.session_id == "sess-abc"
    assert d.phase is Phase.READY
    (deliver,) = of_type(cmds, Deliver)
    assert deliver.dispatch.event_type == "READY"
    assert d.last_seq == 1


def test_resumed_is_not_delivered_and_does_not_move_seq() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 5, "m5")
    d.closed(2.0, 1006)
    d.until_open()
    assert 6 in ops(d.reconnect())
    cmds = d.resumed(d.now, s=77)
    assert not has(cmds, Deliver)
    assert d.phase is Phase.READY
    assert d.last_seq == 5


def test_heartbeat_carries_last_received_seq() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    cmds = d.tick_until(lambda c: 1 in ops(c))
    assert frames(cmds) == [{"op": 1, "d": 1}]
    d.dispatch(d.now, 2, "m2")
    d.dispatch(d.now, 3, "m3")
    cmds = d.tick_until(lambda c: 1 in ops(c))
    assert frames(cmds) == [{"op": 1, "d": 3}]


def test_heartbeat_before_any_dispatch_carries_null() -> None:
    d = Driver(ready_timeout_s=500.0)
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0); d.hello(0.0)
    cmds = d.tick_until(lambda c: 1 in ops(c))
    assert frames(cmds) == [{"op": 1, "d": None}]


def test_seq_regression_is_counted_and_does_not_lower_seq() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 10, "m10")
    d.dispatch(1.1, 7, "m7")
    assert d.last_seq == 10
    assert d.counters.seq_regressions == 1
    cmds = d.tick_until(lambda c: 1 in ops(c))
    assert frames(cmds) == [{"op": 1, "d": 10}]


def test_resume_carries_last_settled_seq_not_last_received() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    for s in (2, 3, 4):
        d.dispatch(1.0, s, f"m{s}")
    d.settle(1.5, 3)
    assert d.settled_seq == 3
    d.closed(2.0, 1006)
    d.until_open()
    (resume,) = frames(d.reconnect())
    assert resume == {"op": 6, "d": {"token": f"QQBot {TOKEN}", "session_id": SESSION, "seq": 3}}


def test_settle_beyond_received_seq_is_rejected() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    cmds = d.settle(1.1, 9)
    assert d.settled_seq is None
    assert any(isinstance(c, Log) and c.event == "settle_rejected" for c in cmds)


def test_settled_seq_never_moves_back() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    for s in (2, 3, 4):
        d.dispatch(1.0, s, f"m{s}")
    d.settle(1.1, 4)
    d.settle(1.2, 2)
    assert d.settled_seq == 4


# ---------------------------------------------------------------------------------------
# op 1 from the server, op 11 ACK


def test_server_heartbeat_gets_an_immediate_heartbeat() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(0.5, 6, "m6")
    sent = d.counters.heartbeats_sent
    cmds = d.recv(2.0, {"op": 1})
    assert frames(cmds) == [{"op": 1, "d": 6}]
    assert of_type(cmds, SendFrame)[0].conn == d.conn
    assert d.counters.heartbeats_sent == sent + 1
    assert not has(cmds, CloseSocket)
    assert d.phase is Phase.READY


def test_server_heartbeat_does_not_count_as_missed_ack() -> None:
    """op 1 from the server, ACKed in time, never makes the connection a zombie."""
    d = Driver(seed=3)
    d.connect_ready(at=0.0)
    for i in range(6):
        t = d.now + 10.0
        cmds = d.recv(t, {"op": 1})
        assert 1 in ops(cmds)
        d.ack(t + 0.1)
        d.keep_alive(until=t + 5.0)
    assert d.counters.zombies_detected == 0
    assert not d.times_of(CloseSocket)


def test_heartbeat_ack_is_counted() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    assert d.counters.heartbeat_acks == 0
    d.ack(1.0)
    d.ack(2.0)
    assert d.counters.heartbeat_acks == 2
    assert d.counters.frames_rejected == 0


# ---------------------------------------------------------------------------------------
# op 7 Reconnect and op 9 Invalid Session


def test_reconnect_closes_non_1000_and_opens_at_once_then_resumes() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    d.settle(1.0, 2)
    old = d.conn
    cmds = d.recv(30.0, {"op": 7})
    (close,) = of_type(cmds, CloseSocket)
    assert close.conn == old and close.code not in (1000, 1001)
    (opened,) = of_type(cmds, OpenSocket)
    assert opened.conn > old and opened.url == URL
    assert d.state.consecutive_failures == 0
    resume = frames(d.reconnect(30.0))
    assert resume == [{"op": 6, "d": {"token": f"QQBot {TOKEN}", "session_id": SESSION, "seq": 2}}]


def test_reconnect_respects_the_open_floor() -> None:
    d = Driver(open_floor_s=1.0)
    d.connect_ready(at=0.0)
    cmds = d.recv(0.25, {"op": 7})
    assert has(cmds, CloseSocket)
    assert not has(cmds, OpenSocket)
    assert d.phase is Phase.BACKING_OFF
    assert d.tick(0.9) == ()
    opened = d.until_open()
    assert d.now == pytest.approx(1.0)
    assert opened.conn == 2
    assert 6 in ops(d.reconnect())


def test_invalid_session_drops_session_and_next_hello_identifies() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    old = d.conn
    cmds = d.recv(5.0, {"op": 9, "d": False})
    (close,) = of_type(cmds, CloseSocket)
    assert close.conn == old and close.code != 1000
    assert d.session_id is None
    assert d.last_seq is None
    d.until_open()
    cmds = d.reconnect()
    assert ops(cmds) == [2]
    assert d.phase is Phase.IDENTIFYING


def test_invalid_session_during_resume_identifies_next() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.closed(10.0, 1006)
    d.until_open()
    assert ops(d.reconnect()) == [6]
    d.recv(d.now + 0.1, {"op": 9, "d": False})
    d.until_open()
    assert ops(d.reconnect()) == [2]


# ---------------------------------------------------------------------------------------
# Frames the core must reject: logged, counted, never raised


REJECTED = {
    "op 2 identify from server": dumps({"op": 2, "d": {}}),
    "op 6 resume from server": dumps({"op": 6, "d": {}}),
    "op 12 http callback ack": dumps({"op": 12, "d": 0}),
    "unknown op 3": dumps({"op": 3}),
    "unknown op 99": dumps({"op": 99, "d": None}),
    "negative op": dumps({"op": -1}),
    "huge op": '{"op": 123456789012345678901234567890}',
    "binary frame": b'{"op": 11}',
    "empty binary": b"",
    "bad json": '{"op": 11',
    "not json": "hello there",
    "empty text": "",
    "json array": "[1, 2, 3]",
    "json string": '"op"',
    "json null": "null",
    "missing op": dumps({"d": 1, "s": 3}),
    "bool op": dumps({"op": True}),
    "false op": dumps({"op": False}),
    "string op": dumps({"op": "11"}),
    "float op": dumps({"op": 11.0}),
    "null op": dumps({"op": None}),
    "dispatch without s": dumps({"op": 0, "t": "C2C_MESSAGE_CREATE", "d": {"id": "x"}}),
    "dispatch string s": dumps({"op": 0, "s": "5", "t": "C2C_MESSAGE_CREATE", "d": {"id": "x"}}),
    "dispatch bool s": dumps({"op": 0, "s": True, "t": "C2C_MESSAGE_CREATE", "d": {"id": "x"}}),
    "dispatch float s": dumps({"op": 0, "s": 5.0, "t": "C2C_MESSAGE_CREATE", "d": {"id": "x"}}),
    "dispatch negative s": dumps({"op": 0, "s": -4, "t": "C2C_MESSAGE_CREATE", "d": {"id": "x"}}),
    "dispatch without t": dumps({"op": 0, "s": 5, "d": {"id": "x"}}),
    "dispatch empty t": dumps({"op": 0, "s": 5, "t": "", "d": {"id": "x"}}),
    "deep json": "[" * 5000 + "]" * 5000,
    "deep object": '{"op":0,"s":5,"t":"X","d":' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
    "infinite number": '{"op": 11, "d": 1e999}',
    "ready without session id": dumps({"op": 0, "s": 9, "t": "READY", "d": {"version": 1}}),
    "resumed while ready": dumps({"op": 0, "s": 9, "t": "RESUMED", "d": ""}),
}


@pytest.mark.parametrize("text", list(REJECTED.values()), ids=list(REJECTED))
def test_unusable_frame_is_rejected_logged_and_counted(text: str | bytes) -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    before = d.state
    cmds = d.recv(1.0, text)
    assert d.counters.frames_rejected == before.counters.frames_rejected + 1
    logs = [c for c in cmds if isinstance(c, Log) and c.event == "frame_rejected"]
    assert len(logs) == 1 and logs[0].level in ("warning", "error")
    assert not has(cmds, Deliver) and not has(cmds, SendFrame) and not has(cmds, CloseSocket)
    assert d.phase is Phase.READY and d.conn == before.live_conn
    assert d.state.session == before.session


@pytest.mark.parametrize("interval", [0, -5, 3_600_001, "41250", True, None, 1e400])
def test_hello_with_bad_interval_is_rejected(interval: object) -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0)
    text = ('{"op":10,"d":{"heartbeat_interval":1e400}}' if interval == 1e400
            else dumps({"op": 10, "d": {"heartbeat_interval": interval}}))
    cmds = d.recv(0.5, text)
    assert not has(cmds, SendFrame)
    assert d.phase is Phase.AWAITING_HELLO
    assert d.counters.frames_rejected == 1


@pytest.mark.parametrize("frame", [{"op": 11}, {"op": 1}, {"op": 7}, {"op": 9, "d": False},
                                   {"op": 0, "s": 1, "t": "READY", "d": {"session_id": "x"}}])
def test_frames_before_hello_are_rejected(frame: dict[str, object]) -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0)
    cmds = d.recv(0.5, frame)
    assert not has(cmds, SendFrame) and not has(cmds, Deliver) and not has(cmds, CloseSocket)
    assert d.phase is Phase.AWAITING_HELLO
    assert d.counters.frames_rejected == 1
    assert d.session_id is None


def test_rejected_frames_never_raise_across_a_burst() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    for i, text in enumerate(REJECTED.values()):
        d.recv(1.0 + i * 0.01, text)
    assert d.counters.frames_rejected == len(REJECTED)
    assert d.phase is Phase.READY
    # and the connection still works afterwards
    (deliver,) = of_type(d.recv(2.0, dispatch_text(2, "after-garbage")), Deliver)
    assert deliver.dispatch.seq == 2


def test_stop_closes_with_1000_and_goes_quiet() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    conn = d.conn
    cmds = d.feed(Stop(5.0))
    (close,) = of_type(cmds, CloseSocket)
    assert close.conn == conn and close.code == 1000
    assert d.phase is Phase.STOPPED
    assert d.deadline is None
    # a late close from the server is harmless
    assert not has(d.feed(SocketClosed(5.5, conn, 1000)), OpenSocket)
    assert d.tick(100.0) == ()

