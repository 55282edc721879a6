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
from typing import Callable

import orjson

from qqgate import core
from qqgate.core.journal import JournalError, read_journal
from ..logs import read_log

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


TICK_EVERY = 1000
"""``tick`` is called with this many frames (or fewer, at the end) as they are done."""


def fuzz_frames(n: int, seed: int, report: FuzzReport, tick: Callable[[int], None] | None = None) -> None:
    """Feed ``n`` random or mutated frames, each to a random state, live or stale connection;
    ``tick(k)`` after every ``TICK_EVERY`` frames (progress)."""
    rng = random.Random(seed)
    states = _states()
    for done in range(n):
        if tick is not None and done and done % TICK_EVERY == 0:
            tick(TICK_EVERY)
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
    if tick is not None and n:
        tick(n - (n - 1) // TICK_EVERY * TICK_EVERY)  # the frames since the last tick


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
            reading = read_log(lines)
            report.log_unreadable += reading.report.totals["unreadable"]
        except Exception as exc:
            report.exceptions.append(f"log importer: {type(exc).__name__}: {exc}")


class CorpusError(ValueError):
    """The samples given to the fuzzer hold no journal or no log; the message says what is missing."""


@dataclass
class Corpus:
    """What the readers' fuzzing corrupts: journals (bytes), hermes logs (text), and where they came from."""

    journals: list[bytes]
    logs: list[str]
    source: str


def load_corpus(samples: Path) -> Corpus:
    """The journals (``*.core.jsonl``) and logs (``*.log``) in ``samples``, the first journal only
    (as the fuzzer uses it). Raises CorpusError when the folder is missing or lacks either."""
    if not samples.is_dir():
        raise CorpusError(f"no such folder: {samples} (--samples wants logs_samples/ or a folder like it)")
    journals = sorted(samples.glob("*.core.jsonl"))
    logs = sorted(samples.glob("*.log")) + sorted(samples.glob("real/*.log"))
    missing = [what for what, found in (("no journal (*.core.jsonl)", journals), ("no log (*.log)", logs))
               if not found]
    if missing:
        raise CorpusError(f"{samples} holds {' and '.join(missing)}: the journal and log readers would go unfuzzed")
    return Corpus([journals[0].read_bytes()], [p.read_text(encoding="utf-8") for p in logs],
                  f"{samples}: {len(journals)} journal(s) (the first is used), {len(logs)} log(s)")


BUILTIN_SCENARIOS = ("death-loop", "busy-spin", "half-open", "exhaustion-zombie", "reconnect-storm")
"""Scenarios whose runs make the built-in corpus."""


def builtin_corpus() -> Corpus:
    """A corpus made here, for a fuzzer run outside the checkout: the core's journal of one simulated
    hour of ``death-loop`` and the legacy model's hermes-format logs of one simulated hour of each of
    ``BUILTIN_SCENARIOS`` (what logs_samples/ holds, but simulated rather than quoted)."""
    from qqgate.core.journal import journal_lines

    from .. import SCENARIOS, journal_header, log_lines, run_scenario
    core_run = run_scenario(SCENARIOS["death-loop"], "core", hours=1.0)
    journal = b"".join(journal_lines(journal_header(core_run, "death-loop", 1, 1.0), core_run.run.journal))
    logs = ["\n".join(log_lines(run_scenario(SCENARIOS[name], "legacy", hours=1.0).run)) + "\n"
            for name in BUILTIN_SCENARIOS]
    return Corpus([journal], logs, f"built in: the core's journal of 1 simulated hour of death-loop and the "
                                   f"legacy model's logs of {', '.join(BUILTIN_SCENARIOS)}")


def run_fuzz(frames: int, seed: int, samples: Path | Corpus, report: FuzzReport | None = None,
             tick: Callable[[int], None] | None = None) -> FuzzReport:
    """Frames into the core, then corrupt journal lines and log lines of the corpus (``samples``:
    a folder such as logs_samples/, see ``load_corpus``, or a ``Corpus``). ``report``: fill this
    one (a caller that may be interrupted keeps what was counted); ``tick(k)``: k more items done
    (frames, then corrupted journals and logs). Raises CorpusError for a folder without samples."""
    corpus = samples if isinstance(samples, Corpus) else load_corpus(samples)
    report = report if report is not None else FuzzReport()
    fuzz_frames(frames, seed, report, tick)
    lines = max(100, frames // 100)
    fuzz_journal(corpus.journals[0], lines, seed, report)
    if tick is not None:
        tick(lines)
    fuzz_logs(corpus.logs, lines, seed, report)
    if tick is not None:
        tick(lines)
    return report


def fuzz_work(frames: int) -> int:
    """How many items ``run_fuzz`` ticks off in all for ``frames`` frames (a progress bar's total)."""
    return frames + 2 * max(100, frames // 100)
