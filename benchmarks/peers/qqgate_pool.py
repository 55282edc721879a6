"""N qqgate bots in one plain (not monkey-patched) process through ``BotPool``, for the pooled-bots figure.

Usage: python qqgate_pool.py HTTP_BASE N [STARTS_PER_S]

The embedding face as a host uses it: one ``BotPool`` (one runtime hub thread for every bot,
handlers on host threads), each bot its own app id and jitter seed, the default ``core.Config``
otherwise, no journal. JSON lines on stdout as qqgate_sessions.py prints them: ``baseline``
(after every import, before the first bot), ``ready`` (all N READY, or after 150 s), ``report``
on each SIGUSR1. SIGTERM exits at once.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import sys
import time

from qqgate import core
from qqgate.io_shell import BotPool, ShellConfig
from qqgate.io_shell import _asyncio, _connection, _driver, _rest, _sender  # noqa: F401  (loaded before the baseline)
from qqgate.io_shell._hub import HubThread

from benchmarks.peers._selfmeasure import cpu_s, rss_kib, say, sys_s

READY_TIMEOUT_S = 150.0


def noop(_dispatch: core.Dispatch) -> None:
    pass


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    base, n = argv[1], int(argv[2])
    per_s = float(argv[3]) if len(argv) == 4 else 100.0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    HubThread.shared()  # the runtime thread exists before the baseline, as the imports do
    gc.collect()
    time.sleep(0.1)
    say(event="baseline", t=time.monotonic(), cpu_s=cpu_s(), rss_kib=rss_kib())
    pool = BotPool()

    def report(*_: object) -> None:
        statuses = pool.status().values()
        say(event="report", t=time.monotonic(), cpu_s=cpu_s(), sys_s=sys_s(), rss_kib=rss_kib(),
            ready=sum(s.ready for s in statuses), heartbeats=sum(s.counters.get("heartbeats_sent", 0) for s in statuses),
            acks=sum(s.counters.get("heartbeat_acks", 0) for s in statuses), n=len(pool))

    signal.signal(signal.SIGUSR1, report)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    for i in range(n):
        pool.add(ShellConfig(app_id=str(102_000_000 + i), client_secret=f"bench-secret-{i}", api_base=base,
                             token_url=base + "/app/getAppAccessToken", core=core.Config(seed=1000 + i)), noop)
    pool.start(starts_per_s=per_s)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and sum(s.ready for s in pool.status().values()) < n:
        time.sleep(0.2)
    say(event="ready", t=time.monotonic(), ready=sum(s.ready for s in pool.status().values()), n=n, cpu_s=cpu_s(),
        rss_kib=rss_kib())
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
