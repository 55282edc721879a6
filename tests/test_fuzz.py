"""Fuzzed frames, journal lines and log lines: nothing escapes, every rejection is counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qqgate import core
from qqgate.replay.checks import FuzzReport, fuzz_frames, run_fuzz

SAMPLES = Path(__file__).resolve().parent.parent / "logs_samples"


def test_fuzz_finds_nothing_and_counts_every_rejection() -> None:
    report = run_fuzz(30_000, seed=3, samples=SAMPLES)
    assert report.exceptions == [] and report.invariant_breaks == []
    assert report.frames == 30_000 and report.rejected > 5_000
    reasons = " | ".join(report.reasons)
    for expected in ("invalid JSON", "binary frame", "unknown or client-only opcode", "stale connection",
                     "before Hello", "dispatch without"):
        assert expected in reasons, expected
    assert report.journal_lines > 0 and 0 < report.journal_errors <= report.journal_lines
    assert report.log_texts > 0 and report.log_unreadable > 0


def test_fuzzer_reports_an_escaping_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    real_step = core.step

    def fragile(state: core.State, inp: core.Input) -> Any:
        if isinstance(inp, core.FrameReceived) and isinstance(inp.text, bytes):
            raise ValueError("binary frames crash this core")
        return real_step(state, inp)

    monkeypatch.setattr(core, "step", fragile)  # the fuzzer steps the core through its module
    report = FuzzReport()
    fuzz_frames(3_000, seed=1, report=report)
    assert report.exceptions and "binary frames crash" in report.exceptions[0]
    assert not report.ok
