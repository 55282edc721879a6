"""Naming the incident behind a log and deriving the world (a WorldSpec) that reproduces it.

The rules read the timeline the way incidents.md reads its excerpts ("a silence is evidence
too"). They are tried in this order and the first that holds names the log; each rule's
docstring gives its test and the world it derives:

``banned`` → ``exhaustion-zombie`` (incident 3) → ``half-open`` with an explicit final silence
(incidents 4, 8) → ``death-loop`` (incident 1) → ``reconnect-storm`` (incidents 6, 7) →
``busy-spin`` (incident 2) → ``half-open`` without one → ``invalid-session`` →
``lost-close-code`` (incident 5) → ``session-cycle`` → ``unknown``.

The scenario names and titles are those of ``replay.SCENARIOS``. Fault times in the derived world are
seconds from the start of the run; the log's first event is placed at :data:`LEAD_IN_S` so the
client first connects cleanly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeAlias

from .._scenarios import SCENARIOS
from ..world import (
    Ban, DnsOutage, Fault, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes,
    ServerClose, ServerReconnect, WorldSpec, schedule_end_s,
)
from ._parse import EventKind, FailKind
from ._timeline import (
    DROPS, NOT_LIFECYCLE, TimedEvent, Timeline, heartbeat_timeouts, lost_closes, repeated_resumes,
    vanished_sockets,
)

K = EventKind

LEAD_IN_S = 10.0
"""Where the log's first event goes in the simulated run (seconds): long enough for the
client's first connect, Identify and READY (well under 1 s in the simulator)."""

DEATH_LOOP_TRIGGER_AT_S = 29.0
"""The death loop's drop (seconds from the run start). The legacy heartbeat task first wakes
30 s after the first connect (incidents.md: it sleeps 30 s before any Hello); a drop 1 s
earlier puts that wake inside the ~2 s reconnect window, so the task finds ``running`` false
and ends for good (v0.13: "about one routine drop in ten starts it")."""

HEARTBEAT_TIMEOUT_WINDOW_S = (55.0, 65.0)
"""A code-less close this long after ``Reconnected`` is the server's ~60 s heartbeat timeout."""

QUICK_DROP_S = 5.0
"""A socket that dies this soon after ``Reconnected`` (seconds) was accepted and dropped."""

OUTAGE_AFTER_CLOSE_S = 1.0
"""An outage starts this long after the close (seconds): after it, before the first redial
(the legacy adapter waits 2 s before attempt 1)."""

BUSY_SPIN_OUTAGE_S = 3600.0
"""DNS outage length when the log does not say how long the silence lasted (seconds)."""

ZOMBIE_MIN_OUTAGE_S = 7200.0
"""Refused connects last at least this long (seconds): 100 legacy attempts take ≈ 97 min."""

STORM_REJECT_S = 10800.0
"""Resumes are rejected at least this long (seconds): incident 7 went on "for hours"."""

SESSION_CONFLICT_S = 10.0
"""``session_conflict_s`` when the log mentions a session conflict (incident 6)."""

RUN_TAIL_S = 3600.0
"""The suggested run goes on this long (seconds) after the last fault ends: past the 30 min
of silence after which a stopped client counts as a silent stop."""

TITLES = {**{name: s.cited_title for name, s in SCENARIOS.items()}, "unknown": "no known incident pattern"}
"""The title of each incident a diagnosis can name: the scenario's, with its reference."""
STORM_TITLE = "the reconnect storm (incident 6)"
STALE_RESUME_TITLE = "the stale-session resume loop (incident 7)"
"""The two halves of the ``reconnect-storm`` scenario, which a log tells apart."""
LONG_SILENCE_TITLE = "the long silence after a resume (incident 8: a half-open link)"
"""A ``half-open`` log whose link died after a resume or behind token refreshes."""

_UP = frozenset({K.CONNECTED, K.RECONNECTED, K.READY, K.RESUMED, K.RESUME_SENT, K.IDENTIFY_SENT})
_STOPPED = DROPS | {K.SESSION_ERROR, K.QUICK_DISCONNECT, K.RATE_LIMITED, K.INVALID_TOKEN}
_REDIAL = frozenset({K.RECONNECTING, K.RECONNECT_FAILED, K.RECONNECTED, K.CONNECTED})


