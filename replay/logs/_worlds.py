"""The world behind a named incident, and which model of the client to run in it.

Each incident's world is built around the log events its rule returned: times in the world are
seconds from the start of a simulated run, and the log's time 0 is placed at
:data:`LEAD_IN_S` so the client first connects cleanly (the death loop is placed differently:
see :func:`derive`). Every fault comes with the reason it is there (``why``), printed.

The model: hermes-agent's adapter (``replay.legacy``) in the version the log's wording and
dates give (``_versions``), or, when the incident needs a behaviour only some versions have,
the one that has it (said so); botpy 1.2.x (``replay.legacy`` botpy model). Any other client:
"no model of <client>", and only the core runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..world import (
    Ban, DnsOutage, Fault, HalfOpen, RefuseConnects, RejectResumes, ServerClose, ServerReconnect, WorldSpec,
)
from ._clients import CLIENTS
from ._diagnose import Named
from ._digest import ClientFacts
from ._events import EventKind, FailKind
from ._timeline import TimedEvent
from ._versions import RUNNING_CLEARED, Version

K = EventKind

LEAD_IN_S = 10.0
"""Where the log's time 0 goes in the simulated run (seconds): after the client's first READY."""
DEATH_LOOP_DROP_S = 29.0
"""The run time (seconds) of the death loop's first drop: 1 s before the hermes heartbeat task's
first wake when it starts before Hello is processed (30 s after connect; the task then finds
``_running`` false inside the 2 s reconnect window and ends for good)."""
OUTAGE_AFTER_CLOSE_S = 1.0
"""An outage behind a failed reconnect starts this long (seconds) after the close (before the
first redial, which every client delays by at least 1 s)."""
MAX_OUTAGE_S = 6 * 3600.0
"""The longest outage a derived world holds (seconds); the report says when a log's was cut."""
MIN_STALL_S = 3600.0
"""Rejections a log shows repeating go on at least this long (seconds) in the world."""

_HERMES_PREFERENCE: dict[str, tuple[str, ...]] = {
    "death_loop": ("0.13", "0.12"), "silent_stop": ("0.13", "0.12"), "busy_spin": ("0.14",),
    "reidentify_on_4009": ("0.14", "0.13", "0.12"), "lost_close_code": ("0.13", "0.12", "0.14"),
    "fatal_config_retried": ("0.14", "0.13", "0.12"),
}
"""Which hermes versions show each incident (the first in the log's candidates is run); the
others are shown by every version."""

_EXPECT: dict[str, dict[str, frozenset[str]]] = {
    "hermes": {
        "death_loop": frozenset({"death_loop"}), "busy_spin": frozenset({"spin"}),
        "silent_stop": frozenset({"silent_stop"}), "exhaustion_zombie": frozenset({"silent_stop"}),
        "dead_link_unnoticed": frozenset({"dead_link_unnoticed"}), "reconnect_storm": frozenset({"reconnect_storm"}),
        "stale_resume_loop": frozenset({"reconnect_storm"}), "identify_rejected_loop": frozenset({"reconnect_storm"}),
        "reidentify_on_4009": frozenset({"reidentify_on_4009"}), "fatal_config_retried": frozenset({"fatal_ignored"}),
        "banned": frozenset({"silent_stop"}), "banned_or_fatal_ignored": frozenset({"fatal_ignored"}),
    },
    "botpy": {
        "dead_link_unnoticed": frozenset({"dead_link_unnoticed"}), "stale_resume_loop": frozenset({"reconnect_storm"}),
        "identify_rejected_loop": frozenset({"reconnect_storm"}), "fatal_config_retried": frozenset({"fatal_ignored"}),
        "banned_or_fatal_ignored": frozenset({"fatal_ignored"}), "silent_stop": frozenset({"silent_stop"}),
        "exhaustion_zombie": frozenset({"silent_stop"}), "death_loop": frozenset({"death_loop"}),
    },
}
"""The detectors a model's run must show for each incident (``replay._detectors``)."""

