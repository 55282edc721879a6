"""What ``qqgate simulate``, ``replay`` and ``incidents`` do, given their arguments as values.

The command line (``qqgate.cli``) parses the arguments and calls these; each writes its report
to the ``out`` (and ``err``) it is given and returns the exit status. A journal store given to
``qqgate replay`` is read by the command line, which passes its bytes to ``replay_journal_data``.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, TextIO

from qqgate.core.journal import JournalError, journal_lines, read_journal, stream_journal, verify

from ._inputs import InputKind, LineStats, iter_text_lines, journal_lines_of, open_input
from ._journal_replay import model_from_header
from .logs import Until
from ._report import describe_world, excerpt, figures, log_lines, render_findings
from ._runner import Outcome, journal_header, run_scenario
from ._scenarios import SCENARIOS

if TYPE_CHECKING:
    from .timeline import Timeline


def _p(out: TextIO, label: str, text: str) -> None:
    out.write(f"{label:<9} {text}\n")


def _client_label(outcome: Outcome) -> str:
    d = outcome.model.describe()
    if d.get("client") == "legacy":
        return f"legacy hermes adapter model v{d.get('version')}"
    return f"qqgate core {d.get('version')} (seed {d.get('config', {}).get('seed')})"


def print_outcome(out: TextIO, outcome: Outcome, log_head: int = 25, log_tail: int = 10) -> None:
    lines = log_lines(outcome.run)
    out.write(f"\nlog ({len(lines)} lines; --log FILE writes them all):\n")
    for line in excerpt(lines, log_head, log_tail):
        out.write(f"  {line}\n")
    out.write("\nfigures:\n")
    for line in figures(outcome.run, outcome.world):
        out.write(f"  {line}\n")
    out.write("findings:\n")
    for line in render_findings(outcome.findings):
        out.write(f"  {line}\n")


def verdict(outcome: Outcome) -> str:
    if outcome.model.name == "legacy":
        if outcome.expected and not outcome.missing:
            return "the legacy model reproduces the incident (" + ", ".join(sorted(outcome.expected)) + ")"
        if outcome.missing:
            return "the legacy model did NOT reproduce: missing " + ", ".join(sorted(outcome.missing))
        return "legacy run finished (no expectation for this version)"
    if outcome.ok:
        extra = f" (expected: {', '.join(sorted(outcome.expected))})" if outcome.expected else ""
        return "the core survives this world: no failure detector fired, no invariant broke" + extra
    problems = sorted(outcome.unexpected) + [f"missing {m}" for m in sorted(outcome.missing)]
    if outcome.run.invariant_breaks:
        problems.append(f"{len(outcome.run.invariant_breaks)} invariant breaks")
    return "the core FAILED: " + ", ".join(problems)


Pictures = Callable[["Timeline"], bool]
"""Writes a run's timeline (``--html``, ``--png``); False when it could not (said on stderr)."""


def pictures(command: str, html: Path | None, png: Path | None, out: TextIO, err: TextIO) -> Pictures | None:
    """What ``--html``/``--png`` ask for, as a function of the timeline (None: neither was given)."""
    if html is None and png is None:
        return None
    from .timeline import write_pictures

    def write(timeline: Timeline) -> bool:
        return write_pictures(timeline, html=html, png=png, out=out, err=err, command=command)
    return write


