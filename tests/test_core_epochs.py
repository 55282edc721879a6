"""Connection epochs (inputs naming an older conn are ignored) and dispatch dedupe by d.id."""

from __future__ import annotations

import dataclasses

import pytest

from qqgate.core import (
    CloseSocket, ConnectFailed, Deliver, FrameReceived, Input, OpenSocket, Phase, SendFailed,
    SendFrame, SocketClosed, SocketOpened, Stop,
)
from conftest import SESSION, Driver, dispatch_text, dumps, has, hello_text, of_type, ops


def on_second_connection() -> Driver:
    """READY on conn 1, then op 7: conn 2 is live, RESUMED, READY."""
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    d.recv(60.0, {"op": 7})
    assert d.conn == 2
    assert ops(d.reconnect(60.0)) == [6]
    d.resumed(60.1)
    assert d.phase is Phase.READY
    return d


STALE = {
    "dispatch": lambda at, c: FrameReceived(at, c, dispatch_text(3, "m3")),
    "hello": lambda at, c: FrameReceived(at, c, hello_text(1000)),
    "op 7": lambda at, c: FrameReceived(at, c, dumps({"op": 7})),
    "op 9": lambda at, c: FrameReceived(at, c, dumps({"op": 9, "d": False})),
    "op 1": lambda at, c: FrameReceived(at, c, dumps({"op": 1})),
    "garbage": lambda at, c: FrameReceived(at, c, b"\x00\x01"),
    "close 4009": lambda at, c: SocketClosed(at, c, 4009, "Session timed out"),
    "close 1000": lambda at, c: SocketClosed(at, c, 1000),
    "close 4915 (fatal)": lambda at, c: SocketClosed(at, c, 4915, "banned"),
    "close no code": lambda at, c: SocketClosed(at, c, None),
    "send failed": lambda at, c: SendFailed(at, c, "broken pipe"),
    "socket opened": lambda at, c: SocketOpened(at, c),
    "connect failed": lambda at, c: ConnectFailed(at, c, "refused"),
}


def assert_ignored(d: Driver, inp: Input) -> None:
    before = d.state
    cmds = d.feed(inp)
    assert all(type(c).__name__ == "Log" for c in cmds), cmds
    assert d.counters.stale_inputs == before.counters.stale_inputs + 1
    unchanged = d.state._replace(counters=before.counters, now=before.now)
    assert unchanged == before


@pytest.mark.parametrize("make", list(STALE.values()), ids=list(STALE))
@pytest.mark.parametrize("conn", [1, 0, -1, 3, 10**30])
def test_inputs_naming_another_connection_are_ignored_and_counted(make, conn: int) -> None:
    d = on_second_connection()
    assert_ignored(d, make(70.0, conn))
    # the live connection is untouched and still works
    (deliver,) = of_type(d.dispatch(71.0, 3, "m3"), Deliver)
    assert deliver.dispatch.seq == 3


def test_late_close_of_previous_connection_does_not_kill_the_new_one() -> None:
    """OpenClaw's bug: the old socket's close arrives after the new socket opened."""
    d = Driver()
    d.connect_ready(at=0.0)
    cmds = d.recv(1800.0, {"op": 7})
    assert [c.conn for c in of_type(cmds, CloseSocket)] == [1]
    assert [c.conn for c in of_type(cmds, OpenSocket)] == [2]
    d.opened(1800.05)
    assert_ignored(d, SocketClosed(1800.1, 1, 4009, "Session timed out"))
    assert d.phase is Phase.AWAITING_HELLO and d.conn == 2
    assert ops(d.hello(1800.2)) == [6]
    assert_ignored(d, SocketClosed(1800.3, 1, None))
    d.resumed(1800.4)
    assert d.phase is Phase.READY and d.conn == 2
    assert not [c for c in d.commands() if isinstance(c, CloseSocket) and c.conn == 2]


def test_late_close_while_the_new_connection_is_still_connecting() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.recv(100.0, {"op": 7})
    assert d.phase is Phase.CONNECTING and d.conn == 2
    assert_ignored(d, SocketClosed(100.01, 1, 4009))
    assert_ignored(d, FrameReceived(100.02, 1, hello_text()))
    d.opened(100.1)
    assert ops(d.hello(100.2)) == [6]


def test_close_of_a_zombie_we_left_is_stale() -> None:
    d = Driver(first_heartbeat_jitter=False)
    d.connect_ready(at=0.0, interval_ms=5_000)
    d.tick_until(lambda c: has(c, CloseSocket), answer=False)
    assert d.phase is Phase.BACKING_OFF and d.conn is None
    assert_ignored(d, SocketClosed(d.now + 0.5, 1, 1006))
    assert_ignored(d, SendFailed(d.now + 0.6, 1, "reset"))


