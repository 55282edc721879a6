"""Handlers that block cannot stall a heartbeat, and one bot cannot touch another.

The judge is the chaos gateway: a wrapper on its link records when each heartbeat (op 1)
arrived on which connection, so the largest gap between heartbeats is the server's own
measurement, independent of the client; the gateway's events say whether it dropped or closed
any connection. Hello says 500 ms; the server drops a connection silent for 60 model seconds
(about 0.73 s of wall time), so a stalled heartbeat would show as a closed connection too.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import orjson
import pytest

from qqgate import core
from qqgate.io_shell import BotPool, GatewayClient

from _chaos import INTERVAL_S, bounded, shell_config, start_gateway, wait_for

try:
    from qqgate.replay.world import Ban
except ImportError:  # pragma: no cover
    Ban = None

BLOCK_S = 10.0


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    yield from bounded(90)


class HeartbeatLog:
    """Wraps a gateway's ``link.received``: (arrival time, conn) of every client op 1."""

    def __init__(self, gateway: Any) -> None:
        self.beats: list[tuple[float, int]] = []
        link = gateway.link
        original = link.received

        def received(conn: int, text: str | bytes) -> None:
            try:
                if orjson.loads(text).get("op") == 1:
                    self.beats.append((time.monotonic(), conn))
            except Exception:  # noqa: BLE001 - not ours to judge; the model refuses it
                pass
            original(conn, text)

        gateway.call(lambda: setattr(link, "received", received))

    def largest_gap(self, conn: int, start: float, end: float) -> float:
        times = [t for t, c in self.beats if c == conn and start <= t <= end]
        assert len(times) >= 2, f"fewer than two heartbeats on conn {conn} between {start} and {end}"
        return max(b - a for a, b in zip(times, times[1:]))


def cpu_loop(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


@pytest.mark.parametrize("block", [time.sleep, cpu_loop], ids=["time.sleep", "cpu-loop"])
def test_a_handler_blocking_for_10_s_does_not_delay_a_heartbeat(block: Callable[[float], None]) -> None:
    gateway = start_gateway(message_interval_s=10.0)
    beats = HeartbeatLog(gateway)
    window: list[float] = []
    handled: list[int] = []

    def on_dispatch(dispatch: core.Dispatch) -> None:
        if dispatch.event_type == "C2C_MESSAGE_CREATE" and not window:
            window.append(time.monotonic())
            block(BLOCK_S)
            window.append(time.monotonic())
        handled.append(dispatch.seq)

    client = GatewayClient(shell_config(gateway.http_base), on_dispatch=on_dispatch)
    try:
        client.start()
        wait_for(lambda: len(window) == 2, BLOCK_S + 15, "the handler to block and return")
        wait_for(lambda: len(handled) >= 5, 10, "the dispatches queued behind it")
        status = client.status()
        start, end = window
        gap = beats.largest_gap(1, start, end)
        assert gap < 2 * INTERVAL_S, f"largest heartbeat gap {gap:.3f} s during a {BLOCK_S} s block"
        assert status.conn == 1 and status.ready, "the connection was never lost"
        assert not gateway.events_of("server_heartbeat_timeout") and not gateway.events_of("ws_ended")
        assert handled == sorted(handled), "the dispatches behind the block came in order"
        print(f"{block.__name__}: largest heartbeat gap {gap * 1000:.1f} ms (interval {INTERVAL_S * 1000:.0f} ms)")
    finally:
        client.stop(timeout_s=3)
        gateway.stop()


def test_a_pool_of_50_bots_one_banned_one_blocking_the_other_48_unaffected() -> None:
    shared = start_gateway(message_interval_s=40.0, max_concurrency=100)
    alone = start_gateway(message_interval_s=40.0)  # a Ban closes every session of its gateway
    beats = HeartbeatLog(shared)
    pool = BotPool()
    handled: dict[str, list[int]] = {}
    blocked: list[float] = []
    names = [f"bot{i:02d}" for i in range(50)]

    def handler_for(name: str) -> Callable[[core.Dispatch], None]:
        seen = handled.setdefault(name, [])

        def handle(dispatch: core.Dispatch) -> None:
            if name == "bot01" and dispatch.event_type == "C2C_MESSAGE_CREATE" and not blocked:
                blocked.append(time.monotonic())
                time.sleep(6.0)  # a synchronous call that takes its time
                blocked.append(time.monotonic())
            seen.append(dispatch.seq)
        return handle

    for i, name in enumerate(names):
        gateway = alone if name == "bot00" else shared
        pool.add(shell_config(gateway.http_base, app_id=str(102_100_000 + i), secret=f"pool-secret-{i}",
                              core_fields={"seed": 500 + i}), handler_for(name), name=name)
    try:
        pool.start()
        wait_for(lambda: all(s.ready for s in pool.status().values()), 30, "all 50 READY")
        ready_at = time.monotonic()
        alone.trigger(Ban(at=0, code=4915, reason="bot banned"))
        wait_for(lambda: pool.health()["bot00"] == "failed", 10, "bot00 FAILED after the ban")
        wait_for(lambda: len(blocked) == 2, 30, "bot01's handler to block and return")
        time.sleep(1.0)
        statuses, health = pool.status(), pool.health()
        end = time.monotonic()

        assert statuses["bot00"].phase == "FAILED" and pool.stats("bot00").fatals[False] == 1
        assert "4915" in (statuses["bot00"].last_fatal or "")
        others = names[2:]
        assert all(health[n] == "ready" for n in others + ["bot01"]), health
        for n in others + ["bot01"]:
            s = statuses[n]
            assert s.conn == 1 and s.counters["identifies_sent"] == 1 and s.counters["resumes_sent"] == 0, (n, s)
            assert s.counters["zombies_detected"] == 0 and s.counters["failures"] == 0, (n, s)
        assert not shared.events_of("server_heartbeat_timeout") and not shared.events_of("ws_ended")
        # Heartbeats of every bot of the shared gateway kept their interval, the blocked bot's included.
        conns = sorted({c for _t, c in beats.beats})
        assert len(conns) == 49
        gaps = {c: beats.largest_gap(c, ready_at, end) for c in conns}
        assert max(gaps.values()) < 2 * INTERVAL_S, sorted(gaps.values())[-3:]
        # The other bots' handlers ran while bot01's was blocked.
        during = [n for n in others if pool.stats(n).handled > 0]
        assert len(during) >= 40, f"only {len(during)} of 48 bots handled a dispatch"
        print(f"pool: largest heartbeat gap over 49 connections {max(gaps.values()) * 1000:.1f} ms")
    finally:
        ended = pool.stop(timeout_s=5)
        shared.stop()
        alone.stop()
    assert all(ended.values())
