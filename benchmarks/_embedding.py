"""Figures 13 and 14: bots embedded in one process, and heartbeats under a blocking handler.

Figure 13, pooled bots: N bots (100 in quick mode, 1,000 in full mode) in one process each way:

- qqgate: ``benchmarks/peers/qqgate_pool.py``, a ``BotPool`` in a plain process (no
  monkey-patching): one runtime hub thread for every bot, handlers on host threads, the
  default ``core.Config`` but for the seed, no journal;
- botpy 1.2.1: ``benchmarks/peers/botpy_sessions.py`` (figure 8's), N ``botpy.Client`` as
  tasks of one asyncio loop.

Like with like: each process talks to a chaos gateway of its own (``peers/chaos_recorder.py``
in a subprocess, so the gateway's CPU is counted nowhere) whose Hello says 30,000 ms, botpy's
fixed heartbeat period, so both send one heartbeat per bot per 30 s; no message traffic, no op 7
cycle, the session-start limits lifted (1,000 identifies per second). Both start their bots at
``STARTS_PER_S`` at the same time. Over windows of 30 s (one in quick mode, two in full mode),
2 s after every bot is READY: RSS per bot = (VmRSS at the window's end - VmRSS after every
import, before the first bot) / bots READY; CPU per bot = process CPU seconds (getrusage, user
+ system) over the window / wall seconds / bots READY, in µs of CPU per bot per second.

Figure 14, heartbeat gap under a blocking handler: one bot each way against a gateway of its own
(Hello 30,000 ms, a C2C message every ~5 s), whose handler blocks for ``BLOCK_S`` seconds on
every message (``time.sleep``: a synchronous call; and, in full mode, a CPU-bound loop). The
gateway records when each heartbeat arrives (``chaos_recorder.py --beats``); the figure is the
gap between consecutive heartbeats on one connection, over ``RUN_S`` seconds: qqgate's should
stay at 30 s, botpy's grows by up to the block (its heartbeat task shares the handler's loop).
``gap_runs`` is the same measurement for benchmarks/faults.py's section.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._stats import Figure
from .peers._proc import PEERS, PYTHON, Child, raise_nofile, stop_all

HAVE_BOTPY = importlib.util.find_spec("botpy") is not None
HELLO_MS = 30_000
"""Hello's heartbeat interval: botpy's fixed 30 s (gateway.py ``_send_heart(interval=30)``)."""
WINDOW_S = 30.0
STARTS_PER_S = 100.0
SETTLE_S = 2.0
READY_TIMEOUT_S = 160.0
BLOCK_S = 10.0
POOL_WORLD = {"heartbeat_interval_ms": HELLO_MS, "message_interval_s": None, "session_cycle_s": None,
              "latency_s": 0.0, "max_concurrency": 1000, "identify_window_s": 1.0,
              "session_start_limit_total": 1_000_000}
GAP_WORLD = {"heartbeat_interval_ms": HELLO_MS, "message_interval_s": 5.0, "session_cycle_s": None,
             "latency_s": 0.0}


def _gateway(tmp: Path, name: str, world: dict[str, Any], beats: bool = False) -> tuple[Child, str]:
    argv = [PYTHON, str(PEERS / "chaos_recorder.py"), json.dumps(world)] + (["--beats"] if beats else [])
    gateway = Child(argv, tmp, name)
    raise_nofile(gateway.pid)
    line = gateway.wait_line(lambda text: '"listening"' in text, 30.0)
    if line is None:
        raise RuntimeError(f"{name} did not start: {gateway.log_tail()}")
    return gateway, str(json.loads(line)["base"])


def _json_line(child: Child, event: str, timeout_s: float) -> dict[str, Any] | None:
    line = child.wait_line(lambda text: text.startswith("{") and f'"event": "{event}"' in text, timeout_s)
    return None if line is None else dict(json.loads(line))


@dataclass
class PoolRun:
    """What one process of figure 13 measured."""

    name: str
    n: int
    ready: int = 0
    ready_after_s: float = float("nan")
    baseline_rss_kib: float = float("nan")
    rss_per_bot_kib: list[float] = field(default_factory=list)
    cpu_per_bot_us_s: list[float] = field(default_factory=list)
    heartbeats_per_s: list[float] = field(default_factory=list)
    problem: str = ""


def _pool_runs(tmp: Path, n: int, windows: int) -> list[PoolRun]:
    children: list[Child] = []
    try:
        peers: list[tuple[Child, PoolRun]] = []
        clients = [("qqgate_pool.py", "qqgate")] + ([("botpy_sessions.py", "botpy")] if HAVE_BOTPY else [])
        for script, name in clients:
            gateway, base = _gateway(tmp, f"gateway-{name}", POOL_WORLD)
            children.append(gateway)
            child = Child([PYTHON, str(PEERS / script), base, str(n), f"{STARTS_PER_S:g}"], tmp, f"{name}-pool")
            children.append(child)
            peers.append((child, PoolRun(name, n)))
        for child, run in peers:
            baseline = _json_line(child, "baseline", 30.0)
            if baseline is None:
                run.problem = f"no baseline: {child.log_tail(500)}"
                continue
            run.baseline_rss_kib = float(baseline["rss_kib"])
            ready = _json_line(child, "ready", READY_TIMEOUT_S)
            if ready is None:
                run.problem = f"never reported ready: {child.log_tail(500)}"
                continue
            run.ready = int(ready["ready"])
            run.ready_after_s = float(ready["t"]) - float(baseline["t"])
            if run.ready < n:
                run.problem = f"only {run.ready} of {n} bots READY"
        live = [(child, run) for child, run in peers if run.ready > 0]
        time.sleep(SETTLE_S)

        def reports() -> list[dict[str, Any] | None]:
            for child, _run in live:
                child.signal(signal.SIGUSR1)
            return [_json_line(child, "report", 10.0) for child, _run in live]

        before = reports()
        for _ in range(windows):
            time.sleep(WINDOW_S)
            after = reports()
            for (_child, run), start, end in zip(live, before, after):
                if start is None or end is None:
                    run.problem = run.problem or "a report went missing"
                    continue
                wall = float(end["t"]) - float(start["t"])
                bots = max(1, int(end["ready"]))
                run.rss_per_bot_kib.append((float(end["rss_kib"]) - run.baseline_rss_kib) / bots)
                run.cpu_per_bot_us_s.append((float(end["cpu_s"]) - float(start["cpu_s"])) / wall / bots * 1e6)
                run.heartbeats_per_s.append((int(end["heartbeats"]) - int(start["heartbeats"])) / wall)
            before = after
        return [run for _child, run in peers]
    finally:
        stop_all(children[::-1])


def _med(values: list[float], digits: int = 3) -> str:
    return f"{statistics.median(values):.{digits}g}" if values else "-"


def pooled(quick: bool) -> list[Figure]:
    """Figure 13 (two rows): RSS and CPU per bot, N bots in one process, qqgate's BotPool against botpy."""
    n = 100 if quick else 1000
    windows = 1 if quick else 2
    with tempfile.TemporaryDirectory(prefix="qqgate-bench-embedding-") as tmp:
        runs = _pool_runs(Path(tmp), n, windows)
    qq = runs[0]
    bp = runs[1] if len(runs) > 1 else PoolRun("botpy", n, problem="not installed (PyPI qq-botpy==1.2.1)")
    problems = "; ".join(f"{r.name}: {r.problem}" for r in (qq, bp) if r.problem)
    common = (f"{n} bots per process (qqgate: one BotPool in a plain process, no monkey-patching; botpy: "
              f"tasks of one asyncio loop), each process against its own chaos gateway subprocess with Hello "
              f"{HELLO_MS} ms (= botpy's fixed 30 s, so both send one heartbeat per bot per 30 s: "
              f"qqgate {_med(qq.heartbeats_per_s)}/s, botpy {_med(bp.heartbeats_per_s)}/s); {windows} window(s) of "
              f"{WINDOW_S:g} s, 2 s after all READY (qqgate after {qq.ready_after_s:.1f} s, botpy after "
              f"{bp.ready_after_s:.1f} s, both starting {STARTS_PER_S:g} bots/s)")
    rss = Figure(13, f"RSS per bot, {n} bots in one process (BotPool)", "KiB/bot", qq.rss_per_bot_kib,
                 goal="below botpy's", baseline_name="botpy 1.2.1 KiB/bot", baseline_values=bp.rss_per_bot_kib,
                 ratio_values=[a / b for a, b in zip(qq.rss_per_bot_kib, bp.rss_per_bot_kib) if b],
                 note=(f"RSS per bot: {common}. (VmRSS at the window's end - VmRSS after imports) / bots READY; "
                       f"baselines {qq.baseline_rss_kib / 1024:.1f} MiB (qqgate: gevent, requests, the hub thread) "
                       f"and {bp.baseline_rss_kib / 1024:.1f} MiB (botpy, aiohttp)."
                       + (f" Problems: {problems}." if problems else "")))
    if qq.rss_per_bot_kib and bp.rss_per_bot_kib and qq.ready == n and bp.ready == n:
        rss.met = statistics.median(qq.rss_per_bot_kib) < statistics.median(bp.rss_per_bot_kib)
    cpu = Figure(13, f"CPU per bot, {n} bots in one process (BotPool)", "µs CPU/bot/s", qq.cpu_per_bot_us_s,
                 goal="(reported)", baseline_name="botpy 1.2.1 µs CPU/bot/s", baseline_values=bp.cpu_per_bot_us_s,
                 ratio_values=[a / b for a, b in zip(qq.cpu_per_bot_us_s, bp.cpu_per_bot_us_s) if b],
                 note=("CPU per bot: process CPU seconds (user + system) over the window / wall seconds / bots "
                       "READY, at the same heartbeat rate per bot; everything the process did (timers, ACKs, the "
                       "hub thread, idle handler threads)."))
    return [rss, cpu]


