"""The hermes model across its versions, and the heartbeat task's startup race.

The real v0.13 adapter's heartbeat task sleeps 30 s or 33 s before its first beat, depending on
whether Hello was processed before the task started (measured 9 × 30 s, 5 × 33 s over 14
startups on a local gateway); across a real network Hello comes too late to win. Only the 30 s
case lets a drop 29 s after READY kill the task (the death loop); a drop at 32 s kills the 33 s
one.
"""

from __future__ import annotations

import json

import pytest

from qqgate.core import FrameReceived, GatewayResolved, SocketOpened, Start, TokenIssued
from qqgate.replay import detect
from qqgate.replay.legacy import (
    FIRST_BEAT_HELLO_FIRST_P, HELLO_RACE_WINDOW_S, LegacyConfig, LegacyModel, hello_wins_race,
)
from qqgate.replay.world import DnsOutage, LogNoted, ServerClose, ServerReconnect, Simulation, WorldSpec

HELLO = json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}})
FAST = 0.0005
"""One-way latency (seconds) of a local gateway: Hello can win the race."""


def first_beat_after_open(seed: int, hello_after_s: float) -> float:
    """Seconds from the socket opening to the heartbeat task's first wake."""
    model = LegacyModel(LegacyConfig(version="0.13", seed=seed))
    s = model.initial_state()
    for inp in (Start(0.0), TokenIssued(0.1, "t", 7200.0), GatewayResolved(0.2, "wss://x", None),
                SocketOpened(1.0, 1), FrameReceived(1.0 + hello_after_s, 1, HELLO)):
        s, _ = model.step(s, inp)
    assert s.heartbeat_wake_at_s is not None
    return round(s.heartbeat_wake_at_s - 1.0, 6)


def test_both_first_beats_occur_at_the_measured_rate_when_hello_can_win() -> None:
    beats = [first_beat_after_open(seed, hello_after_s=FAST) for seed in range(400)]
    assert set(beats) == {30.0, 33.0}
    share = beats.count(33.0) / len(beats)
    assert abs(share - FIRST_BEAT_HELLO_FIRST_P) < 0.07, share


def test_across_a_real_network_the_first_beat_is_always_30s() -> None:
    late = HELLO_RACE_WINDOW_S * 6  # the simulator's default latency is 30 ms
    assert {first_beat_after_open(seed, hello_after_s=late) for seed in range(200)} == {30.0}


def _seed(wins: bool) -> int:
    return next(s for s in range(1000) if hello_wins_race(s) == wins)


@pytest.mark.parametrize("wins, drop_at, loops", [
    (False, 29.0, True),   # 30 s: the task wakes inside the 2 s reconnect window after the drop
    (True, 29.0, False),   # 33 s: it wakes after the reconnect, running is true again
    (True, 32.0, True),    # 33 s: a drop at 32 s puts the wake inside the window
])
def test_the_death_loop_starts_from_the_drop_only_in_its_window(wins: bool, drop_at: float, loops: bool) -> None:
    world = WorldSpec(latency_s=FAST, session_cycle_s=None, faults=(ServerClose(drop_at, None),))
    model = LegacyModel(LegacyConfig(version="0.13", seed=_seed(wins)))
    run = Simulation(world, model, seed=1, horizon_s=1800.0).run()
    names = {f.name for f in detect(run, world)}
    assert ("death_loop" in names) is loops, names


def _messages(run_trace: list[object]) -> list[str]:
    return [str(e.fields["message"]) for e in run_trace if isinstance(e, LogNoted) and e.event == "hermes"]


def test_the_fixed_adapter_resumes_after_4009_and_handles_op7() -> None:
    world = WorldSpec(faults=(ServerReconnect(600.0),))
    fixed = Simulation(world, LegacyModel(LegacyConfig(version="fixed")), seed=1, horizon_s=7200.0).run()
    old = Simulation(world, LegacyModel(LegacyConfig(version="0.14")), seed=1, horizon_s=7200.0).run()
    assert "Server requested reconnect (op 7)" in _messages(fixed.trace)
    assert fixed.identifies == 1 and fixed.resumes_accepted >= 3
    assert old.identifies >= 4  # before the fixes every 4009 re-identifies
    assert "reidentify_on_4009" in {f.name for f in detect(old, world)}
    assert "reidentify_on_4009" not in {f.name for f in detect(fixed, world)}


def test_the_fixed_adapter_does_not_spin_on_a_failed_reconnect() -> None:
    world = WorldSpec(faults=(ServerClose(900.0, 4009, "Session timed out"), DnsOutage(901.0, 1800.0)))
    for version, spins in (("0.14", True), ("fixed", False)):
        run = Simulation(world, LegacyModel(LegacyConfig(version=version)), seed=1, horizon_s=7200.0).run()
        names = {f.name for f in detect(run, world)}
        assert ("spin" in names) is spins, (version, names)
        if not spins:
            assert "silent_stop" not in names and run.resumes_accepted >= 1  # back after the outage


def test_the_fixed_adapter_stops_on_a_fatal_configuration_close() -> None:
    world = WorldSpec(faults=(ServerClose(600.0, 4014, "disallowed intents"),))
    run = Simulation(world, LegacyModel(LegacyConfig(version="fixed")), seed=1, horizon_s=3600.0).run()
    assert "Bot is intent not authorized. Check QQ Open Platform." in _messages(run.trace)
    old = Simulation(world, LegacyModel(LegacyConfig(version="0.13")), seed=1, horizon_s=3600.0).run()
    assert sum(1 for m in _messages(old.trace) if m.startswith("WebSocket connected")) >= 2


def test_0_12_behaves_like_0_13() -> None:
    world = WorldSpec(faults=(ServerClose(29.0, None),))
    runs = [Simulation(world, LegacyModel(LegacyConfig(version=v)), seed=1, horizon_s=3600.0).run()
            for v in ("0.12", "0.13")]
    assert _messages(runs[0].trace) == _messages(runs[1].trace)
