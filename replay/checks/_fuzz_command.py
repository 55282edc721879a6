"""What ``qqgate fuzz`` does: random and mutated frames, corrupt journal and log lines; nothing may escape."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from ._fuzz import run_fuzz


def fuzz(*, frames: int, seed: int, samples: Path, out: TextIO) -> int:
    """``qqgate fuzz``: feed ``frames`` frames, then corrupt lines of the journals and logs in
    ``samples``, and write the counts to ``out``. Returns 1 if anything escaped or an invariant
    broke, else 0."""
    start = time.perf_counter()
    report = run_fuzz(frames, seed, samples)
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
