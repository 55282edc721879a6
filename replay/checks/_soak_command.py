"""What ``qqgate soak`` does: run the swarm soak over many seeds, in parallel, and report.

Each seed is ``_soak.run_seed`` in a worker process; the report sums what they showed and
prints, for a failing seed, the command that replays it and draws its timeline. A bar with the
rate and the time left runs on a terminal (``_progress``); Ctrl-C stops the run and reports the
seeds already done (exit 130).
"""

from __future__ import annotations

import signal
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator, TextIO

from .._detectors import detect
from .._progress import INTERRUPTED, ProgressBar
from .._runner import Outcome
from ._soak import (
    LIVENESS_BOUND_S, STABLE_S, SeedReport, draw_world, run_seed, run_seed_simulation, seed_simulation,
    world_hours,
)


def _run(args: tuple[int, float]) -> SeedReport:
    return run_seed(*args)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and reports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _results(work: list[tuple[int, float]], jobs: int) -> Iterator[SeedReport]:
    if jobs <= 1:
        yield from (_run(w) for w in work)
        return
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)
    try:
        yield from pool.map(_run, work)  # one seed at a time: the bar moves, Ctrl-C waits for one seed per job
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def replay_command(seed: int, hours: float) -> str:
    """The command that replays one seed of ``qqgate soak --hours HOURS`` and writes its timeline page."""
    return f"qqgate soak --first-seed {seed} --seeds 1 --hours {hours:g} --verbose --html soak-seed-{seed}.html"


def seed_timeline(seed: int, hours: float, path: Path) -> int:
    """Run ``seed``'s world again (``hours``: the span of its world, ``world_hours``) and write its
    timeline page to ``path``; return the page's size (bytes)."""
    from qqgate import core

    from ..timeline import timeline_of_outcomes, write_html
    from ..world import CoreClient
    world, sim, calm_from = seed_simulation(seed, hours)
    run = run_seed_simulation(world, sim, calm_from)
    model = sim.client if isinstance(sim.client, CoreClient) else CoreClient(core.Config(seed=seed))
    findings = detect(run, world)
    outcome = Outcome(model, world, run, findings, frozenset(), frozenset(), frozenset())
    report = run_seed(seed, hours)
    notes = [f"{len(world.faults)} faults over {hours:g} simulated hours, then calm from +{calm_from:.0f} s",
             "soak verdict: " + ("ok" if report.ok else "FAILED: " + "; ".join(report.problems()))]
    return write_html(timeline_of_outcomes(f"qqgate soak seed {seed}", [("core", outcome)], notes=notes), path)


def soak(*, first_seed: int, seeds: int, hours: float, jobs: int, verbose: bool, out: TextIO,
         html: Path | None = None) -> int:
    """``qqgate soak``: run seeds ``first_seed``.. (``seeds`` of them, ``hours`` simulated hours of
    faults each) on ``jobs`` worker processes and write the report to ``out`` (``verbose``: every
    seed's fault schedule and result too). ``html``: write the timeline page of the first failing
    seed (of the only seed, with ``seeds`` 1). Returns 1 if any seed fails, 130 after Ctrl-C (the
    seeds done so far reported), else 0.
    """
    numbers = range(first_seed, first_seed + seeds)
    out.write(f"soak: {seeds} seeds ({numbers[0]}..{numbers[-1]}), worlds of up to {hours:g} simulated hours "
              f"of faults, {jobs} job(s)\n")
    out.write(f"liveness: after the faults end the core must hold a connection the server has established "
              f"(for ≥ {STABLE_S:.0f} s) within {LIVENESS_BOUND_S:.0f} s\n")
    out.flush()
    start = time.perf_counter()
    reports: list[SeedReport] = []
    interrupted = False
    try:
        with ProgressBar("soak", seeds, "seeds") as bar:
            for report in _results([(seed, world_hours(seed, hours)) for seed in numbers], jobs):
                reports.append(report)
                bar.advance()
    except KeyboardInterrupt:
        interrupted = True
    wall = time.perf_counter() - start
    failed = print_report(reports, hours, wall, verbose, out)
    if interrupted:
        out.write(f"interrupted (Ctrl-C) after {len(reports)} of {seeds} seeds: the figures above are theirs\n")
        return INTERRUPTED
    if html is not None:
        chosen = failed[0] if failed else (reports[0] if seeds == 1 and reports else None)
        if chosen is not None:
            size = seed_timeline(chosen.seed, chosen.hours, html)
            out.write(f"html      seed {chosen.seed}'s timeline written to {html} ({size / 1024:.0f} KB)\n")
        else:
            out.write("html      no failing seed: no timeline written (with --seeds 1 the seed's is)\n")
    return 1 if failed else 0


def print_report(reports: list[SeedReport], hours: float, wall: float, verbose: bool,
                 out: TextIO) -> list[SeedReport]:
    """Write the report of ``reports`` (``qqgate soak --hours HOURS``, ``wall`` seconds) to
    ``out``; return the failed seeds."""
    failed = [r for r in reports if not r.ok]
    for r in reports:
        if verbose:
            world = draw_world(r.seed, r.hours)
            out.write(f"seed {r.seed}: {r.hours:.2f} h, {len(world.faults)} faults, "
                      f"{r.steps} steps, liveness "
                      f"{'-' if r.liveness_s is None else f'{r.liveness_s:.1f} s'}, abandoned {r.abandoned}"
                      f"{f', stopped on fatal {r.stopped_fatal}' if r.stopped_fatal is not None else ''}\n")
            for f in world.faults:
                out.write(f"    {f}\n")
        if not r.ok:
            out.write(f"FAILED seed {r.seed}: {'; '.join(r.problems())}\n"
                      f"    replay: {replay_command(r.seed, hours)} (a world of {r.hours:.2f} h)\n")
    live = [r.liveness_s for r in reports if r.liveness_s is not None and r.stopped_fatal is None]
    out.write(
        f"seeds {len(reports)}: ok {len(reports) - len(failed)}, failed {len(failed)}\n"
        f"invariant breaks {sum(len(r.invariant_breaks) for r in reports)}; spins {sum(r.spin for r in reports)}; "
        f"liveness failures {sum(1 for r in reports if r.stopped_fatal is None and (r.liveness_s is None or r.liveness_s > LIVENESS_BOUND_S))}"
        f" (time to READY after the faults: median {statistics.median(live) if live else 0:.1f} s, "
        f"max {max(live) if live else 0:.1f} s; bound {LIVENESS_BOUND_S:.0f} s)\n"
        f"messages pushed {sum(r.pushed for r in reports)}; delivered {sum(r.delivered for r in reports)}; "
        f"lost {sum(len(r.lost) for r in reports)}; delivered twice {sum(r.duplicates for r in reports)}; "
        f"abandoned with their session {sum(r.abandoned for r in reports)}; pending at the end "
        f"{sum(r.pending for r in reports)}; stopped on a fatal code "
        f"{sum(r.stopped_fatal is not None for r in reports)}\n"
        f"lost = pushed to a session the core gave up while the server could still resume it, or to the "
        f"session it held, and never delivered\n"
        f"faults {sum(r.faults for r in reports)}; client steps {sum(r.steps for r in reports)}; "
        f"{len(reports) / wall if wall > 0 else 0:.1f} seeds/s ({wall:.1f} s wall)\n")
    return failed
