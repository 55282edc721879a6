"""``python -m benchmarks [--quick] [--out FILE]``: run every benchmark, print the table, write it.

Benchmarks are not tests: nothing here asserts a speed. Quick mode (CI) only proves the
commands still work, with fewer repeats and smaller sizes; its table goes to a temporary file
unless ``--out`` says where, so it never replaces the committed full-mode benchmarks/RESULTS.md.
A bar on a terminal; Ctrl-C prints the figures measured so far (exit 130) and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

from qqgate.replay._progress import INTERRUPTED, ProgressBar

from . import _embedding, _journal, _realsock, _reducer, _replay_stream, _sessions, _simulation, _timeline, _webhook
from ._stats import Figure, render

RESULTS = Path(__file__).with_name("RESULTS.md")


def groups(quick: bool) -> list[tuple[str, Callable[[], list[Figure]]]]:
    """The benchmark groups in table order: (name, what measures it)."""
    return [
        ("reducer", lambda: _reducer.measure(repeats=3 if quick else 7, calls=2_000 if quick else 50_000)),
        ("simulation", lambda: _simulation.measure(repeats=1 if quick else 5, hours=2.0 if quick else 24.0)),
        ("journal", lambda: _journal.measure(quick)),
        ("real sockets", lambda: _realsock.measure(quick)),
        ("sessions", lambda: _sessions.measure(quick)),
        ("webhook", lambda: _webhook.measure(quick)),
        ("embedding", lambda: _embedding.measure(quick)),
        ("timeline page", lambda: _timeline.measure(quick)),
        ("replay streaming", lambda: _replay_stream.measure(quick)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes (CI)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the table (default: benchmarks/RESULTS.md in full mode, "
                             "a new temporary file in quick mode)")
    args = parser.parse_args(argv)
    quick = args.quick
    out: Path = args.out
    if out is None:
        if quick:
            handle, name = tempfile.mkstemp(prefix="qqgate-benchmarks-quick-", suffix=".md")
            os.close(handle)
            out = Path(name)
        else:
            out = RESULTS
    elif not out.parent.is_dir():
        parser.error(f"--out: no such folder: {out.parent}")
    figures: list[Figure] = []
    todo = groups(quick)
    try:
        with ProgressBar("benchmarks", len(todo), "groups") as bar:
            for _, measure in todo:
                figures += measure()
                bar.advance()
    except KeyboardInterrupt:
        sys.stdout.write(render(figures, "quick" if quick else "full"))
        sys.stdout.write(f"interrupted (Ctrl-C) after {len(figures)} figures; {out} was not written\n")
        return INTERRUPTED
    text = render(figures, "quick" if quick else "full")
    sys.stdout.write(text)
    out.write_text(text, encoding="utf-8")
    sys.stdout.write(f"written to {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
