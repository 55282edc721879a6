"""N botpy 1.2.1 clients in one asyncio loop in one process, for benchmark figure 8.

Usage: python botpy_sessions.py HTTP_BASE N [STARTS_PER_S]

Each client is an unmodified ``botpy.Client`` with its own app id and secret, started with
``await client.start(appid, secret)`` as a task of one event loop (``Client.run`` would run a
loop of its own per client). botpy is only told where the servers are, as
tests/peers/botpy_echo.py does: the ``Route`` host constants, and the token URL rewritten at
aiohttp's request entry point. Heartbeats are counted by wrapping ``BotWebSocket.send_msg``
(one string prefix test per frame sent). JSON lines on stdout, as qqgate_sessions.py prints:
``baseline``, ``ready`` (all N READY, or after 120 s), ``report`` on each SIGUSR1.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import signal
import sys
import time
from typing import Any

import aiohttp
import botpy  # type: ignore[import-untyped, unused-ignore]
from botpy.gateway import BotWebSocket  # type: ignore[import-untyped, unused-ignore]
from botpy.http import Route  # type: ignore[import-untyped, unused-ignore]

from benchmarks.peers._selfmeasure import cpu_s, rss_kib, say, sys_s

TOKEN_PREFIX = "https://bots.qq.com"
READY_TIMEOUT_S = 120.0
COUNTS = {"heartbeats": 0, "ready": 0, "resumed": 0}


def point_at(base: str) -> None:
    """Send botpy's REST traffic to ``base`` (copied from tests/peers/botpy_echo.py)."""
    scheme, _, host = base.partition("://")
    Route.SCHEME = scheme  # type: ignore[assignment, unused-ignore]
    Route.DOMAIN = host  # type: ignore[assignment, unused-ignore]
    Route.SANDBOX_DOMAIN = host  # type: ignore[assignment, unused-ignore]
    original = aiohttp.ClientSession._request

    async def _request(self: aiohttp.ClientSession, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        url = str(str_or_url)
        if url.startswith(TOKEN_PREFIX):
            str_or_url = base + url[len(TOKEN_PREFIX):]
        return await original(self, method, str_or_url, **kwargs)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign, assignment, unused-ignore]


def count_heartbeats() -> None:
    original = BotWebSocket.send_msg

    async def send_msg(self: BotWebSocket, event_json: str) -> None:
        if event_json.startswith('{"op": 1,'):
            COUNTS["heartbeats"] += 1
        await original(self, event_json)

    BotWebSocket.send_msg = send_msg  # type: ignore[method-assign, unused-ignore]


class BenchBot(botpy.Client):  # type: ignore[misc, unused-ignore]
    async def on_ready(self) -> None:
        COUNTS["ready"] += 1

    async def on_resumed(self) -> None:
        COUNTS["resumed"] += 1




async def run(base: str, n: int, per_s: float) -> None:
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[Any]] = []

    def report() -> None:
        failed = sum(1 for t in tasks if t.done() and not t.cancelled() and t.exception() is not None)
        say(event="report", t=time.monotonic(), cpu_s=cpu_s(), sys_s=sys_s(), rss_kib=rss_kib(), ready=COUNTS["ready"],
            heartbeats=COUNTS["heartbeats"], failed=failed, n=len(tasks))

    def leave() -> None:
        sys.stdout.flush()
        os._exit(0)

    loop.add_signal_handler(signal.SIGUSR1, report)
    loop.add_signal_handler(signal.SIGTERM, leave)
    loop.add_signal_handler(signal.SIGINT, leave)
    gc.collect()
    await asyncio.sleep(0.1)
    say(event="baseline", t=time.monotonic(), cpu_s=cpu_s(), rss_kib=rss_kib())

    intents = botpy.Intents.none()
    intents.public_messages = True  # GROUP_AND_C2C_EVENT, as tests/peers/botpy_echo.py
    batch = max(1, int(per_s / 10))
    for i in range(n):
        client = BenchBot(intents=intents, timeout=5)
        tasks.append(loop.create_task(client.start(appid=str(102_000_000 + i), secret=f"bench-secret-{i}")))
        if (i + 1) % batch == 0:
            await asyncio.sleep(0.1)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and COUNTS["ready"] < n:
        await asyncio.sleep(0.2)
    errors: dict[str, int] = {}
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            kind = repr(t.exception())[:120]
            errors[kind] = errors.get(kind, 0) + 1
    say(event="ready", t=time.monotonic(), ready=COUNTS["ready"], n=n, failed=sum(errors.values()),
        errors=errors, cpu_s=cpu_s(), rss_kib=rss_kib())
    await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    point_at(argv[1])
    count_heartbeats()
    asyncio.run(run(argv[1], int(argv[2]), float(argv[3]) if len(argv) == 4 else 200.0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
