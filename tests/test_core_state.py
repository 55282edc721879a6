"""The state's shape: sub-records, session epochs, the transition table, the dedupe window."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qqgate import core
from qqgate.core import (
    TRANSITIONS, Deliver, DispatchSettled, Log, Phase, ResolveGateway, SendFrame, Start, Tick,
)
from qqgate.core._dedupe import CHUNK, DedupeWindow
from conftest import TOKEN, Driver, has, of_type, ops


# ---------------------------------------------------------------------------------------
# Leaving a connection, dropping a session

def test_leaving_a_connection_forgets_every_timer_it_owned() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    d.tick()                                              # a heartbeat is outstanding
    conn = d.state.conn
    assert conn is not None and conn.heartbeat_sent_at is not None and not conn.received_since_heartbeat
    d.closed(d.now + 1.0, 1006)
    assert d.state.conn is None and d.phase is Phase.BACKING_OFF
    assert d.state.session is not None and d.state.session.lost_at == d.now   # the session stays, lost
    opened = d.until_open()
    fresh = d.state.conn
    assert fresh is not None and fresh.id == opened.conn == 2
    assert fresh == core.Connection(2, deadline=fresh.deadline)               # nothing carried over


def test_a_settle_from_an_older_session_never_advances_the_new_one() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    (old,) = of_type(d.dispatch(1.0, 7, "old-7"), Deliver)
    assert old.dispatch.session_epoch == d.epoch == 1
    d.recv(2.0, {"op": 9, "d": False})                   # the session is invalidated
    d.until_open()
    d.reconnect()
    d.ready(d.now, session_id="session-2")
    assert d.epoch == 2 and d.session_id == "session-2"
    for s in range(2, 10):
        (new,) = of_type(d.dispatch(d.now, s, f"new-{s}"), Deliver)
        assert new.dispatch.session_epoch == 2
    stale_before = d.counters.stale_inputs
    # The old handler returns only now: seq 7 fits the new session, but its epoch does not.
    cmds = d.settle(d.now, old.dispatch.seq, epoch=old.dispatch.session_epoch)
    assert d.settled_seq is None
    assert d.counters.stale_inputs == stale_before + 1
    assert [c.event for c in of_type(cmds, Log)] == ["stale_input"]
    d.settle(d.now, 8)                                   # the new session's own settle counts
    assert d.settled_seq == 8
    d.closed(d.now + 1.0, 1006)
    d.until_open()
    (resume,) = d.frames_sent(d.reconnect())
    assert resume["op"] == 6 and resume["d"]["seq"] == 8


def test_resolve_gateway_carries_the_token_it_needs() -> None:
    d = Driver()
    d.start(0.0)
    (request,) = of_type(d.token(0.1), ResolveGateway)
    assert request.token == TOKEN


def test_a_dispatch_with_no_session_is_delivered_but_its_seq_is_not_tracked() -> None:
    """A gateway never sends one before READY; if it did, the dispatch is not lost, but its
    ``s`` belongs to no session (twilight keeps the sequence in its ``Option<Session>`` too)."""
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0); d.hello(0.0)
    assert d.phase is Phase.IDENTIFYING and d.state.session is None
    (delivered,) = of_type(d.dispatch(0.5, 5, "early"), Deliver)
    assert delivered.dispatch.session_epoch == 0 and d.state.session is None
    d.ready(0.6)
    assert d.last_seq == 1 and d.epoch == 1


# ---------------------------------------------------------------------------------------
# The transition table

def test_every_input_type_has_a_row_and_stop_always_stops() -> None:
    assert set(TRANSITIONS) == set(core.Input.__args__)  # type: ignore[attr-defined]
    assert all(TRANSITIONS[core.Stop][phase] == {Phase.STOPPED} for phase in Phase)
    assert TRANSITIONS[core.DispatchSettled] == {}


def test_check_step_rejects_a_transition_the_table_does_not_allow() -> None:
    d = Driver()
    before = d.state
    after, commands = core.step(before, Start(0.0))
    assert core.check_step(before, Start(0.0), after, commands) == []
    forged = after._replace(phase=Phase.READY)
    problems = core.check_step(before, Start(0.0), forged, commands)
    assert any("Start moved IDLE → READY" in p for p in problems), problems
    # a change of phase must be announced by a StatusChanged naming the new phase
    silent = core.check_step(before, Start(0.0), after, tuple(c for c in commands if not has([c], core.StatusChanged)))
    assert any("without a StatusChanged" in p for p in silent), silent


def test_check_step_rejects_a_dispatch_tagged_with_another_session() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    before = d.state
    inp = core.FrameReceived(1.0, 1, '{"op":0,"s":2,"t":"X","d":{"id":"m"}}')
    after, commands = core.step(before, inp)
    (deliver,) = of_type(commands, Deliver)
    forged = Deliver(core.Dispatch(**{**{f: getattr(deliver.dispatch, f) for f in deliver.dispatch.__slots__},
                                      "session_epoch": 9}))
    problems = core.check_step(before, inp, after, (forged,))
    assert any("session epoch 9" in p for p in problems), problems


# ---------------------------------------------------------------------------------------
# The dedupe window

class ChunkedWindow:
    """The earlier implementation (frozensets in chunks of 64), kept as the oracle."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.current: frozenset[str] = frozenset()
        self.older: tuple[frozenset[str], ...] = ()

    def __contains__(self, key: str) -> bool:
        return key in self.current or any(key in chunk for chunk in self.older)

    def add(self, key: str) -> "ChunkedWindow":
        new = ChunkedWindow(self.capacity)
        current = self.current | {key}
        if len(current) < CHUNK:
            new.current, new.older = current, self.older
        else:
            keep = max(1, -(-self.capacity // CHUNK))
            new.current, new.older = frozenset(), ((current,) + self.older)[:keep]
        return new


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 200), keys=st.lists(st.integers(0, 400), max_size=700),
       probes=st.lists(st.integers(0, 400), max_size=30))
