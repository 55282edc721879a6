"""Progress bars on a terminal, none when piped; Ctrl-C prints the results so far, exit 130, no traceback.

Each long command runs in a pseudo-terminal (a real pty, as a user's terminal), its bar is waited
for, then SIGINT goes to its process group (what Ctrl-C does) and the rest of its output is read.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QQGATE = [sys.executable, "-m", "qqgate"]
DEADLINE_S = 120.0
"""The longest a command may take to draw its bar or to stop after Ctrl-C (a loaded 2-core machine)."""


def _env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    env.pop("CI", None)
    env.pop("NO_COLOR", None)
    return env


class Terminal:
    """A command running on a pty: ``read_until`` what it draws, ``interrupt`` it like Ctrl-C."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=_env(),
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = b""

    def read_until(self, pattern: bytes, timeout_s: float = DEADLINE_S) -> bool:
        end = time.monotonic() + timeout_s
        while not re.search(pattern, self.output):
            left = end - time.monotonic()
            if left <= 0 or not self._read(min(left, 1.0)):
                return bool(re.search(pattern, self.output))
        return True

    def _read(self, timeout_s: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout_s)
        if not ready:
            return self.proc.poll() is None
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the command ended and the pty closed
            return False
        self.output += chunk
        return bool(chunk)

    def interrupt(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        while self._read(1.0):
            pass
        return self.proc.wait(timeout=DEADLINE_S)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        os.close(self.master)


CASES = {
    "soak": (QQGATE + ["soak", "--seeds", "2000", "--hours", "6", "--jobs", "2"], rb"soak[\s\S]*? +[1-9]\d*/2000",
             rb"seeds [1-9]\d*: ok \d+, failed 0[\s\S]*interrupted \(Ctrl-C\) after [1-9]\d* of 2000 seeds"),
    "fuzz": (QQGATE + ["fuzz", "--frames", "5000000"], rb"fuzz[\s\S]*? +[1-9]\d*/5100000",
             rb"frames fed \d+[\s\S]*interrupted \(Ctrl-C\) after \d+ of 5000000 frames"),
    "crash-test": (QQGATE + ["crash-test", "--runs", "500"], rb"crash-test[\s\S]*? +[1-9]\d*/1000",
                   rb"runs \d+: killed mid-write[\s\S]*interrupted \(Ctrl-C\) after \d+ of 500 runs"),
    "incidents": (QQGATE + ["incidents", "--run", "--hours", "48"], rb"incidents[\s\S]*?[2-9]/18",
                  rb"scenario[\s\S]*death-loop[\s\S]*interrupted \(Ctrl-C\) after [1-8] of 9 scenarios"),
    "benchmarks": ([sys.executable, "-m", "benchmarks", "--quick", "--out", "{tmp}/results.md"],
                   rb"benchmarks[\s\S]*?\D[1-9]/9\D", rb"interrupted \(Ctrl-C\) after \d+ figures; \S+results.md was not written"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bar_on_a_terminal_and_ctrl_c_reports_what_was_done(name: str, tmp_path: Path) -> None:
    argv, bar, report = CASES[name]
    term = Terminal([a.replace("{tmp}", str(tmp_path)) for a in argv], ROOT)
    try:
        assert term.read_until(bar), f"no progress bar: {term.output[-2000:]!r}"
        assert b"\x1b[" in term.output  # drawn with the terminal's codes
        status = term.interrupt()
    finally:
        term.close()
    text = term.output.replace(b"\r\n", b"\n")
    assert status == 130, text[-3000:]
    assert b"Traceback" not in text and b"KeyboardInterrupt" not in text, text[-3000:]
    assert re.search(report, text), text[-3000:]
    assert not (tmp_path / "results.md").exists()


def test_replay_ctrl_c_is_one_line_and_130(tmp_path: Path) -> None:
    term = Terminal(QQGATE + ["replay", "logs_samples/death-loop.log", "--hours", "5000"], ROOT)
    try:
        assert term.read_until(rb"incident  death_loop")
        time.sleep(0.5)
        status = term.interrupt()
    finally:
        term.close()
    assert status == 130
    assert b"Traceback" not in term.output
    assert term.output.rstrip().endswith(b"qqgate replay: interrupted (Ctrl-C)")


def test_no_bar_and_no_escape_codes_when_piped() -> None:
    for argv in (["soak", "--seeds", "6", "--hours", "1", "--jobs", "2"], ["fuzz", "--frames", "3000"],
                 ["incidents", "--run", "--hours", "0.2"]):
        done = subprocess.run(QQGATE + argv, cwd=ROOT, capture_output=True, env=_env(), timeout=DEADLINE_S)
        assert done.returncode in (0, 1), done.stderr
        for stream in (done.stdout, done.stderr):
            assert b"\x1b[" not in stream and "━".encode() not in stream
        assert done.stderr == b""  # a short run prints no plain progress line either
