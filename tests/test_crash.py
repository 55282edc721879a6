"""qqgate crash-test: writers killed with SIGKILL leave journals that replay to their last commit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qqgate.replay.checks import run_crash_test


def test_killed_writers_leave_replayable_sqlite_journals(tmp_path: Path) -> None:
    report = run_crash_test(3, str(tmp_path / "crash.sqlite"), seed=5)
    assert report.problems == []
    assert report.runs == 3 and report.sessions == 3 and report.killed >= 2
    assert all(n > 0 for n in report.steps)


@pytest.mark.skipif(not os.environ.get("QQGATE_TEST_POSTGRES_URL"), reason="QQGATE_TEST_POSTGRES_URL is not set")
def test_killed_writers_leave_replayable_postgres_journals() -> None:
    url = os.environ["QQGATE_TEST_POSTGRES_URL"]
    report = run_crash_test(2, url, seed=9)
    assert report.problems == []
    assert report.killed >= 1 and report.sessions == 2


def test_the_writer_is_a_module_that_refuses_bad_arguments() -> None:
    proc = subprocess.run([sys.executable, "-m", "qqgate.replay.checks._crash_writer", "only-one"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage:" in proc.stderr
