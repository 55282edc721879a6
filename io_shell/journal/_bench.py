"""Journal append benchmark: steps per second from ``record()`` to committed (issue 4).

    python -m io_shell.journal._bench [TARGET] [--steps N] [--batch-size N] [--mode thread|gevent]

TARGET defaults to a fresh SQLite file in a temporary directory. The steps are a real
simulated session (``replay._sim``, core client, seed 1) cycled to N steps, so every
record carries realistic frames and commands (about 300 bytes of JSON). Prints the rate of
``record()`` alone and the end-to-end rate (record, redact + encode, commit in batches,
final flush). Exit status 0, or 2 when the store cannot be opened.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal, cast

import core

from ._recorder import open_recorder
from ._store import JournalStoreError


def sample_steps(hours: float = 6.0) -> list[tuple[core.Input, tuple[core.Command, ...]]]:
    """A real simulated session's (input, commands) pairs: ``hours`` of virtual time."""
    from replay._core_client import CoreClient
    from replay._sim import Simulation
    from replay._world_spec import WorldSpec
    model = CoreClient(core.Config(seed=1))
    return Simulation(WorldSpec(), model, seed=1, horizon_s=hours * 3600).run().journal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m io_shell.journal._bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", default=None, help="SQLite path or postgresql:// URL")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--mode", choices=("thread", "gevent"), default="thread")
    args = parser.parse_args(argv)
    steps = sample_steps()
    with tempfile.TemporaryDirectory() as tmp:
        target = args.target or str(Path(tmp) / "bench.db")
        try:
            rec = open_recorder(target, {"client": {"client": "core"}, "bench": True},
                                secrets=[("bench-client-secret", "client-secret")],
                                batch_size=args.batch_size, mode=cast(Literal["thread", "gevent"], args.mode))
        except JournalStoreError as exc:
            sys.stderr.write(f"bench: {exc}\n")
            return 2
        t0 = time.perf_counter()
        for inp, commands in itertools.islice(itertools.cycle(steps), args.steps):
            rec.record(inp, commands)
        t1 = time.perf_counter()
        rec.flush()
        t2 = time.perf_counter()
        rec.close()
        store = "postgres" if target.startswith("postgres") else "sqlite"
        print(f"{store} mode={rec.mode} batch={args.batch_size}: {args.steps} steps, "
              f"record() {args.steps / (t1 - t0):,.0f}/s, "
              f"end-to-end (committed) {rec.committed / (t2 - t0):,.0f} steps/s in {t2 - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
