"""The botpy 1.2.1 model (replay.legacy.BotpyModel), and its calibration against the real botpy.

The unit tests drive the reducer through the simulator. The calibration runs real, unmodified
botpy 1.2.1 (tests/peers/botpy_echo.py) against the chaos gateway and the model against the
simulator, in the same world (the same close, the same time after READY), and holds the model's
timings to the real client's: within 10 %, or 0.25 s for intervals that are near zero (10 % of
nothing is nothing; a loaded machine's scheduling is not).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from qqgate.core import FrameReceived, GatewayResolved, SendFrame, SocketClosed, SocketOpened, Start, Tick, TokenIssued
from qqgate.core.journal import journal_header, journal_lines, read_journal
from qqgate.replay import detect
from qqgate.replay._journal_replay import replay_journal
from qqgate.replay.legacy import BotpyModel
from qqgate.replay.world import (
    Ban, DnsOutage, HalfOpen, HeartbeatSent, IdentifySent, InvalidateSessions, LogNoted, ResumeSent,
    ServerClose, ServerClosed, SessionEstablished, Simulation, SocketOpening, WorldSpec, decode_client_frame,
)

PEER = Path(__file__).resolve().parent / "peers" / "botpy_echo.py"
CALM = dict(session_cycle_s=None, message_interval_s=None, heartbeat_timeout_s=120.0)


def run(world: WorldSpec, hours: float = 1.0, seed: int = 1):  # type: ignore[no-untyped-def]
    return Simulation(world, BotpyModel(), seed=seed, horizon_s=hours * 3600.0).run()


def times(trace: list[object], kind: type) -> list[float]:
    return [e.at for e in trace if isinstance(e, kind)]  # type: ignore[attr-defined]


def test_heartbeats_every_30s_from_ready_whatever_hello_says() -> None:
    r = run(WorldSpec(heartbeat_interval_ms=10_000, **CALM), hours=0.05)
    ready = times(r.trace, SessionEstablished)[0]
    beats = times(r.trace, HeartbeatSent)
    assert beats[0] - ready < 0.1
    assert [round(b - a, 3) for a, b in zip(beats, beats[1:])] == [30.0] * (len(beats) - 1)


def test_a_close_is_followed_by_a_resume_5s_later_for_every_code_but_after_op9() -> None:
    for code in (4009, 4006, 4914, None):
        r = run(WorldSpec(faults=(ServerClose(100.0, code, "x"),), **CALM), hours=0.05)
        (closed,) = [e.at for e in r.trace if isinstance(e, ServerClosed)][:1]
        reopen = next(t for t in times(r.trace, SocketOpening) if t > closed)
        assert 5.0 <= reopen - closed < 5.1, code
        assert times(r.trace, ResumeSent), code  # the session is kept, whatever the code
    r = run(WorldSpec(faults=(InvalidateSessions(100.0),), **CALM), hours=0.05)
    assert len(times(r.trace, IdentifySent)) == 2  # op 9, then the close: a new Identify


def test_the_gateway_url_is_fetched_once_and_failed_connects_retry_every_5s() -> None:
    r = run(WorldSpec(faults=(ServerClose(100.0, 4009, "x"), DnsOutage(101.0, 60.0)), **CALM), hours=0.1)
    opens = times(r.trace, SocketOpening)
    during = [t for t in opens if 100.0 < t < 161.0]
    assert len(during) >= 10 and all(4.9 < b - a < 5.2 for a, b in zip(during, during[1:]))
    assert r.resumes_accepted >= 1  # back after the outage, with the same session


def test_the_models_failures_are_the_ones_protocol_md_lists() -> None:
    banned = WorldSpec(faults=(Ban(100.0, 4915),), **CALM)
    assert {"fatal_ignored", "reconnect_storm"} <= {f.name for f in detect(run(banned, 0.5), banned)}
    half = WorldSpec(faults=(HalfOpen(100.0),), **CALM)
    assert "dead_link_unnoticed" in {f.name for f in detect(run(half, 0.5), half)}


def test_its_log_is_botpys_and_is_read_back_as_botpy() -> None:
    from qqgate.replay._report import log_lines
    from qqgate.replay.logs import read_log
    r = run(WorldSpec(faults=(ServerClose(100.0, 4009, "Session timed out"),), **CALM), hours=0.05)
    lines = log_lines(r)
    assert "\t[INFO]\t(gateway.py:56)on_closed\t[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out" in \
        "\n".join(lines)
    reading = read_log(lines)
    assert reading.client == "botpy" and reading.incident == "no_incident"
    assert reading.version is not None and reading.version.candidates == ("1.2",)


def test_a_botpy_journal_replays_identically() -> None:
    r = run(WorldSpec(faults=(ServerClose(100.0, 4009, "x"),)), hours=0.2)
    data = b"".join(journal_lines(journal_header(BotpyModel().describe(), seed=1), r.journal))
    result = replay_journal(read_journal(data))
    assert result.divergence is None and result.steps == len(r.journal) and result.client == "botpy"


def test_step_by_step_inputs_for_another_connection_are_ignored() -> None:
    model = BotpyModel()
    s = model.initial_state()
    for inp in (Start(0.0), TokenIssued(0.1, "t", 7200.0), GatewayResolved(0.2, "wss://x", None), SocketOpened(0.3, 1)):
        s, _ = model.step(s, inp)
    s2, cmds = model.step(s, SocketClosed(0.4, 7, 4009, "x"))
    assert cmds == () and s2.conn_open
    s3, cmds = model.step(s, FrameReceived(0.5, 1, json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}})))
    assert [c for c in cmds if isinstance(c, SendFrame)][0].text.startswith('{"op":2')
    assert model.step(s3, Tick(0.6))[1] == ()  # no heartbeat before READY


# -- the calibration against the real botpy ---------------------------------------------------------

needs_botpy = pytest.mark.skipif(importlib.util.find_spec("botpy") is None,
                                 reason="botpy (PyPI qq-botpy==1.2.1) is not installed")


@pytest.fixture
def botpy_process(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    procs: list[subprocess.Popen[str]] = []

    def start(http_base: str) -> None:
        procs.append(subprocess.Popen([sys.executable, str(PEER), http_base], cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    yield start
    for proc in procs:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        print(out[-3000:])


def _intervals(ready: float, beats: list[tuple[float, int]], close: float, resume: float,
               ready2: float) -> dict[str, float]:
    """The client-driven intervals (seconds) of one run: READY → first beat, beat → beat, close →
    Resume, RESUMED → the first beat on the new connection."""
    first_conn = beats[0][1]
    old = [t for t, c in beats if c == first_conn]
    new = [t for t, c in beats if c != first_conn and t >= ready2]
    return {"ready → first heartbeat": old[0] - ready, "heartbeat → heartbeat": old[1] - old[0],
            "close → resume": resume - close, "resumed → first heartbeat": new[0] - ready2}


@needs_botpy
def test_the_model_keeps_real_botpys_time(botpy_process: Callable[[str], None]) -> None:
    from qqgate.replay.world.gateway import ChaosGateway
    world = WorldSpec(**CALM)
    gw = ChaosGateway(world, time_scale=1.0).start_in_thread()
    beats: list[tuple[float, int]] = []
    link = gw.link
    received = link.received

    def watch(conn: int, text: str) -> None:  # heartbeats are not in the gateway's trace: note them here
        if decode_client_frame(text).op == 1:
            beats.append((link.now, conn))
        received(conn, text)

    link.received = watch  # type: ignore[method-assign]
    try:
        botpy_process(gw.http_base)
        assert gw.wait_for(lambda: len(beats) >= 2, 60.0), [e[1:] for e in gw.events]
        ready = gw.events_of("server_established")[0].event.at
        gw.trigger(ServerClose(0.0, 4009, "Session timed out"))
        assert gw.wait_for(lambda: len(gw.events_of("server_established")) >= 2
                           and any(c != beats[0][1] for _, c in beats), 20.0), [e[1:] for e in gw.events]
        close = gw.events_of("server_closed")[0].event.at
        resume = gw.events_of("resume")[0].event.at
        ready2 = gw.events_of("server_established")[1].event.at
        real = _intervals(ready, beats, close, resume, ready2)
    finally:
        gw.stop()
    # the same world in the simulator: the same close, as long after READY
    probe = Simulation(world, BotpyModel(), seed=1, horizon_s=10.0).run()
    sim_ready = times(probe.trace, SessionEstablished)[0]
    sim_world = WorldSpec(faults=(ServerClose(round(sim_ready + (close - ready), 3), 4009, "Session timed out"),),
                          **CALM)
    r = Simulation(sim_world, BotpyModel(), seed=1, horizon_s=sim_ready + (close - ready) + 20.0).run()
    est = times(r.trace, SessionEstablished)
    sim_beats = [(e.at, e.conn) for e in r.trace if isinstance(e, HeartbeatSent)]
    model = _intervals(est[0], sim_beats, times(r.trace, ServerClosed)[0], times(r.trace, ResumeSent)[0], est[1])
    report = "\n".join(f"{k:<28} real {real[k]:7.3f} s   model {model[k]:7.3f} s" for k in model)
    print(report)
    for key, expected in model.items():
        assert abs(real[key] - expected) <= max(0.10 * expected, 0.25), report
    assert [m for m in (e for e in r.trace if isinstance(e, LogNoted))]  # the model logged botpy's lines