@dataclass(slots=True)
class Diagnosis:
    """What a log shows and the world to re-run it in.

    - ``incident``: a scenario name (see the module docstring), ``title`` in words.
    - ``evidence``: sentences quoting line numbers.
    - ``legacy_version``: ``"0.13"`` or ``"0.14"``, the legacy adapter the log fits.
    - ``legacy_heartbeat_alive``: False when a code-less close came 55-65 s after a
      ``Reconnected`` (the heartbeat task had already ended: incident 1).
    - ``legacy_close_codes_visible``: False when closes show up as ``WebSocket error:
      WebSocket closed`` and no close with a code is logged (incident 5).
    - ``world``: the derived WorldSpec; ``run_for_s``: a run length (seconds) that covers its
      faults plus :data:`RUN_TAIL_S`.
    """

    incident: str
    title: str
    evidence: list[str] = field(default_factory=list)
    legacy_version: str = "0.14"
    legacy_heartbeat_alive: bool = True
    legacy_close_codes_visible: bool = True
    world: WorldSpec = field(default_factory=WorldSpec)
    run_for_s: float = RUN_TAIL_S


def diagnose(tl: Timeline) -> Diagnosis:
    """Name the incident in ``tl`` and derive its world (rules in the module docstring)."""
    f = _Facts(tl)
    incident, title, faults, conflict = _name(f)
    d = Diagnosis(incident=incident, title=title, evidence=f.evidence)
    d.legacy_heartbeat_alive = not f.hb_dead
    d.legacy_close_codes_visible = f.codes_visible
    d.legacy_version = _version(f, incident)
    d.world = WorldSpec(faults=tuple(faults), session_conflict_s=SESSION_CONFLICT_S if conflict else 0.0)
    d.run_for_s = round(max(LEAD_IN_S + tl.span_s, schedule_end_s(faults)) + RUN_TAIL_S, 3)
    if not tl.events:
        d.evidence.append("no readable log line: nothing to diagnose")
    return d


class _Facts:
    """What the rules look at, computed once from the timeline; collects the evidence."""

    def __init__(self, tl: Timeline) -> None:
        self.tl, self.evs = tl, tl.events
        self.evidence: list[str] = []
        life = [te for te in self.evs if te.kind not in NOT_LIFECYCLE]
        self.last_life = life[-1] if life else None
        relevant = [te for te in self.evs if te.kind not in NOT_LIFECYCLE or te.kind is K.SENDING_RESPONSE]
        self.last_relevant = relevant[-1] if relevant else None
        self.pos = {te.lineno: i for i, te in enumerate(self.evs)}
        silent = [x.elision.lineno for x in tl.elisions if x.after == len(self.evs) - 1 and x.elision.silence]
        self.silence_line = silent[-1] if silent and self.evs else None
        self.hb_dead = heartbeat_timeouts(tl, HEARTBEAT_TIMEOUT_WINDOW_S)
        self.codes_visible = not (lost_closes(tl) and not any(
            te.kind is K.CLOSED and te.event.code is not None for te in self.evs))

    def after(self, te: TimedEvent) -> list[TimedEvent]:
        """The events after ``te``."""
        return self.evs[self.pos[te.lineno] + 1:]

    def note(self, sentence: str) -> None:
        self.evidence.append(sentence)


def _at(te: TimedEvent | None) -> float:
    """The run time (seconds) of a log event: :data:`LEAD_IN_S` plus its log time."""
    return round(LEAD_IN_S + (te.t_s if te is not None else 0.0), 3)


def _when(te: TimedEvent) -> str:
    return f"line {te.lineno} ({'~' if te.inferred else ''}+{te.t_s:.3f}s)"


_Named: TypeAlias = Optional[tuple[str, str, list[Fault], bool]]
"""(incident, title, faults, session conflict?) or None when the rule does not hold."""


def _name(f: _Facts) -> tuple[str, str, list[Fault], bool]:
    """The first rule that holds; else ``unknown``, whose world replays the drops the log shows."""
    rules: tuple[Callable[[_Facts], _Named], ...] = (
        _banned, _zombie, lambda f: _half_open(f, strong=True), _death_loop, _storm, _busy_spin,
        lambda f: _half_open(f, strong=False), _invalid_session, _lost_close_code, _session_cycle)
    for rule in rules:
        if (got := rule(f)) is not None:
            return got
    f.note("no rule matched: the world replays the drops the log shows")
    faults: list[Fault] = []
    for te in [te for te in f.evs if te.kind in DROPS][:50]:
        closed = te.kind is K.CLOSED
        faults.append(ServerClose(at=_at(te), code=te.event.code if closed else None,
                                  reason=(te.event.reason or "") if closed else ""))
    return "unknown", TITLES["unknown"], faults, False


