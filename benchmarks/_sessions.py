"""Figure 8: sessions per process - RSS per session and CPU per heartbeat, qqgate against botpy.

N sessions (100 in quick mode, 1,000 in full mode) held in one process each:

- qqgate: ``benchmarks/peers/qqgate_sessions.py``, N ``GatewayClient`` instances in one
  gevent process (monkey-patched, as ``qqgate run`` is), the default ``core.Config`` but for
  the seed, no journal;
- botpy 1.2.1: ``benchmarks/peers/botpy_sessions.py``, N ``botpy.Client`` instances started
  as tasks of one asyncio loop.

Each client process talks to a chaos gateway of its own (``qqgate gateway`` in a subprocess,
so the gateway's CPU is counted nowhere): the gateway models ``session_start_limit`` with
1,000 identifies in total per gateway, which 2 × 1,000 sessions would exhaust. The gateways
run at time scale 5 (Hello says 8,250 ms), with no message traffic, no op 7 cycle and the
heartbeat timeout lifted to 120 s of wall time, because botpy heartbeats every 30 s whatever
Hello says. Both peers start their sessions at the same rate, at the same time.

Steady state, measured over windows of exactly botpy's 30 s heartbeat period (one window in
quick mode, two in full mode), starting 2 s after every session is READY:

- RSS per session: (VmRSS at the end of the window - VmRSS after every import, before the
  first session) / sessions READY;
- CPU per heartbeat: process CPU seconds (``getrusage`` user + system, reported by the peer
  on SIGUSR1) over the window / heartbeats the process sent in the window.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._stats import Figure
from .peers._proc import PEERS, PYTHON, Child, raise_nofile, stop_all

TIME_SCALE = 5.0
"""Hello says 41,250 ms / 5 = 8,250 ms: 1,000 qqgate sessions send ~121 heartbeats per second."""
HEARTBEAT_TIMEOUT_MODEL_S = 600.0
"""120 s of wall time at scale 5: botpy's fixed 30 s heartbeat keeps its sessions."""
BOTPY_PERIOD_S = 30.0
"""botpy's heartbeat period, fixed (gateway.py ``_send_heart(interval=30)``)."""
STARTS_PER_S = 100.0
SETTLE_S = 2.0
READY_TIMEOUT_S = 150.0
HAVE_BOTPY = importlib.util.find_spec("botpy") is not None


@dataclass
class PeerRun:
    """What one peer process measured."""

    name: str
    n: int
    ready: int = 0
    baseline_rss_kib: float = float("nan")
    rss_per_session_kib: list[float] = field(default_factory=list)
    cpu_per_heartbeat_us: list[float] = field(default_factory=list)
    cpu_percent: list[float] = field(default_factory=list)
    heartbeats_per_s: list[float] = field(default_factory=list)
    kernel_share: list[float] = field(default_factory=list)
    ready_after_s: float = float("nan")
    problem: str = ""


def _json_line(child: Child, event: str, timeout_s: float) -> dict[str, Any] | None:
    line = child.wait_line(lambda text: text.startswith("{") and f'"event": "{event}"' in text, timeout_s)
    if line is None:
        return None
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def _start_gateway(tmp: Path, name: str) -> tuple[Child, str]:
    argv = [PYTHON, "-m", "qqgate", "gateway", "--port", "0", "--time-scale", f"{TIME_SCALE:g}",
            "--quiet", "--session-cycle", "0", "--message-interval", "0",
            "--heartbeat-timeout", f"{HEARTBEAT_TIMEOUT_MODEL_S:g}"]
    gateway = Child(argv, tmp, name)
    raise_nofile(gateway.pid)  # before it listens: 1,000 connections need more than 1,024 fds
    line = gateway.wait_line(lambda text: text.startswith("listening on "), 20.0)
    if line is None:
        raise RuntimeError(f"{name} did not start: {gateway.log_tail()}")
    return gateway, line.split()[2]


def _reports(peers: list[tuple[Child, PeerRun]]) -> list[dict[str, Any] | None]:
    for child, _ in peers:
        child.signal(signal.SIGUSR1)
    return [_json_line(child, "report", 10.0) for child, _ in peers]


