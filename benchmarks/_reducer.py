"""Figure 1: the core's step cost on a dispatch and on a heartbeat tick, each against its own baseline.

- **dispatch**: ``calls`` distinct dispatch frames (a fresh ``s`` and ``d.id`` each, as a live
  session receives them) stepped one after another from a READY state whose dedupe window is
  already full, carrying the state forward; the baseline is ``orjson.loads`` of the same
  frames, the decode the step cannot avoid. Goal: step ≤ 6 × decode.
- **tick**: ``calls`` heartbeat ticks of one live session, each at the heartbeat deadline of
  the state that the previous tick and its heartbeat ACK left (those states are prepared
  untimed, in order); the baseline is ``orjson.dumps`` of the heartbeat frame the tick sends.
  Goal: ≤ 1.5 µs per tick on this machine's class of CPU.

Timing is ``time.thread_time_ns``: CPU time of this thread, so other processes on a shared
machine are not charged. The garbage collector stays enabled, as in a live process (a step's
allocations pay for the collections they trigger), after a ``gc.collect()`` so that garbage
left by the set-up is not charged to the timed loop. Only the public core API is used, so the
same file measures any version of the core.

``python -m benchmarks._reducer [--quick]`` prints this figure alone.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Callable

import orjson

from qqgate import core

from ._stats import Figure, render

DISPATCH = ('{{"op":0,"s":{seq},"t":"C2C_MESSAGE_CREATE","id":"C2C_MESSAGE_CREATE:{seq:08x}","d":{{"author":'
            '{{"user_openid":"E4F4AEA33253A2797FB897C50B81D7ED"}},"content":"hello","id":"ROBOT1.0_{seq:08x}",'
            '"timestamp":"2023-11-06T13:37:18+08:00"}}}}')
"""A C2C message dispatch as the gateway sends it (215 bytes); ``seq`` makes ``s`` and both ids fresh."""

CONN = 1
ACK = '{"op":11}'


def ready_state() -> core.State:
    """A core state in READY on connection 1 with a 41.25 s heartbeat (built by real steps)."""
    s = core.initial_state(core.Config(seed=1))
    for inp in (core.Start(0.0), core.TokenIssued(0.1, "t", 7200.0),
                core.GatewayResolved(0.2, "wss://x/websocket", core.SessionStartLimit(1000, 1000, 0, 1)),
                core.SocketOpened(0.3, CONN),
                core.FrameReceived(0.4, CONN, '{"op":10,"d":{"heartbeat_interval":41250}}'),
                core.FrameReceived(0.5, CONN, '{"op":0,"s":1,"t":"READY","d":{"session_id":"s1"}}')):
        s, _ = core.step(s, inp)
    assert s.phase is core.Phase.READY
    return s


def dispatch_frames(first_seq: int, count: int, at: float) -> list[core.FrameReceived]:
    """``count`` fresh dispatch frames with ``s`` from ``first_seq``, all at ``at`` seconds."""
    return [core.FrameReceived(at, CONN, DISPATCH.format(seq=seq)) for seq in range(first_seq, first_seq + count)]


def timed_ns(run: Callable[[], object]) -> int:
    """Thread CPU nanoseconds of one call of ``run`` (gc enabled, collected before)."""
    gc.collect()
    start = time.thread_time_ns()
    run()
    return time.thread_time_ns() - start


def measure_dispatch(repeats: int, calls: int) -> Figure:
    """Dispatch step vs ``orjson.loads`` of the same frames, carrying the state forward."""
    state = ready_state()
    seq = 2
    warm = dispatch_frames(seq, 2 * state.config.dedupe_window, 1.0)
    seq += len(warm)
    for frame in warm:  # fill the dedupe window, as a session that has run a while has
        state, _ = core.step(state, frame)
    values: list[float] = []
    base: list[float] = []
    ratio: list[float] = []
    for _ in range(repeats):
        frames = dispatch_frames(seq, calls, 2.0)
        texts = [f.text for f in frames]
        seq += calls
        holder = [state]

        def run_steps() -> None:
            s = holder[0]
            step = core.step
            for frame in frames:
                s, _ = step(s, frame)
            holder[0] = s

        def run_loads() -> None:
            loads = orjson.loads
            for text in texts:
                loads(text)

        b = timed_ns(run_loads) / calls
        v = timed_ns(run_steps) / calls
        state = holder[0]
        assert state.counters.dispatches_delivered >= seq - 3, "every timed dispatch must be delivered"
        values.append(v / 1e3)
        base.append(b / 1e3)
        ratio.append(v / b)
    fig = Figure(1, "step: dispatch frame (fresh frames, state carried forward)", "µs/step", values,
                 goal="step ≤ 6 × decode", baseline_name="orjson.loads(the same frames) µs",
                 baseline_values=base, ratio_values=ratio)
    fig.met = fig.ratio_median <= 6.0
    fig.note = ("core.step over fresh dispatch frames from a READY state with a full dedupe window, thread CPU "
                "time, gc enabled (collected before each timed loop); tick: each tick at the heartbeat deadline "
                "of the state its predecessor and an ACK left. Run alone: python -m benchmarks._reducer")
    return fig


def tick_states(calls: int) -> list[tuple[core.State, core.Tick]]:
    """``calls`` (state, Tick) pairs of one session: each tick sends a heartbeat, then an ACK arrives."""
    state = ready_state()
    pairs: list[tuple[core.State, core.Tick]] = []
    while len(pairs) < calls:
        deadline = core.next_deadline(state)
        assert deadline is not None
        tick = core.Tick(deadline)
        after, commands = core.step(state, tick)
        if any(isinstance(c, core.FetchToken) for c in commands):  # a token refresh, not a heartbeat
            after, _ = core.step(after, core.TokenIssued(deadline + 0.01, "t", 7200.0))
            state = after
            continue
        assert any(isinstance(c, core.SendFrame) for c in commands), commands
        pairs.append((state, tick))
        state, _ = core.step(after, core.FrameReceived(deadline + 0.05, CONN, ACK))
    return pairs


def measure_tick(repeats: int, calls: int) -> Figure:
    """Heartbeat tick step vs ``orjson.dumps`` of the heartbeat frame it sends."""
    pairs = tick_states(calls)
    seqs = list(range(calls))
    values: list[float] = []
    base: list[float] = []
    ratio: list[float] = []
    for _ in range(repeats):
        def run_steps() -> None:
            step = core.step
            for state, tick in pairs:
                step(state, tick)

        def run_dumps() -> None:
            dumps = orjson.dumps
            for seq in seqs:
                dumps({"op": 1, "d": seq}).decode()

        b = timed_ns(run_dumps) / calls
        v = timed_ns(run_steps) / calls
        values.append(v / 1e3)
        base.append(b / 1e3)
        ratio.append(v / b)
    fig = Figure(1, "step: heartbeat tick (a live session's beats)", "µs/step", values, goal="≤ 1.5 µs",
                 baseline_name="orjson.dumps(heartbeat frame).decode() µs", baseline_values=base,
                 ratio_values=ratio)
    fig.met = fig.median <= 1.5
    return fig


def measure(repeats: int, calls: int) -> list[Figure]:
    """Figure 1: the dispatch step and the tick step, each with its same-run baseline."""
    return [measure_dispatch(repeats, calls), measure_tick(repeats, calls)]


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    figures = measure(repeats=3 if quick else 7, calls=2_000 if quick else 50_000)
    sys.stdout.write(render(figures, "quick" if quick else "full"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
