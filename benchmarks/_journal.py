"""Figures 3 and 4: journal encode and append (eventsourcing, batched) against their floors, and
journal replay.

``python -m benchmarks._journal [--quick]`` runs these figures alone and prints their table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from qqgate import core
from qqgate.core.journal import Redactor, read_journal, step_line, step_record
from qqgate.io_shell.journal import journal_bytes, list_sessions, open_recorder
from qqgate.replay import replay_journal
from qqgate.replay.world import CoreClient, Simulation, WorldSpec

from ._stats import Figure, render

LIVE_STEPS_PER_S = 10
"""A generous live bot: a few steps per second (heartbeats, their ACKs, dispatches and settles)."""

Steps = list[tuple[core.Input, tuple[core.Command, ...]]]


def sample_steps(hours: float) -> Steps:
    """A real simulated session's (input, commands) pairs: ``hours`` of virtual time."""
    return Simulation(WorldSpec(), CoreClient(core.Config(seed=1)), seed=1, horizon_s=hours * 3600).run().journal


def _recorder_rate(target: str, steps: Steps, n: int) -> float:
    rec = open_recorder(target, {"client": CoreClient(core.Config(seed=1)).describe(), "bench": True},
                        secrets=[("bench-client-secret", "client-secret")], mode="thread")
    start = time.perf_counter()
    for inp, commands in itertools.islice(itertools.cycle(steps), n):
        rec.record(inp, commands)
    rec.close()
    return n / (time.perf_counter() - start)


def _bare_sqlite_rate(path: str, steps: Steps, n: int, batch: int = 256) -> float:
    """The same rows (session id, version, topic, encoded record), pre-encoded, through
    sqlite3.executemany in batches of ``batch`` with WAL: the storage floor."""
    redactor = Redactor()
    session = uuid.uuid4().bytes
    rows = [(session, i, "qqgate:step", step_line(i - 1, inp, commands, redactor))
            for i, (inp, commands) in enumerate(itertools.islice(itertools.cycle(steps), n), start=2)]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE steps (session BLOB, version INTEGER, topic TEXT, state BLOB, "
                 "PRIMARY KEY (session, version))")
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        with conn:
            conn.executemany("INSERT INTO steps VALUES (?, ?, ?, ?)", rows[i:i + batch])
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def _encode_us(steps: Steps) -> tuple[float, float]:
    """µs per step of the journal's one encoder (``step_line``: codec, redaction, orjson), and of
    ``orjson.dumps`` alone on the same records built beforehand (the serialization floor)."""
    secrets = [("bench-client-secret", "client-secret")]
    redactor = Redactor(secrets)
    start = time.perf_counter()
    for i, (inp, commands) in enumerate(steps, start=1):
        step_line(i, inp, commands, redactor)
    encode = (time.perf_counter() - start) / len(steps) * 1e6
    redactor = Redactor(secrets)
    records = [step_record(i, inp, commands, redactor) for i, (inp, commands) in enumerate(steps, start=1)]
    start = time.perf_counter()
    for record in records:
        orjson.dumps(record)
    return encode, (time.perf_counter() - start) / len(records) * 1e6


def measure(quick: bool) -> list[Figure]:
    steps = sample_steps(2.0 if quick else 12.0)
    n = 20_000 if quick else 200_000
    repeats = 2 if quick else 5
    figures: list[Figure] = []
    encode, floor = zip(*(_encode_us(steps) for _ in range(repeats * 2 + 1)))
    fig = Figure(3, f"journal encode, one step ({len(steps)} steps)", "µs/step", list(encode),
                 goal=f"≤ 1 % of a CPU at {LIVE_STEPS_PER_S} steps/s (≤ 1000 µs)",
                 baseline_name="orjson.dumps of the built records µs", baseline_values=list(floor),
                 ratio_values=[a / b for a, b in zip(encode, floor)],
                 note="core.journal.step_line: encode the input and commands, redact, orjson; the one "
                      f"encoder of every journal; at {LIVE_STEPS_PER_S} steps/s a live bot spends "
                      f"{min(encode) * LIVE_STEPS_PER_S / 1e4:.4f} % of a CPU on it")
    fig.met = fig.median * LIVE_STEPS_PER_S <= 10_000
    figures.append(fig)
    with tempfile.TemporaryDirectory() as tmp:
        rates, bare = [], []
        for r in range(repeats):
            bare.append(_bare_sqlite_rate(str(Path(tmp) / f"bare{r}.db"), steps, n))
            rates.append(_recorder_rate(str(Path(tmp) / f"j{r}.sqlite"), steps, n))
        fig = Figure(3, f"journal append, SQLite ({n} steps, batched)", "steps/s", rates,
                     goal="≥ 40k steps/s", baseline_name="bare sqlite3 executemany, same rows",
                     baseline_values=bare, ratio_values=[a / b for a, b in zip(rates, bare)],
                     note="record() to committed, through eventsourcing's SQLite recorder; ratio = journal / bare")
        fig.met = fig.median >= 40_000
        figures.append(fig)
        url = os.environ.get("QQGATE_TEST_POSTGRES_URL")
        if url:
            import psycopg  # the journal's PostgreSQL driver (eventsourcing[postgres])
            with psycopg.connect(url, autocommit=True) as conn:  # keep benchmark sessions apart
                conn.execute("CREATE SCHEMA IF NOT EXISTS qqgate_bench")
            bench_url = url + ("&" if "?" in url else "?") + "schema=qqgate_bench"
            pg = [_recorder_rate(bench_url, steps, n // 4) for _ in range(repeats)]
            figures.append(Figure(3, f"journal append, PostgreSQL ({n // 4} steps)", "steps/s", pg,
                                  note="local server on the same 2 CPUs"))

        # Figure 4: replay one real session (not cycled) from the JSON-lines export and from SQLite.
        target = str(Path(tmp) / "replay.sqlite")
        rec = open_recorder(target, {"client": CoreClient(core.Config(seed=1)).describe()}, mode="thread")
        for inp, commands in steps:
            rec.record(inp, commands)
        rec.close()
        session = list_sessions(target)[0].session_id
        jsonl = Path(tmp) / "export.jsonl"
        jsonl.write_bytes(journal_bytes(target, session))
        from_jsonl, from_store = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            journal = read_journal(jsonl.read_bytes())
            if replay_journal(journal).divergence is not None:
                raise RuntimeError("benchmark journal diverged: the replay figure would be meaningless")
            from_jsonl.append(len(journal.steps) / (time.perf_counter() - start))
            start = time.perf_counter()
            journal = read_journal(journal_bytes(target, session))
            if replay_journal(journal).divergence is not None:
                raise RuntimeError("benchmark journal diverged: the replay figure would be meaningless")
            from_store.append(len(journal.steps) / (time.perf_counter() - start))
        figures.append(Figure(4, f"journal replay from JSON lines ({len(steps)} steps)", "steps/s", from_jsonl,
                              note="read + parse + decode + core.step + compare commands"))
        figures.append(Figure(4, f"journal replay from SQLite ({len(steps)} steps)", "steps/s",
                              from_store, note="read the store, then the same"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._journal", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes")
    args = parser.parse_args(argv)
    sys.stdout.write(render(measure(args.quick), "quick" if args.quick else "full"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
