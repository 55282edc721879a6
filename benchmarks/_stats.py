"""Figures with spread: repeats → (min, median, max), and the RESULTS.md table."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Figure:
    """One benchmark figure: ``values`` over repeats, in ``unit``; ``baseline`` measured in the same run."""

    number: int
    name: str
    unit: str
    values: list[float]
    goal: str = ""
    met: bool | None = None
    baseline_name: str = ""
    baseline_values: list[float] = field(default_factory=list)
    ratio_values: list[float] = field(default_factory=list)
    note: str = ""

    @staticmethod
    def spread(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{min(values):.4g} / {statistics.median(values):.4g} / {max(values):.4g}"

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def ratio_median(self) -> float:
        return statistics.median(self.ratio_values) if self.ratio_values else float("nan")


def per_call_seconds(fn: Callable[[], object], calls: int) -> float:
    """Mean seconds per call of ``fn`` over ``calls`` calls (perf_counter)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}")


def render(figures: list[Figure], mode: str) -> str:
    """The table as Markdown (also printed to the terminal)."""
    lines = [f"# qqgate benchmarks ({mode} mode)", "", f"Machine: {machine()}", "",
             "Each figure: min / median / max over repeats; the baseline is measured in the same run.", "",
             "| # | figure | value (min / median / max) | unit | baseline (same run) | ratio (median) | goal | met |",
             "|---|---|---|---|---|---|---|---|"]
    for f in figures:
        base = f"{f.baseline_name}: {Figure.spread(f.baseline_values)}" if f.baseline_name else "-"
        ratio = f"{f.ratio_median:.3g}" if f.ratio_values else "-"
        met = "-" if f.met is None else ("yes" if f.met else "no")
        lines.append(f"| {f.number} | {f.name} | {Figure.spread(f.values)} | {f.unit} | {base} | {ratio} | "
                     f"{f.goal} | {met} |")
    notes = [f"- {f.number}. {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes:"] + notes
    return "\n".join(lines) + "\n"
