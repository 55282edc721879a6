"""The ``qqgate`` command line: simulate, replay, incidents.

Exit status: 0 when the run met its expectations, 1 when it did not (a core failure, an
incident the legacy model failed to reproduce, a journal that diverges), 2 on bad usage
or an unreadable file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

from ._scenarios import SCENARIOS


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value > 24 * 365:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most a year of hours, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qqgate",
        description="qqgate: a QQ Bot gateway connection core that cannot silently die, spin or "
                    "lose a dispatch, and the tools to replay and simulate its production incidents.",
        epilog="Examples: qqgate replay logs_samples/death-loop.log | qqgate simulate half-open "
               "--client core | qqgate incidents")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    sim = sub.add_parser("simulate", help="run a named scenario against the core or the legacy model",
                         description="Run SCENARIO on a virtual clock against the qqgate core or the "
                                     "legacy hermes adapter model, print its log, figures, findings "
                                     "and verdict. The same seed gives byte-identical output.")
    sim.add_argument("scenario", choices=sorted(SCENARIOS), metavar="SCENARIO",
                     help="one of: " + ", ".join(sorted(SCENARIOS)))
    sim.add_argument("--client", choices=("core", "legacy"), default="core",
                     help="which reducer to run (default: core)")
    sim.add_argument("--seed", type=_seed, default=1, help="seed of the whole world (default: 1)")
    sim.add_argument("--hours", type=_positive_float, default=None,
                     help="simulated hours (default: the scenario's own)")
    sim.add_argument("--legacy-version", choices=("0.13", "0.14"), default=None,
                     help="legacy adapter version (default: the one that had the incident)")
    sim.add_argument("--journal", type=Path, default=None, metavar="FILE.jsonl",
                     help="write every step (input, commands) as JSON lines")
    sim.add_argument("--log", type=Path, default=None, metavar="FILE.log",
                     help="write the client's whole log (hermes format for the legacy model)")

    rep = sub.add_parser("replay", help="replay a journal (.jsonl) or a real hermes log (.log)",
                         description="FILE.jsonl: feed the recorded inputs through the current reducer "
                                     "and check the commands are identical (exit 1 at the first "
                                     "divergence); a journal store (SQLite file or postgresql:// URL, "
                                     "see --session) is replayed the same way. Any other file: read it "
                                     "as a hermes-agent text log, "
                                     "name the incident, derive the world behind it and run that world "
                                     "against the legacy model and the core, side by side.")
    rep.add_argument("file", metavar="FILE",
                     help="a .jsonl journal, a SQLite journal store, a postgresql:// URL, or a text log")
    rep.add_argument("--session", default=None, metavar="ID",
                     help="with a journal store: the session to replay (default: the latest; a unique "
                          "prefix is enough; list them with 'qqgate export STORE --list')")
    rep.add_argument("--seed", type=_seed, default=1, help="seed for the derived world (logs only)")
    rep.add_argument("--hours", type=_positive_float, default=None,
                     help="simulated hours of the derived world (logs only; default: 2, or longer "
                          "when the log's outage needs it)")

    inc = sub.add_parser("incidents", help="list the scenarios, or run them all for both clients",
                         description="Without --run, list the scenarios. With --run, simulate each "
                                     "one for the legacy model and the core and print a table; exit 1 "
                                     "if any legacy run fails to show its incident or any core run fails.")
    inc.add_argument("--run", action="store_true", help="run every scenario for both clients")
    inc.add_argument("--seed", type=_seed, default=1)
    inc.add_argument("--hours", type=_positive_float, default=None,
                     help="override every scenario's duration (hours)")

    from . import _commands_cli as commands
    sim.set_defaults(func=commands.simulate)
    rep.set_defaults(func=commands.replay)
    inc.set_defaults(func=commands.incidents)
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue  # transitional: that subcommand's package is not in this tree yet
        module.register(sub)
    return parser


EXTENSIONS = ("qqgate.replay.checks._soak_cli", "qqgate.replay.checks._fuzz_cli", "qqgate.replay.checks._crash_cli", "qqgate.replay._gateway_cli", "qqgate.io_shell.cli", "qqgate.io_shell.journal.cli")
"""Modules adding subcommands: each has ``register(subparsers)`` that adds its parser and
``set_defaults(func=...)`` with a function taking the parsed args and returning the exit status."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qqgate`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