_EXPECT_LOG = {"lost_close_code": "WebSocket error: WebSocket closed"}
_FROM_DROP = frozenset({"busy_spin", "silent_stop", "exhaustion_zombie", "stale_resume_loop", "reconnect_storm"})
"""Incidents whose world starts at the drop before the rule's trigger."""
"""Incidents a model reproduces by writing the log's own line (the lost code shows only in the log)."""


@dataclass(frozen=True, slots=True)
class ModelRun:
    """One model run: ``model`` (``"hermes"``/``"botpy"``), ``version``, what it must show
    (``expect``: detectors; ``expect_log``: a line its log must hold; ``expect_clean``: no
    failure detector at all), ``close_codes_visible`` (hermes), and ``why`` this version."""

    model: str
    version: str
    expect: frozenset[str]
    why: str
    expect_log: str | None = None
    expect_clean: bool = False
    close_codes_visible: bool = True
    incident: str = ""


@dataclass(frozen=True, slots=True)
class Derived:
    """A world to run (``world``, ``hours``), why each of its faults is there, and the model
    runs (empty with ``no_model`` saying why)."""

    world: WorldSpec
    hours: float
    why: tuple[str, ...]
    runs: tuple[ModelRun, ...] = ()
    no_model: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


_BASE = [0.0]
"""The log time placed at :data:`LEAD_IN_S` in the world being derived (set by ``derive``)."""


def at(te: TimedEvent | None) -> float:
    """Run time (seconds) of a log event: :data:`LEAD_IN_S` plus its time after the event the
    world is built around (the rule's trigger), so a late event of a long log is not past the run."""
    return round(LEAD_IN_S + max(0.0, (te.at_s if te is not None else _BASE[0]) - _BASE[0]), 3)


def _outage_kind(f: ClientFacts) -> tuple[type, str]:
    last = f.failures.items[-1][0] if f.failures.items else None
    kind = last.event.fail_kind if last is not None else None
    if kind is FailKind.NETWORK_UNREACHABLE:
        return RefuseConnects, "WebSocket connects refused (the failure says the host was unreachable)"
    return DnsOutage, "name resolution down, so token, gateway-URL and socket all fail (as the failure says)"


def _close(te: TimedEvent | None, why: list[str], what: str) -> ServerClose:
    code = te.event.code if te is not None and te.event.kind is K.CLOSED else None
    reason = (te.event.reason or "") if te is not None and te.event.kind is K.CLOSED else ""
    why.append(f"ServerClose(code={code}) at {at(te):g} s: {what}"
               + (f" ({te.when()})" if te is not None else ""))
    return ServerClose(at=at(te), code=code, reason=reason if code is not None else "")


