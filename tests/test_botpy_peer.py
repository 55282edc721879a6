"""botpy 1.2.1 (the official SDK, PyPI ``qq-botpy``) against the chaos gateway.

botpy runs unmodified in a subprocess (it is asyncio + aiohttp) with only its hosts pointed
at 127.0.0.1 (tests/peers/botpy_echo.py); the gateway runs in this process, in its own gevent
hub thread. Skipped when botpy is not installed.

botpy keeps real-time constants of its own that no time scale reaches: a heartbeat every 30 s
whatever Hello says, and 5 s between a close and the next connect. With the time scale at 600
(op 7 + 4009 every ~3 s), the server's 60 s heartbeat timeout (0.1 s) and 600 s resume window
(1 s) would end botpy's sessions long before those constants let it act, so the first test
lifts both to what botpy sees in production, in wall time; the second shows what happens to
botpy when they are not lifted.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from qqgate.replay.world import WorldSpec
from qqgate.replay.world.gateway import ChaosGateway

if importlib.util.find_spec("botpy") is None:  # not imported here: botpy configures logging on import
    pytest.skip("botpy (PyPI qq-botpy==1.2.1) is not installed", allow_module_level=True)

PEER = Path(__file__).resolve().parent / "peers" / "botpy_echo.py"
SCALE = 600.0
OPENID = "E4F4AEA33253A2797FB897C50B81D7ED"


@pytest.fixture
def run_botpy(tmp_path: Path) -> Iterator[Callable[[ChaosGateway], None]]:
    """Start the botpy echo bot against a gateway; after the test, kill it and stop the gateway."""
    started: list[tuple[ChaosGateway, subprocess.Popen[str]]] = []

    def run(gw: ChaosGateway) -> None:
        proc = subprocess.Popen([sys.executable, str(PEER), gw.http_base], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append((gw, proc))

    yield run
    for gw, proc in started:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        print(out[-4000:])  # shown by pytest when the test failed
        gw.stop()


def test_botpy_identifies_answers_and_resumes_after_op7_4009(run_botpy: Callable[[ChaosGateway], None]) -> None:
    world = WorldSpec(heartbeat_timeout_s=120 * SCALE, server_resume_window_s=60 * SCALE,
                      message_interval_s=1.0 * SCALE)  # a message every ~1 s of wall time
    gw = ChaosGateway(world, time_scale=SCALE).start_in_thread()
    run_botpy(gw)

    def resumed_conns() -> list[int]:
        closed_4009 = {e.fields["conn"] for e in gw.events_of("server_closed", code=4009)}
        return [e.fields["conn"] for e in gw.events_of("resume")
                if closed_4009 and e.fields["conn"] > min(closed_4009)]

    def answered_after_resume() -> bool:
        conns = resumed_conns()
        established = [e.fields["model_at"] for e in gw.events_of("server_established")
                       if e.fields["conn"] in conns]
        if not established:
            return False
        pushed_after = {msg_id for at, msg_id in gw.pushed if at >= min(established)}
        return any(m.msg_id in pushed_after for m in gw.sent_messages)

    assert gw.wait_for(answered_after_resume, 40.0), [e[1:] for e in gw.events]

    assert gw.token_requests >= 1
    assert gw.link.server.identifies == 1 and len(gw.events_of("identify")) == 1
    assert gw.events_of("identify")[0].fields["intents"] == 1 << 25
    pushed = {msg_id for _, msg_id in gw.pushed}
    replies = [m for m in gw.sent_messages if m.kind == "c2c"]
    assert replies and all(m.target == OPENID and m.msg_id in pushed for m in replies)
    assert all(m.content == "echo: hello" for m in replies)
    # op 7, then 4009, then botpy resumes the same session on a new connection
    cycle = gw.events_of("server_session_cycle")[0]
    close = gw.events_of("server_closed", code=4009)[0]
    resume = gw.events_of("resume", conn=resumed_conns()[0])[0]
    assert cycle.at <= close.at < resume.at
    assert resume.fields["session_id"] == "sess-0001" and resume.fields["seq"] >= 1
    assert gw.link.server.resumes_accepted >= 1


def test_botpy_ignores_the_hello_interval_and_is_dropped(run_botpy: Callable[[ChaosGateway], None]) -> None:
    """protocol.md: botpy heartbeats every 30 s whatever Hello says. Here Hello asks for 688 ms
    and the server drops a connection silent for 1 s: botpy's second heartbeat never comes."""
    world = WorldSpec(message_interval_s=None, session_cycle_s=None)
    gw = ChaosGateway(world, time_scale=60.0).start_in_thread()
    run_botpy(gw)
    assert gw.wait_for(lambda: bool(gw.events_of("server_heartbeat_timeout")), 20.0), [e[1:] for e in gw.events]
    (established,) = gw.events_of("server_established")
    (timeout,) = gw.events_of("server_heartbeat_timeout")
    assert 0.8 < timeout.at - established.at < 2.0
