"""``qqgate crash-test``: SIGKILL journal writers at random moments, then replay what they left."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._crash import run_crash_test


def _runs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {value}")
    return value


def register(sub: Any) -> None:
    """Add ``qqgate crash-test`` to the CLI."""
    p = sub.add_parser("crash-test", help="kill journal writers with SIGKILL, then replay every journal",
                       description="Start RUNS journal writers one after another (each records a real "
                                   "simulated session into the same store), kill each with SIGKILL after a "
                                   "random delay, then open the store and replay every session through the "
                                   "current core. Exit 1 if the store does not open, a session does not "
                                   "replay to identical commands, or a session is missing.")
    p.add_argument("--runs", type=_runs, default=100, help="writers to kill (default 100)")
    p.add_argument("--store", default=None, metavar="PATH_OR_URL",
                   help="SQLite path or postgresql:// URL (default: a new SQLite file in a temporary folder)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        target = args.store or str(Path(tmp) / "crash.sqlite")
        report = run_crash_test(args.runs, target, args.seed)
    out.write(f"runs {report.runs}: killed mid-write {report.killed}, finished before the kill "
              f"{report.finished_first}\n")
    if report.steps:
        out.write(f"sessions in the store {report.sessions}; steps replayed per session: min {min(report.steps)}, "
                  f"median {statistics.median(report.steps):.0f}, max {max(report.steps)}; all identical: "
                  f"{'yes' if not report.problems else 'no'}\n")
    for problem in report.problems[:20]:
        out.write(f"PROBLEM {problem}\n")
    return 0 if report.ok else 1
