"""What ``qqgate fuzz`` does: random and mutated frames, corrupt journal and log lines; nothing may escape.

The corpus for the readers: ``--samples`` (a folder that must hold a journal and a log), else
logs_samples/ in the current folder when it holds them, else a corpus built in (simulated runs:
see ``_fuzz.builtin_corpus``); the report says which. A bar on a terminal; Ctrl-C reports what
was fed so far (exit 130).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from .._progress import INTERRUPTED, ProgressBar
from ._fuzz import Corpus, CorpusError, FuzzReport, builtin_corpus, fuzz_work, load_corpus, run_fuzz

DEFAULT_SAMPLES = Path("logs_samples")


def corpus_for(samples: Path | None) -> Corpus:
    """The corpus ``samples`` names (CorpusError when it is no good), or the default one."""
    if samples is not None:
        return load_corpus(samples)
    try:
        return load_corpus(DEFAULT_SAMPLES)
    except CorpusError:
        return builtin_corpus()


def fuzz(*, frames: int, seed: int, samples: Path | None, out: TextIO, err: TextIO | None = None) -> int:
    """``qqgate fuzz``: feed ``frames`` frames, then corrupt lines of the corpus's journal and logs
    (``samples``: a folder; None: logs_samples/ if here, else the built-in corpus), and write the
    counts to ``out``. Returns 1 if anything escaped or an invariant broke, 2 when ``samples``
    holds no journal or no log (said on ``err``), 130 after Ctrl-C (what was fed so far
    reported), else 0."""
    try:
        corpus = corpus_for(samples)
    except CorpusError as exc:
        (err or out).write(f"qqgate fuzz: --samples {exc}\n")
        return 2
    out.write(f"corpus    {corpus.source}\n")
    out.flush()
    start = time.perf_counter()
    report = FuzzReport()
    interrupted = False
    try:
        with ProgressBar("fuzz", fuzz_work(frames), "items") as bar:
            run_fuzz(frames, seed, corpus, report, bar.advance)
    except KeyboardInterrupt:
        interrupted = True
    wall = time.perf_counter() - start
    print_report(report, wall, out)
    if interrupted:
        out.write(f"interrupted (Ctrl-C) after {report.frames} of {frames} frames: the counts above are theirs\n")
        return INTERRUPTED
    return 0 if report.ok else 1


def print_report(report: FuzzReport, wall: float, out: TextIO) -> None:
    """The counts of ``report`` (``wall`` seconds) on ``out``."""
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
