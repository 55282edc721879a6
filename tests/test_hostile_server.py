"""A hostile gateway against the runtime: nothing freezes the heartbeat, and the client recovers.

The server (tests/peers/hostile_gateway.py) runs in a process of its own on 127.0.0.1, so its
floods cost this process nothing, and it is the judge: it prints when each heartbeat arrived
(CLOCK_MONOTONIC is system-wide, so its times compare with the client's journal). Hello says
1000 ms. In each case the first connection is attacked once two heartbeats went through, and:

- the largest gap between two heartbeats the server received on one connection, and from the
  last heartbeat on the attacked connection to its end, stays below Hello's interval + 1 s;
- the client recovers: it closed the connection itself with the right code (1009 for a
  message too big or never ending, 1002 for broken frames) and resumed the session on a new
  one, or it stayed READY through the flood with every dispatch delivered in order;
- what it costs stays bounded: CPU seconds of this process per second of the case, and RSS.

Floors are generous (a loaded 2-core machine): the properties are "within an interval", not
milliseconds. Every peer process is bounded by its own lifetime and killed at the end.
"""

from __future__ import annotations

import json
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson
import pytest

from qqgate import core
from qqgate.io_shell import GatewayClient, ShellConfig

PEER = Path(__file__).resolve().parent / "peers" / "hostile_gateway.py"
HELLO_S = 1.0
SECRET = "hostile-secret-PLUGH"
MAX_GAP_S = HELLO_S + 1.0


class ListRecorder:
    def __init__(self) -> None:
        self.steps: list[tuple[core.Input, tuple[core.Command, ...]]] = []

    def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None:
        self.steps.append((inp, commands))

    def close(self) -> None:
        pass


