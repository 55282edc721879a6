"""``qqgate export``: list the sessions of a journal store, or export one as JSON lines.

``register_export(subparsers)`` (also named ``register``, the ``replay.cli.EXTENSIONS``
convention) adds the subcommand; its handler returns the exit status: 0 on success, 2 on
an unreadable store, an unknown session or an unwritable output file.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._read import export_jsonl, list_sessions
from ._store import JournalStoreError

DESCRIPTION = (
    "Read a journal store written by a live qqgate connection. TARGET is a SQLite file "
    "(the default store) or a postgresql://user:pass@host:port/db URL. Without --list, write "
    "one session (the latest unless --session says which) as a JSON-lines journal, the "
    "portable form that `qqgate replay FILE.jsonl` checks against the current core. Secrets "
    "never reach a store, so the export holds none. Exit status: 0 on success, 2 when the "
    "store cannot be read, the session does not exist or the output cannot be written.")


def register_export(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``export`` to an ``argparse`` subparsers object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export", help="list or export the sessions of a journal store (SQLite or PostgreSQL)",
        description=DESCRIPTION,
        epilog="Examples: qqgate export journal.db --list | qqgate export journal.db --out last.jsonl "
               "&& qqgate replay last.jsonl | qqgate export postgresql://bot:pw@db:5432/qqgate "
               "--session 3f2a --out s.jsonl")
    parser.add_argument("target", metavar="TARGET",
                        help="the journal store: a SQLite file path or a postgresql:// URL")
    parser.add_argument("--session", metavar="ID", default=None,
                        help="the session to export: its id or a unique prefix (default: the latest)")
    parser.add_argument("--out", metavar="FILE.jsonl", type=Path, default=None,
                        help="write the journal to this file (default: standard output)")
    parser.add_argument("--list", action="store_true",
                        help="list the sessions (id, steps, start time, client, seed) instead of exporting")
    parser.set_defaults(func=run_export)
    return parser


register = register_export


def _when(header: dict[str, Any]) -> str:
    t = header.get("started_at_unix_s")
    if not isinstance(t, (int, float)) or isinstance(t, bool):
        return "-"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _list(target: str) -> int:
    sessions = list_sessions(target)
    out = sys.stdout
    out.write(f"{'session':<36}  {'steps':>8}  {'started (UTC)':<20}  {'client':<7}  seed\n")
    for s in sessions:
        client = s.header.get("client")
        kind = client.get("client", "-") if isinstance(client, dict) else "-"
        out.write(f"{s.session_id:<36}  {s.steps:>8}  {_when(s.header):<20}  {kind!s:<7}  "
                  f"{s.header.get('seed', '-')}\n")
    out.write(f"{len(sessions)} session(s)\n")
    return 0


def _export_to_file(target: str, session: str | None, out_path: Path) -> tuple[int, str]:
    """Export into a temporary file beside ``out_path``, renamed over it once complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the mode a plain open() would have given
        with os.fdopen(fd, "wb") as fh:
            steps = export_jsonl(target, session, fh)
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return steps, str(out_path)


def run_export(args: argparse.Namespace) -> int:
    """The ``export`` subcommand; returns the exit status (0, or 2 on any read/write failure)."""
    target = str(args.target)
    try:
        if args.list:
            return _list(target)
        if args.out is None:
            steps = export_jsonl(target, args.session, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            where = "standard output"
        else:
            steps, where = _export_to_file(target, args.session, args.out)
    except JournalStoreError as exc:
        sys.stderr.write(f"qqgate export: {exc}\n")
        return 2
    except BrokenPipeError:
        raise  # a closed standard output (| head): the caller's business
    except OSError as exc:
        where = args.out if args.out is not None else "standard output"
        sys.stderr.write(f"qqgate export: cannot write {where}: {exc.strerror or exc}\n")
        return 2
    sys.stderr.write(f"qqgate export: {steps} steps written to {where}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``export`` alone (``python -m io_shell.journal.cli TARGET ...``)."""
    parser = argparse.ArgumentParser(prog="qqgate")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register_export(sub)
    args = parser.parse_args(["export", *(sys.argv[1:] if argv is None else argv)])
    try:
        status: int = args.func(args)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    return status


__all__ = ["register_export", "register", "run_export", "main"]

if __name__ == "__main__":
    sys.exit(main())
