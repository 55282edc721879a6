"""``python -m benchmarks [--quick]``: run every benchmark, print the table, write benchmarks/RESULTS.md.

Benchmarks are not tests: nothing here asserts a speed. Quick mode (CI) only proves the
commands still work, with fewer repeats and smaller sizes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import _journal, _realsock, _reducer, _sessions, _simulation, _webhook
from ._stats import Figure, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"),
                        help="where to write the table (default: benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    quick = args.quick
    figures: list[Figure] = []
    figures += _reducer.measure(repeats=3 if quick else 7, calls=2_000 if quick else 50_000)
    figures += _simulation.measure(repeats=1 if quick else 5, hours=2.0 if quick else 24.0)
    figures += _journal.measure(quick)
    figures += _realsock.measure(quick)
    figures += _sessions.measure(quick)
    figures += _webhook.measure(quick)
    text = render(figures, "quick" if quick else "full")
    sys.stdout.write(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
