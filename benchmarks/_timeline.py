"""Figure 10: the timeline page of a long run: its size, and how long a browser takes to open it.

The page is ``qqgate replay logs_samples/death-loop.log --hours H --html``: the legacy model and
the core side by side (48 simulated hours in full mode, 6 in quick mode; 2 hours as the same-run
baseline). Open time: Debian's headless Chromium driven by playwright, from ``page.goto`` of the
file to the page's first complete draw (``body[data-rendered]``), in a fresh tab each repeat; the
steps for the hover are unpacked after that, and that time is in the note. Without Chromium or
playwright only the sizes are reported.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from qqgate.replay._log_replay import log_replay_timeline, replay_log
from qqgate.replay.timeline import write_html

from ._stats import Figure

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def write_page(hours: float, path: Path) -> int:
    """The death-loop replay's page for ``hours`` simulated hours, as ``qqgate replay --html`` writes it."""
    lines = (ROOT / "logs_samples" / "death-loop.log").read_text(encoding="utf-8").split("\n")
    result = replay_log("logs_samples/death-loop.log", lines, seed=1, hours=hours)
    return write_html(log_replay_timeline(result), path)


def _open_times(paths: list[Path], repeats: int) -> dict[Path, tuple[list[float], list[float]]] | None:
    """(seconds to the first draw, seconds to the steps unpacked) per repeat, per page; None without a browser."""
    executable = os.environ.get("QQGATE_CHROMIUM") or shutil.which("chromium")
    if not executable:
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    times: dict[Path, tuple[list[float], list[float]]] = {p: ([], []) for p in paths}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        browser: Any = p.chromium.launch_persistent_context(profile, executable_path=executable, args=FLAGS,
                                                            headless=True, viewport={"width": 1400, "height": 900})
        try:
            warm = browser.new_page()  # the first tab pays the browser's own start-up
            warm.goto(paths[0].as_uri())
            warm.wait_for_selector("body[data-rendered='1']", timeout=60_000)
            warm.close()
            for _ in range(repeats):
                for path in paths:
                    page = browser.new_page()
                    start = time.perf_counter()
                    page.goto(path.as_uri())
                    page.wait_for_selector("body[data-rendered='1']", timeout=60_000)
                    drawn = time.perf_counter()
                    page.wait_for_selector("body[data-steps-loaded='1']", timeout=60_000)
                    times[path][0].append(drawn - start)
                    times[path][1].append(time.perf_counter() - start)
                    page.close()
        finally:
            browser.close()
    return times


def measure(quick: bool) -> list[Figure]:
    hours = 6.0 if quick else 48.0
    with tempfile.TemporaryDirectory() as tmp:
        long_page, base_page = Path(tmp) / "long.html", Path(tmp) / "base.html"
        size = write_page(hours, long_page) / 1e6
        base = write_page(2.0, base_page) / 1e6
        times = _open_times([long_page, base_page], 1 if quick else 5)
    figures = [Figure(10, f"timeline page size, death-loop replay, {hours:g} simulated h (2 lanes)", "MB", [size],
                      goal="< 5 MB" if not quick else "", met=(size < 5.0) if not quick else None,
                      baseline_name="2 h page", baseline_values=[base], ratio_values=[size / base])]
    if times is None:
        figures[0].note = "no Chromium or playwright here: the open time was not measured"
        return figures
    opened, base_opened = times[long_page][0], times[base_page][0]
    unpacked = times[long_page][1]
    figures.append(Figure(
        10, f"timeline page open time, {hours:g} simulated h (headless Chromium, to the first draw)", "s", opened,
        goal="< 2 s" if not quick else "", met=(statistics.median(opened) < 2.0) if not quick else None,
        baseline_name="2 h page", baseline_values=base_opened,
        ratio_values=[a / b for a, b in zip(opened, base_opened)],
        note=f"page.goto of the file to body[data-rendered] in a fresh tab, browser already started; every "
             f"step unpacked for the hover after {statistics.median(unpacked):.2f} s (median)"))
    return figures