@dataclass
class GapRun:
    """Figure 14 for one client and one blocking mode: heartbeat gaps as the gateway saw them."""

    client: str
    mode: str
    gaps_s: list[float] = field(default_factory=list)
    blocks: int = 0
    connections: int = 0
    dropped: int = 0
    heartbeat_timeouts: int = 0
    problem: str = ""

    @property
    def largest_s(self) -> float:
        return max(self.gaps_s) if self.gaps_s else float("nan")


def _gap_run(tmp: Path, client: str, mode: str, run_s: float, out: GapRun) -> None:
    children: list[Child] = []
    try:
        gateway, base = _gateway(tmp, f"gap-gateway-{client}-{mode}", GAP_WORLD, beats=True)
        children.append(gateway)
        script = "qqgate_blocking.py" if client == "qqgate" else "botpy_blocking.py"
        bot = Child([PYTHON, str(PEERS / script), base, f"{BLOCK_S:g}", mode], tmp, f"gap-{client}-{mode}")
        children.append(bot)
        time.sleep(run_s)
        gateway.drain()
        lines = list(gateway.lines)
        bot.drain()
        bot_lines = list(bot.lines)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports its problem, it does not crash
        out.problem = f"{type(exc).__name__}: {exc}"
        return
    finally:
        stop_all(children[::-1])
    events = [json.loads(line) for line in lines if line.startswith("{")]
    beats: dict[int, list[float]] = {}
    for e in events:
        if e["event"] == "beat":
            beats.setdefault(int(e["conn"]), []).append(float(e["t"]))
    for times in beats.values():
        times.sort()
        out.gaps_s += [b - a for a, b in zip(times, times[1:])]
    out.connections = sum(1 for e in events if e["event"] == "server_established")
    out.dropped = sum(1 for e in events if e["event"] == "ws_ended")
    out.heartbeat_timeouts = sum(1 for e in events if e["event"] == "server_heartbeat_timeout")
    out.blocks = sum(1 for line in bot_lines if '"blocked"' in line)
    if not out.gaps_s:
        out.problem = out.problem or f"no two heartbeats on one connection: {bot.log_tail(300)}"


