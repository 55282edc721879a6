"""What a session-holder process reports about itself: RSS, CPU seconds, JSON event lines.

Shared by qqgate_sessions.py and botpy_sessions.py so both sides of figure 8 measure alike.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


def rss_kib() -> float:
    """Resident set size of this process in KiB (VmRSS), NaN if /proc is unreadable."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return float("nan")


def cpu_s() -> float:
    """User + system CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sys_s() -> float:
    """System CPU seconds of this process."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def say(**fields: Any) -> None:
    """One JSON event line on stdout, flushed (the parent reads them as they come)."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