def derive(named: Named, f: ClientFacts, version: Version, hermes_codes_visible: bool) -> Derived | None:
    """The world and model runs for ``named``; None for ``inconclusive`` and ``nothing_to_diagnose``."""
    inc = named.incident
    if inc in ("inconclusive", "nothing_to_diagnose"):
        return None
    why: list[str] = []
    faults: list[Fault] = []
    spec: dict[str, object] = {}
    hours = 2.0
    trig = named.trigger
    _BASE[0] = min((te.at_s for te in (trig, f.last_drop if inc in _FROM_DROP else None) if te is not None),
                   default=0.0)
    if inc == "death_loop":
        shift = DEATH_LOOP_DROP_S - (trig.at_s if trig is not None else 0.0)
        why.append(f"ServerClose(code=None) at {DEATH_LOOP_DROP_S:g} s: the log's first code-less drop "
                   f"({trig.when() if trig else 'no line'}) placed 29 s after READY, where it meets the hermes "
                   "heartbeat task's first wake; the server's 60 s heartbeat timeout drops every silent socket after it")
        faults.append(ServerClose(at=DEATH_LOOP_DROP_S, code=None))
        del shift
    elif inc in ("busy_spin", "silent_stop", "exhaustion_zombie"):
        close = _close(f.last_drop, why, "the drop the client was reconnecting from")
        faults.append(close)
        kind, said = _outage_kind(f)
        span = 0.0
        if named.last is not None and f.last_drop is not None:
            span = max(0.0, named.last.at_s - f.last_drop.at_s)
        info = CLIENTS.get(f.client)
        budget = sum((info.delays_s[min(k, len(info.delays_s) - 1)] for k in range(info.max_attempts)), 0.0) \
            if info is not None and info.delays_s and info.max_attempts else 0.0
        outage = max(span * 1.5, (named.silence_s or 0.0), budget * 1.2 if inc == "exhaustion_zombie" else 0.0, 600.0)
        if outage > MAX_OUTAGE_S:
            why.append(f"(the log's {outage:.0f} s outage is cut to {MAX_OUTAGE_S:.0f} s)")
            outage = MAX_OUTAGE_S
        start = round(close.at + OUTAGE_AFTER_CLOSE_S, 3)
        faults.append(kind(at=start, duration_s=round(outage, 3)))
        why.append(f"{kind.__name__} from {start:g} s for {outage:.0f} s: {said}; "
                   + ("as long as the silence the log shows" if named.silence_s else "the outage the log shows")
                   + ("; long enough for the client's whole reconnect budget" if inc == "exhaustion_zombie" else ""))
        hours = max(hours, (start + outage) / 3600.0 + 1.0)
    elif inc == "dead_link_unnoticed":
        t = at(named.trigger) + 1.0
        faults.append(HalfOpen(at=t))
        why.append(f"HalfOpen at {t:g} s: the link dies silently just after the last sign of the session "
                   f"({named.trigger.when() if named.trigger else ''}); nothing closes it")
    elif inc == "lost_close_code":
        faults.append(ServerClose(at=at(trig), code=4009, reason="Session timed out"))
        why.append(f"ServerClose(4009, 'Session timed out') at {at(trig):g} s: the routine close, whose code the "
                   "client's line lost")
    elif inc == "reconnect_storm":
        faults.append(_close(f.last_drop or trig, why, "a drop"))
        spec["session_conflict_s"] = 5.0
        why.append("session_conflict_s = 5: a session started within 5 s of the last drop is refused (copies of one "
                   "session started together conflict)")
    elif inc == "stale_resume_loop":
        code = next((te.event.code for te, _ in f.resume_rejected.items if te.event.code is not None), None)
        close = _close(f.last_drop if f.last_drop is not None and trig is not None
                       and f.last_drop.lineno <= trig.lineno else trig, why, "the drop before the first rejected resume")
        faults.append(close)
        faults.append(RejectResumes(at=close.at, duration_s=MIN_STALL_S, code=code))
        why.append(f"RejectResumes(code={code}) from {close.at:g} s for {MIN_STALL_S:.0f} s: every Resume of the old "
                   "session is closed at once, as the log shows")
    elif inc in ("reidentify_on_4009",):
        faults.append(ServerReconnect(at=at(trig)))
        why.append(f"ServerReconnect (op 7 + 4009) at {at(trig):g} s, then the server's own ~30-minute cycle")
    elif inc == "reidentify_on_drop":
        faults.append(_close(trig, why, "the drop the client answered with a new Identify"))
    elif inc in ("identify_rejected_loop", "fatal_config_retried", "banned", "banned_or_fatal_ignored"):
        source = f.ban if inc.startswith("banned") else (named.evidence and trig)
        code = _rejection_code(named, f)
        reason = {4014: "disallowed intents", 4903: "create session error", 4915: "bot banned",
                  4914: "offline/sandbox-only", 4013: "invalid intent"}.get(code, "rejected")
        t = at(source if isinstance(source, TimedEvent) else trig)
        faults.append(Ban(at=t, code=code, reason=reason))
        why.append(f"Ban(code={code}, {reason!r}) from {t:g} s: the live connection and every later Identify or "
                   "Resume are closed with that code, as the log shows")
    elif inc == "ack_watchdog_false_positive":
        spec["ack_loss_probability"] = 0.05
        why.append("ack_loss_probability = 0.05: now and then an op 11 ACK does not come, while dispatches still do")
    elif inc == "no_incident":
        drops = [te for te, _ in f.drops.items]
        if f.last_drop is not None and f.last_drop not in drops:
            drops.append(f.last_drop)
        for te in drops:
            faults.append(_close(te, why, "a drop the log shows, which the client recovered from"))
        if f.counts[K.RECONNECT_REQUESTED]:
            op7 = f.first[K.RECONNECT_REQUESTED]
            faults.append(ServerReconnect(at=at(op7)))
            why.append(f"ServerReconnect at {at(op7):g} s: the op 7 of {op7.when()}")
        if not f.routine_resumed.count and not f.counts[K.RECONNECT_REQUESTED]:
            spec["session_cycle_s"] = None
            why.append("no op 7 + 4009 cycle: the log shows none")
    if not why:
        why.append("no fault")
    last_fault = max((x.at + (x.duration_s or 0.0) if isinstance(x, (DnsOutage, RefuseConnects, RejectResumes))
                      else x.at for x in faults), default=0.0)
    hours = max(hours, last_fault / 3600.0 + 1.0)
    world = WorldSpec(faults=tuple(sorted(faults, key=lambda x: x.at)), **spec)  # type: ignore[arg-type]
    runs, no_model = _model_runs(inc, named, f, version, hermes_codes_visible)
    return Derived(world, hours, tuple(why), runs, no_model)