class Peer:
    """The hostile gateway process and the events it printed."""

    def __init__(self, case: str, lifetime_s: float, attack_s: float = 5.0) -> None:
        self.proc = subprocess.Popen([sys.executable, str(PEER), case, str(int(HELLO_S * 1000)), str(lifetime_s),
                                      str(attack_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._lines.get(timeout=15)
        assert first["ev"] == "listening", first
        self.http_base = f"http://127.0.0.1:{first['http']}"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            self.events.append(event)
            self._lines.put(event)

    def of(self, ev: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["ev"] == ev and all(e.get(k) == v for k, v in match.items())]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def wait_for(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def max_heartbeat_gap(peer: Peer) -> float:
    """The largest gap between heartbeats received on one connection, and on the attacked
    connection from its last heartbeat to its end (the server saw the close or the EOF)."""
    gaps: list[float] = []
    for conn in sorted({e["conn"] for e in peer.of("hb")}):
        times = [e["t"] for e in peer.of("hb", conn=conn)]
        gaps += [b - a for a, b in zip(times, times[1:])]
        ends = [e["t"] for e in peer.events if e["ev"] in ("client_close", "client_eof", "client_gone")
                and e["conn"] == conn]
        if ends and times:
            gaps.append(min(ends) - times[-1])
    return max(gaps)


def client_config(peer: Peer, recorder: ListRecorder | None) -> ShellConfig:
    return ShellConfig(app_id="102000009", client_secret=SECRET, api_base=peer.http_base,
                       token_url=peer.http_base + "/app/getAppAccessToken", request_timeout_s=2.0,
                       close_timeout_s=0.5, journal=recorder,
                       core=core.Config(seed=3, open_floor_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.2,
                                        connect_timeout_s=2.0, hello_timeout_s=2.0, ready_timeout_s=2.0))


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    def expired(_sig: int, _frame: Any) -> None:
        raise AssertionError("test exceeded 60 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


FIGURES: list[str] = []


def report(case: str, peer: Peer, cpu: float, wall: float, rss_growth: float, extra: str = "") -> None:
    line = (f"[hostile] {case:15s} largest heartbeat gap {max_heartbeat_gap(peer):.3f} s (Hello {HELLO_S:g} s); "
            f"CPU {cpu:.2f} s in {wall:.1f} s ({cpu / wall * 100:.0f} % of a core); RSS +{rss_growth:.1f} MiB{extra}")
    FIGURES.append(line)
    print("\n" + line)


# -- the cases where the client must close the connection and resume ---------------------------
@pytest.mark.parametrize("case,code,why", [
    ("fragments", 1009, "closed by the client with 1009: message over 4194304 bytes"),
    ("huge-frame", 1009, "(100000000 announced)"),
    ("binary-garbage", 1002, "closed by the client with 1002"),
    ("close-reason", 1002, "control frame"),
])
def test_the_client_closes_a_hostile_connection_itself_and_resumes(case: str, code: int, why: str) -> None:
    peer = Peer(case, lifetime_s=30)
    recorder = ListRecorder()
    client = GatewayClient(client_config(peer, recorder), on_dispatch=lambda d: None)
    try:
        rss0, cpu0, t0 = rss_mib(), cpu_s(), time.monotonic()
        client.start()
        wait_for(lambda: bool(peer.of("attack")), 10, "the attack")
        wait_for(lambda: client.is_ready() and (client.status().conn or 0) >= 2, 10, "READY on a new connection")
        resumed = client.status()
        wait_for(lambda: len(peer.of("hb", conn=resumed.conn)) >= 2, 5, "two heartbeats on the new connection")
        cpu, wall, rss_growth = cpu_s() - cpu0, time.monotonic() - t0, rss_mib() - rss0
        assert client.stop(timeout_s=3) is True
    finally:
        peer.stop()
    closes = peer.of("client_close", conn=1)
    assert closes and closes[0]["code"] == code, peer.events[-5:]
    closed = [i for i, _ in recorder.steps if isinstance(i, core.SocketClosed) and i.conn == 1]
    assert closed and closed[0].code is None and why in closed[0].reason, closed
    assert resumed.counters["resumes_sent"] >= 1 and peer.of("resume")  # the session went on
    if case == "binary-garbage":  # whole binary frames are rejected by the core, counted, survived first
        assert resumed.counters["frames_rejected"] >= 1
    assert max_heartbeat_gap(peer) < MAX_GAP_S
    assert cpu / wall < 0.8, f"{cpu:.2f} s CPU in {wall:.1f} s"
    assert rss_growth < 64, f"RSS grew by {rss_growth:.0f} MiB"
    report(case, peer, cpu, wall, rss_growth)


# -- floods: the client stays READY, heartbeats go out on time, stop comes on time ----------------
def test_a_dispatch_flood_is_delivered_in_order_with_heartbeats_on_time() -> None:
    peer = Peer("dispatch-flood", lifetime_s=45)
    seqs: list[int] = []
    # No recorder here: a list of 100,000 steps would be this test's memory, not the client's.
    client = GatewayClient(client_config(peer, None), on_dispatch=lambda d: seqs.append(d.seq))
    try:
        rss0, cpu0, t0 = rss_mib(), cpu_s(), time.monotonic()
        client.start()
        wait_for(lambda: bool(peer.of("attack")), 10, "the flood")
        flood_at = peer.of("attack")[0]["t"]
        n = 100_000
        wait_for(lambda: (client.status().settled_seq or 0) >= n + 1, 40, "every dispatch settled")
        done_at = time.monotonic()
        wait_for(lambda: len(peer.of("hb", conn=1)) >= 4, 5, "heartbeats after the flood")
        cpu, wall, rss_growth = cpu_s() - cpu0, time.monotonic() - t0, rss_mib() - rss0
        status = client.status()
        assert client.stop(timeout_s=3) is True
    finally:
        peer.stop()
    assert seqs == list(range(1, n + 2))  # READY and 100,000 dispatches, in order, once each
    assert status.conn == 1 and status.counters["sockets_opened"] == 1 and status.counters["zombies_detected"] == 0
    during = [e["t"] for e in peer.of("hb", conn=1) if flood_at <= e["t"] <= done_at]
    assert max_heartbeat_gap(peer) < MAX_GAP_S
    assert rss_growth < 128, f"RSS grew by {rss_growth:.0f} MiB"
    report("dispatch-flood", peer, cpu, wall, rss_growth,
           f"; {n} dispatches in {done_at - flood_at:.2f} s ({n / (done_at - flood_at):,.0f}/s), "
           f"{len(during)} heartbeats during it")


def test_a_ping_flood_neither_delays_heartbeats_nor_stop() -> None:
    peer = Peer("ping-flood", lifetime_s=30, attack_s=8.0)
    recorder = ListRecorder()
    client = GatewayClient(client_config(peer, recorder), on_dispatch=lambda d: None)
    try:
        rss0, cpu0, t0 = rss_mib(), cpu_s(), time.monotonic()
        client.start()
        wait_for(lambda: bool(peer.of("attack")), 10, "the flood")
        time.sleep(4.0)
        assert client.is_ready() and client.status().conn == 1
        asked = time.monotonic()
        assert client.stop(timeout_s=5) is True  # in the middle of the flood
        took = time.monotonic() - asked
        cpu, wall, rss_growth = cpu_s() - cpu0, time.monotonic() - t0, rss_mib() - rss0
    finally:
        peer.stop()
    assert took < client.config.close_timeout_s + 1.5, f"stop took {took:.2f} s"
    assert len(peer.of("hb", conn=1)) >= 5
    assert max_heartbeat_gap(peer) < MAX_GAP_S
    assert rss_growth < 64, f"RSS grew by {rss_growth:.0f} MiB"
    report("ping-flood", peer, cpu, wall, rss_growth, f"; stop() took {took:.2f} s mid-flood")


# -- host code that blocks: the heartbeat does not care ------------------------------------------
def test_handlers_blocking_10_s_sleeping_or_spinning_do_not_delay_heartbeats() -> None:
    peer = Peer("calm", lifetime_s=40)
    handled: dict[str, list[int]] = {"sleep": [], "spin": []}

    def blocking(kind: str) -> Callable[[core.Dispatch], None]:
        def handler(dispatch: core.Dispatch) -> None:
            handled[kind].append(dispatch.seq)
            if len(handled[kind]) == 3:
                if kind == "sleep":
                    time.sleep(10)  # an unpatched blocking call
                else:
                    end = time.monotonic() + 10
                    while time.monotonic() < end:  # CPU-bound, holding the GIL but for switches
                        sum(range(1000))
        return handler

    recorders = {kind: ListRecorder() for kind in handled}
    clients = {kind: GatewayClient(client_config(peer, recorders[kind]), on_dispatch=blocking(kind))
               for kind in handled}
    try:
        for client in clients.values():
            client.start()
        wait_for(lambda: all(len(v) >= 3 for v in handled.values()), 10, "both handlers blocking")
        blocked_at = time.monotonic()
        time.sleep(5.0)
        statuses = {kind: client.status() for kind, client in clients.items()}  # mid-block
        time.sleep(5.5)
        wait_for(lambda: all(len(v) >= 10 for v in handled.values()), 10, "handlers running again")
        for client in clients.values():
            assert client.stop(timeout_s=3) is True
    finally:
        peer.stop()
    for kind, status in statuses.items():
        assert status.ready and status.conn == 1 and status.counters["zombies_detected"] == 0, (kind, status)
        assert status.settled_seq is not None and status.last_seq is not None
        assert status.settled_seq < status.last_seq  # the held dispatch is not settled while it runs
    # Heartbeats of both clients, as the server received them (two connections), through the 10 s.
    beats = {conn: [e["t"] for e in peer.of("hb", conn=conn)] for conn in (1, 2)}
    for conn, times in beats.items():
        during = [t for t in times if blocked_at <= t <= blocked_at + 9.9]
        assert len(during) >= 8, (conn, during)
    gap = max_heartbeat_gap(peer)
    assert gap < HELLO_S + 0.25, f"largest gap {gap:.3f} s"
    # And from the clients' own journals: every heartbeat sent within 100 ms of its due time.
    lateness: list[float] = []
    for recorder in recorders.values():
        sent = [i.at for i, cmds in recorder.steps
                if any(isinstance(c, core.SendFrame) and c.text.startswith('{"op":1') for c in cmds)]
        lateness += [b - a - HELLO_S for a, b in zip(sent, sent[1:])]
    assert max(lateness) < 0.1, max(lateness)
    line = (f"[hostile] blocking handlers (time.sleep 10 s, CPU loop 10 s): largest heartbeat gap {gap:.3f} s "
            f"(Hello {HELLO_S:g} s), heartbeats at most {max(lateness) * 1000:.0f} ms late")
    FIGURES.append(line)
    print("\n" + line)