def test_the_window_remembers_exactly_what_the_chunked_window_did(capacity: int, keys: list[int],
                                                                 probes: list[int]) -> None:
    window, oracle = DedupeWindow(capacity), ChunkedWindow(capacity)
    added = 0
    for k in keys:
        key = f"id:{k}"
        assert (key in window) == (key in oracle)
        if key not in window:
            window, oracle = window.add(key), oracle.add(key)
            added += 1
    for k in probes + keys[-5:]:
        assert (f"id:{k}" in window) == (f"id:{k}" in oracle)
    assert min(added, capacity) <= len(window) <= capacity + CHUNK - 1


def test_every_version_of_the_window_keeps_what_it_held() -> None:
    base = DedupeWindow(512).add("a")
    newer = base.add("b")                                 # appends to the shared log
    branch = base.add("c")                                # base is no longer the newest: a copy
    assert "a" in base and "b" not in base and "c" not in base
    assert "b" in newer and "c" not in newer
    assert "c" in branch and "b" not in branch
    assert newer.add("d").keys() == ["a", "b", "d"] and branch.keys() == ["a", "c"]
    assert DedupeWindow(512).add("a").add("b") == newer != branch


def test_two_threads_adding_to_one_version_get_separate_windows() -> None:
    base = DedupeWindow(64)
    results: dict[str, DedupeWindow] = {}
    start = threading.Barrier(2)

    def add(key: str) -> None:
        start.wait()
        window = base
        for i in range(2000):
            window = window.add(f"{key}-{i}") if i else base.add(key)
        results[key] = window

    threads = [threading.Thread(target=add, args=(k,)) for k in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "x-1999" in results["x"] and "y-1999" not in results["x"]
    assert "y-1999" in results["y"] and "x-1999" not in results["y"]
    assert len(base) == 0


# ---------------------------------------------------------------------------------------
# Hot paths build the same values as the plain constructors

def test_hot_path_constructors_build_equal_commands() -> None:
    from qqgate.core._commands import deliver, send_frame
    assert deliver(3, "T", None, {"a": 1}, "id:x", 2) == Deliver(core.Dispatch(3, "T", None, {"a": 1}, "id:x", 2))
    assert send_frame(1, "x") == SendFrame(1, "x")


@pytest.mark.parametrize("seq", [None, 0, 7, 2**64 - 1])
def test_heartbeat_frame_is_what_orjson_writes(seq: int | None) -> None:
    import orjson
    from qqgate.core._frames import heartbeat_frame
    assert heartbeat_frame(seq) == orjson.dumps({"op": 1, "d": seq}).decode()


def test_a_tick_at_the_heartbeat_deadline_sends_one_heartbeat() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    deadline = d.deadline
    assert deadline is not None
    cmds = d.feed(Tick(deadline))
    assert ops(cmds) == [1] and [c for c in cmds if not isinstance(c, SendFrame)] == []