def _rejection_code(named: Named, f: ClientFacts) -> int:
    for te in (f.ban, *(te for te, _ in f.fatal_config.items), *(te for te, _ in f.identify_rejected.items)):
        if te is not None and te.event.code is not None:
            return te.event.code
    return {"banned": 4915, "banned_or_fatal_ignored": 4915, "fatal_config_retried": 4014}.get(named.incident, 4903)


def _model_runs(inc: str, named: Named, f: ClientFacts, version: Version,
                codes_visible: bool) -> tuple[tuple[ModelRun, ...], str]:
    info = CLIENTS.get(f.client)
    title = info.title if info is not None else f.client
    if info is None or info.model is None:
        return (), f"no model of {title}"
    if info.model == "botpy":
        if "1.2" not in version.candidates:
            return (), f"no model of botpy before 1.2 ({version.why}); the model is of botpy 1.2.1"
        why = version.why if version.known else f"{version.why}: the model of botpy 1.2.1 is run"
        return (_run("botpy", "1.2.1", inc, why),), ""
    cands = [c for c in version.candidates]
    runs = []
    if inc == "silent_stop" and "busy_spin" in named.alternatives:
        runs.append(_run("hermes", "0.13", "silent_stop", "v0.12-v0.13 behaviour (running cleared)", codes_visible))
        runs.append(_run("hermes", "0.14", "busy_spin", "v0.14 behaviour (transport only)", codes_visible))
        return tuple(runs), ""
    prefer = _HERMES_PREFERENCE.get(inc)
    chosen = next((v for v in prefer or ("0.13", "0.14", "fixed", "0.12") if v in cands), None)
    if chosen is None:
        chosen = cands[0]
        why = f"{version.why}; {version_label(chosen)} (the log's version) does not show this incident"
    elif version.known:
        why = version.why
    elif prefer is None:
        why = f"{version.why}; every version shows this incident: {version_label(chosen)} is run"
    else:
        why = f"{version.why}; this incident needs {version_label(chosen)}'s behaviour"
    if chosen in RUNNING_CLEARED and chosen == "0.12":
        why += " (modelled as v0.13: the same code)"
    return (_run("hermes", chosen, inc, why, codes_visible),), ""


def version_label(version: str) -> str:
    """``v0.13``; ``the post-2026-06 version`` for ``fixed``."""
    return "the post-2026-06 version" if version == "fixed" else f"v{version}"


def _run(model: str, version: str, inc: str, why: str, codes_visible: bool = True) -> ModelRun:
    expect = _EXPECT.get(model, {}).get(inc, frozenset())
    return ModelRun(model, version, expect, why, expect_log=_EXPECT_LOG.get(inc),
                    expect_clean=inc == "no_incident", close_codes_visible=codes_visible, incident=inc)
