"""Which version of a client wrote a log: from its wording and its dates, never by default.

hermes-agent's adapter changed behaviour three times in 2026 (research notes formats.md and
clients-behaviour.md; the PyPI version numbers do not follow the behaviour: the 0.13.0 and
0.14.0 wheels hold byte-identical adapters):

==========  ==================  ====================================================================
version     dates (main)        behaviour that matters here
==========  ==================  ====================================================================
0.12        to 2026-05-06       v0.11-0.12 (#19821 runs v0.12.0): a drop or failed reconnect clears
                                ``_running``: the heartbeat task can die in the reconnect window (the
                                death loop), a failed reconnect ends the listen task (silent stop)
0.13        2026-05-07 to 05-13 the same code (#22179 runs v0.13.0, 2026-05-09)
0.14        2026-05-14 to 06-04 PR #25493 (merged 2026-05-14) only marks the transport down: the
                                heartbeat survives; a failed reconnect leaves a closed socket that
                                the loop reads at once, for ever: the busy spin (#31101, #31193)
fixed       from 2026-06-05     the June fixes: 4009 resumes (PR #39583: "main already preserves
                                4009"), op 7/9 handled, a closed socket raises (PR #20994's fix on
                                main by 2026-06-11); still no ACK tracking, still 100 attempts
==========  ==================  ====================================================================

Wording: ``Server requested reconnect (op 7)``, ``Invalid session (op 9...)`` and the new
``Bot is <reason>`` texts exist only after the fixes; ``Session resumed (seq=N)`` only from mid
May (#25505, 2026-05-14); ``Session error (4009), clearing session`` only before the fixes.

botpy: the ``(gateway.py:N)on_closed`` of its console format names the release (``:56`` is
v1.2.0-1.2.1, ``:54`` v1.1.0-1.1.2, ``:55`` v1.0.9 or v1.1.5-1.1.6); v1.2.1 was tagged
2024-03-22, and before 2023-12-19 botpy's ``on_error`` did not reconnect (botpy#141).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

HERMES_VERSIONS = ("0.12", "0.13", "0.14", "fixed")
_HERMES_ERAS = ((_dt.date(2026, 5, 6), "0.12"), (_dt.date(2026, 5, 13), "0.13"),
                (_dt.date(2026, 6, 4), "0.14"))
RUNNING_CLEARED = frozenset({"0.12", "0.13"})
"""The versions whose errors clear ``_running`` (death loop, silent stop)."""

BOTPY_MODEL_FROM = _dt.date(2024, 3, 22)
"""botpy v1.2.1's tag: logs from then on are modelled by the botpy 1.2.1 model."""
BOTPY_ON_ERROR_FIX = _dt.date(2023, 12, 19)
_BOTPY_SOURCES = {"gateway.py:56": "1.2", "gateway.py:54": "1.1", "gateway.py:55": "1.0.9 or 1.1.5"}


@dataclass(frozen=True, slots=True)
class Version:
    """What is known of the version: ``candidates`` (one when known) and ``why`` (printed)."""

    candidates: tuple[str, ...]
    why: str

    @property
    def known(self) -> bool:
        return len(self.candidates) == 1


def hermes_era(day: _dt.date) -> str:
    """The hermes behaviour version of a log written on ``day`` (table above)."""
    for end, version in _HERMES_ERAS:
        if day <= end:
            return version
    return "fixed"


def hermes_version(wordings: set[str], latest_day: _dt.date | None, date_given: bool) -> Version:
    """The hermes version(s) a log fits: its wordings narrow the set, its latest date (from its
    lines, or ``--date``: ``date_given``) picks one."""
    cands = list(HERMES_VERSIONS)
    reasons = []
    if "op7-op9-handled" in wordings:
        cands = ["fixed"]
        reasons.append("op 7/op 9/fatal-code wordings exist only after the 2026-06 fixes")
    if "resumed-with-seq" in wordings:
        cands = [c for c in cands if c in ("0.14", "fixed")]
        reasons.append("'Session resumed (seq=N)' appears from mid-May 2026")
    if "4009-clears-session" in wordings:
        cands = [c for c in cands if c != "fixed"]
        reasons.append("'Session error (4009), clearing session' is gone after the fixes")
    if latest_day is not None:
        era = hermes_era(latest_day)
        src = "--date" if date_given else "the log's dates"
        label = "the post-2026-06 version" if era == "fixed" else f"v{era}"
        if era in cands:
            return Version((era,), "; ".join(reasons + [f"{src} ({latest_day.isoformat()}) fall in {label}'s time"]))
        reasons.append(f"{src} ({latest_day.isoformat()}) say {label}, the wording does not")
    why = "; ".join(reasons) if reasons else "nothing in the log dates it (no year in any stamp, no dated wording)"
    return Version(tuple(cands), why)


def botpy_version(sources: dict[str, int], latest_day: _dt.date | None) -> Version:
    """botpy's release from ``(gateway.py:N)`` of its close lines, else from the date."""
    for src, version in _BOTPY_SOURCES.items():
        if src in sources:
            return Version((version,), f"on_closed at {src} is botpy v{version}.x")
    if latest_day is not None:
        if latest_day >= BOTPY_MODEL_FROM:
            return Version(("1.2",), f"the log's date {latest_day.isoformat()} is after v1.2.1 (2024-03-22)")
        if latest_day < BOTPY_ON_ERROR_FIX:
            return Version(("<1.2",), f"the log's date {latest_day.isoformat()} is before botpy's on_error "
                                      "reconnect fix (2023-12-19)")
        return Version(("<1.2",), f"the log's date {latest_day.isoformat()} is before v1.2.1 (2024-03-22)")
    return Version(("1.2", "<1.2"), "nothing in the log names botpy's release")
