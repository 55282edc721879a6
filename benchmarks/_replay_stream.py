"""Figures 11 and 12: ``qqgate replay`` of a large log, in bounded memory; and of a 2 GB sparse file.

A hermes-agent gateway log is written for the run (200 MB in full mode, 20 MB in quick mode):
the death loop of a v0.12 adapter for weeks (a drop every ~60 s, reconnect, resume) between
the lines of the rest of the process (its agent and tool lines), in hermes' own logging format.
Each repeat runs ``qqgate replay`` on it in a fresh process and reads the process's wall time
and peak resident set size (``os.wait4``'s ``ru_maxrss``); the baseline is the same command on
``logs_samples/death-loop.log`` (8 lines), measured in the same run. The 2 GB sparse file (all
zeros) is refused after its first read: its figures are in the note.
"""

from __future__ import annotations

import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._stats import Figure

ROOT = Path(__file__).resolve().parent.parent
TAG = "gateway.platforms.qqbot.adapter: [QQBot:1903424243]"


def _stamp(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") + f",{t.microsecond // 1000:03d}"


def write_log(path: Path, megabytes: int) -> int:
    """Write the benchmark's hermes log (about ``megabytes`` MB); return its line count."""
    target, size, lines_out, seq = megabytes * 1_000_000, 0, 0, 1
    t = datetime.datetime(2026, 3, 1, 10, 0, 0)
    second = datetime.timedelta(seconds=1)
    with open(path, "w", encoding="utf-8") as fh:
        while size < target:
            lines = []
            for k in range(8):
                lines.append(f"{_stamp(t + k * 7 * second)} INFO gateway.run: [agent] handled message {seq}-{k} "
                             "for qqbot:dm:E4F4AEA33253A2797FB897C50B81D7ED in 1.2s")
                lines.append(f"{_stamp(t + (k * 7 + 1) * second)} INFO agent.tool_executor: Tool terminal returned "
                             "(0.41s): ok")
            d = t + 60 * second
            up = d + 2 * second
            lines += [f"{_stamp(d)} WARNING {TAG} WebSocket error: WebSocket closed",
                      f"{_stamp(d)} INFO {TAG} Reconnecting in 2s (attempt 1)...",
                      f"{_stamp(up)} INFO {TAG} WebSocket connected to wss://api.sgroup.qq.com/websocket",
                      f"{_stamp(up)} INFO {TAG} Reconnected",
                      f"{_stamp(up + 0.04 * second)} INFO {TAG} Resume sent (session_id=9b5bfc4a, seq={seq})",
                      f"{_stamp(up + 0.12 * second)} INFO {TAG} Session resumed"]
            block = "\n".join(lines) + "\n"
            fh.write(block)
            size += len(block.encode())
            lines_out += len(lines)
            seq += 1
            t = up
    return lines_out


def run_replay(path: Path) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS in MB, exit status, CPU seconds) of ``qqgate replay PATH`` in a
    fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qqgate", "replay", str(path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, usage.ru_utime + usage.ru_stime


def measure(quick: bool) -> list[Figure]:
    megabytes, repeats = (20, 1) if quick else (200, 3)
    baseline = ROOT / "logs_samples" / "death-loop.log"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "hermes.log"
        lines = write_log(log, megabytes)
        sparse = Path(tmp) / "sparse.log"
        with open(sparse, "wb") as fh:
            fh.truncate(2 << 30)
        walls, rss, cpus, base_walls, base_rss = [], [], [], [], []
        status = 0
        for _ in range(repeats):
            w, r, status, c = run_replay(log)
            walls.append(w)
            rss.append(r)
            cpus.append(c)
            bw, br, _, _ = run_replay(baseline)
            base_walls.append(bw)
            base_rss.append(br)
        sw, sr, sstatus, _ = run_replay(sparse)
    what = f"qqgate replay of a {megabytes} MB hermes log ({lines:,} lines)"
    sparse_note = f"a 2 GB sparse file: refused in {sw:.2f} s, peak {sr:.0f} MB, exit {sstatus}"
    time_fig = Figure(11, f"{what}: wall time", "s", walls, goal="< 60 s for 200 MB" if not quick else "",
                      met=(max(walls) < 60.0) if not quick else None, baseline_name="8-line log",
                      baseline_values=base_walls, ratio_values=[a / b for a, b in zip(walls, base_walls)],
                      note=f"exit {status}; CPU {statistics.median(cpus):.1f} s (median; on a shared machine the "
                           f"wall time includes waiting for a core); {sparse_note}")
    rss_fig = Figure(12, f"{what}: peak resident memory", "MB", rss, goal="< 200 MB",
                     met=max(rss) < 200.0, baseline_name="8-line log", baseline_values=base_rss,
                     ratio_values=[a / b for a, b in zip(rss, base_rss)],
                     note="os.wait4 ru_maxrss of the replay process (the reader streams; the simulated "
                          "runs keep no per-step history)")
    return [time_fig, rss_fig]
