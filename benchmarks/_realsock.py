"""Figures 5-7 on real loopback sockets against the chaos gateway, qqgate and botpy 1.2.1 in the same run.

5. Dead-link detection (half-open link): from the last frame the server sent on the connection
   before ``HalfOpen`` to the moment the client gives the connection up (closes it or opens a
   new one), divided by Hello's heartbeat interval.
6. Resume latency: from the server's 4009 close to the client's RESUME frame reaching the server.
7. CPU while the gateway is unreachable: process CPU seconds per wall second while every
   connection is reset.

Every gateway here is a ``ChaosGateway`` in a thread of this process (its events and send times
are read directly). Both clients run in subprocesses as shipped: qqgate as ``qqgate run`` (the
default ``core.Config``, its journal on, in SQLite: for figure 5 the journal gives the moment the
core gave the link up) and botpy 1.2.1 unmodified (``tests/peers/botpy_echo.py``). Only
127.0.0.1; every wait is bounded and every subprocess is killed in ``finally``.
"""

from __future__ import annotations

import importlib.util
import math
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qqgate.io_shell.journal import read_session
from qqgate.replay.world import DnsOutage, HalfOpen, RefuseConnects, ServerClose, WorldSpec
from qqgate.replay.world.gateway import ChaosGateway

from ._stats import Figure
from .peers._proc import BOTPY_ECHO, PYTHON, Child, child_env, stop_all

HELLO_MS = 41_250
"""The world's Hello ``heartbeat_interval``; a time scale X makes it HELLO_MS / X."""
APP_ID = "102000001"
SECRET = "bench-secret-QWERTY"
BOTPY_HEARTBEAT_S = 30.0
"""botpy 1.2.1 heartbeats every 30 s whatever Hello says (gateway.py: ``_send_heart(interval=30)``)."""
BOTPY_RECONNECT_S = 5.0
"""botpy waits ``5 / max_concurrency`` s between a connection's end and the next connect."""
CALM = WorldSpec(message_interval_s=None, session_cycle_s=None, latency_s=0.0)
"""No message traffic and no op 7 cycle: the only frames are Hello, READY/RESUMED and ACKs."""
NAN = float("nan")
HAVE_BOTPY = importlib.util.find_spec("botpy") is not None
"""botpy (PyPI qq-botpy==1.2.1, a test extra) is the baseline; without it only qqgate is measured."""
NO_BOTPY = "botpy (PyPI qq-botpy==1.2.1) is not installed: no baseline."
TIMER_SLACK_S = 0.010
"""Figure 5's goal allows this much past 2 × interval: the zombie rule fires exactly 2 intervals after
the last ACK by design, so on a real clock it is always late by the timers' lateness (~1-2 ms here)."""


@dataclass(frozen=True)
class Plan:
    """Sizes of one run (quick or full)."""

    qq_half_open_repeats: int
    qq_half_open_scale: float
    botpy_half_open_procs: int
    botpy_half_open_scale: float
    resume_repeats: int
    outage_procs: int
    outage_s: float


QUICK = Plan(qq_half_open_repeats=3, qq_half_open_scale=82.5, botpy_half_open_procs=2,
             botpy_half_open_scale=12.0, resume_repeats=3, outage_procs=2, outage_s=10.0)
FULL = Plan(qq_half_open_repeats=7, qq_half_open_scale=41.25, botpy_half_open_procs=3,
            botpy_half_open_scale=4.125, resume_repeats=7, outage_procs=3, outage_s=60.0)


# -- helpers ------------------------------------------------------------------------------------
class SendLog:
    """When the gateway sent frames, per server connection (wraps the link's ``to_client``)."""

    def __init__(self, gw: ChaosGateway) -> None:
        self.sent: dict[int, list[float]] = {}
        link = gw.link
        original = link.to_client

        def to_client(conn: int, text: str) -> None:
            self.sent.setdefault(conn, []).append(time.monotonic())
            original(conn, text)

        gw.call(lambda: setattr(link, "to_client", to_client))

    def last_before(self, conn: int, at: float) -> float | None:
        times = [t for t in self.sent.get(conn, []) if t <= at]
        return max(times) if times else None


