"""``qqgate soak``: run the swarm soak over many seeds, in parallel, and report."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .._argtypes import positive_int
from ._soak import LIVENESS_BOUND_S, STABLE_S, SeedReport, draw_world, run_seed


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 24 * 30:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most 720 hours, got {text}")
    return value


def register(sub: Any) -> None:
    """Add ``qqgate soak`` to the CLI."""
    p = sub.add_parser(
        "soak", help="run the core against many random fault worlds (the swarm soak)",
        description="For each seed, draw fault rates and a fault schedule (every close-code class, op 7, "
                    "op 9, half-open links, DNS outages, refused and stalled connects, rejected resumes, "
                    "lost and late ACKs, duplicate dispatches, late ticks), run the core with its invariants "
                    "checked after every step, then stop the faults and require READY within "
                    f"{LIVENESS_BOUND_S:.0f} s (judged from the server's side). Reports invariant breaks, "
                    "liveness, lost and doubled messages, and seeds per second. A failing seed prints the "
                    "command that replays it. Exit 1 if any seed fails.")
    p.add_argument("--seeds", type=positive_int, default=100, help="how many seeds (default 100)")
    p.add_argument("--first-seed", type=positive_int, default=1, help="the first seed (default 1)")
    p.add_argument("--hours", type=_hours, default=6.0, help="simulated hours of faults per seed (default 6)")
    p.add_argument("--jobs", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--verbose", action="store_true", help="print every seed's fault schedule and result")
    p.set_defaults(func=run)


def _run(args: tuple[int, float]) -> SeedReport:
    return run_seed(*args)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    out.write(f"soak: {args.seeds} seeds ({seeds[0]}..{seeds[-1]}) × {args.hours:g} simulated hours of faults, "
              f"{args.jobs} job(s)\n")
    out.write(f"liveness: after the faults end the core must hold a connection the server has established "
              f"(for ≥ {STABLE_S:.0f} s) within {LIVENESS_BOUND_S:.0f} s\n")
    start = time.perf_counter()
    work = [(seed, args.hours) for seed in seeds]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            reports = list(pool.map(_run, work, chunksize=max(1, len(work) // (args.jobs * 8))))
    else:
        reports = [_run(w) for w in work]
    wall = time.perf_counter() - start
    failed = [r for r in reports if not r.ok]
    for r in reports:
        if args.verbose:
            world = draw_world(r.seed, r.hours)
            out.write(f"seed {r.seed}: {len(world.faults)} faults, {r.steps} steps, liveness "
                      f"{'-' if r.liveness_s is None else f'{r.liveness_s:.1f} s'}, abandoned {r.abandoned}"
                      f"{f', stopped on fatal {r.stopped_fatal}' if r.stopped_fatal is not None else ''}\n")
            for f in world.faults:
                out.write(f"    {f}\n")
        if not r.ok:
            out.write(f"FAILED seed {r.seed}: {'; '.join(r.problems())}\n"
                      f"    replay: qqgate soak --first-seed {r.seed} --seeds 1 --hours {r.hours:g} --verbose\n")
    live = [r.liveness_s for r in reports if r.liveness_s is not None and r.stopped_fatal is None]
    out.write(
        f"seeds {len(reports)}: ok {len(reports) - len(failed)}, failed {len(failed)}\n"
        f"invariant breaks {sum(len(r.invariant_breaks) for r in reports)}; spins {sum(r.spin for r in reports)}; "
        f"liveness failures {sum(1 for r in reports if r.stopped_fatal is None and (r.liveness_s is None or r.liveness_s > LIVENESS_BOUND_S))}"
        f" (time to READY after the faults: median {statistics.median(live) if live else 0:.1f} s, "
        f"max {max(live) if live else 0:.1f} s; bound {LIVENESS_BOUND_S:.0f} s)\n"
        f"messages lost {sum(len(r.lost) for r in reports)}; delivered twice {sum(r.duplicates for r in reports)}; "
        f"abandoned with their session {sum(r.abandoned for r in reports)}; stopped on a fatal code "
        f"{sum(r.stopped_fatal is not None for r in reports)}\n"
        f"faults {sum(r.faults for r in reports)}; client steps {sum(r.steps for r in reports)}; "
        f"{len(reports) / wall:.1f} seeds/s ({wall:.1f} s wall)\n")
    return 1 if failed else 0
