"""What ``qqgate crash-test`` does: SIGKILL journal writers at random moments, then replay what they left.

The store is opened once before any writer starts, so a bad path or a PostgreSQL server that does
not answer is one line and exit 2, not a traceback after the work. A bar on a terminal; Ctrl-C
reports the runs done so far (exit 130).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import TextIO

from .._progress import INTERRUPTED, ProgressBar
from ._crash import CrashReport, StoreTargetError, check_target, run_crash_test


def crash_test(*, runs: int, store: str | None, seed: int, out: TextIO, err: TextIO | None = None) -> int:
    """``qqgate crash-test``: kill ``runs`` writers on ``store`` (None: a new SQLite file in a
    temporary folder), replay what they left and write the report to ``out``. Returns 1 if the
    store does not open, a session is missing or one does not replay identically, 2 when the
    store cannot be opened or created before the test (said on ``err``), 130 after Ctrl-C, else 0."""
    report = CrashReport()
    interrupted = False
    with tempfile.TemporaryDirectory() as tmp:
        target = store or str(Path(tmp) / "crash.sqlite")
        try:
            check_target(target)
        except StoreTargetError as exc:
            (err or out).write(f"qqgate crash-test: --store {exc}\n")
            return 2
        try:
            with ProgressBar("crash-test", 2 * runs, "steps") as bar:
                run_crash_test(runs, target, seed, report=report, tick=bar.advance)
        except KeyboardInterrupt:
            interrupted = True
    print_report(report, out)
    if interrupted:
        out.write(f"interrupted (Ctrl-C) after {report.runs} of {runs} runs (the store was not replayed)\n")
        return INTERRUPTED
    return 0 if report.ok else 1


def print_report(report: CrashReport, out: TextIO) -> None:
    """The figures of ``report`` on ``out``."""
    out.write(f"runs {report.runs}: killed mid-write {report.killed}, finished before the kill "
              f"{report.finished_first}\n")
    if report.steps:
        out.write(f"sessions in the store {report.sessions}; steps replayed per session: min {min(report.steps)}, "
                  f"median {statistics.median(report.steps):.0f}, max {max(report.steps)}; all identical: "
                  f"{'yes' if not report.problems else 'no'}\n")
    for problem in report.problems[:20]:
        out.write(f"PROBLEM {problem}\n")
