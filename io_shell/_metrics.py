"""Operations: Prometheus metrics (``prometheus_client``) and a health endpoint, per bot.

::

    metrics = Metrics()                    # registers on prometheus_client's default registry
    metrics.watch_pool(pool)               # or metrics.watch("bot-a", client) for any client
    server = metrics.serve("127.0.0.1", 9464)   # GET /metrics (Prometheus), GET /healthz (JSON)

Nothing is counted on the runtime's hub thread for this: every figure is read when Prometheus
scrapes, from each bot's ``status()`` (an immutable snapshot: the core's and the shell's
counters) and from what the host side already keeps (``BotStats``: handler latency, fatals).
The only hook is a ``logging.Filter`` on the core's ``qqgate`` logger that counts reconnect
reasons from the records the core emits when a connection ends (``socket_closed`` by close code,
``zombie_connection``, ``attempt_failed``; ``reconnect_requested`` for op 7 when that logger
is at INFO): per closed connection, never per dispatch, and it passes every record on.

Metrics (label ``bot`` on each; counters end in ``_total``):

    qqgate_bot_phase{phase}                 1 for the bot's current phase, 0 for the others
    qqgate_bot_ready                        1 while READY
    qqgate_heartbeat_latency_seconds        the last heartbeat's round trip (discord.py's latency)
    qqgate_heartbeats_sent_total, qqgate_heartbeat_acks_total
    qqgate_heartbeat_ack_misses_total       heartbeats with no frame back before the next was due
    qqgate_reconnects_total{reason}         close_4009, close_none, zombie, op7, attempt_failed, ...
    qqgate_sessions_total{kind}             identify / resume frames sent
    qqgate_dispatches_total{outcome}        delivered / deduped / settled
    qqgate_handler_seconds                  histogram of handler run times (host side)
    qqgate_handler_errors_total
    qqgate_fatals_total{retryable}
    qqgate_connection_failures_total

Health (``health()``, ``GET /healthz``): per bot "ready", "degraded" (running, not READY now),
"starting", "failed" (stopped for good: a ban, refused credentials) or "stopped"; the answer is
HTTP 200 when every bot is ready and 503 otherwise, with the per-bot view as JSON: "process
running" is not "transports healthy".
"""

from __future__ import annotations

import logging
import socketserver
import threading
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson

from qqgate import core

from ._pool import HANDLER_BUCKETS_S, BotPool, BotStats, health_of
from ._status import GatewayStatus

try:
    from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("qqgate's metrics need prometheus_client: pip install 'qqgate[metrics]'") from exc

RECONNECT_EVENTS = frozenset({"socket_closed", "zombie_connection", "attempt_failed", "reconnect_requested"})


class HasStatus(Protocol):
    """Anything with ``status() -> GatewayStatus`` (GatewayClient, AsyncGatewayClient, Bot,
    WebhookReceiver)."""

    def status(self) -> GatewayStatus: ...


