"""The swarm soak: many seeds, each a random world of faults, the core checked after every step.

For each seed (TigerBeetle's VOPR, FoundationDB's simulator): draw the world's span (up to
``hours`` hours), its server parameters (resume window, session age limit, how an expired
resume and a code-less drop look) and fault rates, then a fault schedule (server closes of
every close-code class and every code-less style, op 7, session invalidation (op 9), expired
sessions, half-open links, DNS outages, wrong TLS certificates, refused and stalled connects,
connections with no Hello or no READY, rejected resumes, a spent identify budget, intents
withdrawn, lost and late ACKs, duplicate dispatches, late timer ticks); run the core with
invariants checked after every step, then a liveness phase: the faults stop and the core must
be READY within ``LIVENESS_BOUND_S``. Reported per seed: invariant breaks, liveness, messages
lost (the server model's judgement, ``MessageFates``: a message of a session the core gave up
while the server could still resume it, or of the session it holds, never delivered) and
delivered twice. A seed's whole world comes from the seed and ``hours``, so a failure replays
exactly with ``qqgate soak --first-seed S --seeds 1 --hours H``.

Not drawn: ``RejectTokens`` (the core keeps a revoked token for ``GET /gateway/bot`` until its
next scheduled refresh, which can be up to two hours: a liveness question for the core, not a
loss; the fault matrix plays it).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from qqgate import core

from .. import established_intervals
from ..world import (
    Ban, ClientModel, CoreClient, DisallowIntents, DnsOutage, ExpireSessions, Fault, FatalNoted, HalfOpen,
    InvalidateSessions, NoHello, NoReady, RateLimitIdentify, RefuseConnects, RejectResumes, RunResult,
    DropStyle, ServerClose, ServerReconnect, Simulation, StallConnects, StatusNoted, WorldSpec,
    WrongCertificate, schedule_end_s,
)

LIVENESS_BOUND_S = 300.0
"""After the last fault ends, the core must be READY within this many seconds.

Derivation (default Config): a zombie still to detect (≤ 2 × 41.25 s) + a backoff wait
(≤ backoff_cap_s = 60 s) + a failed attempt's timeouts (≤ 15 s connect/request + 15 s Hello
+ 30 s ready) + one more backoff (≤ 60 s) + the resume→identify fallback ≈ 280 s.
"""
LIVENESS_TAIL_S = 900.0
"""How long the world runs calm after the faults, to observe liveness."""

NO_STATUS = 1005
"""Close code that no peer sends: it stands for "no status code" (RFC 6455 §7.4.1)."""
UNKNOWN_CODE = 12345
"""A close code that is in no table: the core must treat it like a network loss."""
INTERNAL_ERROR_SAMPLE = frozenset({4900, 4903, 4906, 4913})
"""The internal-error codes the soak sends. 4900-4913 share one rule in core.CLOSE_CODES; this
sample (both ends, 4903 "create session error" of protocol.md, 4906) keeps the fourteen of them
from outnumbering every other class in the draw."""


def _close_codes() -> tuple[tuple[int | None, ...], tuple[int, ...]]:
    """(the closes a server sends in the soak, the fatal codes), both from core.CLOSE_CODES.

    The first: no close frame at all (None), every non-fatal code of the table a server sends
    (the internal-error range sampled, see INTERNAL_ERROR_SAMPLE), and UNKNOWN_CODE. The
    second: every code whose rule is FATAL. Both in the table's order, so a seed's world is
    the same as long as the table is.
    """
    internal = core.CLOSE_CODES[4900]
    closes: list[int | None] = [None]
    fatal: list[int] = []
    for code, rule in core.CLOSE_CODES.items():
        if rule.action is core.CloseAction.FATAL:
            fatal.append(code)
        elif code != NO_STATUS and (rule != internal or code in INTERNAL_ERROR_SAMPLE):
            closes.append(code)
    return (*closes, UNKNOWN_CODE), tuple(fatal)


_CLOSE_CODES, _FATAL_CODES = _close_codes()


@dataclass
class SeedReport:
    """What one seed's run showed."""

    seed: int
    hours: float
    steps: int
    faults: int
    invariant_breaks: list[str] = field(default_factory=list)
    liveness_s: float | None = None
    """Seconds from the end of the faults to READY (None: not READY within the tail)."""
    stopped_fatal: int | None = None
    """A fatal close code the core stopped on (a correct outcome), if any."""
    lost: list[str] = field(default_factory=list)
    """Messages the core lost (``RunResult.lost_ids``)."""
    abandoned: int = 0
    """Messages of sessions the server ended before the core gave them up (lost by the protocol)."""
    pending: int = 0
    """Messages still replayable when the run ended (in flight, or the core reconnecting)."""
    pushed: int = 0
    delivered: int = 0
    """Distinct messages the core delivered."""
    duplicates: int = 0
    spin: bool = False

    @property
    def ok(self) -> bool:
        live = self.stopped_fatal is not None or (self.liveness_s is not None and self.liveness_s <= LIVENESS_BOUND_S)
        return not self.invariant_breaks and live and not self.lost and not self.duplicates and not self.spin

    def problems(self) -> list[str]:
        out = list(self.invariant_breaks[:3])
        if self.spin:
            out.append("spin")
        if self.stopped_fatal is None and (self.liveness_s is None or self.liveness_s > LIVENESS_BOUND_S):
            out.append(f"not READY within {LIVENESS_BOUND_S:.0f} s after the faults ended "
                       f"({'never' if self.liveness_s is None else f'{self.liveness_s:.0f} s'})")
        if self.lost:
            out.append(f"{len(self.lost)} messages lost (first {self.lost[0]})")
        if self.duplicates:
            out.append(f"{self.duplicates} messages delivered twice")
        return out