def gap_runs(quick: bool) -> list[GapRun]:
    """Figure 14's runs: qqgate and botpy in parallel, per blocking mode (sleep; full mode adds cpu)."""
    run_s = 65.0 if quick else 95.0
    runs: list[GapRun] = []
    with tempfile.TemporaryDirectory(prefix="qqgate-bench-gap-") as name:
        for mode in ("sleep",) if quick else ("sleep", "cpu"):
            pair = [GapRun("qqgate", mode)] + ([GapRun("botpy", mode)] if HAVE_BOTPY else [])
            threads = [threading.Thread(target=_gap_run, args=(Path(name), r.client, mode, run_s, r), daemon=True)
                       for r in pair]
            for t in threads:
                t.start()
            for t in threads:
                t.join(run_s + 60)
            runs += pair
    return runs


def gap_figures(runs: list[GapRun]) -> list[Figure]:
    figures = []
    for mode in dict.fromkeys(r.mode for r in runs):
        qq = next(r for r in runs if r.mode == mode and r.client == "qqgate")
        bp = next((r for r in runs if r.mode == mode and r.client == "botpy"), GapRun("botpy", mode))
        what = "time.sleep" if mode == "sleep" else "a CPU-bound loop"
        figures.append(Figure(
            14, f"heartbeat gap, handler blocking {BLOCK_S:g} s per message ({what})", "s", qq.gaps_s,
            goal=f"≤ {HELLO_MS / 1000:g} s + 0.1", baseline_name="botpy 1.2.1 s", baseline_values=bp.gaps_s,
            met=(max(qq.gaps_s) <= HELLO_MS / 1000 + 0.1) if qq.gaps_s else None,
            ratio_values=[qq.largest_s / bp.largest_s] if qq.gaps_s and bp.gaps_s else [],
            note=(f"heartbeat gap ({what}): gaps between consecutive heartbeats on one connection as the "
                  f"gateway received them, Hello {HELLO_MS} ms, a C2C message every ~5 s and a handler that "
                  f"blocks {BLOCK_S:g} s on each; ratio = largest gap / botpy's largest. qqgate: {qq.blocks} "
                  f"blocks, {qq.connections} connection(s), {qq.heartbeat_timeouts} server heartbeat timeouts; "
                  f"botpy: {bp.blocks} blocks, {bp.connections} connection(s), {bp.heartbeat_timeouts} timeouts."
                  + "".join(f" {r.client}: {r.problem}." for r in (qq, bp) if r.problem))))
    return figures