def test_inputs_after_stop_are_stale() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.feed(Stop(5.0))
    for make in STALE.values():
        before = d.counters.stale_inputs
        cmds = d.feed(make(6.0, 1))
        assert not has(cmds, SendFrame) and not has(cmds, OpenSocket)
        assert d.counters.stale_inputs == before + 1
    assert d.phase is Phase.STOPPED


def test_frame_during_connecting_is_rejected() -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    assert d.phase is Phase.CONNECTING
    cmds = d.recv(0.1, hello_text())
    assert not has(cmds, SendFrame)
    assert d.phase is Phase.CONNECTING
    assert d.counters.frames_rejected == 1
    # once the socket is reported open, Hello works
    d.opened(0.2)
    assert ops(d.hello(0.3)) == [2]


def test_duplicate_socket_opened_is_rejected() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    before = d.state
    cmds = d.opened(1.0)
    assert not has(cmds, SendFrame)
    assert d.phase is Phase.READY
    assert d.counters.frames_rejected == before.counters.frames_rejected + 1


def test_connect_failed_after_open_does_not_leak_the_socket() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    cmds = d.feed(ConnectFailed(5.0, 1, "handshake error reported late"))
    closed = [c.conn for c in of_type(cmds, CloseSocket)]
    assert closed == [1] or (d.phase is Phase.READY and d.conn == 1)


# ---------------------------------------------------------------------------------------
# Dedupe by d.id


def test_same_message_id_pushed_twice_is_delivered_once() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    first = d.dispatch(1.0, 2, "ROBOT1.0_b6nx", content="hello")
    again = d.dispatch(1.1, 3, "ROBOT1.0_b6nx", content="hello")
    assert len(of_type(first, Deliver)) == 1
    assert not has(again, Deliver)
    assert d.counters.duplicates_dropped == 1
    assert d.last_seq == 3                   # the duplicate's s is still tracked
    other = d.dispatch(1.2, 4, "ROBOT1.0_other")
    assert len(of_type(other, Deliver)) == 1


def test_dedupe_survives_a_resume_replay() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    d.dispatch(1.0, 3, "m3")
    d.settle(1.0, 2)
    d.closed(10.0, 1006)
    d.until_open()
    (resume,) = d.frames_sent(d.reconnect())
    assert resume["d"]["seq"] == 2
    # the server replays s=3 (already delivered, not settled) and a new s=4
    replay = d.dispatch(d.now, 3, "m3")
    new = d.dispatch(d.now, 4, "m4")
    d.resumed(d.now)
    assert not has(replay, Deliver)
    assert [c.dispatch.seq for c in of_type(new, Deliver)] == [4]


def test_dedupe_falls_back_to_event_id_then_seq() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    no_d_id = {"op": 0, "s": 5, "t": "GUILD_CREATE", "id": "GUILD_CREATE:1", "d": {"name": "g"}}
    assert has(d.recv(1.0, no_d_id), Deliver)
    assert not has(d.recv(1.1, {**no_d_id, "s": 6}), Deliver)
    bare = {"op": 0, "s": 7, "t": "SOMETHING", "d": None}
    assert has(d.recv(1.2, bare), Deliver)
    assert not has(d.recv(1.3, bare), Deliver)
    assert d.counters.duplicates_dropped == 2


def test_dedupe_window_is_bounded() -> None:
    d = Driver(dedupe_window=64)
    d.connect_ready(at=0.0)
    for i in range(400):
        assert has(d.dispatch(1.0 + i * 0.001, 2 + i, f"msg-{i}"), Deliver)
        assert len(d.state.dedupe) <= 64 + 64
    # the most recent keys are remembered ...
    assert not has(d.dispatch(2.0, 500, "msg-399"), Deliver)
    assert not has(d.dispatch(2.0, 501, "msg-340"), Deliver)
    # ... the oldest ones were forgotten, so the window cannot grow without bound
    assert has(d.dispatch(2.0, 502, "msg-0"), Deliver)


def test_new_session_keeps_deduping_message_ids() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "shared-id")
    d.recv(10.0, {"op": 9, "d": False})
    d.until_open()
    d.reconnect()
    d.ready(d.now + 0.1, session_id="session-2")
    assert d.session_id == "session-2" != SESSION
    assert not has(d.dispatch(d.now + 0.2, 2, "shared-id"), Deliver)
