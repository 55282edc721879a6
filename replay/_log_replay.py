"""``qqgate replay FILE.log``: a real log in; its reading, its incident, and that incident re-run.

:func:`replay_log` reads the log (``replay.logs.read_log``: one pass, bounded memory), names the
incident and derives its world, then runs that world against the model of the client that
wrote the log (when qqgate has one, in the version the log shows) and against the core, each
watched by a streaming judge (``_judge``) so memory stays bounded whatever the simulated hours.
The result is a :class:`LogReplay`, plain data that a renderer consumes (``_report``: text).

Exit status (README): 0 when the incident is named and, where a model exists, the model
reproduces it, and the core survives the same world; 1 when a model does not reproduce it, the
core fails, or the log stops before its outcome shows (inconclusive); 2 when nothing in the
log says anything about a gateway connection (nothing to diagnose).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from qqgate import core

from ._detectors import FAILURE_NAMES, Finding
from ._judge import Judge
from .logs import TAXONOMY, LogReading, ModelRun, Until, read_log, version_label
from .world import ClientModel, CoreClient, Simulation, WorldSpec

if TYPE_CHECKING:
    from .timeline import Timeline


@dataclass
class SideResult:
    """One simulated run of the derived world: a model of the client, or the core.

    ``label`` names it; ``expect``/``expect_log``/``expect_clean`` what it had to show (models);
    ``findings`` what the judge found; the figures; ``log_excerpt`` (its first and last log
    lines); ``ok`` (a model: reproduced the incident; the core: survived) and ``problems``
    (why not). ``ok`` is None for a model with nothing to show for this incident.
    """

    label: str
    model: str
    version: str
    why: str
    expect: frozenset[str]
    findings: list[Finding]
    ran_s: float
    steps: int
    spin: bool
    opens: int
    identifies: int
    resumes: int
    fatals: int
    pushed: int
    delivered: int
    missing: int
    twice: int
    detection: str
    log_excerpt: list[str]
    invariant_breaks: list[str]
    expect_log: str | None = None
    log_lines_with_expected: int = 0
    ok: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.name in FAILURE_NAMES]


@dataclass
class LogReplay:
    """Everything ``qqgate replay FILE.log`` found: the reading, the runs, the verdict, the status."""

    name: str
    reading: LogReading
    seed: int
    hours: float
    models: list[SideResult] = field(default_factory=list)
    core: SideResult | None = None
    verdict: str = ""
    status: int = 0

    @property
    def incident(self) -> str:
        return self.reading.incident


def _model(run: ModelRun, seed: int) -> ClientModel:
    if run.model == "botpy":
        from .legacy import BotpyModel
        return BotpyModel()
    from .legacy import LegacyConfig, LegacyModel
    version = "0.13" if run.version == "0.12" else run.version
    return LegacyModel(LegacyConfig(version=version, close_codes_visible=run.close_codes_visible, seed=seed))


def simulate(model: ClientModel, world: WorldSpec, *, seed: int, hours: float, label: str, kind: str,
             version: str, why: str, expect: frozenset[str] = frozenset(), watch: str | None = None) -> SideResult:
    """Run ``world`` for ``hours`` simulated hours with ``model``, keeping no history: a streaming
    judge watches it. Returns the run as a :class:`SideResult` (``ok`` left for the caller)."""
    judge = Judge(world, watch=watch)
    sim = Simulation(world, model, seed=seed, horizon_s=hours * 3600.0, record_journal=False,
                     keep_history=False, observer=judge)
    sim.begin()
    sim.run_until(sim.horizon_s)
    ended = sim.now if sim.spin is not None else min(sim.now, sim.horizon_s)
    delay = judge.detection_delay()
    detection = "-" if delay == "-" else "never" if delay is None else f"{delay:.1f} s"
    return SideResult(
        label=label, model=kind, version=version, why=why, expect=expect, findings=judge.findings(ended),
        ran_s=ended, steps=sim.steps, spin=sim.spin is not None, opens=judge.opens, identifies=judge.identifies,
        resumes=judge.resumes, fatals=judge.fatals, pushed=judge.pushed_count, delivered=judge.delivered_unique,
        missing=judge.missing(ended), twice=judge.delivered_twice, detection=detection,
        log_excerpt=judge.log_excerpt(), invariant_breaks=list(sim.invariant_breaks[:5]), expect_log=watch,
        log_lines_with_expected=judge.watched)


def read_log_replay(name: str, lines: Iterable[str], *, seed: int = 1, hours: float | None = None,
                    date: _dt.date | None = None, until: Until | None = None) -> LogReplay:
    """The first half of :func:`replay_log`: read the log, name the incident, derive its world
    (no simulation yet; the verdict is already set for inconclusive and nothing to diagnose)."""
    reading = read_log(lines, date=date, until=until)
    derived = reading.derived
    result = LogReplay(name, reading, seed, hours if hours is not None else (derived.hours if derived else 0.0))
    if reading.incident == "nothing_to_diagnose":
        result.verdict = "nothing to diagnose: no line of this log says anything about a gateway connection"
        result.status = 2
    elif derived is None:
        result.verdict = f"{TAXONOMY['inconclusive']}: {reading.named.rule}"
        result.status = 1
    return result


def run_log_replay(result: LogReplay) -> None:
    """The second half of :func:`replay_log`: run the derived world against the model(s) and the
    core, and set the verdict and the exit status. Does nothing when no world was derived."""
    derived = result.reading.derived
    if derived is None or result.reading.incident == "nothing_to_diagnose":
        return
    seed = result.seed
    for run in derived.runs:
        side = simulate(_model(run, seed), derived.world, seed=seed, hours=result.hours,
                        label=f"{run.model} model {version_label(run.version)}", kind=run.model, version=run.version,
                        why=run.why, expect=run.expect, watch=run.expect_log)
        _judge_model(side, run)
        result.models.append(side)
    core_side = simulate(CoreClient(core.Config(seed=seed)), derived.world, seed=seed, hours=result.hours,
                         label="qqgate core", kind="core", version=core.__version__, why="")
    core_side.ok = not core_side.failures and not core_side.invariant_breaks
    if core_side.failures:
        core_side.problems.append("failure detectors fired: " + ", ".join(f.name for f in core_side.failures))
    if core_side.invariant_breaks:
        core_side.problems.append(f"invariant broke: {core_side.invariant_breaks[0]}")
    result.core = core_side
    _verdict(result, derived.no_model)


def replay_log(name: str, lines: Iterable[str], *, seed: int = 1, hours: float | None = None,
               date: _dt.date | None = None, until: Until | None = None) -> LogReplay:
    """Read the log ``lines`` (named ``name`` in the report), and re-run its incident.

    ``seed`` seeds the derived world and the models; ``hours`` (simulated) defaults to the
    world's own (2, or longer when the log's outage needs it); ``date`` and ``until`` are
    ``--date`` and ``--until`` (``replay.logs.read_log``). Never raises on any log text.
    """
    result = read_log_replay(name, lines, seed=seed, hours=hours, date=date, until=until)
    run_log_replay(result)
    return result


def _judge_model(side: SideResult, run: ModelRun) -> None:
    names = {f.name for f in side.findings}
    if run.expect_clean:
        bad = sorted(names & FAILURE_NAMES)
        side.ok = not bad
        if bad:
            side.problems.append("the log shows no incident, the model shows " + ", ".join(bad))
        return
    if not run.expect and run.expect_log is None:
        side.ok = None
        side.problems.append(f"the {run.model} model has no behaviour that shows {run.incident}")
        return
    missing = sorted(run.expect - names)
    if missing:
        side.problems.append("missing " + ", ".join(missing))
    if run.expect_log is not None and not side.log_lines_with_expected:
        side.problems.append(f"its log never says {run.expect_log!r}")
    side.ok = not side.problems


def _verdict(result: LogReplay, no_model: str) -> None:
    title = TAXONOMY[result.incident]
    parts = []
    ok = True
    if not result.models:
        parts.append(no_model or "no model of this client")
    for side in result.models:
        if side.ok is None:
            parts.append(f"{side.label}: {side.problems[0]}")
        elif side.ok:
            shown = ", ".join(sorted(side.expect)) or (f"writes {side.expect_log!r}" if side.expect_log else "no failure")
            parts.append(f"{side.label} reproduces it ({shown})")
        else:
            ok = False
            parts.append(f"{side.label} does NOT reproduce it: {'; '.join(side.problems)}")
    core_side = result.core
    assert core_side is not None
    if core_side.ok:
        parts.append("the core survives the same world")
    else:
        ok = False
        parts.append("the core FAILED: " + "; ".join(core_side.problems))
    result.verdict = f"{result.incident} ({title}); " + "; ".join(parts)
    result.status = 0 if ok else 1


def log_replay_timeline(result: LogReplay) -> Timeline:
    """The timeline of a log replay (``--html``/``--png``): the model runs and the core in the
    derived world, side by side. The runs are simulated again keeping their history (a picture
    needs every step; the world is the derived one, hours long at most). Raises ValueError when
    the log derived no world (inconclusive, nothing to diagnose)."""
    from ._runner import run_world
    from .timeline import timeline_of_outcomes
    derived = result.reading.derived
    if derived is None:
        raise ValueError(f"{result.incident}: no world to draw")
    outcomes = []
    for run in derived.runs:
        outcomes.append(("legacy" if run.model == "hermes" else run.model,
                         run_world(_model(run, result.seed), derived.world, seed=result.seed, hours=result.hours)))
    outcomes.append(("core", run_world(CoreClient(core.Config(seed=result.seed)), derived.world, seed=result.seed,
                                       hours=result.hours)))
    title = f"qqgate replay {result.name}: {result.incident} ({TAXONOMY[result.incident]})"
    notes = [f"the world derived from the log, {result.hours:.2f} simulated hours, seed {result.seed}"]
    if derived.no_model:
        notes.append(derived.no_model)
    return timeline_of_outcomes(title, outcomes, notes=notes)


def draw_log_replay(result: LogReplay, draw: Callable[[Timeline], bool]) -> bool:
    """Write the timeline of a log replay with ``draw`` (``log_replay_timeline``); False when the
    picture could not be written."""
    return draw(log_replay_timeline(result))
