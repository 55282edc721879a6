"""Detectors: read a finished run and name what happened.

Each detector looks only at what the world saw (the trace and the journal), so it judges
the core and the legacy model alike. A Finding is a named, dated fact such as "closed
~60 s after each reconnect, 57 times". The thresholds come from incidents.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from qqgate import core

from .world import (
    Ban, ClientClosed, DnsOutage, FatalNoted, FlowBlackHoled, HeartbeatTimedOut, IdentifySent,
    RefuseConnects, ResumeSent, RunResult, ServerClosed, ServerConnEnded, SessionEstablished,
    SocketOpening, StallConnects, WorldSpec,
)

FATAL_CODES = frozenset(code for code, rule in core.CLOSE_CODES.items()
                        if rule.action is core.CloseAction.FATAL)
DEATH_LOOP_WINDOW_S = (55.0, 66.0)
DEATH_LOOP_MIN = 3
SILENT_AFTER_S = 1800.0
STORM_WINDOW_S = 600.0
STORM_OPENS = 30
LONG_OUTAGE_S = 600.0


@dataclass(frozen=True)
class Finding:
    """One named fact about a run. ``first_at`` in virtual seconds; ``count`` how often."""

    name: str
    summary: str
    first_at: float | None = None
    count: int = 1


def _opens(run: RunResult) -> list[tuple[float, int]]:
    return [(e.at, e.conn) for e in run.events(SocketOpening)]


def death_loop(run: RunResult, world: WorldSpec) -> Finding | None:
    """Closes ~60 s after each reconnect, at least 3 times (incident 1)."""
    opened = dict((conn, at) for at, conn in _opens(run))
    hits = []
    lo, hi = DEATH_LOOP_WINDOW_S
    for e in run.events(HeartbeatTimedOut):
        if e.conn in opened and lo <= e.at - opened[e.conn] <= hi:
            hits.append(e.at)
    if len(hits) < DEATH_LOOP_MIN:
        return None
    return Finding("death_loop", f"the server dropped {len(hits)} silent connections ~60 s after "
                   "they were opened: no heartbeat ran on the reconnected socket", hits[0], len(hits))


def spin(run: RunResult, world: WorldSpec) -> Finding | None:
    """Many steps with the virtual clock standing still (incident 2)."""
    if run.spin is None:
        return None
    return Finding("spin", f"busy spin: {run.spin.steps} steps at t={run.spin.at:.3f} s "
                   "with the clock standing still; the run was stopped", run.spin.at, run.spin.steps)


def established_intervals(run: RunResult) -> list[tuple[float, float]]:
    """(start, end) in virtual seconds of every connection the server held established; one
    still held at the end of the run ends at ``run.ended_at``."""
    start: dict[int, float] = {}
    out = []
    for e in run.trace:
        match e:
            case SessionEstablished(conn=conn):
                start.setdefault(conn, e.at)
            case ServerConnEnded(conn=conn) if conn in start:
                out.append((start.pop(conn), e.at))
            case _:
                pass
    out.extend((t, run.ended_at) for t in start.values())
    return sorted(out)


def silent_stop(run: RunResult, world: WorldSpec) -> Finding | None:
    """The client stopped trying, is not connected, and never told the host (incidents 3, 8)."""
    if run.spin is not None:
        return None
    intervals = established_intervals(run)
    if intervals and intervals[-1][1] >= run.ended_at:
        return None
    opens = _opens(run)
    last_try = opens[-1][0] if opens else 0.0
    if run.ended_at - last_try < SILENT_AFTER_S:
        return None
    last_up = intervals[-1][1] if intervals else 0.0
    if any(e.at >= last_up - 1.0 for e in run.events(FatalNoted)):
        return None
    return Finding("silent_stop", f"the client stopped trying at t={last_try:.0f} s, is not "
                   f"connected, and never told the host ({run.ended_at - last_try:.0f} s of silence)",
                   last_try)


def fatal_reported(run: RunResult, world: WorldSpec) -> Finding | None:
    """The client told the host (a Fatal command); expected in outages and bans."""
    fatals = run.events(FatalNoted)
    if not fatals:
        return None
    first = fatals[0]
    kind = "retryable" if first.retryable else "final"
    return Finding("fatal_reported", f"told the host ({kind}): {first.reason}", first.at, len(fatals))


def dead_link_unnoticed(run: RunResult, world: WorldSpec) -> Finding | None:
    """A half-open link not closed within 2 × the heartbeat interval of the last inbound frame."""
    bound = 2 * world.heartbeat_interval_ms / 1000.0
    worst = 0.0
    first: float | None = None
    for conn, cut_at in half_open_cuts(run):
        delay = detection_delay(run, conn, cut_at)
        effective = delay if delay is not None else run.ended_at - last_inbound(run, conn, cut_at)
        if delay is None or delay > bound:
            worst = max(worst, effective)
            first = cut_at if first is None else first
    if first is None:
        return None
    return Finding("dead_link_unnoticed", f"a half-open link went unnoticed for {worst:.0f} s "
                   f"(bound: 2 × heartbeat interval = {bound:.1f} s)", first)


def half_open_cuts(run: RunResult) -> list[tuple[int, float]]:
    """(conn, time) of every flow the world black-holed."""
    return [(e.conn, e.at) for e in run.events(FlowBlackHoled)]


def last_inbound(run: RunResult, conn: int, before: float) -> float:
    """Time of the last frame the client received on ``conn`` at or before ``before``."""
    last = 0.0
    for inp, _ in run.journal:
        if isinstance(inp, core.FrameReceived) and inp.conn == conn and inp.at <= before:
            last = inp.at
    return last


def detection_delay(run: RunResult, conn: int, cut_at: float) -> float | None:
    """Seconds from the last inbound frame on ``conn`` to the client closing it, or None."""
    for e in run.events(ClientClosed):
        if e.conn == conn and e.at >= cut_at:
            return e.at - last_inbound(run, conn, cut_at)
    return None


def fatal_ignored(run: RunResult, world: WorldSpec) -> Finding | None:
    """The client kept opening sockets after a fatal close code (incident 5)."""
    fatal_at = next((e.at for e in run.events(ServerClosed) if e.code in FATAL_CODES), None)
    if fatal_at is None:
        return None
    after = [at for at, _ in _opens(run) if at > fatal_at]
    if len(after) < 3:
        return None
    return Finding("fatal_ignored", f"after a fatal close code at t={fatal_at:.0f} s the client "
                   f"opened {len(after)} more sockets instead of stopping", fatal_at, len(after))


def reconnect_storm(run: RunResult, world: WorldSpec) -> Finding | None:
    """≥ 30 socket opens within 10 minutes (incidents 6, 7: 4,604 reconnects in #19821)."""
    opens = [at for at, _ in _opens(run)]
    best, best_at, j = 0, 0.0, 0
    for i, at in enumerate(opens):
        while opens[j] < at - STORM_WINDOW_S:
            j += 1
        if i - j + 1 > best:
            best, best_at = i - j + 1, opens[j]
    if best < STORM_OPENS:
        return None
    return Finding("reconnect_storm", f"{best} sockets opened within {STORM_WINDOW_S:.0f} s "
                   f"({len(opens)} in the whole run)", best_at, best)


def reidentify_on_4009(run: RunResult, world: WorldSpec) -> Finding | None:
    """Routine 4009 closes answered with Identify instead of Resume (a session start spent)."""
    count, first = 0, None
    pending = False
    for e in run.trace:
        match e:
            case ServerClosed(code=4009):
                pending = True
            case IdentifySent() if pending:
                count += 1
                first = e.at if first is None else first
                pending = False
            case ResumeSent() if pending:
                pending = False
            case _:
                pass
    if count < 3:
        return None
    return Finding("reidentify_on_4009", f"{count} routine 4009 closes were answered with a new "
                   "Identify: a session start spent every 30 minutes", first, count)


def _world_down(world: WorldSpec, t: float) -> bool:
    """No session could be held at ``t``: connects fail, or the bot is banned."""
    return any(f.active_at(t) for f in world.faults
               if isinstance(f, (DnsOutage, RefuseConnects, StallConnects, Ban)))


def long_outage(run: RunResult, world: WorldSpec) -> Finding | None:
    """Not connected for over 10 minutes while the world would have accepted a session."""
    intervals = established_intervals(run)
    gaps = []
    prev_end = 0.0
    for start, end in intervals + [(run.ended_at, run.ended_at)]:
        if start - prev_end > 0:
            gaps.append((prev_end, start))
        prev_end = max(prev_end, end)
    worst, worst_at = 0.0, None
    for lo, hi in gaps:
        t, up = lo, 0.0
        while t < hi:  # count the seconds of the gap in which the world was up
            step = min(10.0, hi - t)
            if not _world_down(world, t):
                up += step
            t += step
        if up > worst:
            worst, worst_at = up, lo
    if worst < LONG_OUTAGE_S or worst_at is None:
        return None
    return Finding("long_outage", f"not connected for {worst:.0f} s while the gateway was "
                   "reachable", worst_at)


def lost_messages(run: RunResult, world: WorldSpec) -> Finding | None:
    """Messages the client lost (``RunResult.lost_ids``): pushed to a session it gave up while the
    server could still resume it, or to the session it holds at the end, and never delivered.
    Messages of a session the server ended first (op 9, a session-ending close, expiry, a ban)
    are lost by the protocol and not counted here."""
    lost = run.lost_ids()
    if not lost:
        return None
    first_at = dict((msg_id, at) for at, msg_id in run.pushed).get(lost[0])
    return Finding("lost_messages", f"{len(lost)} pushed message(s) never delivered although the server "
                   f"could still replay them (first {lost[0]}): the client gave up a resumable session "
                   "or skipped a dispatch", first_at, len(lost))


DETECTORS = (death_loop, spin, silent_stop, dead_link_unnoticed, fatal_ignored, reconnect_storm,
             reidentify_on_4009, long_outage, lost_messages, fatal_reported)
FAILURE_NAMES = frozenset({"death_loop", "spin", "silent_stop", "dead_link_unnoticed", "fatal_ignored",
                           "reconnect_storm", "reidentify_on_4009", "long_outage", "lost_messages"})


def detect(run: RunResult, world: WorldSpec) -> list[Finding]:
    """Run every detector; return the findings in a fixed order."""
    found = []
    for detector in DETECTORS:
        finding = detector(run, world)
        if finding is not None:
            found.append(finding)
    return found