def render_fault_section(runs: list[GapRun]) -> str:
    """benchmarks/faults.py's section: the same runs as rows."""
    lines = ["## A handler that blocks (heartbeat gaps)", "",
             f"One bot per client against a gateway of its own (Hello {HELLO_MS} ms, a C2C message every ~5 s); "
             f"the handler blocks {BLOCK_S:g} s on every message. Gaps are between heartbeats on one connection, "
             "as the gateway received them (`benchmarks/_embedding.py`, figure 14).", "",
             "| client | handler blocks with | heartbeats | largest gap s | median gap s | connections | "
             "server heartbeat timeouts |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        largest = f"{r.largest_s:.3f}" if r.gaps_s else "-"
        median = f"{statistics.median(r.gaps_s):.3f}" if r.gaps_s else "-"
        lines.append(f"| {r.client} | {'time.sleep' if r.mode == 'sleep' else 'CPU loop'} | {len(r.gaps_s) + 1} | "
                     f"{largest} | {median} | {r.connections} | {r.heartbeat_timeouts} |"
                     + (f" {r.problem}" if r.problem else ""))
    return "\n".join(lines) + "\n"


def measure(quick: bool) -> list[Figure]:
    """Figures 13 and 14."""
    return pooled(quick) + gap_figures(gap_runs(quick))


if __name__ == "__main__":
    import sys

    from ._stats import render
    sys.stdout.write(render(measure("--quick" in sys.argv), "quick" if "--quick" in sys.argv else "full"))