def simulate(scenario_name: str, client: str, *, seed: int, hours: float | None,
             legacy_version: str | None, journal: Path | None, log: Path | None, out: TextIO,
             html: Path | None = None, png: Path | None = None, err: TextIO = sys.stderr) -> int:
    """``qqgate simulate``: run a scenario, print its log excerpt, figures, findings and verdict.

    ``hours`` None: the scenario's own; ``journal``/``log``: files to write the whole journal
    and the client's whole log to; ``html``/``png``: files for the run's timeline. Returns 0
    when the run met its expectations, 1 when not, 2 when a timeline could not be written.
    """
    scenario = SCENARIOS[scenario_name]
    hours = hours if hours is not None else scenario.hours
    outcome = run_scenario(scenario, client, seed=seed, hours=hours,
                           legacy_version=legacy_version, record_journal=True)
    _p(out, "scenario", f"{scenario.name}: {scenario.title} [{scenario.source}]")
    _p(out, "story", scenario.story)
    _p(out, "world", describe_world(scenario.world))
    _p(out, "client", _client_label(outcome))
    _p(out, "ran", f"{outcome.run.ended_at / 3600:.2f} of {hours:.2f} simulated hours, "
                   f"{outcome.run.steps} client steps")
    print_outcome(out, outcome)
    out.write("\n")
    _p(out, "verdict", verdict(outcome))
    if journal is not None:
        with open(journal, "wb") as fh:
            fh.writelines(journal_lines(journal_header(outcome, scenario.name, seed, hours),
                                        outcome.run.journal))
        _p(out, "journal", f"{len(outcome.run.journal)} steps written to {journal}")
    if log is not None:
        log.write_text("".join(line + "\n" for line in log_lines(outcome.run)), encoding="utf-8")
        _p(out, "log", f"written to {log}")
    draw = pictures("simulate", html, png, out, err)
    if draw is not None:
        from .timeline import timeline_of_outcomes
        timeline = timeline_of_outcomes(f"qqgate simulate {scenario.name} --client {client} --seed {seed}",
                                        [(client, outcome)], notes=[f"{scenario.title} [{scenario.source}]"])
        if not draw(timeline):
            return 2
    return 0 if outcome.ok else 1


def replay_file(path: str, *, seed: int, hours: float | None, out: TextIO, err: TextIO,
                draw: Pictures | None = None, date: _dt.date | None = None, until: Until | None = None) -> int:
    """``qqgate replay FILE``: a journal (``.jsonl``, or a file that starts with its header) is
    replayed through the reducer it names, as it is read; a text log is read and its incident
    re-run (``_log_replay``; ``seed``, ``hours``, ``date``, ``until`` are for that). Anything
    else (missing, a directory, a device, empty, binary, not UTF-8, a journal store, which the
    command line reads) is refused with one line on ``err``. ``draw`` writes the run's timeline
    (``pictures``).

    Returns 0 (identical; named, reproduced and survived), 1 (diverged; not reproduced, not
    survived, or inconclusive), 2 (unreadable; nothing to diagnose; a timeline not written).
    """
    opened = open_input(path)
    try:
        what = opened.what
        if what.kind is InputKind.REFUSED:
            err.write(f"qqgate replay: {path}: {what.reason}\n")
            return 2
        if what.kind is InputKind.STORE or opened.stream is None:
            err.write(f"qqgate replay: {path}: a journal store: read it with the qqgate command line\n")
            return 2
        if what.kind is InputKind.JOURNAL:
            if draw is not None:  # a picture needs the whole journal; only then is it held
                data = opened.head + opened.stream.read()
                return replay_journal_data(path, data, out=out, err=err, draw=draw)
            return _replay_journal_stream(path, journal_lines_of(opened.stream, opened.head), out=out, err=err)
        from ._log_replay import draw_log_replay, read_log_replay, run_log_replay
        from ._report import log_replay_reading_lines, log_replay_run_lines
        stats = LineStats()
        result = read_log_replay(path, iter_text_lines(opened.stream, stats, opened.head), seed=seed, hours=hours,
                                 date=date, until=until)
        result.reading.report.bad_utf8 = stats.bad_utf8
        result.reading.report.cut_long = stats.cut_long
    finally:
        opened.close()
    if result.status == 2 and not result.reading.report.understood:
        err.write(f"qqgate replay: {path}: nothing to diagnose: no line says anything about a gateway connection "
                  f"({result.reading.report.lines} lines read; the reading report follows)\n")
    for line in log_replay_reading_lines(result):
        out.write(line + "\n")
    out.flush()  # what was read is shown before the simulation runs
    run_log_replay(result)
    for line in log_replay_run_lines(result):
        out.write(line + "\n")
    if draw is not None and result.reading.derived is not None and not draw_log_replay(result, draw):
        return 2
    return result.status


def replay_journal_data(name: str, data: bytes, *, out: TextIO, err: TextIO, draw: Pictures | None = None) -> int:
    """Replay the journal ``data`` (named ``name`` in messages) and print the first divergence;
    ``draw`` writes the journal's timeline (``pictures``).

    Returns 0 when every step replays to its recorded commands, 1 at a divergence, 2 when the
    journal cannot be read or names no reducer that can be rebuilt (or its timeline could not
    be written).
    """
    if draw is not None:
        try:
            whole = read_journal(data)
        except JournalError as exc:
            err.write(f"qqgate replay: {name}: {exc}\n")
            return 2
        from .timeline import timeline_of_journal
        status = _replay_journal_stream(name, data, out=out, err=err)
        if status != 2 and not draw(timeline_of_journal(f"qqgate replay {name}", whole)):
            return 2
        return status
    return _replay_journal_stream(name, data, out=out, err=err)


