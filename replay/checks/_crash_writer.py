"""The journal writer that ``qqgate crash-test`` kills: one simulated core session into a store.

Run as ``python -m qqgate.replay.checks._crash_writer TARGET SEED``: simulates a calm day
(``WorldSpec()``) for the core seeded ``SEED``, opens a new session in the journal store
``TARGET`` (a SQLite path or a postgresql:// URL) with small, frequent batches, prints
``ready`` and records every step, pausing 1 ms every 20 steps so that a kill can land
mid-batch; prints ``done`` if it is not killed first. A client secret is registered, so a
store it leaves also shows that redaction survives a crash.
"""

from __future__ import annotations

import sys
import time

from qqgate import core
from qqgate.core.journal import journal_header
from qqgate.io_shell.journal import open_recorder
from qqgate.replay.world import CoreClient, Simulation, WorldSpec

SECRET = ("crash-test-secret", "client-secret")
"""(secret, label) registered with the recorder, as ``qqgate run`` registers the client secret."""


def main(argv: list[str] | None = None) -> int:
    """Write one session; return 0 when it was written to the end (exit 2 on bad arguments)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].lstrip("-").isdigit():
        sys.stderr.write("usage: python -m qqgate.replay.checks._crash_writer TARGET SEED\n")
        return 2
    target, seed = args[0], int(args[1])
    model = CoreClient(core.Config(seed=seed))
    steps = Simulation(WorldSpec(), model, seed=seed, horizon_s=24 * 3600).run().journal
    recorder = open_recorder(target, journal_header(model.describe(), seed=seed), [SECRET],
                             batch_size=32, flush_interval_s=0.002)
    print("ready", flush=True)
    for n, (inp, commands) in enumerate(steps, start=1):
        recorder.record(inp, commands)
        if n % 20 == 0:
            time.sleep(0.001)
    recorder.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
