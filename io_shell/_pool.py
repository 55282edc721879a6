"""BotPool: many bots in one process, each isolated from the others' failures, bans and slow handlers.

::

    pool = BotPool()
    for config in configs:                                # one per app id (or shard)
        pool.add(config, on_dispatch=router_for(config))  # a function, or an EventRouter
    pool.start()
    pool.status()                                         # {name: GatewayStatus}
    pool.health()                                         # {name: "ready" | "degraded" | "failed" | ...}
    pool.stop()

One runtime hub thread serves every bot (``HubThread.shared()`` unless ``hub`` is given), and
each bot is its own ``GatewayClient``: its own core state, sockets, timers, journal and token
(``_tokens``). What one bot does cannot reach another:

- a ban, refused credentials or any final Fatal ends that bot's client only (FAILED);
- a handler that blocks (``time.sleep``, a CPU-bound step, a synchronous call) holds only its
  bot's strand: the pool's handler threads (``handler_threads``, default one per bot, started
  on demand and idle otherwise) let every other bot's handler run, and the hub thread, where
  heartbeats are sent, never runs host code at all;
- a handler that raises is logged and counted for its bot, and its dispatch settled.

``stats(name)`` keeps what only the host side sees, per bot: handler latency, fatals, reconnect
reasons (``metrics`` exports them with the status counters).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from qqgate import core

from ._client import GatewayClient
from ._config import ShellConfig
from ._host import Executor, HandlerPool
from ._hub import HubThread
from ._status import GatewayStatus

log = logging.getLogger("qqgate.shell")

HANDLER_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
"""Upper bounds (seconds) of the handler-latency histogram."""


@dataclass
class BotStats:
    """Host-side figures of one bot (updated on its handler and hook threads; read any time).

    ``handler_buckets[i]`` counts handler runs of at most ``HANDLER_BUCKETS_S[i]`` seconds
    (the last slot: longer); ``fatals`` counts ``core.Fatal`` by ``retryable``.
    """

    handled: int = 0
    handler_seconds: float = 0.0
    handler_buckets: list[int] = field(default_factory=lambda: [0] * (len(HANDLER_BUCKETS_S) + 1))
    fatals: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    last_fatal: core.Fatal | None = None

    def observe(self, seconds: float) -> None:
        self.handled += 1
        self.handler_seconds += seconds
        for i, bound in enumerate(HANDLER_BUCKETS_S):
            if seconds <= bound:
                self.handler_buckets[i] += 1
                return
        self.handler_buckets[-1] += 1


def health_of(status: GatewayStatus) -> str:
    """One bot's health: "ready" (READY), "failed" (stopped for good: a ban, refused
    credentials, a configuration error), "stopped" (stopped on purpose), "starting" (never
    READY yet), or "degraded" (running but not READY now: reconnecting, backing off)."""
    if status.ready:
        return "ready"
    if status.phase == core.Phase.FAILED.value:
        return "failed"
    if not status.running:
        return "stopped" if status.phase == core.Phase.STOPPED.value else "failed"
    return "degraded" if status.last_ready_at is not None else "starting"


class BotPool:
    """Many ``GatewayClient`` bots on one hub (see the module docstring). Thread-safe."""

    def __init__(self, *, hub: HubThread | None = None, handler_threads: int | None = None,
                 executor: Executor | None = None) -> None:
        self._hub = hub
        self._executor: Executor = executor if executor is not None else HandlerPool(handler_threads or 256)
        self._clients: dict[str, GatewayClient] = {}
        self._stats: dict[str, BotStats] = {}
        self._lock = threading.Lock()
        self._started = False
        self._launched: set[GatewayClient] = set()

    def add(self, config: ShellConfig, on_dispatch: Callable[[core.Dispatch], None] | None, *,
            name: str | None = None, on_fatal: Callable[[core.Fatal], None] | None = None,
            on_status: Callable[[core.StatusChanged], None] | None = None) -> GatewayClient:
        """Add a bot named ``name`` (default: its app id, plus ``/shard`` when sharded); started
        at once when the pool already runs. Raises ValueError for a name taken."""
        if name is None:
            name = config.app_id if config.core.shard_count == 1 else f"{config.app_id}/{config.core.shard_id}"
        stats = BotStats()

        def fatal(event: core.Fatal) -> None:
            stats.fatals[event.retryable] += 1
            stats.last_fatal = event
            if not event.retryable:
                log.error("bot %s stopped for good: %s", name, event.reason)
            if on_fatal is not None:
                on_fatal(event)

        handler = None if on_dispatch is None else _timed(on_dispatch, stats)
        with self._lock:
            if name in self._clients:
                raise ValueError(f"a bot named {name!r} is already in the pool")
            self._stats[name] = stats
            client = GatewayClient(config, on_dispatch=handler, on_fatal=fatal, on_status=on_status,
                                   executor=self._executor, hub=self._hub)
            self._clients[name] = client
            started = self._started
        if started:
            with self._lock:
                self._launched.add(client)
            client.start()
        return client

    def start(self, starts_per_s: float | None = None) -> None:
        """Start every bot not started yet (``starts_per_s``: at most that many per second, to
        spread a fleet's identifies; None: all at once). Returns when all were started."""
        with self._lock:
            self._started = True
            clients = [c for c in self._clients.values() if c not in self._launched]
            self._launched.update(clients)
        gap = 1.0 / starts_per_s if starts_per_s else 0.0
        for client in clients:
            client.start()
            if gap:
                time.sleep(gap)

    def stop(self, timeout_s: float = 10.0) -> dict[str, bool]:
        """Stop every bot (up to 16 at a time, each closing its socket with 1000) and wait up to
        ``timeout_s`` seconds for each; a bot that ended in time maps to True."""
        clients = self.clients()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, max(1, len(clients))),
                                                   thread_name_prefix="qqgate-pool-stop") as workers:
            done = {name: workers.submit(client.stop, timeout_s) for name, client in clients.items()}
            return {name: future.result() for name, future in done.items()}

    def clients(self) -> dict[str, GatewayClient]:
        """The bots by name (a copy)."""
        with self._lock:
            return dict(self._clients)

    def __getitem__(self, name: str) -> GatewayClient:
        return self._clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.clients())

    def __len__(self) -> int:
        return len(self._clients)

    def stats(self, name: str) -> BotStats:
        """The host-side figures of bot ``name``."""
        return self._stats[name]

    def status(self) -> dict[str, GatewayStatus]:
        """Every bot's ``GatewayStatus``, by name: built now, never blocks."""
        return {name: client.status() for name, client in self.clients().items()}

    def health(self) -> dict[str, str]:
        """Every bot's health by name (``health_of``)."""
        return {name: health_of(status) for name, status in self.status().items()}


def _timed(handler: Callable[[core.Dispatch], None], stats: BotStats) -> Callable[[core.Dispatch], None]:
    """``handler`` with its run time added to ``stats`` (on the handler's own thread)."""
    clock = time.perf_counter

    def timed(dispatch: core.Dispatch) -> None:
        started = clock()
        try:
            handler(dispatch)
        finally:
            stats.observe(clock() - started)

    timed.__qualname__ = getattr(handler, "__qualname__", "handler")
    return timed


__all__ = ["BotPool", "BotStats", "HANDLER_BUCKETS_S", "health_of"]
