"""Subprocesses for the real-socket benchmarks: start, read, measure, stop.

CPU time is ``utime + stime`` of ``/proc/<pid>/stat`` (clock ticks, every thread including
those that already ended; the per-thread ``schedstat`` counters are finer but forget ended
threads, and qqgate's journal writer threads come and go). RSS is ``VmRSS`` of
``/proc/<pid>/status``. Linux only, like the benchmarks.
"""

from __future__ import annotations

import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Callable, Sequence

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (holds core/, io_shell/, replay/, tests/)."""
PYTHON = sys.executable
BOTPY_ECHO = ROOT / "tests" / "peers" / "botpy_echo.py"
"""An unmodified botpy 1.2.1 echo bot pointed at a local gateway (``botpy_echo.py HTTP_BASE``)."""
PEERS = Path(__file__).resolve().parent
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment with the repository on PYTHONPATH and unbuffered output."""
    env = dict(os.environ)
    old = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + old if old else "")
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, every thread, ended ones included) used so far by ``pid``; NaN if gone.

    From ``utime + stime`` of ``/proc/<pid>/stat``: clock ticks (10 ms at the usual 100 Hz).
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)
    except (OSError, ValueError, IndexError):
        return float("nan")


def rss_kib(pid: int) -> float:
    """Resident set size of ``pid`` in KiB (VmRSS); NaN if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def raise_nofile(pid: int | None = None) -> None:
    """Raise the soft RLIMIT_NOFILE of ``pid`` (None: this process) to its hard limit."""
    try:
        if pid is None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        else:
            _soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass


class Child:
    """A subprocess whose stdout lines are collected by a thread and whose stderr goes to a log file.

    ``wait_line(pred, timeout_s)`` returns the first unread stdout line matching ``pred``.
    ``stop()`` sends SIGTERM, then SIGKILL after ``grace_s``; it is idempotent.
    """

    def __init__(self, argv: Sequence[str], cwd: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self._log: IO[bytes] = open(self.log_path, "wb")
        self.proc: subprocess.Popen[str] = subprocess.Popen(
            list(argv), cwd=cwd, env=env if env is not None else child_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, pred: Callable[[str], bool], timeout_s: float) -> str | None:
        """The next stdout line for which ``pred`` holds, or None after ``timeout_s`` or at EOF."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self._queue.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    return None
                continue
            if line is None:
                return None
            self.lines.append(line)
            if pred(line):
                return line

    def drain(self) -> list[str]:
        """Every stdout line read so far and not yet taken by ``wait_line``/``drain`` (also kept in ``lines``)."""
        out: list[str] = []
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return out
            if line is None:
                self._queue.put(None)
                return out
            self.lines.append(line)
            out.append(line)

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except OSError:
                pass

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_kib(self) -> float:
        return rss_kib(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace_s: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    pass
        self._reader.join(timeout=1.0)
        if self.proc.stdout is not None and not self._reader.is_alive():
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        self._log.close()


def stop_all(children: Sequence[Child]) -> None:
    """SIGTERM every child first, then wait for each (SIGKILL after the grace period)."""
    for child in children:
        child.signal(signal.SIGTERM)
    for child in children:
        child.stop()
