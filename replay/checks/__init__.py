"""qqgate.replay.checks: the reliability checks, each a promise that can fail (README, "Reliability checks").

- ``_soak``: the swarm soak. Per seed, a random world of faults (``draw_world``) run against the
  core with invariants after every step, then a calm in which the core must hold a connection
  the server established within ``LIVENESS_BOUND_S`` (``run_seed`` -> ``SeedReport``).
- ``_fuzz``: random and mutated frames into the core, corrupt journal and log lines into the
  readers; nothing may escape, every rejection is counted (``run_fuzz`` -> ``FuzzReport``).
- ``_crash``: journal writers (``_crash_writer``, a process of its own) killed with SIGKILL;
  every session left in the store must replay to its last commit (``run_crash_test``).

Built on the world, replay proper and the journal format; crash-test alone also imports the
journal store of io_shell, which it exists to test.
"""

from ._crash import CrashReport, run_crash_test
from ._fuzz import FuzzReport, fuzz_frames, fuzz_journal, fuzz_logs, mutate, run_fuzz
from ._soak import LIVENESS_BOUND_S, LIVENESS_TAIL_S, STABLE_S, SeedReport, draw_world, run_seed

__all__ = [
    "CrashReport", "run_crash_test",
    "FuzzReport", "fuzz_frames", "fuzz_journal", "fuzz_logs", "mutate", "run_fuzz",
    "LIVENESS_BOUND_S", "LIVENESS_TAIL_S", "STABLE_S", "SeedReport", "draw_world", "run_seed",
]