def _banned(f: _Facts) -> _Named:
    """``Bot is banned`` or a 4914/4915 close. World: a Ban with that code (4915 if none shows)."""
    coded = [te for te in f.evs if te.kind is K.CLOSED and te.event.code in (4914, 4915)]
    banned = next((te for te in f.evs if te.kind is K.BANNED), None)
    hit = min([te for te in (banned, coded[0] if coded else None) if te is not None],
              key=lambda te: f.pos[te.lineno], default=None)
    if hit is None:
        return None
    code = (coded[0].event.code if coded else None) or 4915
    f.note(f"{_when(hit)}: {hit.event.message!r}: the platform banned the bot (close {code}); "
           "the legacy adapter stops without telling the host")
    return "banned", TITLES["banned"], [Ban(at=_at(hit), code=code)], False


def _zombie(f: _Facts) -> _Named:
    """The loop gave up (incident 3). World: the last drop, then WebSocket connects refused
    (REST still works, so no busy spin) for the silence rounded up to whole hours, at least
    :data:`ZOMBIE_MIN_OUTAGE_S`: long enough for the legacy adapter's 100 attempts."""
    maxed = next((te for te in f.evs if te.kind is K.MAX_ATTEMPTS), None)
    last = f.last_life
    if maxed is not None:
        f.note(f"{_when(maxed)}: 'Max reconnect attempts reached': the v0.14 loop gave up after 100 "
               "attempts and returned without telling the host")
    elif last is not None and last.kind in _STOPPED and f.silence_line is not None:
        f.note(f"{_when(last)}: {last.event.describe()} is the last connection line, then the silence "
               f"of line {f.silence_line}: no reconnect is logged, the loop gave up or died")
    else:
        return None
    drops = [te for te in f.evs if te.kind in DROPS and (maxed is None or te.t_s <= maxed.t_s)]
    outage = ZOMBIE_MIN_OUTAGE_S
    if f.tl.silence_s is not None:
        outage = max(outage, math.ceil(f.tl.silence_s / 3600.0) * 3600.0)
        f.note(f"the silence lasted {f.tl.silence_s:g}s or more: connects are refused for {outage:g}s "
               "(100 legacy attempts take about 97 minutes)")
    faults = _close_then(drops[-1] if drops else None, outage, FailKind.NETWORK_UNREACHABLE)
    return "exhaustion-zombie", TITLES["exhaustion-zombie"], faults, False


def _close_then(close: TimedEvent | None, outage_s: float, kind: FailKind) -> list[Fault]:
    """A close like ``close`` (None: a code-less drop at the lead-in), then, from
    :data:`OUTAGE_AFTER_CLOSE_S` later, refused connects (``network_unreachable``) or a DNS
    outage (anything else: token and gateway-URL fetches fail) for ``outage_s`` seconds."""
    closed = close is not None and close.kind is K.CLOSED
    code = close.event.code if close is not None and closed else None
    reason = (close.event.reason or "") if close is not None and closed else ""
    at = _at(close)
    start = round(at + OUTAGE_AFTER_CLOSE_S, 3)
    outage: Fault = (RefuseConnects(at=start, duration_s=outage_s) if kind is FailKind.NETWORK_UNREACHABLE
                     else DnsOutage(at=start, duration_s=outage_s))
    return [ServerClose(at=at, code=code, reason=reason), outage]


def _half_open(f: _Facts, strong: bool) -> _Named:
    """The link was up and then nothing (incidents 4, 8). Strong: an explicit silence follows;
    weak: the last line is a sent response, or only token refreshes follow. World: a HalfOpen
    at the last connection line (the response, the resume)."""
    last = f.last_relevant
    if last is None or (f.last_life is not None and f.last_life.kind not in _UP):
        return None
    tail = f.after(last)
    if strong and f.silence_line is not None:
        f.note(f"{_when(last)}: {last.event.describe()}, then the silence of line {f.silence_line}: "
               "no close, no error, no reconnect: a dead link nobody noticed")
    elif strong or any(te.kind in (K.NOT_CONNECTED_WAIT, K.STILL_NOT_CONNECTED) for te in tail):
        return None  # (weak) the adapter knew it was down: not a link nobody noticed
    elif last.kind is K.SENDING_RESPONSE and f.tl.ends_in_silence:
        f.note(f"{_when(last)}: a response was sent and nothing was logged after it: "
               "no error, no reconnect (the link was already dead)")
    elif any(te.kind is K.TOKEN_REFRESHED for te in tail):
        f.note(f"{_when(last)}: {last.event.describe()}, then only 'Access token refreshed' "
               f"(lines {tail[0].lineno}-{tail[-1].lineno}): the link died silently")
    else:
        return None
    long_silence = last.kind is K.RESUMED or any(te.kind is K.TOKEN_REFRESHED for te in tail)
    title = LONG_SILENCE_TITLE if long_silence else TITLES["half-open"]
    return "half-open", title, [HalfOpen(at=_at(last))], False