def world_hours(seed: int, hours: float) -> float:
    """The span ``qqgate soak --hours H`` gives ``seed``'s world (hours): U(min(1, H), H), so
    ``--hours 48`` soaks worlds of up to 48 hours, long enough for sessions past any age cap."""
    return random.Random(f"qqgate-soak-span-{seed}").uniform(min(1.0, hours), hours)


def draw_world(seed: int, hours: float) -> WorldSpec:
    """The random world of ``seed`` over ``hours`` hours: server parameters and fault rates drawn
    first, then a fault schedule."""
    rng = random.Random(f"qqgate-soak-{seed}")
    span = hours * 3600.0
    rate = {  # mean faults per hour, per kind
        "close": rng.uniform(0, 6), "reconnect": rng.uniform(0, 2), "invalidate": rng.uniform(0, 0.5),
        "half_open": rng.uniform(0, 1.5), "dns": rng.uniform(0, 0.5), "refuse": rng.uniform(0, 0.5),
        "stall": rng.uniform(0, 0.5), "reject_resumes": rng.uniform(0, 0.3),
    }
    rare = {  # later additions, drawn from their own stream so the older draws above stay put
        "expire": 0.0, "tls": 0.0, "no_hello": 0.0, "no_ready": 0.0, "identify_budget": 0.0, "intents": 0.0,
    }
    extra = random.Random(f"qqgate-soak-extra-{seed}")
    for name in rare:
        rare[name] = extra.uniform(0, 0.3)
    fatal = rng.random() < 0.05
    faults: list[Fault] = []

    def times(per_hour: float) -> list[float]:
        out: list[float] = []
        t = 0.0
        while per_hour > 0:
            t += rng.expovariate(per_hour / 3600.0)
            if t >= span:
                return out
            out.append(t)
        return out

    def window(at: float, longest: float) -> float:
        return min(rng.uniform(5.0, longest), span - at)

    faults += [ServerClose(t, rng.choice(_CLOSE_CODES), "soak") for t in times(rate["close"])]
    faults += [ServerReconnect(t) for t in times(rate["reconnect"])]
    faults += [InvalidateSessions(t) for t in times(rate["invalidate"])]
    faults += [HalfOpen(t) for t in times(rate["half_open"])]
    faults += [DnsOutage(t, window(t, 1800)) for t in times(rate["dns"])]
    faults += [RefuseConnects(t, window(t, 1800)) for t in times(rate["refuse"])]
    faults += [StallConnects(t, window(t, 600)) for t in times(rate["stall"])]
    faults += [RejectResumes(t, window(t, 900), rng.choice((None, 4006, 4902))) for t in times(rate["reject_resumes"])]
    styles: tuple[DropStyle, ...] = ("fin", "empty", "reset")
    faults = [dataclasses.replace(f, drop_style=extra.choice(styles)) if isinstance(f, ServerClose) and f.code is None
              else f for f in faults]

    def extra_times(per_hour: float) -> list[float]:
        out: list[float] = []
        t = 0.0
        while per_hour > 0:
            t += extra.expovariate(per_hour / 3600.0)
            if t >= span:
                return out
            out.append(t)
        return out

    def extra_window(at: float, longest: float) -> float:
        return min(extra.uniform(5.0, longest), span - at)

    faults += [ExpireSessions(t) for t in extra_times(rare["expire"])]
    faults += [WrongCertificate(t, extra_window(t, 1200)) for t in extra_times(rare["tls"])]
    faults += [NoHello(t, extra_window(t, 300)) for t in extra_times(rare["no_hello"])]
    faults += [NoReady(t, extra_window(t, 300)) for t in extra_times(rare["no_ready"])]
    faults += [RateLimitIdentify(t, extra_window(t, 900)) for t in extra_times(rare["identify_budget"])]
    faults += [DisallowIntents(t, extra_window(t, 600)) for t in extra_times(rare["intents"])]
    if fatal:
        code = rng.choice(_FATAL_CODES)
        at = rng.uniform(0, span)
        faults.append(Ban(at, code, "soak fatal") if code in (4914, 4915) else ServerClose(at, code, "soak fatal"))
    faults.sort(key=lambda f: f.at)
    return WorldSpec(
        heartbeat_interval_ms=rng.choice((30000, 41250, 45000)),
        message_interval_s=rng.uniform(2.0, 60.0),
        duplicate_probability=rng.uniform(0, 0.2),
        latency_s=rng.uniform(0.005, 0.3),
        session_conflict_s=rng.choice((0.0, 0.0, 2.0, 10.0)),
        ack_loss_probability=rng.choice((0.0, 0.0, rng.uniform(0, 0.3))),
        ack_delay_max_s=rng.choice((0.0, rng.uniform(0, 5.0))),
        faults=tuple(faults),
        server_resume_window_s=extra.choice((RESUME_WINDOW_RANGE_S[0], 600.0, extra.uniform(*RESUME_WINDOW_RANGE_S))),
        server_session_max_age_s=extra.choice((None, None, extra.uniform(*SESSION_AGE_RANGE_S))),
        expired_resume_close=extra.choice((4902, 4902, None, 4006)),
        drop_style=extra.choice(styles))