class ReconnectReasons(logging.Filter):
    """Counts the core's connection-ending records by (app id, reason); passes every record."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        event = getattr(record, "qqgate_event", None)
        if event in RECONNECT_EVENTS:
            app_id = str(getattr(record, "qqgate_app_id", "") or "")
            fields = getattr(record, "qqgate_fields", None) or {}
            if event == "socket_closed":
                code = fields.get("code") if isinstance(fields, dict) else None
                reason = f"close_{code if code is not None else 'none'}"
            elif event == "zombie_connection":
                reason = "zombie"
            elif event == "reconnect_requested":
                reason = "op7"
            else:
                reason = "attempt_failed"
            with self._lock:
                self.counts[(app_id, reason)] = self.counts.get((app_id, reason), 0) + 1
        return True


class Metrics(Collector):
    """The collector behind every qqgate metric (see the module docstring).

    ``registry``: where to register (default: prometheus_client's ``REGISTRY``; None to
    register nowhere, e.g. for tests with a ``CollectorRegistry`` of their own passed here).
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self._bots: dict[str, tuple[HasStatus, BotStats | None, str]] = {}
        self._pools: list[BotPool] = []
        self._lock = threading.Lock()
        self.reasons = ReconnectReasons()
        logging.getLogger("qqgate").addFilter(self.reasons)
        self.registry = registry
        if registry is not None:
            registry.register(self)

    def close(self) -> None:
        """Stop counting reconnect reasons and leave the registry."""
        logging.getLogger("qqgate").removeFilter(self.reasons)
        if self.registry is not None:
            self.registry.unregister(self)

    def watch(self, name: str, client: HasStatus, stats: BotStats | None = None,
              app_id: str | None = None) -> BotStats:
        """Export ``client`` as bot ``name``; returns its ``BotStats`` (feed handler times with
        ``stats.observe(seconds)``, e.g. as an EventRouter's ``on_handled``)."""
        stats = stats if stats is not None else BotStats()
        config = getattr(client, "config", None)
        app = app_id if app_id is not None else str(getattr(config, "app_id", name))
        with self._lock:
            self._bots[name] = (client, stats, app)
        return stats

    def watch_pool(self, pool: BotPool) -> None:
        """Export every bot of ``pool``, those added later included."""
        with self._lock:
            self._pools.append(pool)

    def handler_observer(self, name: str) -> Callable[[str, float], None]:
        """An ``on_handled(event_type, seconds)`` that feeds bot ``name``'s handler histogram."""
        stats = self._bots[name][1]
        assert stats is not None
        return lambda _event_type, seconds: stats.observe(seconds)

    def _snapshot(self) -> list[tuple[str, GatewayStatus, BotStats | None, str]]:
        with self._lock:
            bots = dict(self._bots)
            pools = list(self._pools)
        out = [(name, client.status(), stats, app) for name, (client, stats, app) in bots.items()]
        for pool in pools:
            for name, client in pool.clients().items():
                out.append((name, client.status(), pool.stats(name), client.config.app_id))
        return out

    def health(self) -> dict[str, str]:
        """Every bot's health by name (``_pool.health_of``)."""
        return {name: health_of(status) for name, status, _stats, _app in self._snapshot()}

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        bots = self._snapshot()
        phase = GaugeMetricFamily("qqgate_bot_phase", "1 for the bot's current connection phase",
                                  labels=["bot", "phase"])
        ready = GaugeMetricFamily("qqgate_bot_ready", "1 while the bot's connection is READY", labels=["bot"])
        latency = GaugeMetricFamily("qqgate_heartbeat_latency_seconds",
                                    "the last heartbeat's round trip to its ACK", labels=["bot"])
        counters = {
            name: CounterMetricFamily(f"qqgate_{name}", text, labels=["bot"])
            for name, text in (("heartbeats_sent", "heartbeats sent"), ("heartbeat_acks", "heartbeat ACKs received"),
                               ("heartbeat_ack_misses", "heartbeats with nothing back before the next was due"),
                               ("handler_errors", "handlers that raised"),
                               ("connection_failures", "failed connection attempts"))}
        sessions = CounterMetricFamily("qqgate_sessions", "Identify and Resume frames sent", labels=["bot", "kind"])
        dispatches = CounterMetricFamily("qqgate_dispatches", "dispatches by outcome", labels=["bot", "outcome"])
        reconnects = CounterMetricFamily("qqgate_reconnects", "connections ended, by reason",
                                         labels=["bot", "reason"])
        fatals = CounterMetricFamily("qqgate_fatals", "Fatal conditions reported", labels=["bot", "retryable"])
        handler = HistogramMetricFamily("qqgate_handler_seconds", "handler run time (host side)", labels=["bot"])
        with self.reasons._lock:
            reasons = dict(self.reasons.counts)
        for name, status, stats, app in bots:
            c = status.counters
            for value in core.Phase:
                phase.add_metric([name, value.value], 1.0 if status.phase == value.value else 0.0)
            ready.add_metric([name], 1.0 if status.ready else 0.0)
            if status.heartbeat_latency_s is not None:
                latency.add_metric([name], status.heartbeat_latency_s)
            counters["heartbeats_sent"].add_metric([name], c.get("heartbeats_sent", 0))
            counters["heartbeat_acks"].add_metric([name], c.get("heartbeat_acks", 0))
            counters["heartbeat_ack_misses"].add_metric([name], c.get("zombies_detected", 0))
            counters["handler_errors"].add_metric([name], c.get("handler_errors", 0))
            counters["connection_failures"].add_metric([name], c.get("failures", 0))
            sessions.add_metric([name, "identify"], c.get("identifies_sent", 0))
            sessions.add_metric([name, "resume"], c.get("resumes_sent", 0))
            dispatches.add_metric([name, "delivered"], c.get("dispatches_delivered", c.get("deliveries", 0)))
            dispatches.add_metric([name, "deduped"], c.get("duplicates_dropped", 0))
            dispatches.add_metric([name, "settled"], c.get("dispatches_settled", 0))
            for (reason_app, reason), count in reasons.items():
                if reason_app == app:
                    reconnects.add_metric([name, reason], count)
            if stats is not None:
                fatals.add_metric([name, "true"], stats.fatals[True])
                fatals.add_metric([name, "false"], stats.fatals[False])
                buckets, running = [], 0
                for bound, count in zip((*map(str, HANDLER_BUCKETS_S), "+Inf"), stats.handler_buckets):
                    running += count
                    buckets.append((bound, running))
                handler.add_metric([name], buckets, stats.handler_seconds)
        yield from (phase, ready, latency, *counters.values(), sessions, dispatches, reconnects, fatals, handler)

    # -- the HTTP endpoint ----------------------------------------------------------------------------
    def wsgi_app(self) -> Callable[..., Iterable[bytes]]:
        """A WSGI app: ``/metrics`` (Prometheus text format) and ``/healthz`` (JSON, 200 or 503)."""
        metrics_app = make_wsgi_app(self.registry if self.registry is not None else _only(self))

        def app(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "/")
            if path in ("/healthz", "/health"):
                bots = {name: {"health": health_of(status), "phase": status.phase,
                               "heartbeat_latency_s": status.heartbeat_latency_s, "last_fatal": status.last_fatal}
                        for name, status, _stats, _app in self._snapshot()}
                healthy = bool(bots) and all(b["health"] == "ready" for b in bots.values())
                overall = "ready" if healthy else (
                    "failed" if any(b["health"] == "failed" for b in bots.values()) else "degraded")
                body = orjson.dumps({"status": overall, "bots": bots})
                start_response("200 OK" if healthy else "503 Service Unavailable",
                               [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            if path == "/metrics":
                return metrics_app(environ, start_response)  # type: ignore[no-any-return]
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics or /healthz\n"]
        return app

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> "MetricsServer":
        """Serve ``wsgi_app()`` on ``host:port`` (0: any free port) from a daemon thread, with the
        standard library's WSGI server; returns the running server."""
        return MetricsServer(self.wsgi_app(), host, port)


def _only(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


class MetricsServer:
    """The metrics and health endpoint in a daemon thread; ``url``, ``stop()``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], host: str, port: int) -> None:
        self._server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="qqgate-metrics", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


__all__ = ["HasStatus", "Metrics", "MetricsServer", "ReconnectReasons"]