def _death_loop(f: _Facts) -> _Named:
    """A code-less drop 55-65 s after a ``Reconnected``, then a redial or "repeats" (incident
    1). World: one code-less drop at :data:`DEATH_LOOP_TRIGGER_AT_S`; the server's heartbeat
    timeout (WorldSpec default 60 s) drops every silent socket after it."""
    if not f.hb_dead:
        return None
    up, drop, dt = f.hb_dead[0]
    if not (f.tl.repeats or len(f.hb_dead) >= 2 or any(te.kind in _REDIAL for te in f.after(drop))):
        return None
    f.note(f"{_when(drop)}: {drop.event.describe()} {dt:g}s after the Reconnected of line {up.lineno}: "
           "the server's ~60 s heartbeat timeout: no heartbeat task ran on the new socket")
    if len(f.hb_dead) > 1:
        f.note(f"{len(f.hb_dead)} such ~60 s cycles in the log")
    if f.tl.repeats:
        f.note("an elision says the cycle repeats")
    f.note(f"world: one code-less drop at {DEATH_LOOP_TRIGGER_AT_S:g}s (inside the legacy heartbeat's "
           "first wake); the server's 60 s heartbeat timeout does the rest")
    return "death-loop", TITLES["death-loop"], [ServerClose(at=DEATH_LOOP_TRIGGER_AT_S, code=None)], False


def _storm(f: _Facts) -> _Named:
    """Resumes of a stale session, sockets dropped at once, or a session conflict (incidents 6,
    7). World: a code-less drop at the first drop (or the first line), then every Resume is
    answered by an immediate close for :data:`STORM_REJECT_S` or longer (Identify still works),
    with ``session_conflict_s`` when the log names a conflict."""
    stale = repeated_resumes(f.tl)
    vanished = vanished_sockets(f.tl, QUICK_DROP_S)
    conflict = [te for te in f.evs if "conflict" in te.event.message.lower()]
    ends_failed = f.last_life is not None and f.last_life.kind is K.RECONNECT_FAILED
    if not (stale or conflict or len(vanished) >= 2 or (vanished and ends_failed)):
        return None
    for prev, te in stale[:5]:
        f.note(f"{_when(te)}: Resume sent again for session {te.event.session_id} (seq {prev.event.seq} "
               f"→ {te.event.seq}) with no 'Session resumed' since line {prev.lineno}")
    for up, nxt in vanished[:5]:
        f.note(f"{_when(up)}: Reconnected, and its socket was gone before any Ready / Session resumed: "
               f"next connection line {_when(nxt)}: {nxt.event.describe()}")
    for te in conflict[:5]:
        f.note(f"{_when(te)}: {te.event.message!r}: a session conflict")
    f.note("the server accepts the socket and drops the session at once; the legacy adapter counts "
           "the socket upgrade as success and redials every 2 s, never backing off")
    title = STALE_RESUME_TITLE if stale or (vanished and ends_failed) else STORM_TITLE
    start = _at(next((te for te in f.evs if te.kind in DROPS), f.evs[0]))
    duration = max(STORM_REJECT_S, f.tl.span_s + (f.tl.silence_s or 0.0))
    faults: list[Fault] = [ServerClose(at=start, code=None),
                           RejectResumes(at=start, duration_s=duration, code=None)]
    return "reconnect-storm", title, faults, bool(conflict)


