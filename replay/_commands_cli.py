"""What each ``qqgate`` subcommand does (argument parsing lives in cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from qqgate.core.journal import JournalError, journal_lines, read_journal

from ._journal_replay import replay_journal
from ._report import describe_world, excerpt, figures, log_lines, render_findings
from ._runner import Outcome, journal_header, run_scenario
from ._scenarios import SCENARIOS


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


def simulate(args: argparse.Namespace) -> int:
    out = sys.stdout
    scenario = SCENARIOS[args.scenario]
    hours = args.hours if args.hours is not None else scenario.hours
    outcome = run_scenario(scenario, args.client, seed=args.seed, hours=hours,
                           legacy_version=args.legacy_version, record_journal=True)
    _p(out, "scenario", f"{scenario.name}: {scenario.title} [{scenario.source}]")
    _p(out, "story", scenario.story)
    _p(out, "world", describe_world(scenario.world))
    _p(out, "client", _client_label(outcome))
    _p(out, "ran", f"{outcome.run.ended_at / 3600:.2f} of {hours:.2f} simulated hours, "
                   f"{outcome.run.steps} client steps")
    print_outcome(out, outcome)
    out.write("\n")
    _p(out, "verdict", verdict(outcome))
    if args.journal is not None:
        with open(args.journal, "wb") as fh:
            fh.writelines(journal_lines(journal_header(outcome, scenario.name, args.seed, hours),
                                        outcome.run.journal))
        _p(out, "journal", f"{len(outcome.run.journal)} steps written to {args.journal}")
    if args.log is not None:
        args.log.write_text("".join(line + "\n" for line in log_lines(outcome.run)), encoding="utf-8")
        _p(out, "log", f"written to {args.log}")
    return 0 if outcome.ok else 1


def replay(args: argparse.Namespace) -> int:
    target = str(args.file)
    from qqgate.io_shell.journal import JournalStoreError, journal_bytes, looks_like_store
    if looks_like_store(target):
        try:
            return _replay_journal(args, journal_bytes(target, args.session))
        except JournalStoreError as exc:
            sys.stderr.write(f"qqgate replay: {exc}\n")
            return 2
    if args.session is not None:
        sys.stderr.write("qqgate replay: --session only applies to a journal store\n")
        return 2
    try:
        data = Path(target).read_bytes()
    except OSError as exc:
        sys.stderr.write(f"qqgate replay: cannot read {target}: {exc.strerror}\n")
        return 2
    if target.endswith(".jsonl") or data.lstrip().startswith(b'{"type":"header"'):
        return _replay_journal(args, data)
    from ._log_replay import replay_log
    return replay_log(args, data.decode("utf-8", errors="replace"), sys.stdout)


def _replay_journal(args: argparse.Namespace, data: bytes) -> int:
    out = sys.stdout
    try:
        journal = read_journal(data)
        result = replay_journal(journal)
    except JournalError as exc:
        sys.stderr.write(f"qqgate replay: {args.file}: {exc}\n")
        return 2
    head = journal.header
    _p(out, "journal", f"{args.file}: {len(journal.steps)} steps, client {result.client}, "
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


def incidents(args: argparse.Namespace) -> int:
    out = sys.stdout
    if not args.run:
        for s in SCENARIOS.values():
            out.write(f"{s.name:<18} {s.title} [{s.source}]\n")
            out.write(f"{'':<18} legacy v{s.legacy_version} must show: {', '.join(sorted(s.legacy_expect))}; "
                      f"core: survives{(' and reports ' + ', '.join(sorted(s.core_expect))) if s.core_expect else ''}\n")
        return 0
    status = 0
    out.write(f"{'scenario':<18} {'hours':>5}  {'legacy':<34} {'core':<34} verdict\n")
    for s in SCENARIOS.values():
        legacy = run_scenario(s, "legacy", seed=args.seed, hours=args.hours, record_journal=True)
        core_ = run_scenario(s, "core", seed=args.seed, hours=args.hours, record_journal=True)
        ok = legacy.ok and core_.ok
        status |= 0 if ok else 1
        hours = args.hours if args.hours is not None else s.hours
        out.write(f"{s.name:<18} {hours:>5.1f}  {', '.join(sorted(legacy.names)) or '-':<34} "
                  f"{', '.join(sorted(core_.names)) or '-':<34} "
                  f"{'reproduced + survived' if ok else 'FAILED: ' + verdict(legacy if not legacy.ok else core_)}\n")
    return status
