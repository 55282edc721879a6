"""What ``qqgate soak`` does: run the swarm soak over many seeds, in parallel, and report.

Each seed is ``_soak.run_seed`` in a worker process; the report sums what they showed and
prints, for a failing seed, the command that replays it.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TextIO

from ._soak import LIVENESS_BOUND_S, STABLE_S, SeedReport, draw_world, run_seed, world_hours


def _run(args: tuple[int, float]) -> SeedReport:
    return run_seed(*args)


def soak(*, first_seed: int, seeds: int, hours: float, jobs: int, verbose: bool, out: TextIO) -> int:
    """``qqgate soak``: run seeds ``first_seed``.. (``seeds`` of them, ``hours`` simulated hours of
    faults each) on ``jobs`` worker processes and write the report to ``out`` (``verbose``: every
    seed's fault schedule and result too). Returns 1 if any seed fails, else 0.
    """
    numbers = range(first_seed, first_seed + seeds)
    out.write(f"soak: {seeds} seeds ({numbers[0]}..{numbers[-1]}), worlds of up to {hours:g} simulated hours "
              f"of faults, {jobs} job(s)\n")
    out.write(f"liveness: after the faults end the core must hold a connection the server has established "
              f"(for ≥ {STABLE_S:.0f} s) within {LIVENESS_BOUND_S:.0f} s\n")
    start = time.perf_counter()
    work = [(seed, world_hours(seed, hours)) for seed in numbers]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            reports = list(pool.map(_run, work, chunksize=max(1, len(work) // (jobs * 8))))
    else:
        reports = [_run(w) for w in work]
    wall = time.perf_counter() - start
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
                      f"    replay: qqgate soak --first-seed {r.seed} --seeds 1 --hours {hours:g} --verbose "
                      f"(a world of {r.hours:.2f} h)\n")
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
        f"{len(reports) / wall:.1f} seeds/s ({wall:.1f} s wall)\n")
    return 1 if failed else 0
