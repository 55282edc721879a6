"""Path checks of the command line: every path error is one line and exit 2, before any work.

``input_problem`` says why a file cannot be read (missing, a directory, a device, no
permission); ``output_problem`` why a file cannot be written (no such directory, a directory
in its place, no permission to write there). Both return None when the path is fine.
"""

from __future__ import annotations

import os
from pathlib import Path

from qqgate.replay._inputs import check_readable


def input_problem(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` is a file (or a pipe) that can be read; else why not, in a few words."""
    return check_readable(os.fspath(path))


def output_problem(path: str | os.PathLike[str]) -> str | None:
    """None when a file can be written at ``path``; else why not, in a few words."""
    p = Path(path)
    if p.is_dir():
        return "a directory is in its place"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        return f"no such directory: {parent}"
    if not parent.is_dir():
        return f"not a directory: {parent}"
    if p.exists() and not os.access(p, os.W_OK):
        return "permission denied"
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"permission denied (cannot create files in {parent})"
    return None
