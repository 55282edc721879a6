"""The argparse value types of every ``qqgate`` subcommand, in one place.

Each takes the argument's text and returns the value, or raises ``argparse.ArgumentTypeError``
whose message argparse prints after ``qqgate SUBCOMMAND: error: argument --NAME:`` (exit
status 2): a wrong argument never ends in a traceback. Units are in the names: hours, seconds.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
from pathlib import Path

from qqgate.replay.logs import LineTime, Until


def _number(text: str, what: str = "a number") -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def _integer(text: str, message: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(message.format(text=text)) from None


def positive_int(text: str) -> int:
    """An integer ≥ 1 (seeds to run, frames to feed, worker processes)."""
    value = _integer(text, "not an integer: {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """Any integer: the seed of a simulated world."""
    return _integer(text, "seed must be an integer, got {text!r}")


def simulated_hours(text: str) -> float:
    """Simulated hours of one run: > 0 and at most a year (8760 h)."""
    value = _number(text)
    if not value > 0 or value > 24 * 365:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most a year of hours, got {text}")
    return value


def soak_hours(text: str) -> float:
    """Simulated hours of faults per soak seed: > 0 and at most 720 (thirty days)."""
    value = _number(text)
    if not 0 < value <= 24 * 30:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most 720 hours, got {text}")
    return value


def crash_runs(text: str) -> int:
    """Journal writers crash-test kills: 1 to 10,000."""
    value = _integer(text, "not an integer: {text!r}")
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {value}")
    return value


def positive(text: str) -> float:
    """A finite number > 0 (seconds, or a time scale)."""
    value = _number(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative(text: str) -> float:
    """``0`` (meaning "none" or "never" where the option says so) or a finite number > 0."""
    if text.strip() == "0":
        return 0.0
    return positive(text)


def probability(text: str) -> float:
    """A probability: a number from 0 to 1."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    value = _integer(text, "port must be an integer, got {text!r}")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {text}")
    return value


def intents(text: str) -> int:
    """Identify intents: names from ``io_shell.Intents`` and integers (decimal or 0x/0o/0b),
    joined by ``|`` or ``,`` (``GROUP_AND_C2C_EVENT|PUBLIC_GUILD_MESSAGES``, ``33554432``)."""
    from qqgate.io_shell._intents import Intents
    try:
        return int(Intents.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds(text: str) -> float:
    """A duration in seconds, > 0."""
    value = _number(text, "a number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0 seconds")
    return value


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) → (host, port); port 0 picks any free port."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:8443, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port(port_text)


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _integer(text, "must be an integer, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


WEBHOOK_FAULTS = ("bad_signature", "stale_timestamp", "duplicate", "out_of_order", "late_answer")


def webhook_fault(text: str) -> tuple[str, float]:
    """``NAME=P``: a webhook fault (one of WEBHOOK_FAULTS) and the share of events it hits, 0..1."""
    name, sep, value = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in WEBHOOK_FAULTS:
        raise argparse.ArgumentTypeError(f"expected NAME=P with NAME one of {', '.join(WEBHOOK_FAULTS)}, got {text!r}")
    return name, probability(value)


def output_file(text: str) -> Path:
    """A file to write: its folder must exist and be writable, and it must not be a folder
    (checked before any work is done, so a long run never ends in a write error)."""
    path = Path(text)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {folder}")
    return path


def log_date(text: str) -> datetime.date:
    """``YYYY-MM-DD``: the day a log was written, for a log whose lines carry no date."""
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


_UNTIL_RE = re.compile(r"\+\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|min|h|d)?\s*$")
_UNTIL_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_STAMP_RE = re.compile(r"(?:(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ T])?(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?$")


def until(text: str) -> Until:
    """``--until``: ``+1h`` / ``+90m`` / ``+3600`` (s) after the log's last event, or a stamp
    ``HH:MM[:SS]`` / ``YYYY-MM-DD HH:MM[:SS]`` (the log's own clock) up to which it was captured."""
    t = text.strip()
    m = _UNTIL_RE.match(t)
    if m is not None:
        return Until(after_s=float(m.group("n")) * _UNTIL_UNITS[m.group("unit")])
    m = _STAMP_RE.match(t)
    if m is not None:
        h, mi, s = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
        if h < 24 and mi < 60 and s < 61:
            day = None
            if m.group("y"):
                try:
                    day = datetime.date(int(m.group("y")), int(m.group("mo")), int(m.group("d"))).toordinal()
                except ValueError:
                    day = None
                if day is None:
                    raise argparse.ArgumentTypeError(f"not a date: {text!r}")
            return Until(time=LineTime(day, h * 3600.0 + mi * 60.0 + s, 1.0, dated=day is not None))
    raise argparse.ArgumentTypeError(f"--until takes +DURATION (+1h, +90m, +3600) or a time "
                                     f"(18:01, 2026-05-04 18:01), got {text!r}")