RESUME_WINDOW_RANGE_S = (60.0, 1800.0)
"""The server's resume window a seed draws: 60 s, the default 600 s, or U(60, 1800) s (QQ documents
none; protocol.md says "a few minutes", Discord's is minutes)."""
SESSION_AGE_RANGE_S = (6 * 3600.0, 72 * 3600.0)
"""A seed's server session age limit, when it has one (one seed in three): U(6 h, 72 h), around
bot-docs#191's three days and below the core's 12 h cap as often as above it."""


def seed_simulation(seed: int, hours: float, config: core.Config | None = None,
                    client: ClientModel | None = None) -> tuple[WorldSpec, Simulation, float]:
    """One seed's world and its simulation, not yet run (``run_seed_simulation`` runs it):
    (the world, the simulation, when the calm begins in seconds)."""
    world = draw_world(seed, hours)
    calm_from = max(hours * 3600.0, schedule_end_s(world.faults))
    client = client or CoreClient(config or core.Config(seed=seed))
    sim = Simulation(world, client, seed=seed, horizon_s=calm_from + LIVENESS_TAIL_S, record_journal=True,
                     tick_lateness_max_s=random.Random(seed).choice((0.0, 0.0, 0.5, 3.0)))
    return world, sim, calm_from


def run_seed_simulation(world: WorldSpec, sim: Simulation, calm_from: float) -> RunResult:
    """Run a seed's simulation: its faults until ``calm_from``, then the calm (lost ACKs stop)
    until the liveness tail ends. Raises whatever the client's ``step`` raises."""
    sim.begin()
    sim.run_until(calm_from)
    # The calm: window faults have ended; lost ACKs, a property of the world, stop too.
    sim.world = sim.server.world = dataclasses.replace(world, ack_loss_probability=0.0)
    sim.run_until(sim.horizon_s)
    return sim.result()


