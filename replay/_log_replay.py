"""``qqgate replay FILE.log``: a real hermes log in, the incident reproduced and survived out.

Reads the log (replay.logs), prints the timeline and the unreadable lines, names the
incident, derives the world behind it, and runs that world against the legacy model (in the
version and condition the log shows) and against the core, side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TextIO

from rich.text import Text

from ._detectors import FAILURE_NAMES, detection_delay, half_open_cuts
from ._report import clock, excerpt, log_lines, render_findings
from ._runner import Outcome, make_model, run_world
from ._scenarios import SCENARIOS
from ._tables import print_table
from .logs import import_log
from .world import FatalNoted, IdentifySent, ResumeSent, SocketOpening

if TYPE_CHECKING:
    from .timeline import Timeline

NO_LEGACY_EXPECTATION = frozenset({"lost-close-code", "unknown"})
"""Incidents whose derived world cannot show harm by itself (the log does not say which code was lost)."""


def _styled(key: str, value: str) -> Text:
    """A side-by-side cell, red when it names a failure (colour on a terminal only)."""
    bad = (key == "failures found" and value != "none") or (key == "dead link detected" and value == "never")
    return Text(value, style="bold red" if bad else "")


def _side(outcome: Outcome) -> dict[str, str]:
    run = outcome.run
    failures = [f for f in outcome.findings if f.name in FAILURE_NAMES]
    found = ", ".join(f"{f.name} ×{f.count}" if f.count > 1 else f.name for f in failures) or "none"
    detect = "-"
    cuts = half_open_cuts(run)
    if cuts:
        delay = detection_delay(run, *cuts[0])
        detect = "never" if delay is None else f"{delay:.1f} s"
    unique = set(run.delivered_ids)
    return {
        "failures found": found,
        "ran": f"{run.ended_at / 3600:.2f} h, {run.steps} steps" + (" (stopped: spin)" if run.spin else ""),
        "sockets opened": str(run.count(SocketOpening)),
        "identify / resume": f"{run.count(IdentifySent)} / {run.count(ResumeSent)}",
        "messages": f"{len(unique)} of {len(run.pushed)} delivered, {len(run.missing_ids())} missing",
        "host told (Fatal)": str(run.count(FatalNoted)),
        "dead link detected": detect,
    }


def replay_log(name: str, text: str, out: TextIO, *, seed: int, hours: float | None,
               draw: Callable[[Timeline], bool] | None = None) -> int:
    """Replay the hermes log ``text`` (named ``name`` in the report) and write the report to ``out``.

    ``seed`` seeds the derived world; ``hours`` (simulated) defaults to 2, or longer when the
    log's outage needs it. ``draw`` writes the timeline of both runs (``--html``/``--png``).
    Returns 0 when the legacy model reproduces the incident (or none is expected from the log's
    world alone) and the core survives it, 1 when not, 2 when the timeline could not be written.
    """
    imp = import_log(text)
    parsed, diag = imp.parsed, imp.diagnosis
    out.write(f"read      {name}: {parsed.total_lines} lines: {len(parsed.events)} events, "
              f"{len(parsed.elisions)} elisions, {parsed.comments} comments, "
              f"{len(parsed.unreadable)} unreadable\n\n")
    for line in imp.summary_lines():
        out.write(f"  {line}\n")
    hours = hours if hours is not None else max(2.0, diag.run_for_s / 3600.0)
    legacy_expect = (SCENARIOS[diag.incident].legacy_expect
                     if diag.incident in SCENARIOS and diag.incident not in NO_LEGACY_EXPECTATION
                     else frozenset())
    legacy_model = make_model("legacy", seed, diag.legacy_version, diag.legacy_close_codes_visible,
                              diag.legacy_heartbeat_alive)
    legacy = run_world(legacy_model, diag.world, seed=seed, hours=hours, expected=legacy_expect)
    core_run = run_world(make_model("core", seed), diag.world, seed=seed, hours=hours)
    condition = "" if diag.legacy_heartbeat_alive else ", heartbeat task already ended"
    out.write(f"\nthe derived world, {hours:.2f} simulated hours, seed {seed}:\n")
    left, right = _side(legacy), _side(core_run)
    out.flush()
    print_table(out, ["", f"legacy adapter model v{diag.legacy_version}{condition}", "qqgate core"],
                [[key, _styled(key, left[key]), _styled(key, right[key])] for key in left], indent=2)
    for label, outcome in (("legacy", legacy), ("core", core_run)):
        out.write(f"\n{label} findings:\n")
        for line in render_findings(outcome.findings):
            out.write(f"  {line}\n")
        lines = log_lines(outcome.run)
        out.write(f"{label} log ({len(lines)} lines, excerpt):\n")
        for line in excerpt(lines, 12, 4):
            out.write(f"  {line}\n")
    reproduced = bool(legacy_expect) and not legacy.missing
    survived = core_run.ok
    out.write("\n")
    if legacy_expect:
        what = ", ".join(sorted(legacy_expect))
        out.write(f"verdict   legacy model: {'reproduces' if reproduced else 'does NOT reproduce'} "
                  f"{diag.title} ({what}); ")
    else:
        out.write("verdict   legacy model: no failure expected from this log's world alone; ")
    out.write("core: " + ("survives the same world" if survived else
                          "FAILED: " + ", ".join(sorted(core_run.unexpected) or ["invariant breaks"])) + "\n")
    if core_run.run.invariant_breaks:
        out.write(f"          first invariant break: {core_run.run.invariant_breaks[0]}\n")
    ok = survived and (reproduced or not legacy_expect)
    if draw is not None:
        from .logs import LEAD_IN_S
        from .timeline import timeline_of_log_replay
        first = parsed.events[0] if parsed.events else None
        if not draw(timeline_of_log_replay(name, first, LEAD_IN_S, legacy, core_run, incident=diag.title,
                                           seed=seed, hours=hours)):
            return 2
    return 0 if ok else 1


__all__ = ["replay_log", "clock"]
