"""The timeline page in a real headless browser: Debian's Chromium, driven by playwright.

The page must draw without a console error or an exception, fetch nothing but itself, show a
lane per client with the death loop's marks and finding, unpack every step for the hover, and
zoom. Skipped only when Chromium or playwright is genuinely absent outside CI; in CI (``CI``
set, or ``QQGATE_REQUIRE_BROWSER=1`` from .ci/chromium.sh) their absence fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from qqgate.replay import SCENARIOS, run_scenario
from qqgate.replay.timeline import timeline_of_outcomes, write_html

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""Chromium flags that work on these machines (root, no GPU, no network)."""


def _required() -> bool:
    return os.environ.get("QQGATE_REQUIRE_BROWSER") == "1" or os.environ.get("CI", "").lower() in ("true", "1")


def _unavailable(why: str) -> None:
    if _required():
        pytest.fail(f"{why} (required in CI: .ci/chromium.sh installs it)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = os.environ.get("QQGATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=executable, args=FLAGS,
                                                       headless=True, viewport={"width": 1400, "height": 900})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def death_loop_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qqgate.cli import main
    path = tmp_path_factory.mktemp("page") / "death-loop.html"
    assert main(["replay", str(ROOT / "logs_samples" / "death-loop.log"), "--html", str(path)]) == 0
    return path


def _open(browser: Any, path: Path, view: str = "") -> tuple[Any, list[str], list[str]]:
    page = browser.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri() + view)
    page.wait_for_selector("body[data-rendered='1']", timeout=15_000)
    page.wait_for_selector("body[data-steps-loaded='1']", timeout=15_000)
    return page, problems, requests


def test_death_loop_page_draws_lanes_marks_and_the_finding(browser: Any, death_loop_page: Path) -> None:
    page, problems, requests = _open(browser, death_loop_page)
    try:
        assert problems == []
        assert requests == [death_loop_page.as_uri()]  # the page itself, nothing else
        assert page.evaluate("location.hash") == ""
        assert page.eval_on_selector_all("g.lane", "els => els.map(e => e.dataset.lane)") == ["legacy", "core"]
        legacy, core = "g.lane[data-lane='legacy']", "g.lane[data-lane='core']"
        assert page.locator(f"{legacy} .finding[data-name='death_loop']").count() == 1
        assert page.locator(f"{core} .finding").count() == 0
        # the legacy model reconnects ~every 60 s and the server drops each silent socket
        assert page.locator(f"{legacy} .mark-server_drop").count() > 50
        assert page.locator(f"{legacy} .mark-open").count() > 50
        assert page.locator(f"{legacy} .mark-heartbeat, {legacy} .density-heartbeat").count() == 0
        # the core keeps its heartbeat and its ACKs, and reconnects a handful of times
        assert page.locator(f"{core} .mark-heartbeat, {core} .density-heartbeat").count() > 20
        assert page.locator(f"{core} .mark-ack, {core} .density-ack").count() > 20
        assert 1 <= page.locator(f"{core} .mark-open").count() <= 10
        assert page.locator(f"{legacy} .band").count() > 0 and page.locator(f"{core} .band-READY").count() > 0
        assert page.locator(".faults .fault").count() >= 1
        assert "legacy hermes adapter model" in page.inner_text("#details")
        assert "death_loop" in page.inner_text("#details")
    finally:
        page.close()


def test_hover_shows_the_step_and_zoom_narrows_the_view(browser: Any, death_loop_page: Path) -> None:
    data = json.loads(re.search(r'id="timeline-data">(.*?)</script>', death_loop_page.read_text(), re.S).group(1))
    [opens] = [m["t"] for m in data["lanes"][0]["marks"] if m["k"] == "open"]
    fifth = sum(opens[:5]) / 1000  # delta-encoded milliseconds
    # two seconds around the legacy model's fifth connect: its open, Resume and RESUMED apart
    page, problems, _ = _open(browser, death_loop_page, f"#view={fifth - 1:.1f},{fifth + 1:.1f}")
    try:
        assert "(2.0 s of 2.0 h)" in page.inner_text("#range")
        page.locator("g.lane[data-lane='legacy'] .mark-open").first.hover()
        tip = page.locator("#tooltip")
        assert tip.is_visible()
        text = tip.inner_text()
        assert "open connection" in text and 'commands {"type":"OpenSocket"' in text and "step " in text
        page.click("#zoom-fit")
        before = page.inner_text("#range")
        assert "of 2.0 h" in before and page.evaluate("location.hash") == "#view=0.0,7200.0"
        for _ in range(6):
            page.click("#zoom-in")
        after = page.inner_text("#range")
        assert after.startswith("showing +0:59:03 – +1:00:56 (113 s of 2.0 h)")  # 2 h / 2^6, centred
        assert page.evaluate("location.hash") != "#view=0.0,7200.0"
        page.click("#zoom-fit")
        assert page.inner_text("#range") == before
        assert problems == []
    finally:
        page.close()


def test_a_long_run_folds_marks_into_density_strips(browser: Any, tmp_path: Path) -> None:
    outcome = run_scenario(SCENARIOS["session-cycle"], "core", hours=12.0)
    path = tmp_path / "long.html"
    write_html(timeline_of_outcomes("session-cycle, 12 h", [("core", outcome)]), path)
    page, problems, _ = _open(browser, path)
    try:
        assert problems == []
        assert page.locator(".density-heartbeat").count() > 50 and page.locator(".mark-heartbeat").count() == 0
        for _ in range(8):
            page.click("#zoom-in")
        assert page.locator(".mark-heartbeat").count() > 0 and page.locator(".density-heartbeat").count() == 0
    finally:
        page.close()
