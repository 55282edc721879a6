"""What ``qqgate export`` does: list the sessions of a journal store, or export one as JSON lines.

``export(target, session=..., out=..., list_only=...)`` returns the exit status: 0 on success,
2 on an unreadable store, an unknown session or an unwritable output file. Its options are
parsed by the command line (``qqgate.cli``).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._read import export_jsonl, list_sessions
from ._store import JournalStoreError


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


def export(target: str, *, session: str | None = None, out: Path | None = None, list_only: bool = False) -> int:
    """``qqgate export``: list the sessions of the store ``target`` (``list_only``), or write one
    (``session``: an id or a unique prefix; None: the latest) as a JSON-lines journal to the file
    ``out`` (None: standard output).

    Returns the exit status: 0 on success, 2 when the store cannot be read, the session does not
    exist or the output cannot be written (the reason goes to standard error).
    """
    try:
        if list_only:
            return _list(target)
        if out is None:
            steps = export_jsonl(target, session, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            where = "standard output"
        else:
            steps, where = _export_to_file(target, session, out)
    except JournalStoreError as exc:
        sys.stderr.write(f"qqgate export: {exc}\n")
        return 2
    except BrokenPipeError:
        raise  # a closed standard output (| head): the caller's business
    except OSError as exc:
        sys.stderr.write(f"qqgate export: cannot write {out if out is not None else 'standard output'}: "
                         f"{exc.strerror or exc}\n")
        return 2
    sys.stderr.write(f"qqgate export: {steps} steps written to {where}\n")
    return 0


__all__ = ["export"]
