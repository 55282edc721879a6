"""Naming the incident behind a log: the taxonomy, each incident with its rule.

The rules read the facts of the client the log is from (``_digest.ClientFacts``) and what shows
time passing (``_timeline.TimeEvidence``). They are tried in the order of :data:`TAXONOMY`
below; the first that holds names the log. Each returns its evidence lines (the log's own
lines, with their times) and the events the world is built around (``_worlds``).

A silence is evidence only when the log shows time passing after the last connection line:
a later line of any component, a reporter's note saying how long nothing came, or
``--until``. "No incident" is an answer (the link came back, or the log ends healthy); so is
"inconclusive" (the log stops right where the outcome would show), and "nothing to diagnose"
(no line says anything about a gateway connection).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

from ._clients import CLIENTS
from ._digest import ClientFacts, Digest, Examples
from ._events import EventKind, FailKind
from ._timeline import TimedEvent, TimeEvidence
from ._versions import RUNNING_CLEARED, Version

K = EventKind

TAXONOMY: dict[str, str] = {
    "nothing_to_diagnose": "nothing to diagnose: no line says anything about a gateway connection",
    "banned": "the bot is banned (4914/4915) and the client stops without telling its host",
    "banned_or_fatal_ignored": "a ban (4914/4915) retried for ever",
    "fatal_config_retried": "a fatal configuration close retried for ever (4010-4014, e.g. 'disallowed intents')",
    "identify_rejected_loop": "Identify rejected in a loop (op 9, 4903 'create session error')",
    "stale_resume_loop": "resumes rejected again and again (4902 'reset by resume', 4006/4007: a stale session)",
    "exhaustion_zombie": "reconnect attempts exhausted, and the host never told",
    "death_loop": "the 60-second death loop: no heartbeat on the reconnected socket",
    "reconnect_storm": "a reconnect storm: session starts in a burst",
    "ack_watchdog_false_positive": "the client's own ACK watchdog closes a link after one missed ACK",
    "reidentify_on_4009": "a new Identify after every routine 4009: the session and its messages lost every ~30 min",
    "reidentify_on_drop": "a new Identify after a resumable drop: the session and its messages lost",
    "dead_link_unnoticed": "a dead link nobody noticed: the session was up, then nothing while time passed",
    "silent_stop": "the reconnect loop stopped quietly: the process lives on, idle, never reconnecting",
    "busy_spin": "the busy spin: the reconnect loop spins at 100% CPU after a failed reconnect",
    "lost_close_code": "the lost close code: a close reported as 'WebSocket closed', code and reason gone",
    "no_incident": "no incident: the connection came back, or the log ends with it up",
    "inconclusive": "inconclusive: the log stops right where the outcome would show",
}
"""Every answer, in the order the rules are tried (busy_spin and silent_stop share one rule)."""

DEAD_LINK_SILENCE_S = 75 * 60.0
"""Up, then this long (seconds) without a line from the link: dead. A live link is closed by the
server every ~30 min (op 7 + 4009, protocol.md) and every client logs that; the longest cadence
seen is ~65 min (bot-node-sdk#94)."""
STOPPED_SILENCE_S = 10 * 60.0
"""Down, then at least this long (seconds, and 3 × the client's longest reconnect delay) with no
reconnect line: the client stopped trying."""
QUICK_DROP_S = 5.0
"""A socket dropped this soon (seconds) after it opened was refused (a hermes quick disconnect)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One evidence line: ``when`` (``line 7 (+59.000s)``), the line's ``text``, ``what`` it shows."""

    lineno: int
    when: str
    text: str
    what: str


@dataclass(frozen=True, slots=True)
class Named:
    """A rule's answer: the incident, why (``rule``), the evidence, the events the world is built
    around (``trigger``: the first one that matters; ``until``: the last), ``alternatives``:
    incidents the same lines would be under another possible version, and notes."""

    incident: str
    rule: str
    evidence: tuple[Evidence, ...]
    trigger: TimedEvent | None = None
    last: TimedEvent | None = None
    alternatives: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    silence_s: float | None = None
    also: tuple[str, ...] = ()
    """Other incidents whose rules also hold (shown as secondary findings)."""


def ev_line(te: TimedEvent, what: str) -> Evidence:
    text = te.event.text.strip()
    return Evidence(te.lineno, te.when(), text if len(text) <= 160 else text[:159] + "…", what)


def _examples(ex: Examples) -> list[Evidence]:
    out = [ev_line(te, what) for te, what in ex.items]
    return out


def silence_after(f: ClientFacts, ev: TimeEvidence) -> tuple[float, str] | None:
    """How long the log shows time passing after the client's last connection line, and what
    shows it; None when nothing does."""
    last = f.last_life
    if last is None:
        return None
    found: list[tuple[float, str]] = []
    if ev.latest_s is not None and last.t_s is not None and ev.latest_s > last.t_s \
            and (ev.latest_line > last.lineno or ev.latest_line == 0):
        what = ev.latest_what or f"line {ev.latest_line}"
        found.append((ev.latest_s - last.t_s, f"{what} is stamped {ev.latest_s - last.t_s:.0f} s later"
                      if ev.latest_line else f"--until is {ev.latest_s - last.t_s:.0f} s later"))
    if ev.silence_s is not None and ev.silence_line > last.lineno:
        found.append((ev.silence_s, f"the note on line {ev.silence_line} says {ev.silence_s:g} s of silence"))
    if ev.until_after_s is not None:
        found.append((ev.until_after_s, f"--until says the process ran on {ev.until_after_s:g} s after the last line"))
    return max(found, default=None)


Rule = Callable[[ClientFacts, TimeEvidence, Digest, Version], Optional[Named]]


def _banned(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if f.ban is None:
        return None
    e = [ev_line(f.ban, f"{f.ban.event.describe()}: the platform banned or took down the bot")]
    if f.dials_after_ban:
        return Named("banned_or_fatal_ignored", f"a 4914/4915 ban, then {f.dials_after_ban} more connection "
                     "attempt(s): the client retries a ban", tuple(e), f.ban, f.last_life)
    return Named("banned", "a 4914/4915 ban, and no connection attempt after it", tuple(e), f.ban, f.last_life)


def _fatal_config(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if not f.fatal_config.count or not f.fatal_config_retried:
        return None
    return Named("fatal_config_retried", f"{f.fatal_config.count} fatal configuration close(s) (4001, 4002, "
                 "4010-4014), each followed by another attempt", tuple(_examples(f.fatal_config)),
                 f.fatal_config.first, f.last_life)


def _identify_rejected(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if not f.identify_rejected.count or not (f.rejection_retried or f.identify_rejected.count >= 3):
        return None
    return Named("identify_rejected_loop", f"the handshake was refused {f.identify_rejected.count} time(s) and "
                 "the client tried the same again", tuple(_examples(f.identify_rejected)),
                 f.first.get(K.IDENTIFY_SENT) or f.identify_rejected.first, f.last_life)


def _stale_resume(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    rejected, same = f.resume_rejected, f.same_session_resumes
    if rejected.count >= 2 or same.count >= 1:
        ex = _examples(rejected) + _examples(same)
        return Named("stale_resume_loop", f"{rejected.count} rejected resume(s), {same.count} resume(s) of the same "
                     "session with no RESUMED between", tuple(ex), rejected.first or same.first, f.last_life)
    return None


def _exhaustion(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    info = CLIENTS.get(f.client)
    budget = info.max_attempts if info is not None and info.max_attempts else 10
    if f.gave_up is not None and (f.gave_up.event.reason or "") != "too many quick disconnects":
        e = [ev_line(f.gave_up, "the client gave up reconnecting")]
        if f.failures.count:
            e.insert(0, ev_line(f.failures.items[0][0], "the first failed attempt"))
        return Named("exhaustion_zombie", "the client logged that it gave up reconnecting", tuple(e),
                     f.last_drop or f.gave_up, f.gave_up)
    for n in d.attempt_notes:
        if n.attempts is not None and n.attempts >= budget and f.failures.count and f.last_drop is not None:
            e = [ev_line(f.failures.items[0][0], "a failed attempt"),
                 Evidence(n.lineno, f"line {n.lineno} (note)", n.text, f"{n.attempts} attempts: {info.title if info else f.client}'s"
                          f" whole budget ({budget})")]
            return Named("exhaustion_zombie", f"a note counts {n.attempts} failed attempts, the client's budget",
                         tuple(e), f.last_drop, f.last_life)
    return None


def _crashed(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if f.crashed is None:
        return None
    e = [ev_line(f.crashed, "the reconnect code raised: nothing restarts it")]
    if f.last_drop is not None and f.last_drop.lineno < f.crashed.lineno:
        e.insert(0, ev_line(f.last_drop, "the drop it was reconnecting from"))
    return Named("silent_stop", f"the reconnect path crashed ({f.crashed.event.reason})", tuple(e),
                 f.last_drop or f.crashed, f.crashed)


def _death_loop(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if not f.cycles.count:
        return None
    notes: tuple[str, ...] = ()
    if f.client == "hermes" and not set(v.candidates) & RUNNING_CLEARED:
        notes = (f"the version ({', '.join(v.candidates)}) keeps its heartbeat task alive: its model cannot "
                 "show this loop",)
    return Named("death_loop", f"{f.cycles.count} code-less drop(s) 50-100 s after a (re)connection: the "
                 "server's heartbeat timeout on a socket no heartbeat was sent on", tuple(_examples(f.cycles)),
                 f.first.get(K.WS_ERROR) or f.first.get(K.CLOSED) or f.cycles.first, f.last_life, notes=notes)


def _storm(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if f.max_burst >= 3:
        return Named("reconnect_storm", f"{f.max_burst} session starts within {1:g} s: copies of one session "
                     "started at once", tuple(_examples(f.bursts)), f.bursts.first, f.last_life)
    quick = f.counts[K.QUICK_DISCONNECT]
    if quick >= 3:
        return Named("reconnect_storm", f"{quick} quick disconnects", (), f.first.get(K.QUICK_DISCONNECT), f.last_life)
    return None


def _ack_watchdog(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if not f.ack_watchdog.count:
        return None
    one = " after a single missed ACK" if f.ack_watchdog_one_miss else ""
    return Named("ack_watchdog_false_positive", f"the client's own watchdog declared the link dead{one}: an "
                 "ACK that is merely late kills a healthy link", tuple(_examples(f.ack_watchdog)),
                 f.ack_watchdog.first, f.last_life)


def _reidentify(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if f.reidentify_4009.count:
        return Named("reidentify_on_4009", f"{f.reidentify_4009.count} routine 4009 close(s) answered by dropping "
                     "the session", tuple(_examples(f.reidentify_4009)), f.reidentify_4009.first, f.last_life)
    if f.reidentify_drop.count:
        return Named("reidentify_on_drop", f"{f.reidentify_drop.count} resumable drop(s) answered with a new "
                     "Identify", tuple(_examples(f.reidentify_drop)), f.last_drop, f.last_life)
    return None


def _lost_code(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if not f.lost_codes.count or f.coded_closes:
        return None
    return Named("lost_close_code", "every close is logged as 'WebSocket closed' with no code",
                 tuple(_examples(f.lost_codes)), f.lost_codes.first, f.last_life)


def _silences(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    ends = f.ends
    quiet = silence_after(f, ev)
    last = f.last_life
    if last is None or quiet is None:
        return None
    seconds, shown = quiet
    if ends == "up" and seconds >= DEAD_LINK_SILENCE_S:
        alive = f.last_alive or last
        return Named("dead_link_unnoticed", f"the session was up, then {seconds:.0f} s with no line from the link "
                     f"({shown}); a live link is closed and reopened every ~30 min",
                     (ev_line(alive, "the last sign of the session"),), alive, last, silence_s=seconds)
    info = CLIENTS.get(f.client)
    longest = max(info.delays_s) if info is not None and info.delays_s else 60.0
    if ends in ("down", "dialing") and seconds >= max(STOPPED_SILENCE_S, 3 * longest):
        e: tuple[Evidence, ...] = (ev_line(last, "the last connection line"),)
        if f.last_drop is not None and f.last_drop.lineno != last.lineno:
            e = (ev_line(f.last_drop, "the drop it was reconnecting from"),) + e
        rule = f"down after {last.event.kind.name}, then {seconds:.0f} s with no reconnect line ({shown})"
        if f.client != "hermes":
            return Named("silent_stop", rule, e, f.last_drop or last, last, silence_s=seconds)
        cleared = set(v.candidates) & RUNNING_CLEARED
        failure = f.failures.items[-1][0].event.fail_kind if f.failures.items else None
        # v0.14 spins only when the attempt failed before a new socket replaced the closed one
        # (token or gateway URL); a failed socket connect leaves none, and it retries (logged).
        spin = "0.14" in v.candidates and failure not in (FailKind.NETWORK_UNREACHABLE, FailKind.REJECTED)
        if cleared and spin:
            return Named("silent_stop", rule, e, f.last_drop or last, last, alternatives=("busy_spin",),
                         notes=("v0.12-v0.13 end the listen task here (silent stop, idle); v0.14 spins at 100% CPU: "
                                "the log does not say which version wrote it (--date picks one)",), silence_s=seconds)
        if spin:
            return Named("busy_spin", rule, e, f.last_drop or last, last, silence_s=seconds)
        return Named("silent_stop", rule, e, f.last_drop or last, last, silence_s=seconds)
    return None


def _benign(f: ClientFacts, ev: TimeEvidence, d: Digest, v: Version) -> Named | None:
    if f.ends == "up":
        e = [ev_line(te, what) for te, what in f.routine_resumed.items]
        if f.last_alive is not None:
            e.append(ev_line(f.last_alive, "the session is up at the end"))
        what = f"{f.drops.count} drop(s), {f.recovered} recovered; " if f.drops.count else ""
        return Named("no_incident", what + "the log ends with the session up", tuple(e), f.first_life, f.last_life)
    return None


RULES: tuple[Rule, ...] = (
    _banned, _fatal_config, _identify_rejected, _stale_resume, _exhaustion, _crashed, _death_loop, _storm,
    _ack_watchdog, _reidentify, _silences, _lost_code, _benign,
)


def name_incident(f: ClientFacts | None, ev: TimeEvidence, d: Digest, v: Version) -> Named:
    """The first rule that holds, or ``inconclusive`` / ``nothing_to_diagnose``."""
    if f is None or f.last_life is None:
        return Named("nothing_to_diagnose", "no line was understood as a connection event", ())
    for k, rule in enumerate(RULES):
        got = rule(f, ev, d, v)
        if got is not None:
            rest = (r(f, ev, d, v) for r in RULES[k + 1:] if r is not _benign)
            also = tuple(dict.fromkeys(x.incident for x in rest if x is not None and x.incident != got.incident))
            return replace(got, also=also)
    last = f.last_life
    why = (f"the log ends {f.ends} ({last.event.kind.name}, {last.when()}) and nothing after it shows time "
           "passing: whether the client came back is not in the log (--until says how long it ran on)")
    return Named("inconclusive", why, (ev_line(last, "the last connection line"),), f.last_drop or last, last)
