"""Fuzzed input: random and mutated frames into the core, corrupt lines into the journal and log readers.

Nothing may escape: the core turns every bad frame into a counted, logged rejection, keeps
its invariants, and the readers turn corrupt lines into a JournalError (journals) or a
counted unreadable line (logs). Deterministic per seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from qqgate import core
from qqgate.core.journal import JournalError, read_journal
from ..logs import import_log

_VALID = [
    '{"op":10,"d":{"heartbeat_interval":41250}}',
    '{"op":11}',
    '{"op":1,"d":null}',
    '{"op":7}',
    '{"op":9,"d":false}',
    '{"op":0,"s":5,"t":"READY","d":{"session_id":"s-fuzz","version":1}}',
    '{"op":0,"s":6,"t":"RESUMED","d":""}',
    '{"op":0,"s":7,"t":"C2C_MESSAGE_CREATE","id":"C2C:1","d":{"id":"ROBOT1.0_x","content":"hi"}}',
    '{"op":0,"s":3,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"ROBOT1.0_y","content":"back in time"}}',
]
_WEIRD_VALUES: list[object] = [None, True, False, -1, 0, 2**63, -2**63, 10**30, 1.5, float("nan"), "", "x" * 50, [], {},
                 [1, 2], {"a": {"b": {}}}]


@dataclass
class FuzzReport:
    """Counts of one fuzz run; ``exceptions`` and ``invariant_breaks`` must stay empty."""

    frames: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)
    invariant_breaks: list[str] = field(default_factory=list)
    journal_lines: int = 0
    journal_errors: int = 0
    log_texts: int = 0
    log_unreadable: int = 0

    @property
    def ok(self) -> bool:
        return not self.exceptions and not self.invariant_breaks


def _states() -> list[core.State]:
    """One core state per phase that owns a connection, plus backing off (built by real steps)."""
    s = core.initial_state(core.Config(seed=5))
    states = []
    script: list[core.Input] = [
        core.Start(0.0), core.TokenIssued(0.1, "fuzz-token", 7200.0),
        core.GatewayResolved(0.2, "wss://x/websocket", core.SessionStartLimit(1000, 1000, 0, 1)),
        core.SocketOpened(0.3, 1), core.FrameReceived(0.4, 1, _VALID[0]), core.FrameReceived(0.5, 1, _VALID[5]),
    ]
    for inp in script:
        s, _ = core.step(s, inp)
        states.append(s)
    resuming = s
    for inp in (core.SocketClosed(1.0, 1, 4009, "Session timed out"), core.Tick(2.0), core.SocketOpened(2.1, 2),
                core.FrameReceived(2.2, 2, _VALID[0])):
        resuming, _ = core.step(resuming, inp)
        states.append(resuming)
    return states


def mutate(text: str, rng: random.Random) -> str | bytes:
    """One random corruption of ``text``: a flipped byte, a cut, an insertion, a type swap, a huge or binary frame."""
    kind = rng.randrange(9)
    data = bytearray(text.encode("utf-8", errors="surrogatepass"))
    if kind == 0 and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
        return data.decode("utf-8", errors="replace")
    if kind == 1:
        return text[: rng.randrange(len(text) + 1)]
    if kind == 2:
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(['"', "{", "}", ",", ":", "\\", "\x00", "\ud800", "9" * 40]) + text[at:]
    if kind == 3:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            return text[::-1]
        key = rng.choice(["op", "s", "t", "d", "id"])
        value = rng.choice(_WEIRD_VALUES)
        obj[key] = value
        return json.dumps(obj)  # the standard library writes what orjson will not: 10**30, NaN
    if kind == 4:
        return '{"op":0,"s":8,"t":"C2C_MESSAGE_CREATE","d":{"id":"big","content":"' + "x" * rng.choice((10**4, 10**6)) + '"}}'
    if kind == 5:
        return "[" * rng.choice((100, 10_000)) + "]" * rng.choice((0, 100))
    if kind == 6:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if kind == 7:
        return '{"op":%d,"d":null}' % rng.choice((2, 3, 4, 5, 6, 8, 12, 13, 99, -1, 2**40))
    return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(40)))


def fuzz_frames(n: int, seed: int, report: FuzzReport) -> None:
    """Feed ``n`` random or mutated frames, each to a random state, live or stale connection."""
    rng = random.Random(seed)
    states = _states()
    for _ in range(n):
        state = rng.choice(states)
        text: str | bytes = rng.choice(_VALID) if rng.random() < 0.2 else mutate(rng.choice(_VALID), rng)
        live = state.live_conn if state.live_conn is not None else 1
        conn = live if rng.random() < 0.85 else rng.choice((live - 1, live + 1, 0, -5))
        inp = core.FrameReceived(state.now + rng.uniform(-1.0, 5.0), conn, text)
        report.frames += 1
        try:
            after, commands = core.step(state, inp)
        except Exception as exc:  # the defect this fuzzer exists to find
            report.exceptions.append(f"{type(exc).__name__}: {exc} on {str(text)[:80]!r}")
            continue
        for problem in core.check_step(state, inp, after, commands):
            report.invariant_breaks.append(f"{problem} on {str(text)[:80]!r}")
        if after.counters.frames_rejected > state.counters.frames_rejected:
            report.rejected += 1
            reason = next((str(c.fields.get("reason", "")) for c in commands
                           if isinstance(c, core.Log) and c.event == "frame_rejected"), "?")
            report.reasons[reason.split(":")[0][:60]] += 1
        elif after.counters.stale_inputs > state.counters.stale_inputs:
            report.reasons["stale connection (ignored)"] += 1


def fuzz_journal(journal_text: bytes, n: int, seed: int, report: FuzzReport) -> None:
    """Corrupt one line of a real journal ``n`` times; reading must give a Journal or a JournalError."""
    rng = random.Random(seed)
    lines = journal_text.split(b"\n")
    for _ in range(n):
        i = rng.randrange(len(lines))
        bad = mutate(lines[i].decode("utf-8", errors="replace"), rng)
        corrupted = list(lines)
        corrupted[i] = bad if isinstance(bad, bytes) else bad.encode("utf-8", errors="surrogatepass")
        report.journal_lines += 1
        try:
            read_journal(b"\n".join(corrupted))
        except JournalError:
            report.journal_errors += 1
        except Exception as exc:
            report.exceptions.append(f"journal reader: {type(exc).__name__}: {exc}")


def fuzz_logs(log_texts: list[str], n: int, seed: int, report: FuzzReport) -> None:
    """Corrupt lines of real hermes logs ``n`` times; the importer must never raise."""
    rng = random.Random(seed)
    for _ in range(n):
        lines = rng.choice(log_texts).split("\n")
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(lines))
            bad = mutate('{"op":11}', rng) if rng.random() < 0.2 else mutate(lines[i] or "x", rng)
            lines[i] = bad.decode("utf-8", errors="replace") if isinstance(bad, bytes) else bad
        report.log_texts += 1
        try:
            imported = import_log("\n".join(lines))
            report.log_unreadable += len(imported.parsed.unreadable)
        except Exception as exc:
            report.exceptions.append(f"log importer: {type(exc).__name__}: {exc}")


def run_fuzz(frames: int, seed: int, samples: Path) -> FuzzReport:
    """Frames into the core, then corrupt journal lines and log lines from ``samples`` (logs_samples/)."""
    report = FuzzReport()
    fuzz_frames(frames, seed, report)
    journals = sorted(samples.glob("*.core.jsonl"))
    if journals:
        fuzz_journal(journals[0].read_bytes(), max(100, frames // 100), seed, report)
    logs = [p.read_text(encoding="utf-8") for p in sorted(samples.glob("*.log"))]
    if logs:
        fuzz_logs(logs, max(100, frames // 100), seed, report)
    return report
