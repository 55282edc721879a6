"""``qqgate replay FILE.log``: real log in, incident named, reproduced by legacy, survived by core."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from qqgate.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "logs_samples"


def replay(path: Path, *extra: str) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["replay", str(path), *extra])
    return code, buf.getvalue()


def test_death_loop_log_reproduced_and_survived() -> None:
    code, out = replay(SAMPLES / "death-loop.log")
    assert code == 0, out
    assert "incident: death-loop" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("failures found"))
    match = re.search(r"death_loop ×(\d+)", row)
    assert match and int(match.group(1)) >= 3, row
    core_part = row.split("death_loop ×")[1].split(None, 1)[1]
    assert core_part.strip() == "none"
    assert "2.00 simulated hours" in out


@pytest.mark.parametrize("name,incident", [
    ("busy-spin.log", "busy-spin"), ("exhaustion-zombie.log", "exhaustion-zombie"),
    ("half-open.log", "half-open"), ("stale-resume.log", "reconnect-storm"),
    ("banned.log", "banned"), ("format-example.log", "lost-close-code"),
])
def test_every_sample_log_is_named_and_survived(name: str, incident: str) -> None:
    code, out = replay(SAMPLES / name)
    assert code == 0, out
    assert f"incident: {incident}" in out
    assert "core: survives the same world" in out


def test_unreadable_lines_are_counted_and_shown(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_text("INFO: [QQBot:1] Reconnected\n\x00\x01 garbage ~~~\nWARNING: [QQBot:1] WebSocket closed: "
                   "code=4009 reason=Session timed out\n", encoding="utf-8")
    code, out = replay(log, "--hours", "0.5")
    assert code in (0, 1)
    assert "1 unreadable" in out
    assert "garbage" in out


def test_replay_output_is_deterministic() -> None:
    assert replay(SAMPLES / "half-open.log")[1] == replay(SAMPLES / "half-open.log")[1]
