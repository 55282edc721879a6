"""qqgate on real loopback sockets against the chaos gateway, in every named scenario.

Each scenario's world is played by the chaos gateway at time scale ``SCALE`` (so Hello
says 41250 ms / SCALE) and the core's own durations are scaled by the same factor. Long
outages are clamped to ``MAX_OUTAGE_S`` model seconds so the module stays under a minute.
For each scenario the client must recover (READY at the end) or stop with the right fatal,
deliver every pushed message exactly once, and its journal must replay to identical
commands. Loopback only; every run is bounded in time (the client and the gateway each run in
a thread of their own; this test's thread only waits).
"""

from __future__ import annotations

import dataclasses
import time

import orjson
import pytest

from qqgate import core
from qqgate.io_shell import GatewayClient, ShellConfig
from qqgate.replay import SCENARIOS
from qqgate.replay.world import TIMED_FAULTS, Fault, WorldSpec, schedule_end_s
from qqgate.replay.world.gateway import ChaosGateway

SCALE = 600.0
MAX_OUTAGE_S = 900.0
TAIL_S = 600.0
FATAL_CODES = {"banned": 4915, "lost-close-code": 4914}


def scaled_core_config(scale: float) -> core.Config:
    """Every duration of core.Config divided by ``scale``, like the gateway's world."""
    base = core.Config(seed=11)
    names = ("backoff_base_s", "backoff_cap_s", "open_floor_s", "ratelimit_cooldown_s", "request_timeout_s",
             "connect_timeout_s", "hello_timeout_s", "ready_timeout_s", "session_max_age_s", "resume_window_s",
             "identify_window_s", "token_refresh_margin_s", "token_retry_s")
    return dataclasses.replace(base, **{n: getattr(base, n) / scale for n in names})


def test_world(name: str) -> tuple[WorldSpec, float]:
    """The scenario's world with long outages clamped, and a horizon in model seconds."""
    world = SCENARIOS[name].world
    faults: list[Fault] = []
    for fault in world.faults:
        if isinstance(fault, TIMED_FAULTS) and fault.duration_s is not None and fault.duration_s > MAX_OUTAGE_S:
            fault = dataclasses.replace(fault, duration_s=MAX_OUTAGE_S)
        faults.append(fault)
    horizon = schedule_end_s(faults) + TAIL_S if faults else 3700.0
    return dataclasses.replace(world, faults=tuple(faults), latency_s=0.0), horizon


test_world.__test__ = False  # type: ignore[attr-defined]


class ListRecorder:
    def __init__(self) -> None:
        self.steps: list[tuple[core.Input, tuple[core.Command, ...]]] = []

    def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        self.steps.append((inp, commands))

    def close(self) -> None:
        pass


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_client_survives_scenario_on_real_sockets(name: str) -> None:
    world, horizon = test_world(name)
    gateway = ChaosGateway(world, time_scale=SCALE).start_in_thread()
    recorder = ListRecorder()
    delivered: list[str] = []
    fatals: list[core.Fatal] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        if dispatch.event_type == "C2C_MESSAGE_CREATE":
            delivered.append(dispatch.data["id"])

    config = ShellConfig(app_id="102000001", client_secret="live-secret-QWERTY", api_base=gateway.http_base,
                         token_url=gateway.http_base + "/app/getAppAccessToken", request_timeout_s=2.0,
                         close_timeout_s=0.3, core=scaled_core_config(SCALE), journal=recorder)
    client = GatewayClient(config, on_dispatch=on_dispatch, on_fatal=fatals.append)
    try:
        client.start()
        time.sleep(horizon / SCALE)
        status = client.status()
        pushed = list(gateway.pushed)
        time.sleep(0.3)  # let the last pushed messages arrive
    finally:
        client.stop(timeout_s=3)
        gateway.stop()

    if name in FATAL_CODES:
        assert status.phase == "FAILED", status
        final = [f for f in fatals if not f.retryable]
        assert len(final) == 1 and final[0].close_code == FATAL_CODES[name]
    else:
        assert status.phase == "READY", f"{name}: not recovered: {status.phase} {status.detail}"
        assert not [f for f in fatals if not f.retryable]
    assert len(delivered) == len(set(delivered)), f"{name}: a message was delivered twice"
    missing = [msg_id for _, msg_id in pushed if msg_id not in set(delivered)]
    assert missing == [], f"{name}: {len(missing)} of {len(pushed)} pushed messages never delivered"

    # The live journal replays through the current core to identical commands.
    state = core.initial_state(config.core)
    for inp, recorded in recorder.steps:
        state, replayed = core.step(state, inp)
        assert replayed == recorded

    # Half-open: the dead link is noticed (zombie) and the session resumed.
    if name == "half-open":
        zombies = [inp.at for inp, cmds in recorder.steps
                   if any(isinstance(c, core.CloseSocket) and "zombie" in c.reason for c in cmds)]
        assert zombies, "the half-open link was never detected"
    # Session cycle: RESUME goes out promptly after op 7 + 4009 (0.1 s plus the scaled floor).
    if name == "session-cycle":
        latencies = _resume_latencies(recorder.steps)
        assert latencies, "no op 7 cycle was resumed"
        assert max(latencies) <= 0.1 + config.core.open_floor_s, latencies


def _resume_latencies(steps: list[tuple[core.Input, tuple[core.Command, ...]]]) -> list[float]:
    """Seconds from each op 7 frame to the next Resume frame sent."""
    out, reconnect_at = [], None
    for inp, cmds in steps:
        if isinstance(inp, core.FrameReceived) and isinstance(inp.text, str) and inp.text.startswith('{"op":7'):
            reconnect_at = inp.at
        for c in cmds:
            if reconnect_at is not None and isinstance(c, core.SendFrame) and orjson.loads(c.text)["op"] == 6:
                out.append(inp.at - reconnect_at)
                reconnect_at = None
    return out


def test_scaled_config_scales_every_duration() -> None:
    cfg = scaled_core_config(100.0)
    assert cfg.backoff_cap_s == pytest.approx(0.6) and cfg.ratelimit_cooldown_s == pytest.approx(0.6)
    assert cfg.seed == 11 and cfg.resume_failures_before_identify == core.Config().resume_failures_before_identify