def _busy_spin(f: _Facts) -> _Named:
    """The log ends right after ``Reconnect failed`` (incident 2). World: the last drop, then
    a DNS outage (refused connects for ``network_unreachable``) lasting the silence
    (:data:`BUSY_SPIN_OUTAGE_S` when the log does not say), counted from the failure."""
    last = f.last_life
    if last is None or last.kind is not K.RECONNECT_FAILED or not f.tl.ends_in_silence:
        return None
    drops = [te for te in f.evs if te.kind in DROPS and te.t_s <= last.t_s]
    close = drops[-1] if drops else None
    f.note(f"{_when(last)}: {last.event.describe()} is the last connection line; nothing after it "
           "(v0.14: the loop goes round a closed socket with no await: 100% CPU, no log line)")
    if close is not None:
        f.note(f"{_when(close)}: {close.event.describe()} started it")
    outage = f.tl.silence_s if f.tl.silence_s is not None else BUSY_SPIN_OUTAGE_S
    f.note(f"the outage lasts {outage:g}s after the failure "
           f"({'the silence in the log' if f.tl.silence_s is not None else 'silence length unknown'})")
    lead = max(0.0, last.t_s - (close.t_s if close is not None else 0.0) - OUTAGE_AFTER_CLOSE_S)
    faults = _close_then(close, outage + lead, last.event.fail_kind or FailKind.OTHER)
    return "busy-spin", TITLES["busy-spin"], faults, False


def _invalid_session(f: _Facts) -> _Named:
    """A 4006/4007/4900-4913 close or session error. World: the server forgets every session
    and drops the link at that time, so the next Resume gets op 9 and 4006."""
    hit = next((te for te in f.evs if te.kind in (K.CLOSED, K.SESSION_ERROR) and te.event.code is not None
                and (te.event.code in (4006, 4007) or 4900 <= te.event.code <= 4913)), None)
    if hit is None:
        return None
    f.note(f"{_when(hit)}: {hit.event.describe()}: the server rejected the session; identify again")
    faults: list[Fault] = [InvalidateSessions(at=_at(hit)), ServerClose(at=_at(hit), code=None)]
    return "invalid-session", TITLES["invalid-session"], faults, False


def _lost_close_code(f: _Facts) -> _Named:
    """``WebSocket error: WebSocket closed`` and no coded close anywhere (incident 5). World: a
    4009 "Session timed out" at that time, the routine close that the legacy adapter cannot
    tell from a network error (the ``lost-close-code`` scenario shows the fatal-code case)."""
    lost = lost_closes(f.tl)
    if not lost or f.codes_visible:
        return None
    hit = lost[0]
    f.note(f"{_when(hit)}: 'WebSocket error: WebSocket closed': the close became RuntimeError('WebSocket "
           "closed'), code and reason lost; no line in the log shows a close code")
    faults: list[Fault] = [ServerClose(at=_at(hit), code=4009, reason="Session timed out")]
    return "lost-close-code", TITLES["lost-close-code"], faults, False


def _session_cycle(f: _Facts) -> _Named:
    """A 4009 close or session error: the routine cycle. World: op 7 + 4009 at that time."""
    hit = next((te for te in f.evs if te.event.code == 4009 and te.kind in (K.CLOSED, K.SESSION_ERROR)), None)
    if hit is None:
        return None
    f.note(f"{_when(hit)}: {hit.event.describe()}: the routine ~30-minute session cycle (op 7 + 4009)")
    return "session-cycle", TITLES["session-cycle"], [ServerReconnect(at=_at(hit))], False


def _version(f: _Facts, incident: str) -> str:
    """``"0.13"`` or ``"0.14"`` (incidents.md, "How the legacy adapter behaves"): 0.14 for
    ``Max reconnect attempts reached``, the busy spin, the exhaustion zombie, or a loop that went
    on after a failed fetch; 0.13 for the death loop and the stale resume; else 0.14."""
    if any(te.kind is K.MAX_ATTEMPTS for te in f.evs):
        f.note("legacy v0.14: only v0.14 keeps the loop alive for 100 attempts")
        return "0.14"
    if incident in ("busy-spin", "exhaustion-zombie"):
        f.note(f"legacy v0.14: the {incident} is v0.14 behaviour (v0.13 stops at the first failed reconnect)")
        return "0.14"
    last_redial = max((i for i, te in enumerate(f.evs) if te.kind is K.RECONNECTING), default=-1)
    for te in f.evs[:max(0, last_redial)]:
        if te.kind is K.RECONNECT_FAILED and te.event.fail_kind in (FailKind.DNS, FailKind.GATEWAY_URL):
            f.note(f"legacy v0.14: the loop went on after the failed fetch of {_when(te)} (v0.13 would stop)")
            return "0.14"
    if incident in ("death-loop", "reconnect-storm") or f.hb_dead:
        why = ("issue #22179's stale resume loop is v0.13" if incident == "reconnect-storm"
               else "only v0.13 lets the heartbeat task die in the reconnect window")
        f.note("legacy v0.13: " + why)
        return "0.13"
    f.note("legacy v0.14 (the latest): nothing in the log tells the versions apart")
    return "0.14"
