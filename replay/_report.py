"""Rendering runs as text: the log a client wrote, the findings, the figures, and the report of
``qqgate replay FILE.log`` (``log_replay_lines``, from the ``LogReplay`` data). Deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ._detectors import Finding, detection_delay, half_open_cuts
from .logs import TAXONOMY, version_label
from .world import (
    DnsOutage, FatalNoted, HeartbeatSent, IdentifySent, LogNoted, RefuseConnects, RequestSent,
    ResumeSent, RunResult, SessionEstablished, SocketOpening, StallConnects, StatusNoted, TraceEvent,
    WorldSpec,
)

if TYPE_CHECKING:
    from ._log_replay import LogReplay, SideResult as SideResultLike
    from .logs import LogReading

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
    """Every log line the client emitted, in its own format (``render_log_event``)."""
    return [line for e in run.trace if (line := render_log_event(e)) is not None]


def render_log_event(e: TraceEvent) -> str | None:
    """One log line of a client, in its own format, or None for an event that is no log line.

    The hermes model's lines come out in hermes-agent's format (incidents.md, "The log
    format") and the botpy model's in botpy's console format, so ``qqgate replay`` can read
    them back; the core's as ``qqgate.core`` records.
    """
    match e:
        case LogNoted(level=level, event="hermes", fields=f):
            return f"{stamp(e.at)} {level} {f['logger']}: {f['tag']} {f['message']}".replace("  ", " ")
        case LogNoted(level=level, event="botpy", fields=f):
            source, _, func = str(f.get("source", "")).partition(" ")
            return f"{stamp(e.at)}\t[{level}]\t({source}){func}\t{f['message']}"
        case LogNoted(level=level, event=event, fields=f):
            extra = " ".join(f"{k}={v}" for k, v in f.items())
            return f"{stamp(e.at)} {level.upper()} qqgate.core: {event} {extra}".rstrip()
        case StatusNoted(phase=phase, detail=detail):
            return f"{stamp(e.at)} INFO qqgate.core: status {phase.value}: {detail}"
        case FatalNoted(reason=reason, retryable=retryable):
            kind = "retryable" if retryable else "final"
            return f"{stamp(e.at)} ERROR qqgate.core: FATAL ({kind}) {reason}"
        case _:
            return None


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


# -- the report of ``qqgate replay FILE.log`` ---------------------------------------------------
_COLUMNS = ("understood", "activity", "other", "recognised", "continuation", "note", "unreadable")
_SHOWN_AS = {"recognised": "recognised, not understood", "unreadable": "unreadable", "other": "other components"}


def reading_lines(reading: LogReading) -> list[str]:
    """The reading report: per format, lines by category, and example lines of the categories a
    reader must see (recognised but not understood, unreadable, other components)."""
    rep = reading.report
    out = [f"reading report ({rep.lines} lines; {rep.totals['blank']} blank):",
           f"  {'format':<30}" + "".join(f"{c[:11]:>12}" for c in _COLUMNS) + "  clients"]
    for row in sorted(rep.formats.values(), key=lambda r: -r.total):
        clients = ", ".join(f"{c} {n}" for c, n in row.clients.most_common(3)) or "-"
        out.append(f"  {row.fmt[:30]:<30}" + "".join(f"{row.counts[c]:>12}" for c in _COLUMNS) + f"  {clients}")
    out.append(f"  {'all':<30}" + "".join(f"{rep.totals[c]:>12}" for c in _COLUMNS))
    for category, label in _SHOWN_AS.items():
        examples = [(fmt, n, text) for fmt, row in rep.formats.items() for n, text in row.examples.get(category, [])]
        if examples:
            out.append(f"  {label} ({rep.totals[category]}), e.g.:")
            out += [f"    line {n} [{fmt}]: {text}" for fmt, n, text in sorted(examples, key=lambda x: x[1])[:8]]
    if rep.paraphrased:
        out.append(f"  {rep.paraphrased} line(s) read as a reporter's paraphrase, not the client's own words")
    if rep.bad_utf8:
        out.append(f"  {rep.bad_utf8} line(s) held bytes that are not UTF-8 (shown as \ufffd)")
    if rep.cut_long:
        out.append(f"  {rep.cut_long} line(s) longer than the reader reads were cut")
    return out


def _side_rows(sides: list[SideResultLike]) -> list[str]:
    rows: list[tuple[str, Callable[[SideResultLike], str]]] = [("failures found", lambda s: ", ".join(f"{f.name} ×{f.count}" if f.count > 1 else f.name
                                                   for f in s.failures) or "none"),
            ("ran", lambda s: f"{s.ran_s / 3600:.2f} h, {s.steps} steps" + (" (stopped: spin)" if s.spin else "")),
            ("sockets opened", lambda s: str(s.opens)),
            ("identify / resume", lambda s: f"{s.identifies} / {s.resumes}"),
            ("messages", lambda s: f"{s.delivered} of {s.pushed} delivered, {s.missing} missing"),
            ("host told (Fatal)", lambda s: str(s.fatals)),
            ("dead link detected", lambda s: s.detection)]
    width = 44
    out = [f"  {'':<20} " + "".join(f"{s.label:<{width}}" for s in sides)]
    for label, value in rows:
        out.append(f"  {label:<20} " + "".join(f"{value(s)[:width - 1]:<{width}}" for s in sides))
    return out


def log_replay_lines(result: LogReplay) -> list[str]:
    """The whole report of ``qqgate replay FILE.log`` as printable lines (deterministic)."""
    return log_replay_reading_lines(result) + log_replay_run_lines(result)


def log_replay_reading_lines(result: LogReplay) -> list[str]:
    """The report's first half, printed before anything is simulated: the reading report, the
    client and version, the timeline, the incident and its evidence, the world and the model."""
    r = result.reading
    n = r.named
    out = [f"read      {result.name}: {r.report.lines} lines, {r.report.understood} understood as connection events"]
    out += ["", *reading_lines(r)]
    if r.client is not None:
        from .logs import CLIENTS
        info = CLIENTS.get(r.client)
        out.append(f"client    {info.title if info else r.client}")
    if r.version is not None:
        shown = ", ".join(version_label(v) if r.client == "hermes" else v for v in r.version.candidates)
        out.append(f"version   {shown}: {r.version.why}")
    out += ["", "timeline (seconds from the first event; ~ inferred, with its reason; · no time):"]
    out += [f"  {row}" for row in r.timeline.rows()]
    ev = r.evidence
    if ev.silence_s is not None:
        out.append(f"  the log ends in a silence of {ev.silence_s:g} s (line {ev.silence_line})")
    out += ["", f"incident  {n.incident}: {TAXONOMY[n.incident]}", f"rule      {n.rule}"]
    if n.alternatives:
        out.append(f"or        {', '.join(n.alternatives)} (another version of the client, same lines)")
    if n.evidence:
        out.append("evidence")
        for e in n.evidence:
            out += [f"  {e.when}: {e.what}", f"      > {e.text}"]
    if n.also:
        out.append(f"also      {', '.join(n.also)} (their rules hold too)")
    out += [f"note      {x}" for x in n.notes]
    derived = r.derived
    if derived is None:
        return out
    out += ["", f"world     {result.hours:.2f} simulated hours, seed {result.seed}: {describe_world(derived.world)}"]
    out += [f"  - {w}" for w in derived.why]
    if derived.no_model:
        out.append(f"model     {derived.no_model}: only the core runs")
    for run in derived.runs:
        out.append(f"model     {run.model} model {version_label(run.version)}: {run.why}")
    return out


def log_replay_run_lines(result: LogReplay) -> list[str]:
    """The report's second half: the runs side by side, their findings and logs, the verdict."""
    out: list[str] = []
    sides = [*result.models] + ([result.core] if result.core is not None else [])
    if not sides:
        return ["", f"verdict   {result.verdict}"]
    out += ["", *_side_rows(sides)]
    for side in sides:
        out.append(f"\n{side.label} findings:")
        out += [f"  {line}" for line in render_findings(side.findings)]
        out.append(f"{side.label} log (excerpt):")
        out += [f"  {line}" for line in side.log_excerpt]
    out += ["", f"verdict   {result.verdict}"]
    return out
