"""``qqgate fuzz``: random and mutated frames, corrupt journal and log lines; nothing may escape."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .._argtypes import positive_int
from ._fuzz import run_fuzz


def register(sub: Any) -> None:
    """Add ``qqgate fuzz`` to the CLI."""
    p = sub.add_parser("fuzz", help="feed random and mutated frames to the core, corrupt lines to the readers",
                       description="Feed FRAMES random or mutated frames (bad JSON, wrong types, huge payloads, "
                                   "deep nesting, binary, unknown opcodes, s going backwards, stale connections) "
                                   "to the core in every connected phase, then corrupt lines of a real journal "
                                   "and of the real logs in logs_samples/. No exception may escape and no "
                                   "invariant may break; every rejection is counted. Exit 1 otherwise.")
    p.add_argument("--frames", type=positive_int, default=100_000, help="frames to feed (default 100000; full: 1000000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=Path, default=Path("logs_samples"),
                   help="where the sample journals and logs are (default logs_samples/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    start = time.perf_counter()
    report = run_fuzz(args.frames, args.seed, args.samples)
    wall = time.perf_counter() - start
    out.write(f"frames fed {report.frames}: rejected and counted {report.rejected}; exceptions "
              f"{len(report.exceptions)}; invariant breaks {len(report.invariant_breaks)}\n")
    for reason, count in report.reasons.most_common():
        out.write(f"  {count:>8}  {reason}\n")
    out.write(f"journal lines corrupted {report.journal_lines}: JournalError {report.journal_errors}, "
              f"read anyway {report.journal_lines - report.journal_errors}\n")
    out.write(f"log texts corrupted {report.log_texts}: unreadable lines counted {report.log_unreadable}\n")
    for problem in (report.exceptions + report.invariant_breaks)[:10]:
        out.write(f"PROBLEM {problem}\n")
    out.write(f"{wall:.1f} s wall\n")
    return 0 if report.ok else 1
