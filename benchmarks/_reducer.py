"""Figure 1: reducer step cost on a dispatch frame and on a heartbeat tick, against orjson.loads."""

from __future__ import annotations

import orjson

from qqgate import core

from ._stats import Figure, per_call_seconds

DISPATCH = ('{"op":0,"s":42,"t":"C2C_MESSAGE_CREATE","id":"C2C_MESSAGE_CREATE:abc","d":{"author":'
            '{"user_openid":"E4F4AEA33253A2797FB897C50B81D7ED"},"content":"hello","id":"ROBOT1.0_b6nx",'
            '"timestamp":"2023-11-06T13:37:18+08:00"}}')


def ready_state() -> core.State:
    """A core state in READY on connection 1 with a 41.25 s heartbeat (built by real steps)."""
    s = core.initial_state(core.Config(seed=1))
    for inp in (core.Start(0.0), core.TokenIssued(0.1, "t", 7200.0),
                core.GatewayResolved(0.2, "wss://x/websocket", core.SessionStartLimit(1000, 1000, 0, 1)),
                core.SocketOpened(0.3, 1),
                core.FrameReceived(0.4, 1, '{"op":10,"d":{"heartbeat_interval":41250}}'),
                core.FrameReceived(0.5, 1, '{"op":0,"s":1,"t":"READY","d":{"session_id":"s1"}}')):
        s, _ = core.step(s, inp)
    assert s.phase is core.Phase.READY
    return s


def measure(repeats: int, calls: int) -> list[Figure]:
    """Dispatch step vs decode, and heartbeat tick vs decode of a heartbeat-sized frame."""
    state = ready_state()
    frame = core.FrameReceived(1.0, 1, DISPATCH)
    assert state.next_heartbeat_at is not None
    tick = core.Tick(state.next_heartbeat_at)
    ack = '{"op":11}'
    out: list[Figure] = []
    for number, name, inp, text in ((1, "step: dispatch frame", frame, DISPATCH),
                                    (1, "step: heartbeat tick", tick, ack)):
        values, base, ratio = [], [], []
        for _ in range(repeats):
            b = per_call_seconds(lambda: orjson.loads(text), calls)
            v = per_call_seconds(lambda: core.step(state, inp), calls)
            values.append(v * 1e6)
            base.append(b * 1e6)
            ratio.append(v / b)
        fig = Figure(number, name, "µs/step", values, goal="step ≤ 3 × decode",
                     baseline_name=f"orjson.loads({'dispatch' if inp is frame else 'op 11'} frame) µs",
                     baseline_values=base, ratio_values=ratio)
        fig.met = fig.ratio_median <= 3.0
        out.append(fig)
    return out
