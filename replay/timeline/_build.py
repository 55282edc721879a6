"""Building timelines: from simulated runs side by side, or from one journal.

A simulated run gives a lane from its journal (``_lane``) plus what only the world saw: messages
pushed and never delivered, connections the server dropped without the client hearing of it,
links black-holed by a half-open fault, and the detectors' findings. A journal gives a lane from
its steps alone, with wall-clock times when its header has an anchor.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Sequence

from qqgate.core.journal import Journal

from .._detectors import FAILURE_NAMES
from .._runner import Outcome
from ..world import (
    ClientClosed, FaultApplied, FlowBlackHoled, HeartbeatTimedOut, RunResult, ServerClosedUnseen, WorldSpec,
)
from ._lane import read_lane, steps_of_journal, steps_of_run
from ._model import FindingMark, Lane, Mark, MarkKind, Timeline, Window

K = MarkKind


def _fault_label(fault: Any) -> str:
    fields = [f"{k}={getattr(fault, k)}" for k in getattr(fault, "__dataclass_fields__", {})
              if k not in ("at", "reason") and getattr(fault, k) is not None]
    return f"{type(fault).__name__}({', '.join(fields)})" if fields else type(fault).__name__


def world_windows(world: WorldSpec, end_s: float) -> list[Window]:
    """The world's fault schedule as windows: a timed fault over its window (to ``end_s`` when
    it never ends), a fault that acts once as an instant."""
    windows = []
    for fault in world.faults:
        end = getattr(fault, "end_s", fault.at)
        windows.append(Window(fault.at, end_s if end is None else end, type(fault).__name__, _fault_label(fault)))
    return windows


def _world_facts(lane: Lane, run: RunResult) -> None:
    """Add what the client could not see: lost messages, unseen server drops, dead links."""
    extra: list[Mark] = []
    for e in run.trace:
        match e:
            case HeartbeatTimedOut(conn=conn):
                extra.append(Mark(e.at, K.SERVER_DROP, f"the server dropped connection {conn}: no heartbeat "
                                                       "for its heartbeat timeout"))
            case ServerClosedUnseen(conn=conn, code=code):
                extra.append(Mark(e.at, K.SERVER_DROP, f"the server closed black-holed connection {conn} "
                                                       f"({code if code is not None else 'no code'}); "
                                                       "the client never saw it"))
            case FlowBlackHoled(conn=conn):
                noticed = next((c.at for c in run.events(ClientClosed) if c.conn == conn and c.at >= e.at), None)
                end = run.ended_at if noticed is None else noticed
                when = "never noticed by the client" if noticed is None else \
                    f"the client noticed after {noticed - e.at:.1f} s"
                lane.windows.append(Window(e.at, end, f"connection {conn} half-open", when))
            case _:
                pass
    pushed_at = dict((msg_id, at) for at, msg_id in reversed(run.pushed))
    for msg_id in run.missing_ids():
        extra.append(Mark(pushed_at.get(msg_id, 0.0), K.LOST, f"message {msg_id} pushed, never delivered"))
    if extra:
        lane.marks = sorted(lane.marks + extra, key=lambda m: m.at)


def _summary(lane: Lane) -> list[tuple[str, str]]:
    counts = {kind: 0 for kind in K}
    for m in lane.marks:
        counts[m.kind] += 1
    return [
        ("connections opened", str(counts[K.OPEN])),
        ("heartbeats / ACKs", f"{counts[K.HEARTBEAT]} / {counts[K.ACK]}"),
        ("closes: far side / client", f"{counts[K.SERVER_CLOSE]} / {counts[K.CLIENT_CLOSE]}"),
        ("dispatches delivered", str(counts[K.DELIVERED])),
        ("deduplicated / delivered twice", f"{counts[K.DEDUPLICATED]} / {counts[K.DELIVERED_TWICE]}"),
        ("messages lost", str(counts[K.LOST])),
        ("fatal", str(counts[K.FATAL])),
    ]


def lane_of_outcome(key: str, title: str, outcome: Outcome) -> Lane:
    """One simulated run's lane: its journal's steps (the run must have recorded one), the
    world's facts about it and the detectors' findings."""
    run = outcome.run
    lane = read_lane(key, title, steps_of_run(run.journal), end_s=run.ended_at)
    _world_facts(lane, run)
    lane.findings = [FindingMark(f.name, f.first_at, f.summary, f.count, f.name in FAILURE_NAMES)
                     for f in outcome.findings]
    lane.summary = _summary(lane)
    return lane


def client_title(outcome: Outcome) -> str:
    """``legacy hermes adapter model v0.13`` or ``qqgate core 0.1.0``: which client a lane is."""
    d = outcome.model.describe()
    if d.get("client") == "legacy":
        condition = "" if d.get("heartbeat_task_alive", True) else ", heartbeat task already ended"
        return f"legacy hermes adapter model v{d.get('version')}{condition}"
    return f"qqgate core {d.get('version')} (seed {d.get('config', {}).get('seed')})"


def timeline_of_outcomes(title: str, outcomes: Sequence[tuple[str, Outcome]], *, notes: Sequence[str] = (),
                         origin_unix_s: float | None = None, origin_note: str = "") -> Timeline:
    """Simulated runs of one world side by side: ``outcomes`` as (lane key, outcome), all in the
    same world (the first one's faults shade the timeline). Times are the simulator's seconds."""
    if not outcomes:
        raise ValueError("a timeline needs at least one run")
    end = max(o.run.ended_at for _, o in outcomes)
    lanes = [lane_of_outcome(key, client_title(o), o) for key, o in outcomes]
    world = outcomes[0][1].world
    windows = world_windows(world, end)
    applied = {(type(e.fault).__name__, e.fault.at) for _, o in outcomes for e in o.run.events(FaultApplied)}
    notes = list(notes)
    unapplied = [w for w in windows if (w.label, w.start) not in applied and w.start <= end]
    if unapplied:
        notes.append(f"{len(unapplied)} fault(s) of the schedule never acted (no connection to act on)")
    return Timeline(title, end, lanes, windows, origin_unix_s, origin_note, notes)


def journal_origin(journal: Journal) -> tuple[float | None, str, float]:
    """(wall-clock time of the first step in seconds since the epoch or None, how it was found,
    the first step's ``at``): the header's ``started_at_unix_s`` paired with
    ``started_at_monotonic_s`` when the recorder wrote both (exact), else with the first step
    (approximate: the recorder opened a moment before the first step)."""
    first_at = journal.steps[0][1].at if journal.steps else 0.0
    wall = journal.header.get("started_at_unix_s")
    if not isinstance(wall, (int, float)) or isinstance(wall, bool):
        return None, "the journal has no wall-clock start (a simulated run): times from its first step", first_at
    mono = journal.header.get("started_at_monotonic_s")
    if isinstance(mono, (int, float)) and not isinstance(mono, bool):
        return float(wall) + (first_at - float(mono)), "wall clock from the journal header's anchor", first_at
    return float(wall), "wall clock ≈ the journal's start time (the header has no monotonic anchor)", first_at


def timeline_of_journal(name: str, journal: Journal) -> Timeline:
    """One journal's timeline: one lane (the client its header names), times from its first step."""
    origin, note, first_at = journal_origin(journal)
    client = journal.header.get("client")
    d = client if isinstance(client, dict) else {}
    if d.get("client") == "legacy":
        title = f"legacy hermes adapter model v{d.get('version')}"
    else:
        title = f"qqgate core {d.get('version', '?')}"
    lane = read_lane(str(d.get("client", "journal")), title, steps_of_journal(journal), t0=first_at)
    lane.summary = _summary(lane)
    head = journal.header
    notes = [f"session {head['session_id']}" if "session_id" in head else "",
             f"scenario {head['scenario']}" if "scenario" in head else "",
             f"seed {head.get('seed', '-')}, {len(journal.steps)} steps"]
    if journal.truncated_tail:
        notes.append("the last line was cut short (a killed writer?) and was ignored")
    end = lane.bands[-1].end if lane.bands else (lane.marks[-1].at if lane.marks else 0.0)
    return Timeline(name, end, [lane], [], origin, note, [n for n in notes if n])


def wall_text(timeline: Timeline, at: float, *, date: bool = False) -> str:
    """``at`` (seconds from the origin) as wall-clock ``HH:MM:SS`` (UTC; ``date``: with the day)
    when the timeline has an origin, else ``+H:MM:SS`` from the start."""
    if timeline.origin_unix_s is None:
        whole = int(at)
        return f"+{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    t = _dt.datetime.fromtimestamp(timeline.origin_unix_s + at, _dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


__all__ = ["journal_origin", "lane_of_outcome", "client_title", "timeline_of_journal", "timeline_of_outcomes",
           "wall_text", "world_windows"]