def run_seed(seed: int, hours: float, config: core.Config | None = None,
             client: ClientModel | None = None) -> SeedReport:
    """Run one seed's world with the core (or ``client``, for testing the soak itself).

    Never raises on a client failure: an exception from ``step`` is reported as a break.
    """
    world, sim, calm_from = seed_simulation(seed, hours, config, client)
    try:
        run = run_seed_simulation(world, sim, calm_from)
    except Exception as exc:  # a crash in step() is the worst failure: report, never hide
        report = SeedReport(seed, hours, sim.steps, len(world.faults))
        report.invariant_breaks.append(f"exception: {type(exc).__name__}: {exc}")
        return report
    report = SeedReport(seed, hours, run.steps, len(world.faults), invariant_breaks=list(run.invariant_breaks),
                        spin=run.spin is not None)
    fatal = next((e for e in run.events(FatalNoted) if not e.retryable), None)
    if fatal is not None:
        report.stopped_fatal = fatal.close_code or -1
    report.liveness_s = _liveness(run, calm_from)
    _account_messages(report, run, sim)
    return report


STABLE_S = 120.0
"""A connection counts for liveness once the server has held it established this long (or to the end)."""


def _liveness(run: RunResult, calm_from: float) -> float | None:
    """Seconds from ``calm_from`` until a connection the server holds established and keeps
    (≥ STABLE_S or to the end of the run) while the core says READY; None if never.

    Judged from the server's side: a client that believes a dead link is READY does not pass.
    """
    for start, end in established_intervals(run):
        if end < calm_from or (end - start < STABLE_S and end < run.ended_at):
            continue
        if _phase_at(run, max(start, calm_from) + 1.0) is not core.Phase.READY:
            continue
        return max(0.0, start - calm_from)
    return None


def _phase_at(run: RunResult, at: float) -> core.Phase | None:
    phase = None
    for e in run.trace:
        if e.at > at:
            break
        if isinstance(e, StatusNoted):
            phase = e.phase
    return phase


def _account_messages(report: SeedReport, run: RunResult, sim: Simulation) -> None:
    """Messages, as the server model judges them (``RunResult.fates``): lost, pending, abandoned.

    After a fatal stop (a ban, a configuration error) the core fetches nothing more: what was
    still pending is abandoned with it. What it lost before the stop stays lost.
    """
    delivered = run.delivered_ids
    report.duplicates = len(delivered) - len(set(delivered))
    report.pushed = len({msg_id for _, msg_id in run.pushed})
    report.delivered = len(set(delivered))
    fates = run.fates
    report.lost = list(fates.lost)
    report.abandoned = len(fates.abandoned)
    if report.stopped_fatal is not None:
        report.abandoned += len(fates.pending)
    else:
        report.pending = len(fates.pending)