def _replay_journal_stream(name: str, source: bytes | Iterable[bytes], *, out: TextIO, err: TextIO) -> int:
    """Replay a journal as it is read (one step in memory at a time); the first divergence is printed."""
    try:
        journal = stream_journal(source)
        result = verify(journal, model_from_header(journal.header))
    except JournalError as exc:
        err.write(f"qqgate replay: {name}: {exc}\n")
        return 2
    head = journal.header
    _p(out, "journal", f"{name}: {result.steps} steps, client {result.client}, "
                       f"scenario {head.get('scenario', '-')}, seed {head.get('seed', '-')}")
    if journal.truncated_tail:
        _p(out, "note", "the last line was cut short (a killed writer?) and was ignored")
    d = result.divergence
    if d is None:
        _p(out, "result", f"identical: all {result.steps} steps replay to the recorded commands")
        return 0
    _p(out, "result", f"DIVERGED at step {d.step} (line {d.line})")
    _p(out, "input", str(d.input))
    _p(out, "recorded", str(d.recorded))
    _p(out, "replayed", str(d.replayed))
    return 1


def timeline(name: str, data: bytes, *, limit: int, out: TextIO, err: TextIO) -> int:
    """``qqgate timeline``: print the journal ``data`` (named ``name``) as a terminal timeline,
    at most ``limit`` lines per client (0: all). Returns 0, or 2 when it cannot be read."""
    from .timeline import print_timeline, timeline_of_journal
    try:
        journal = read_journal(data)
    except JournalError as exc:
        err.write(f"qqgate timeline: {name}: {exc}\n")
        return 2
    print_timeline(timeline_of_journal(name, journal), out, limit=limit)
    return 0


def incidents(*, run: bool, seed: int, hours: float | None, out: TextIO) -> int:
    """``qqgate incidents``: list the scenarios, or (``run``) run each for both clients as a table.

    ``hours`` None: each scenario's own. Returns 1 when a legacy run misses its incident or a
    core run fails, 130 after Ctrl-C (the scenarios done so far in the table), else 0. A bar
    on a terminal while it runs.
    """
    if not run:
        for s in SCENARIOS.values():
            out.write(f"{s.name:<18} {s.title} [{s.source}]\n")
            out.write(f"{'':<18} legacy v{s.legacy_version} must show: {', '.join(sorted(s.legacy_expect))}; "
                      f"core: survives{(' and reports ' + ', '.join(sorted(s.core_expect))) if s.core_expect else ''}\n")
        return 0
    from rich.text import Text

    from ._progress import INTERRUPTED, ProgressBar
    from ._tables import print_table
    status = 0
    rows: list[list[str | Text]] = []
    interrupted = False
    try:
        with ProgressBar("incidents", 2 * len(SCENARIOS), "runs") as bar:
            for s in SCENARIOS.values():
                legacy = run_scenario(s, "legacy", seed=seed, hours=hours, record_journal=True)
                bar.advance()
                core_ = run_scenario(s, "core", seed=seed, hours=hours, record_journal=True)
                bar.advance()
                ok = legacy.ok and core_.ok
                status |= 0 if ok else 1
                scenario_hours = hours if hours is not None else s.hours
                rows.append([s.name, f"{scenario_hours:.1f}", ", ".join(sorted(legacy.names)) or "-",
                             ", ".join(sorted(core_.names)) or "-",
                             Text("reproduced + survived", style="green") if ok else
                             Text("FAILED: " + verdict(legacy if not legacy.ok else core_), style="bold red")])
    except KeyboardInterrupt:
        interrupted = True
    print_table(out, ["scenario", "hours", "legacy", "core", "verdict"], rows, right=(1,))
    if interrupted:
        out.write(f"interrupted (Ctrl-C) after {len(rows)} of {len(SCENARIOS)} scenarios\n")
        return INTERRUPTED
    return status
