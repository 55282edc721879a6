"""Figure 2: simulated seconds per real second, one simulated day of session-cycle."""

from __future__ import annotations

import time

from qqgate.replay import SCENARIOS, run_scenario

from ._stats import Figure


def measure(repeats: int, hours: float) -> list[Figure]:
    scenario = SCENARIOS["session-cycle"]
    ratios = []
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        outcome = run_scenario(scenario, "core", seed=seed, hours=hours, record_journal=False)
        elapsed = time.perf_counter() - start
        assert outcome.ok, "the benchmark run must also be a correct run"
        ratios.append(hours * 3600.0 / elapsed)
    fig = Figure(2, f"simulation speed, session-cycle {hours:g} h", "simulated s / real s", ratios,
                 goal="≥ 50,000×", note="includes the detectors; invariants checked after every step")
    fig.met = fig.median >= 50_000
    return [fig]
