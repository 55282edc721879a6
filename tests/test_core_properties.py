"""Property tests: no input sequence makes the core raise or break an invariant; the codec inverts.

Random runs mix every input type with plausible and implausible values: stale and unknown
conns, valid frames and garbage, close codes from the table and random ints, times that
sometimes go backwards. ``core.check_step`` must hold after every single step.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qqgate import core
from qqgate.core import journal
from qqgate.core import (
    CLOSE_CODES, CloseSocket, Command, ConnectFailed, Deliver, Dispatch, DispatchSettled, Fatal,
    FetchToken, FrameReceived, GatewayFailed, GatewayResolved, Log, OpenSocket, Phase,
    ResolveGateway, SendFailed, SendFrame, SessionStartLimit, SocketClosed, SocketOpened, Start,
    State, StatusChanged, Stop, Tick, TokenFailed, TokenIssued,
)

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------------------------------
# Frame texts


def _j(obj: Any) -> str:
    """stdlib json: keeps ints beyond 64 bits (as a peer might send them)."""
    return json.dumps(obj)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
msg_ids = st.sampled_from(["m1", "m2", "m3", "ROBOT1.0_x", ""]) | st.text(max_size=6)
seqs = st.integers(-3, 40) | st.integers(-(2**70), 2**70)

valid_frames = st.one_of(
    st.builds(lambda ms: _j({"op": 10, "d": {"heartbeat_interval": ms}}),
              st.sampled_from([41_250, 45_000, 1_000, 5_000]) | st.floats(0.001, 4e6) | st.integers(-5, 4_000_000)),
    st.builds(lambda sid, s: _j({"op": 0, "s": s, "t": "READY", "d": {"version": 1, "session_id": sid,
                                                                      "user": {"id": "1"}, "shard": [0, 1]}}),
              st.sampled_from(["sess-a", "sess-b", ""]), seqs),
    st.builds(lambda s: _j({"op": 0, "s": s, "t": "RESUMED", "d": ""}), seqs),
    st.builds(lambda s, mid, t: _j({"op": 0, "s": s, "t": t, "id": f"{t}:{s}", "d": {"id": mid, "content": "hi"}}),
              seqs, msg_ids, st.sampled_from(["C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE", "X"])),
    st.builds(lambda s, d: _j({"op": 0, "s": s, "t": "EVT", "d": d}), seqs, json_values),
    st.just(_j({"op": 11})),
    st.just(_j({"op": 1, "d": None})),
    st.just(_j({"op": 7})),
    st.builds(lambda v: _j({"op": 9, "d": v}), st.booleans() | st.none()),
)
garbage_frames = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30),
    st.builds(lambda op, d, s, t: _j({"op": op, "d": d, "s": s, "t": t}),
              st.integers(-3, 15) | st.booleans() | st.none() | st.text(max_size=3) | st.floats(),
              json_values, json_values, json_values),
    st.builds(_j, json_values),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 1500).map(lambda n: '{"op":0,"s":1,"t":"X","d":' + '{"a":' * n + "1" + "}" * n + "}"),
    st.just('{"op": 0, "s": 123456789012345678901234567890, "t": "X", "d": {}}'),
    st.just('{"op": 10, "d": {"heartbeat_interval": 1e999}}'),
    st.just('{"op": 99999999999999999999999999}'),
)
frame_texts = st.one_of(valid_frames, valid_frames, garbage_frames)

close_codes = st.one_of(
    st.sampled_from(sorted(CLOSE_CODES)),
    st.none(),
    st.integers(0, 70_000),
    st.integers(-(2**64), 2**64),
)
urls = st.sampled_from(["wss://api.sgroup.qq.com/websocket", "ws://127.0.0.1:9/ws", "https://nope", "", "wss://"])
limits = st.none() | st.builds(SessionStartLimit, st.integers(-2, 1000), st.integers(-2, 5),
                               st.integers(-1000, 200_000), st.integers(-2, 4))
expiries = st.sampled_from([7200.0, 100.0, 60.0, 51.0, 30.0, 0.0, -1.0, 1e-3]) | st.floats(-10.0, 1e5)

KINDS = ["start", "stop", "token", "token_failed", "gateway", "gateway_failed", "opened", "frame",
         "frame", "frame", "frame", "closed", "closed", "connect_failed", "send_failed", "settle",
         "tick", "tick", "tick", "tick"]


CONN_PICKS = st.sampled_from(["live", "live", "live", "live", "last", "previous", "next", "zero", "any"])
ANY_CONN = st.integers(-5, 2**66)
DTS = st.one_of(st.just(0.0), st.floats(0.0, 2.0), st.floats(0.0, 120.0), st.floats(-30.0, 0.0),
                st.sampled_from([1e-9, 1.0, 15.0, 30.0, 60.0, 1800.0]))
SETTLE_PICKS = st.sampled_from(["last", "below", "above", "zero", "any"])


def draw_conn(data: st.DataObject, s: State) -> int:
    pick = data.draw(CONN_PICKS, label="conn")
    if pick == "live" and s.live_conn is not None:
        return s.live_conn
    if pick == "previous":
        return s.highest_conn_id - 1
    if pick == "next":
        return s.highest_conn_id + 1
    if pick == "zero":
        return 0
    if pick == "any":
        return data.draw(ANY_CONN, label="any conn")
    return s.highest_conn_id


def draw_time(data: st.DataObject, s: State) -> float:
    base = 0.0 if s.now == float("-inf") else s.now
    return base + data.draw(DTS, label="dt")


def draw_input(data: st.DataObject, s: State, kind: str) -> core.Input:
    at = draw_time(data, s)
    if kind == "start":
        return Start(at)
    if kind == "stop":
        return Stop(at)
    if kind == "token":
        return TokenIssued(at, data.draw(st.sampled_from(["tok", "tok2", ""]), label="token"),
                           data.draw(expiries, label="expires"))
    if kind == "token_failed":
        return TokenFailed(at, "HTTP 500")
    if kind == "gateway":
        return GatewayResolved(at, data.draw(urls, label="url"), data.draw(limits, label="limit"))
    if kind == "gateway_failed":
        return GatewayFailed(at, "DNS failure")
    if kind == "opened":
        return SocketOpened(at, draw_conn(data, s))
    if kind == "frame":
        return FrameReceived(at, draw_conn(data, s), data.draw(frame_texts, label="text"))
    if kind == "closed":
        return SocketClosed(at, draw_conn(data, s), data.draw(close_codes, label="code"),
                            data.draw(st.text(max_size=10), label="reason"))
    if kind == "connect_failed":
        return ConnectFailed(at, draw_conn(data, s), "refused")
    if kind == "send_failed":
        return SendFailed(at, draw_conn(data, s), "broken pipe")
    if kind == "settle":
        pick = data.draw(SETTLE_PICKS, label="settle")
        last = s.session.last_seq if s.session is not None and s.session.last_seq is not None else 1
        seq = {"last": last, "below": last - 1, "above": last + 1, "zero": 0}.get(pick)
        epoch = s.session.epoch if s.session is not None else 0
        epoch = data.draw(st.sampled_from([epoch, epoch, epoch, epoch - 1, 0]), label="session epoch")
        return DispatchSettled(at, seq if seq is not None else data.draw(seqs, label="seq"), epoch)
    deadline = core.next_deadline(s)
    if deadline is not None and math.isfinite(deadline) and data.draw(st.booleans(), label="at deadline"):
        return Tick(deadline)
    return Tick(at)


def check_one_step(s: State, inp: core.Input) -> State:
    after, cmds = core.step(s, inp)
    assert isinstance(cmds, tuple)
    assert all(isinstance(c, (FetchToken, ResolveGateway, OpenSocket, SendFrame, CloseSocket, Deliver,
                              StatusChanged, Fatal, Log)) for c in cmds)
    bad = core.check_step(s, inp, after, cmds)
    assert bad == [], f"{inp!r} broke {bad}; commands {cmds!r}"
    for c in cmds:                     # every command the core emits survives the journal codec
        assert journal.decode_command(journal.encode_command(c)) == c
        if isinstance(c, SendFrame):
            assert isinstance(orjson.loads(c.text), dict)
    return after


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**64 - 1))
def test_random_inputs_never_raise_or_break_invariants(data: st.DataObject, seed: int) -> None:
    s = core.initial_state(core.Config(seed=seed))
    s = check_one_step(s, Start(data.draw(st.floats(0.0, 100.0), label="t0")))
    n = data.draw(st.integers(1, 60), label="n")
    for _ in range(n):
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        s = check_one_step(s, draw_input(data, s, kind))


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**64 - 1))
def test_random_inputs_with_ticks_at_every_deadline(data: st.DataObject, seed: int) -> None:
    """Like a real shell: after every input, fire every timer that is due before the next one."""
    s = core.initial_state(core.Config(seed=seed, backoff_cap_s=10.0))
    s = check_one_step(s, Start(0.0))
    n = data.draw(st.integers(1, 40), label="n")
    for _ in range(n):
        kind = data.draw(st.sampled_from(KINDS[:-4]), label="kind")
        inp = draw_input(data, s, kind)
        for _ in range(20):            # run the clock forward to the input's time
            deadline = core.next_deadline(s)
            if deadline is None or deadline > inp.at:
                break
            s = check_one_step(s, Tick(deadline))
        s = check_one_step(s, inp)
    # Finally let time run with nothing else happening: the core keeps making progress.
    for _ in range(30):
        deadline = core.next_deadline(s)
        if deadline is None:
            assert s.phase in (Phase.IDLE, Phase.FAILED, Phase.STOPPED)
            break
        s = check_one_step(s, Tick(max(deadline, s.now)))   # invariant 5: each tick makes progress


@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**64 - 1))
def test_healthy_world_always_reaches_ready(data: st.DataObject, seed: int) -> None:
    """Whatever garbage came before, a healthy server then gets the core back to READY."""
    s = core.initial_state(core.Config(seed=seed, backoff_cap_s=10.0))
    s = check_one_step(s, Start(0.0))
    for _ in range(data.draw(st.integers(0, 25), label="n")):
        s = check_one_step(s, draw_input(data, s, data.draw(st.sampled_from(KINDS), label="kind")))
    if s.phase in (Phase.FAILED, Phase.STOPPED):
        return
    # The world turns healthy: answers to requests still outstanding arrive late. (Relying on
    # the core's request timeout instead would hit the known bug shown by
    # test_core_timers.py::test_gateway_request_keeps_its_timeout_when_a_second_token_arrives.)
    if s.token_pending:
        s = check_one_step(s, TokenIssued(s.now, "tok", 7200.0))
    if s.gateway_pending:
        s = check_one_step(s, GatewayResolved(s.now, "wss://gw/ws", None))
    for _ in range(200):
        if s.phase is Phase.READY:
            break
        deadline = core.next_deadline(s)
        assert deadline is not None, s.phase
        before = s
        s = check_one_step(s, Tick(max(deadline, s.now)))
        cmds = core.step(before, Tick(max(deadline, before.now)))[1]
        for c in cmds:
            at = s.now
            if isinstance(c, FetchToken):
                s = check_one_step(s, TokenIssued(at, "tok", 7200.0))
            elif isinstance(c, ResolveGateway):
                s = check_one_step(s, GatewayResolved(at, "wss://gw/ws", None))
            elif isinstance(c, OpenSocket) and s.live_conn == c.conn:
                s = check_one_step(s, SocketOpened(at, c.conn))
                s = check_one_step(s, FrameReceived(at, c.conn, _j({"op": 10, "d": {"heartbeat_interval": 41250}})))
        if s.phase is Phase.IDENTIFYING and s.conn is not None and s.conn.identify_at is None and s.live_conn is not None:
            s = check_one_step(s, FrameReceived(s.now, s.live_conn, _j(
                {"op": 0, "s": 1, "t": "READY", "d": {"session_id": "fresh"}})))
        elif s.phase is Phase.RESUMING and s.live_conn is not None:
            s = check_one_step(s, FrameReceived(s.now, s.live_conn, _j({"op": 0, "s": 0, "t": "RESUMED", "d": ""})))
        elif s.phase is Phase.AWAITING_HELLO and s.live_conn is not None:
            s = check_one_step(s, FrameReceived(s.now, s.live_conn, _j({"op": 10, "d": {"heartbeat_interval": 41250}})))
        elif s.phase is Phase.CONNECTING and s.live_conn is not None:
            s = check_one_step(s, SocketOpened(s.now, s.live_conn))
    assert s.phase in (Phase.READY, Phase.FAILED), s.phase


# ---------------------------------------------------------------------------------------
# Codec round trips

finite = st.floats(-1e12, 1e12, allow_nan=False)
i64 = st.integers(-(2**63), 2**63 - 1)
texts = st.text(max_size=20)
json_dicts = st.dictionaries(st.text(max_size=6), json_values, max_size=5)

inputs = st.one_of(
    st.builds(Start, finite), st.builds(Stop, finite),
    st.builds(TokenIssued, finite, texts, finite),
    st.builds(TokenFailed, finite, texts),
    st.builds(GatewayResolved, finite, texts, st.none() | st.builds(SessionStartLimit, i64, i64, i64, i64)),
    st.builds(GatewayFailed, finite, texts),
    st.builds(SocketOpened, finite, i64),
    st.builds(FrameReceived, finite, i64, texts | st.binary(max_size=20)),
    st.builds(SocketClosed, finite, i64, st.none() | i64, texts),
    st.builds(ConnectFailed, finite, i64, texts),
    st.builds(SendFailed, finite, i64, texts),
    st.builds(DispatchSettled, finite, i64, i64),
    st.builds(Tick, finite),
)
commands = st.one_of(
    st.builds(FetchToken, st.booleans()), st.builds(ResolveGateway, texts),
    st.builds(OpenSocket, i64, texts), st.builds(SendFrame, i64, texts),
    st.builds(CloseSocket, i64, i64, texts),
    st.builds(Deliver, st.builds(Dispatch, i64, texts, st.none() | texts, json_values, texts, i64)),
    st.builds(StatusChanged, st.sampled_from(list(Phase)), texts),
    st.builds(Fatal, texts, st.booleans(), st.none() | i64),
    st.builds(Log, st.sampled_from(["debug", "info", "warning", "error"]), texts, json_dicts),
)


@settings(max_examples=300, deadline=None)
@given(inp=inputs)
def test_input_codec_round_trips(inp: core.Input) -> None:
    record = journal.encode_input(inp)
    assert record["type"] == type(inp).__name__
    assert journal.decode_input(record) == inp
    # and through JSON text, as a journal stores it
    assert journal.decode_input(orjson.loads(orjson.dumps(record))) == inp


@settings(max_examples=300, deadline=None)
@given(cmd=commands)
def test_command_codec_round_trips(cmd: Command) -> None:
    record = journal.encode_command(cmd)
    assert record["type"] == type(cmd).__name__
    assert journal.decode_command(record) == cmd
    assert journal.decode_command(orjson.loads(orjson.dumps(record))) == cmd


@pytest.mark.parametrize("record", [
    None, [], {}, {"type": "Nope", "at": 1.0}, {"type": "Tick"}, {"type": "Tick", "at": "1"},
    {"type": "Tick", "at": True}, {"type": "Tick", "at": 1.0, "extra": 1},
    {"type": "FrameReceived", "at": 1.0, "conn": 1, "text": {"$bytes": "zz"}},
    {"type": "SocketClosed", "at": 1.0},
])
def test_decode_input_rejects_malformed_records(record: Any) -> None:
    with pytest.raises(journal.CodecError):
        journal.decode_input(record)


@pytest.mark.parametrize("record", [
    None, {"type": "Tick", "at": 1.0}, {"type": "StatusChanged", "phase": "NOPE", "detail": ""},
    {"type": "OpenSocket", "conn": 1}, {"type": "Log", "level": "info", "event": "x", "bogus": 1},
])
def test_decode_command_rejects_malformed_records(record: Any) -> None:
    with pytest.raises(journal.CodecError):
        journal.decode_command(record)


# ---------------------------------------------------------------------------------------
# Numbers the step function cannot turn into floats


@pytest.mark.parametrize("case", ["huge int at", "inf at", "huge expires", "huge reset_after_ms"])
def test_step_never_raises_on_out_of_range_numbers(case: str) -> None:
    s = core.initial_state(core.Config())
    s, _ = core.step(s, Start(0.0))
    if case == "huge expires":
        seq: list[core.Input] = [TokenIssued(1.0, "tok", 10**400)]
    elif case == "huge reset_after_ms":
        seq = [TokenIssued(1.0, "tok", 7200.0),
               GatewayResolved(1.0, "wss://gw/ws", SessionStartLimit(1, 1, 10**400, 1))]
    else:
        at: Any = 10**400 if case == "huge int at" else float("inf")
        seq = [TokenIssued(1.0, "tok", 7200.0), Tick(at), Tick(at)]
    for inp in seq:
        s = check_one_step(s, inp)
