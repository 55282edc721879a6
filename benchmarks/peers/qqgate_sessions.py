"""N qqgate sessions in one gevent process, for benchmark figure 8 (sessions per process).

Usage: python qqgate_sessions.py HTTP_BASE N [STARTS_PER_S]

Monkey-patches with gevent first, as ``qqgate run`` does, then starts N ``GatewayClient``
instances (each its own app id, its own seed, the default ``core.Config`` otherwise, no
journal) against the gateway at HTTP_BASE, STARTS_PER_S at a time per second. JSON lines on
stdout:

- ``{"event": "baseline", ...}`` after every import, before the first client;
- ``{"event": "ready", "ready": k, "n": N, ...}`` once all N are READY (or after 120 s);
- ``{"event": "report", "t", "cpu_s", "rss_kib", "ready", "heartbeats", "acks"}`` on each SIGUSR1.

SIGTERM or SIGINT exits at once (the gateway goes away with the benchmark anyway).
"""

from __future__ import annotations

from gevent import monkey  # type: ignore[import-untyped, unused-ignore]

monkey.patch_all()

import gc  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # type: ignore[import-untyped, unused-ignore]  # noqa: E402

from qqgate import core  # noqa: E402
from qqgate.io_shell import _connection, _driver, _rest  # noqa: E402,F401  (loaded before the baseline)
from qqgate.io_shell._client import GatewayClient  # noqa: E402
from qqgate.io_shell._config import ShellConfig  # noqa: E402

from benchmarks.peers._selfmeasure import cpu_s, rss_kib, say, sys_s  # noqa: E402

READY_TIMEOUT_S = 120.0




def noop(_dispatch: core.Dispatch) -> None:
    pass


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    base, n = argv[1], int(argv[2])
    per_s = float(argv[3]) if len(argv) == 4 else 200.0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gc.collect()
    gevent.sleep(0.1)
    say(event="baseline", t=time.monotonic(), cpu_s=cpu_s(), rss_kib=rss_kib())

    clients: list[GatewayClient] = []

    def report() -> None:
        heartbeats = acks = ready = 0
        for client in clients:
            status = client.status()
            ready += status.ready
            heartbeats += status.counters.get("heartbeats_sent", 0)
            acks += status.counters.get("heartbeat_acks", 0)
        say(event="report", t=time.monotonic(), cpu_s=cpu_s(), sys_s=sys_s(), rss_kib=rss_kib(), ready=ready,
            heartbeats=heartbeats, acks=acks, n=len(clients))

    def leave() -> None:
        sys.stdout.flush()
        os._exit(0)

    gevent.signal_handler(signal.SIGUSR1, report)
    gevent.signal_handler(signal.SIGTERM, leave)
    gevent.signal_handler(signal.SIGINT, leave)

    batch = max(1, int(per_s / 10))
    for i in range(n):
        config = ShellConfig(app_id=str(102_000_000 + i), client_secret=f"bench-secret-{i}", api_base=base,
                             token_url=base + "/app/getAppAccessToken", core=core.Config(seed=1000 + i))
        client = GatewayClient(config, on_dispatch=noop)
        client.start()
        clients.append(client)
        if (i + 1) % batch == 0:
            gevent.sleep(0.1)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        ready = sum(client.is_ready() for client in clients)
        if ready == n:
            break
        gevent.sleep(0.2)
    ready = sum(client.is_ready() for client in clients)
    say(event="ready", t=time.monotonic(), ready=ready, n=n, cpu_s=cpu_s(), rss_kib=rss_kib())
    while True:
        gevent.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
