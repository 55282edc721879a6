"""Rendering a run as text: the log it wrote, the findings, the figures. Deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from ._detectors import Finding, detection_delay, half_open_cuts
from .world import (
    DnsOutage, FatalNoted, HeartbeatSent, IdentifySent, LogNoted, RefuseConnects, RequestSent,
    ResumeSent, RunResult, SessionEstablished, SocketOpening, StallConnects, StatusNoted, WorldSpec,
)

LOG_EPOCH = datetime(2026, 5, 8, 9, 0, 0)
"""Virtual time 0 in rendered logs (an arbitrary, fixed date so output is byte-identical)."""


def stamp(at: float) -> str:
    """Virtual seconds → hermes-style ``2026-05-08 09:17:42,717``."""
    t = LOG_EPOCH + timedelta(milliseconds=round(at * 1000))
    return t.strftime("%Y-%m-%d %H:%M:%S") + f",{t.microsecond // 1000:03d}"


def clock(at: float) -> str:
    """Virtual seconds → ``HH:MM:SS`` from the start of the run."""
    whole = int(at)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def log_lines(run: RunResult) -> list[str]:
    """Every log line the client emitted, in its own format.

    The legacy model's lines come out in hermes-agent's format (incidents.md, "The log
    format"), so ``qqgate replay`` can read them back; the core's as ``qqgate.core`` records.
    """
    lines = []
    for e in run.trace:
        match e:
            case LogNoted(level=level, event="hermes", fields=f):
                lines.append(f"{stamp(e.at)} {level} {f['logger']}: {f['tag']} {f['message']}".replace("  ", " "))
            case LogNoted(level=level, event=event, fields=f):
                extra = " ".join(f"{k}={v}" for k, v in f.items())
                lines.append(f"{stamp(e.at)} {level.upper()} qqgate.core: {event} {extra}".rstrip())
            case StatusNoted(phase=phase, detail=detail):
                lines.append(f"{stamp(e.at)} INFO qqgate.core: status {phase.value}: {detail}")
            case FatalNoted(reason=reason, retryable=retryable):
                kind = "retryable" if retryable else "final"
                lines.append(f"{stamp(e.at)} ERROR qqgate.core: FATAL ({kind}) {reason}")
            case _:
                pass
    return lines


def excerpt(lines: list[str], head: int = 25, tail: int = 10) -> list[str]:
    """The first ``head`` and last ``tail`` lines, with a marker for what was left out."""
    if len(lines) <= head + tail:
        return lines
    return lines[:head] + [f"... ({len(lines) - head - tail} lines omitted) ..."] + lines[-tail:]


def describe_world(world: WorldSpec) -> str:
    faults = ", ".join(_fault_text(f) for f in world.faults) or "none"
    cycle = "off" if world.session_cycle_s is None else f"{world.session_cycle_s:.0f}±{world.session_cycle_jitter_s:.0f} s"
    return (f"Hello interval {world.heartbeat_interval_ms} ms, server heartbeat timeout "
            f"{world.heartbeat_timeout_s:.0f} s, op 7 + 4009 cycle {cycle}; faults: {faults}")


def _fault_text(f: Any) -> str:
    parts = [f"{k}={getattr(f, k)}" for k in f.__dataclass_fields__ if getattr(f, k) is not None and k != "reason"]
    return f"{type(f).__name__}({', '.join(parts)})"


def figures(run: RunResult, world: WorldSpec) -> list[str]:
    """The run's numbers: connections, sessions, heartbeats, dispatches, fatal."""
    delivered = run.delivered_ids
    unique = set(delivered)
    missing = len(run.missing_ids())
    lines = [
        f"sockets opened {run.count(SocketOpening)}; identifies sent {run.count(IdentifySent)}; "
        f"resumes sent {run.count(ResumeSent)} (accepted {run.resumes_accepted}); "
        f"heartbeats sent {run.count(HeartbeatSent)}",
        f"messages pushed {len(run.pushed_ids)}; delivered {len(unique)}; missing {missing}; "
        f"delivered twice {len(delivered) - len(unique)}",
        f"fatal reported {run.count(FatalNoted)} time(s); client steps {run.steps}",
    ]
    opens = [e.at for e in run.events(SocketOpening)]
    if len(opens) > 1:
        gap = min(b - a for a, b in zip(opens, opens[1:]))
        lines.append(f"smallest gap between two socket opens: {gap:.3f} s")
    established = [e.at for e in run.events(SessionEstablished)]
    for fault in world.faults:
        if not isinstance(fault, (DnsOutage, RefuseConnects, StallConnects)) or fault.end_s is None:
            continue
        end = fault.end_s
        during = sum(1 for t in opens if fault.at <= t < end)
        requests = sum(1 for e in run.events(RequestSent) if fault.at <= e.at < end)
        back = next((t for t in established if t >= end), None)
        after = "never connected again" if back is None else f"connected again {back - end:.1f} s after it ended"
        lines.append(f"{type(fault).__name__} {clock(fault.at)}–{clock(end)}: {during} socket opens and "
                     f"{requests} REST requests during it; {after}")
    for conn, cut_at in half_open_cuts(run):
        delay = detection_delay(run, conn, cut_at)
        interval = world.heartbeat_interval_ms / 1000.0
        if delay is None:
            lines.append(f"half-open link on connection {conn} at {clock(cut_at)}: never detected")
        else:
            lines.append(f"half-open link on connection {conn} at {clock(cut_at)}: detected "
                         f"{delay:.1f} s after the last inbound frame = {delay / interval:.2f} × heartbeat interval")
    if run.invariant_breaks:
        lines.append(f"INVARIANT BREAKS: {len(run.invariant_breaks)}; first: {run.invariant_breaks[0]}")
    return lines


def render_findings(findings: Iterable[Finding]) -> list[str]:
    out = []
    for f in findings:
        when = f" at {clock(f.first_at)}" if f.first_at is not None else ""
        out.append(f"{f.name}{when}: {f.summary}")
    return out or ["none"]