def _wait(pred: Callable[[], bool], timeout_s: float, poll_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


def _sessions_by_conn(gw: ChaosGateway) -> dict[int, str]:
    """Open server connections and the session each carries (read in the gateway's hub)."""
    server = gw.link.server
    return gw.call(lambda: {c: sc.session.session_id for c, sc in server.conns.items()
                            if sc.open and sc.session is not None})


def _conn_of_session(gw: ChaosGateway) -> dict[str, int | None]:
    server = gw.link.server
    return gw.call(lambda: {sid: s.conn for sid, s in server.sessions.items()})


def _spread(values: list[float], unit: str = "") -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "-"
    return (f"{min(finite):.3g}/{statistics.median(finite):.3g}/{max(finite):.3g}{unit}")


def _qqgate_run_argv(base: str, seed: int, journal: Path) -> list[str]:
    return [PYTHON, "-m", "qqgate", "run", "--api-base", base, "--token-url",
            base + "/app/getAppAccessToken", f"--journal={journal}", "--seed", str(seed)]


def _qqgate_env() -> dict[str, str]:
    return child_env({"QQ_APP_ID": APP_ID, "QQ_CLIENT_SECRET": SECRET})


# -- figure 5: botpy, in the background ----------------------------------------------------------
@dataclass
class BotpyHalfOpen:
    """botpy processes on a gateway of their own; once all are READY the links are black-holed,
    then nothing happens for ``window_s`` (unless botpy notices)."""

    tmp: Path
    procs: int
    scale: float
    window_s: float = 0.0
    gw: ChaosGateway | None = None
    sends: SendLog | None = None
    children: list[Child] = field(default_factory=list)
    half_open_at: float | None = None
    session_of: dict[int, str] = field(default_factory=dict)
    problem: str = ""
    _thread: threading.Thread | None = None

    def start(self) -> BotpyHalfOpen:
        self.window_s = 10 * HELLO_MS / 1000 / self.scale
        if not HAVE_BOTPY or self.procs < 1:
            return self
        world = WorldSpec(message_interval_s=None, session_cycle_s=None, latency_s=0.0,
                          heartbeat_timeout_s=120 * self.scale, server_resume_window_s=600 * self.scale)
        self.gw = ChaosGateway(world, time_scale=self.scale).start_in_thread()
        self.sends = SendLog(self.gw)
        for i in range(self.procs):
            cwd = self.tmp / f"botpy-half-open-{i}"
            cwd.mkdir()
            self.children.append(Child([PYTHON, str(BOTPY_ECHO), self.gw.http_base], cwd, "botpy"))
        self._thread = threading.Thread(target=self._trigger, name="botpy-half-open", daemon=True)
        self._thread.start()
        return self

    def _trigger(self) -> None:
        gw = self.gw
        assert gw is not None
        if not _wait(lambda: len(gw.events_of("server_established")) >= self.procs, 30.0):
            self.problem = "botpy never became READY"
            return
        time.sleep(0.5)  # past READY and botpy's first heartbeat (sent at READY) and its ACK
        self.session_of = _sessions_by_conn(gw)
        gw.trigger(HalfOpen(0.0))
        self.half_open_at = time.monotonic()

    def finish(self) -> tuple[list[float], str]:
        """Wait out the window; (detection time / Hello interval per botpy process, NaN: never; note)."""
        gw = self.gw
        if gw is None:
            return [], NO_BOTPY
        assert self.sends is not None and self._thread is not None
        self._thread.join(40.0)
        if self.half_open_at is None:
            return [], self.problem or "botpy: no half-open was triggered"
        end = self.half_open_at + self.window_s
        time.sleep(max(0.0, end - time.monotonic()))
        interval = HELLO_MS / 1000 / self.scale
        events = gw.events
        half_open = [e for e in events if e.kind == "half_open"]
        established = {e.fields["conn"]: e.at for e in events if e.kind == "server_established"}
        resumed_on = {e.fields["conn"]: e.fields.get("session_id") for e in events if e.kind == "resume"}
        accepted = {e.fields["conn"]: e.at for e in events if e.kind == "ws_accepted"}
        ratios: list[float] = []
        beats: list[int] = []
        for event in half_open:
            conn, at_h = int(event.fields["conn"]), event.at
            last = self.sends.last_before(conn, at_h)
            if last is None:
                continue
            session = self.session_of.get(conn)
            candidates = [e.at for e in events if e.kind == "client_closed_unseen" and e.fields["conn"] == conn]
            candidates += [accepted[c] for c, sid in resumed_on.items() if sid == session and c in accepted
                           and accepted[c] > at_h]
            detected = min((t for t in candidates if t <= end), default=None)
            ratios.append(NAN if detected is None else (detected - last) / interval)
            ready = established.get(conn, at_h)
            beats.append(math.floor((end - ready) / BOTPY_HEARTBEAT_S) - math.floor((at_h - ready) / BOTPY_HEARTBEAT_S))
        alive = sum(child.alive() for child in self.children)
        new_identifies = [e for e in events if e.kind == "identify" and e.at > self.half_open_at]
        never = sum(math.isnan(r) for r in ratios)
        note = (f"botpy 1.2.1: {never} of {len(ratios)} processes never detected the dead link within "
                f"{self.window_s:.0f} s (10 × Hello's {interval * 1000:.0f} ms, time scale {self.scale:g}, server "
                f"heartbeat timeout lifted to 120 s wall; NaN = never); each sent {min(beats, default=0)}-"
                f"{max(beats, default=0)} of its fixed 30 s heartbeats into the dead link in that window "
                f"without noticing: botpy never reads ACKs and its aiohttp WebSocket has neither a "
                f"heartbeat nor a receive timeout, so it waits in receive() for ever "
                f"({alive}/{len(self.children)} still running, {len(new_identifies)} new identifies).")
        return ratios, note

    def stop(self) -> None:
        stop_all(self.children)
        if self.gw is not None:
            self.gw.stop()


# -- figure 5: qqgate ----------------------------------------------------------------------------
def _detection_at(records: list[dict[str, Any]], after: float) -> float | None:
    """When the core gave the dead connection up: the first step at or after ``after`` that
    closes a socket or opens a new one (no other traffic: the world is calm)."""
    for record in records:
        at = record.get("input", {}).get("at")
        if not isinstance(at, (int, float)) or at < after:
            continue
        if any(c.get("type") in ("CloseSocket", "OpenSocket") for c in record.get("commands", [])):
            return float(at)
    return None


def _qqgate_half_open(tmp: Path, plan: Plan) -> tuple[list[float], float, str]:
    """``qqgate run`` (journal on) against one gateway; HalfOpen again and again."""
    gw = ChaosGateway(CALM, time_scale=plan.qq_half_open_scale).start_in_thread()
    interval = gw.link.server.world.heartbeat_interval_ms / 1000
    sends = SendLog(gw)
    journal = tmp / "qqgate-half-open.sqlite"
    argv = _qqgate_run_argv(gw.http_base, 5, journal)
    rng = random.Random(5)
    cuts: list[tuple[int, float]] = []
    reopen: list[float] = []
    problem = ""
    child = Child(argv, tmp, "qqgate-half-open", env=_qqgate_env())
    try:
        for repeat in range(plan.qq_half_open_repeats):
            if not _wait(lambda: len(gw.events_of("server_established")) > repeat, 15.0):
                problem = f"qqgate not READY again: {child.log_tail(300)}"
                break
            time.sleep(interval * rng.uniform(1.2, 2.2))  # a random phase against the heartbeats
            before = time.monotonic()
            gw.trigger(HalfOpen(0.0))
            event = next((e for e in gw.events_of("half_open") if e.at >= before), None)
            if event is None:
                problem = "the half-open was not applied"
                break
            conn, at_h = int(event.fields["conn"]), event.at
            cuts.append((conn, at_h))
            if _wait(lambda: any(e.at > at_h for e in gw.events_of("ws_accepted")), 10 * interval + 5.0):
                last = sends.last_before(conn, at_h)
                first_new = min(e.at for e in gw.events_of("ws_accepted") if e.at > at_h)
                if last is not None:
                    reopen.append((first_new - last) / interval)
            else:
                problem = f"no new connection within {10 * interval + 5:g} s of a half-open"
    finally:
        child.stop()  # SIGTERM: close 1000, journal flushed
        gw.stop()
    ratios: list[float] = []
    zombies = 0
    try:
        _header, records = read_session(journal)
    except Exception as exc:  # noqa: BLE001 - reported in the note, not raised
        records = []
        problem = problem or f"journal unreadable: {exc!r}"
    for record in records:
        zombies += sum(1 for c in record.get("commands", [])
                       if c.get("type") == "Log" and c.get("event") == "zombie_connection")
    for conn, at_h in cuts:
        last = sends.last_before(conn, at_h)
        detected = _detection_at(records, at_h)
        if last is not None:
            ratios.append(NAN if detected is None else (detected - last) / interval)
    excess_ms = [(r - 2.0) * interval * 1000 for r in ratios if not math.isnan(r)]
    note = (f"qqgate: `qqgate run` (default core.Config, journal on) against Hello {interval * 1000:.0f} ms "
            f"(time scale {plan.qq_half_open_scale:g}), no message traffic, so the last frame before the "
            f"half-open is a heartbeat ACK (the worst case: the bound is 2 × interval); detection = the step "
            f"in its journal that closes the dead connection (monotonic clock, as the gateway's send times); "
            f"{zombies} zombie detections; detection - 2 × interval = {_spread(excess_ms, ' ms')} "
            f"(timer lateness minus the ACK's trip); the new connection reached the gateway at "
            f"{_spread(reopen)} × interval (backoff after a failure: U(0, 2 s)).")
    if problem:
        note += f" Problem: {problem}."
    return ratios, interval, note


# -- figure 6 --------------------------------------------------------------------------------------
def _resume_latency(tmp: Path, plan: Plan) -> tuple[list[float], list[float], str]:
    """qqgate run and botpy_echo on one gateway; ServerClose(4009) on both, again and again."""
    gw = ChaosGateway(CALM, time_scale=1.0).start_in_thread()
    children: list[Child] = []
    qq_values: list[float] = []
    bp_values: list[float] = []
    problem = ""
    try:
        children.append(Child(_qqgate_run_argv(gw.http_base, 6, tmp / "qqgate-resume.sqlite"), tmp, "qqgate-resume", env=_qqgate_env()))
        if not _wait(lambda: bool(gw.events_of("server_established")), 20.0):
            raise RuntimeError(f"qqgate run never became READY: {children[0].log_tail()}")
        (qq_session,) = set(_sessions_by_conn(gw).values())
        sessions = {qq_session: qq_values}
        if HAVE_BOTPY:
            cwd = tmp / "botpy-resume"
            cwd.mkdir()
            children.append(Child([PYTHON, str(BOTPY_ECHO), gw.http_base], cwd, "botpy-resume"))
            if not _wait(lambda: len(set(_sessions_by_conn(gw).values())) >= 2, 30.0):
                raise RuntimeError(f"botpy never became READY: {children[1].log_tail()}")
            (bp_session,) = set(_sessions_by_conn(gw).values()) - {qq_session}
            sessions[bp_session] = bp_values
        for _ in range(plan.resume_repeats):
            def settled() -> bool:
                conns = _conn_of_session(gw)
                accepted = gw.events_of("ws_accepted")
                return (all(conns.get(s) is not None for s in sessions)
                        and time.monotonic() - max(e.at for e in accepted) > 1.5)  # qqgate's 1 s open floor
            if not _wait(settled, 20.0):
                problem = "a client did not come back after 4009"
                break
            conn_of = _conn_of_session(gw)
            before = time.monotonic()
            gw.trigger(ServerClose(0.0, 4009))

            def resumed() -> bool:
                got = {e.fields.get("session_id") for e in gw.events_of("resume") if e.at > before}
                return all(s in got for s in sessions)
            _wait(resumed, 3 * BOTPY_RECONNECT_S + 5)
            for session, values in sessions.items():
                closes = [e.at for e in gw.events_of("server_closed", conn=conn_of[session], code=4009)
                          if e.at >= before]
                if not closes:
                    continue
                resumes = [e.at for e in gw.events_of("resume", session_id=session) if e.at > closes[0]]
                values.append(resumes[0] - closes[0] if resumes else NAN)
    except (RuntimeError, ValueError) as exc:
        problem = str(exc) or repr(exc)
    finally:
        stop_all(children)
        gw.stop()
    note = ("Time scale 1, `qqgate run` (default core.Config, journal on), each client in its own "
            "subprocess on one gateway, ServerClose(4009) to both at once; from the gateway's close to the "
            "RESUME frame it received on the new connection (TCP connect, upgrade and Hello included). "
            f"botpy reconnects only after a fixed {BOTPY_RECONNECT_S:g} s sleep (ConnectionSession._runner).")
    if not HAVE_BOTPY:
        note += f" {NO_BOTPY}"
    if problem:
        note += f" Problem: {problem}."
    return qq_values, bp_values, note


# -- figure 7 --------------------------------------------------------------------------------------
def _unreachable_cpu(tmp: Path, plan: Plan) -> tuple[list[float], list[float], str]:
    """K qqgate run + K botpy_echo processes; then every connection is reset for ``outage_s``."""
    gw = ChaosGateway(CALM, time_scale=1.0).start_in_thread()
    qq: list[Child] = []
    bp: list[Child] = []
    problem = ""
    qq_values: list[float] = []
    bp_values: list[float] = []
    qq_attempts: list[int] = []
    bp_attempts: list[int] = []
    try:
        for i in range(plan.outage_procs):
            qq.append(Child(_qqgate_run_argv(gw.http_base, 70 + i, tmp / f"qqgate-outage-{i}.sqlite"), tmp, f"qqgate-outage-{i}", env=_qqgate_env()))
            if not HAVE_BOTPY:
                continue
            cwd = tmp / f"botpy-outage-{i}"
            cwd.mkdir()
            bp.append(Child([PYTHON, str(BOTPY_ECHO), gw.http_base], cwd, f"botpy-outage-{i}"))
        if not _wait(lambda: len(_sessions_by_conn(gw)) >= len(qq) + len(bp), 30.0):
            raise RuntimeError(f"only {len(_sessions_by_conn(gw))} of {len(qq) + len(bp)} clients READY")
        time.sleep(1.0)
        qq_before = [_log_count(child, "attempt_failed") for child in qq]
        bp_before = [_log_count(child, "会话启动中") for child in bp]
        cpu0 = [child.cpu_seconds() for child in qq + bp]
        t0 = time.monotonic()
        outage = plan.outage_s + 30.0
        gw.trigger(DnsOutage(0.0, outage))
        gw.trigger(RefuseConnects(0.0, outage))
        gw.trigger(ServerClose(0.0, None))  # drop the live connections with no close frame
        time.sleep(plan.outage_s)
        cpu1 = [child.cpu_seconds() for child in qq + bp]
        wall = time.monotonic() - t0
        per_s = [(b - a) / wall * 100.0 for a, b in zip(cpu0, cpu1)]
        qq_values, bp_values = per_s[:len(qq)], per_s[len(qq):]
        qq_attempts = [_log_count(child, "attempt_failed") - n for child, n in zip(qq, qq_before)]
        bp_attempts = [_log_count(child, "会话启动中") - n for child, n in zip(bp, bp_before)]
        dead = [c.name for c in qq + bp if not c.alive()]
        if dead:
            problem = f"exited during the outage: {', '.join(dead)}"
    except (RuntimeError, ValueError) as exc:
        problem = str(exc) or repr(exc)
    finally:
        stop_all(qq + bp)
        gw.stop()
    note = (f"{plan.outage_procs} `qqgate run` (default core.Config, journal on) and {plan.outage_procs} botpy "
            f"processes (one value each), time scale 1; DnsOutage + RefuseConnects (every TCP connection reset, "
            f"REST included) and the live connections dropped, then {plan.outage_s:g} s of wall time; CPU from "
            f"/proc/<pid>/stat (10 ms ticks: {1.0 / plan.outage_s:.2g} % resolution). Attempts in the window: qqgate "
            f"{_spread([float(a) for a in qq_attempts])} failed attempts (connect or REST; capped exponential "
            f"backoff, 1 s base, 60 s cap), botpy {_spread([float(a) for a in bp_attempts])} connects (every "
            f"{BOTPY_RECONNECT_S:g} s, with a traceback each).")
    if not HAVE_BOTPY:
        note += f" {NO_BOTPY}"
    if problem:
        note += f" Problem: {problem}."
    return qq_values, bp_values, note


def _log_count(child: Child, text: str) -> int:
    """How often ``text`` occurs in the child's stderr log: qqgate logs each failed attempt
    ("attempt_failed", a warning), botpy each connection attempt ("会话启动中", bot_connect)."""
    try:
        return child.log_path.read_text(encoding="utf-8", errors="replace").count(text)
    except OSError:
        return 0


# -- the figures -----------------------------------------------------------------------------------
def measure(quick: bool) -> list[Figure]:
    """Figures 5, 6 and 7; botpy's half-open window runs in the background meanwhile."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="qqgate-bench-realsock-") as name:
        tmp = Path(name)
        botpy_half_open = BotpyHalfOpen(tmp, plan.botpy_half_open_procs, plan.botpy_half_open_scale)
        try:
            botpy_half_open.start()
            qq5, interval5, note5 = _qqgate_half_open(tmp, plan)
            qq6, bp6, note6 = _resume_latency(tmp, plan)
            qq7, bp7, note7 = _unreachable_cpu(tmp, plan)
            bp5, note5b = botpy_half_open.finish()
        finally:
            botpy_half_open.stop()
    fig5 = Figure(5, "dead-link detection, half-open link (real sockets)", "× heartbeat interval", qq5,
                  goal=f"≤ 2 (+{TIMER_SLACK_S * 1000:g} ms timer slack)", baseline_name="botpy 1.2.1 (NaN = never)",
                  baseline_values=bp5, note=f"{note5} {note5b}")
    finite5 = [v for v in qq5 if not math.isnan(v)]
    fig5.met = bool(finite5) and len(finite5) == len(qq5) and max(finite5) <= 2.0 + TIMER_SLACK_S / interval5
    fig6 = Figure(6, "resume latency after close 4009 (real sockets)", "s", qq6,
                  goal="≤ 0.1 s (no jitter on 4009)", baseline_name="botpy 1.2.1 s", baseline_values=bp6,
                  ratio_values=[a / b for a, b in zip(qq6, bp6) if b and not math.isnan(a / b)], note=note6)
    fig6.met = bool(qq6) and all(v <= 0.1 for v in qq6)
    fig7 = Figure(7, "CPU while the gateway is unreachable", "% of one CPU", qq7, goal="< 1 %",
                  baseline_name="botpy 1.2.1 %", baseline_values=bp7, note=note7)
    fig7.met = bool(qq7) and max(qq7) < 1.0
    return [fig5, fig6, fig7]
