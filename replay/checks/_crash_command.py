"""What ``qqgate crash-test`` does: SIGKILL journal writers at random moments, then replay what they left."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import TextIO

from ._crash import run_crash_test


def crash_test(*, runs: int, store: str | None, seed: int, out: TextIO) -> int:
    """``qqgate crash-test``: kill ``runs`` writers on ``store`` (None: a new SQLite file in a
    temporary folder), replay what they left and write the report to ``out``. Returns 1 if the
    store does not open, a session is missing or one does not replay identically, else 0."""
    with tempfile.TemporaryDirectory() as tmp:
        target = store or str(Path(tmp) / "crash.sqlite")
        report = run_crash_test(runs, target, seed)
    out.write(f"runs {report.runs}: killed mid-write {report.killed}, finished before the kill "
              f"{report.finished_first}\n")
    if report.steps:
        out.write(f"sessions in the store {report.sessions}; steps replayed per session: min {min(report.steps)}, "
                  f"median {statistics.median(report.steps):.0f}, max {max(report.steps)}; all identical: "
                  f"{'yes' if not report.problems else 'no'}\n")
    for problem in report.problems[:20]:
        out.write(f"PROBLEM {problem}\n")
    return 0 if report.ok else 1