def _run(tmp: Path, n: int, windows: int) -> list[PeerRun]:
    children: list[Child] = []
    try:
        gw_qq, base_qq = _start_gateway(tmp, "gateway-qqgate")
        children.append(gw_qq)
        clients = [("qqgate_sessions.py", base_qq, "qqgate")]
        if HAVE_BOTPY:
            gw_bp, base_bp = _start_gateway(tmp, "gateway-botpy")
            children.append(gw_bp)
            clients.append(("botpy_sessions.py", base_bp, "botpy"))
        peers: list[tuple[Child, PeerRun]] = []
        for script, base, name in clients:
            child = Child([PYTHON, str(PEERS / script), base, str(n), f"{STARTS_PER_S:g}"], tmp,
                          f"{name}-sessions")
            children.append(child)
            peers.append((child, PeerRun(name, n)))
        for child, run in peers:
            baseline = _json_line(child, "baseline", 30.0)
            if baseline is None:
                run.problem = f"no baseline: {child.log_tail(500)}"
                continue
            run.baseline_rss_kib = float(baseline["rss_kib"])
            started = float(baseline["t"])
            ready = _json_line(child, "ready", READY_TIMEOUT_S)
            if ready is None:
                run.problem = f"never reported ready: {child.log_tail(500)}"
                continue
            run.ready = int(ready["ready"])
            run.ready_after_s = float(ready["t"]) - started
            if run.ready < n:
                run.problem = f"only {run.ready} of {n} sessions READY ({ready.get('errors') or 'no errors reported'})"
        live = [(child, run) for child, run in peers if run.ready > 0]
        if not live:
            return [run for _, run in peers]
        time.sleep(SETTLE_S)
        before = _reports(live)
        for _ in range(windows):
            time.sleep(BOTPY_PERIOD_S)
            after = _reports(live)
            for (child, run), start, end in zip(live, before, after):
                if start is None or end is None:
                    run.problem = run.problem or "a report went missing"
                    continue
                wall = float(end["t"]) - float(start["t"])
                cpu = float(end["cpu_s"]) - float(start["cpu_s"])
                beats = int(end["heartbeats"]) - int(start["heartbeats"])
                sessions = int(end["ready"])
                run.rss_per_session_kib.append((float(end["rss_kib"]) - run.baseline_rss_kib) / max(1, sessions))
                run.cpu_per_heartbeat_us.append(cpu / beats * 1e6 if beats else float("nan"))
                run.cpu_percent.append(cpu / wall * 100.0)
                run.heartbeats_per_s.append(beats / wall)
                if cpu > 0:
                    run.kernel_share.append((float(end["sys_s"]) - float(start["sys_s"])) / cpu * 100.0)
            before = after
        return [run for _, run in peers]
    finally:
        stop_all(children[::-1])


def _fmt(values: list[float], digits: int = 3) -> str:
    return f"{statistics.median(values):.{digits}g}" if values else "-"


def measure(quick: bool) -> list[Figure]:
    """Figure 8 (two rows): RSS per session and CPU per heartbeat, N sessions in one process."""
    n = 100 if quick else 1000
    windows = 1 if quick else 2
    with tempfile.TemporaryDirectory(prefix="qqgate-bench-sessions-") as tmp:
        runs = _run(Path(tmp), n, windows)
    qq = runs[0]
    bp = runs[1] if len(runs) > 1 else PeerRun("botpy", n, problem="not installed (PyPI qq-botpy==1.2.1): no baseline")
    problems = "; ".join(f"{r.name}: {r.problem}" for r in (qq, bp) if r.problem)
    common = (f"{n} sessions per process, each client against its own `qqgate gateway` subprocess at time "
              f"scale {TIME_SCALE:g} (Hello {41250 / TIME_SCALE:.0f} ms; botpy heartbeats every 30 s regardless); "
              f"{windows} window(s) of {BOTPY_PERIOD_S:g} s, 2 s after all READY (qqgate READY after "
              f"{qq.ready_after_s:.1f} s, botpy after {bp.ready_after_s:.1f} s at {STARTS_PER_S:g} starts/s)")
    rss = Figure(8, f"RSS per session, {n} sessions in one process", "KiB/session", qq.rss_per_session_kib,
                 goal="below botpy's", baseline_name="botpy 1.2.1 KiB/session",
                 baseline_values=bp.rss_per_session_kib,
                 ratio_values=[a / b for a, b in zip(qq.rss_per_session_kib, bp.rss_per_session_kib) if b],
                 note=(f"RSS per session: {common}. (VmRSS at the window's end - VmRSS after imports) / sessions "
                       f"READY; baselines {qq.baseline_rss_kib / 1024:.1f} MiB (qqgate, gevent + requests + "
                       f"websocket-client) and {bp.baseline_rss_kib / 1024:.1f} MiB (botpy + aiohttp)."
                       + (f" Problems: {problems}." if problems else "")))
    if qq.rss_per_session_kib and bp.rss_per_session_kib and qq.ready == n and bp.ready == n:
        rss.met = statistics.median(qq.rss_per_session_kib) < statistics.median(bp.rss_per_session_kib)
    cpu = Figure(8, f"CPU per heartbeat, {n} sessions in one process", "µs CPU/heartbeat",
                 qq.cpu_per_heartbeat_us, goal="(reported)", baseline_name="botpy 1.2.1 µs/heartbeat",
                 baseline_values=bp.cpu_per_heartbeat_us,
                 ratio_values=[a / b for a, b in zip(qq.cpu_per_heartbeat_us, bp.cpu_per_heartbeat_us) if b],
                 note=(f"CPU per heartbeat: process CPU over the window (all of it: timers, ACKs, status "
                       f"snapshots) / heartbeats sent in it. qqgate sent {_fmt(qq.heartbeats_per_s)} "
                       f"heartbeats/s at {_fmt(qq.cpu_percent)} % of one CPU ({_fmt(qq.kernel_share, 2)} % of it "
                       f"in the kernel); botpy {_fmt(bp.heartbeats_per_s)}/s at {_fmt(bp.cpu_percent)} % "
                       f"({_fmt(bp.kernel_share, 2)} % kernel). botpy heartbeats every 30 s, not at Hello's "
                       f"interval, so it sends 3.6× fewer; its sessions all started within a second, so its "
                       f"heartbeats come in one burst per 30 s."))
    return [rss, cpu]
