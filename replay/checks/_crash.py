"""Crash safety: journal writers killed with SIGKILL at random moments; every journal must
open and replay to identical commands up to its last committed step.

Each writer is a separate Python process (``_crash_writer``) recording a simulated core
session into the store under test; the kill lands at a random moment, mid-batch or between
batches. The store must then pass SQLite's integrity check (a SQLite store), list every session,
and replay each one to identical commands up to its last committed step.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qqgate import core
from qqgate.core.journal import read_journal

from .. import replay_journal

WRITER = "qqgate.replay.checks._crash_writer"
"""The writer each run starts (``python -m WRITER TARGET SEED``) and kills."""


@dataclass
class CrashReport:
    """Runs, how many were really killed mid-write, and what the store held afterwards."""

    runs: int = 0
    killed: int = 0
    finished_first: int = 0
    sessions: int = 0
    steps: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.sessions == self.runs


class StoreTargetError(Exception):
    """The store named for the crash test cannot be opened or created: the message says why."""


def check_target(target: str) -> None:
    """Open (creating it if needed) the store ``target`` once, before any writer starts; raise
    StoreTargetError with the store's own message when it cannot be (a folder that does not
    exist, a file that is not a journal store, a PostgreSQL server that does not answer)."""
    from qqgate.io_shell.journal import JournalStoreError
    from qqgate.io_shell.journal._store import Store, parse_target
    try:
        Store(parse_target(target, create=True), create=True).close()
    except JournalStoreError as exc:
        raise StoreTargetError(str(exc)) from None


def run_crash_test(runs: int, target: str, seed: int, max_delay_s: float = 0.6,
                   report: CrashReport | None = None, tick: Callable[[int], None] | None = None) -> CrashReport:
    """Start ``runs`` writers one after another on ``target``, kill each with SIGKILL after a
    random delay, then open the store and replay every session they wrote (sessions already
    in the store are left alone) through the current core. ``max_delay_s``: the longest wait
    (seconds) between a writer's ``ready`` and its kill. ``report``: fill this one (a caller
    that may be interrupted keeps what was counted); ``tick(1)`` after each writer and each
    session replayed (``runs`` × 2 in all)."""
    # The store under test; imported here so that the other checks never load eventsourcing.
    from qqgate.io_shell.journal import JournalStoreError, journal_bytes, list_sessions

    rng = random.Random(seed)
    report = report if report is not None else CrashReport()
    try:
        earlier = {s.session_id for s in list_sessions(target)}
    except JournalStoreError:
        earlier = set()  # no store yet
    where = str(Path(core.__file__).parents[2])  # where qqgate/ is: the writer imports the same qqgate
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (where, os.environ.get("PYTHONPATH", "")) if p))
    for run in range(runs):
        child = subprocess.Popen([sys.executable, "-m", WRITER, target, str(seed * 1000 + run)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        report.runs += 1
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line.startswith("ready"):
                report.problems.append(f"run {run}: writer did not start: {child.stderr.read() if child.stderr else ''}")
                continue
            time.sleep(rng.uniform(0.0, max_delay_s))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            if child.returncode == -signal.SIGKILL:
                report.killed += 1
            else:
                report.finished_first += 1
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
            for pipe in (child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()
        if tick is not None:
            tick(1)
    if not target.startswith(("postgresql://", "postgres://")):
        with sqlite3.connect(target) as conn:
            status = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            report.problems.append(f"SQLite integrity_check: {status}")
    try:
        sessions = list_sessions(target)
    except JournalStoreError as exc:
        report.problems.append(f"the store does not open: {exc}")
        return report
    sessions = [s for s in sessions if s.session_id not in earlier]
    report.sessions = len(sessions)
    for s in sessions:
        try:
            journal = read_journal(journal_bytes(target, s.session_id))
            result = replay_journal(journal)
        except Exception as exc:  # any failure to read back is exactly what this test looks for
            report.problems.append(f"session {s.session_id}: {type(exc).__name__}: {exc}")
            continue
        if tick is not None:
            tick(1)
        report.steps.append(len(journal.steps))
        if result.divergence is not None:
            report.problems.append(f"session {s.session_id}: diverged at step {result.divergence.step}")
        if len(journal.steps) != s.steps:
            report.problems.append(f"session {s.session_id}: {len(journal.steps)} steps read, {s.steps} listed")
    return report
