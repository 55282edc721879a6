"""Regenerate docs/timeline-death-loop.png: the death-loop replay's timeline page in headless Chromium.

    python docs/screenshot.py          # needs chromium (Debian's) and playwright (the test extra)

Writes the page with ``qqgate replay logs_samples/death-loop.log --html``, opens it on its first
25 minutes (``#view=0,1500``: the drop that starts the loop, then the loop) with the pointer on the
core's first Resume, and saves the screenshot.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from qqgate.cli import main as qqgate

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> int:
    os.chdir(ROOT)  # the page's title names the log as README's command does
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "death-loop.html"
        if qqgate(["replay", "logs_samples/death-loop.log", "--html", str(page_path)]) != 0:
            return 1
        executable = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(str(Path(tmp) / "profile"), executable_path=executable,
                                                           args=FLAGS, headless=True,
                                                           viewport={"width": 1360, "height": 860})
            page = browser.new_page()
            page.goto(page_path.as_uri() + "#view=0,1500")
            page.wait_for_selector("body[data-steps-loaded='1']")
            page.locator("g.lane[data-lane='core'] .mark-resume").first.hover()
            page.screenshot(path=str(ROOT / "docs" / "timeline-death-loop.png"))
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
