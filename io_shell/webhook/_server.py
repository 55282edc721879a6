"""Serving a receiver with gevent's WSGI server (``gevent.pywsgi``) on the runtime's hub thread.

``ReceiverServer(receiver, host, port).start()`` listens from the runtime's own OS thread and
gevent hub (``io_shell._hub.HubThread``, shared with every ``GatewayClient`` of the process),
so no host needs monkey-patching and a callback never waits for host code; it returns at once.
Plain HTTP: put it behind a TLS reverse proxy on one of the ports QQ allows (80, 443, 8080,
8443; README, "Webhook").
"""

from __future__ import annotations

import logging
from typing import Any

from .._hub import HubThread
from ._receiver import WebhookReceiver

log = logging.getLogger("qqgate.webhook")


class ReceiverServer:
    """gevent's WSGIServer around ``receiver.wsgi_app`` on ``host``:``port`` (0: any free port),
    in ``hub`` (default: the process-wide ``HubThread.shared()``)."""

    def __init__(self, receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 8443,
                 hub: HubThread | None = None) -> None:
        self.receiver = receiver
        self.host = host
        self.port = port
        self._hub = hub
        self._server: Any = None

    def start(self) -> "ReceiverServer":
        """Listen; returns once bound. Raises OSError when the address cannot be bound."""
        from gevent.pywsgi import WSGIServer  # type: ignore[import-untyped]

        hub = self._hub if self._hub is not None else HubThread.shared()
        self.receiver.hub = hub

        def listen() -> Any:
            server = WSGIServer((self.host, self.port), self.receiver.wsgi_app, log=None, error_log=log)
            server.start()
            return server

        self._server = hub.run(listen)
        self._hub = hub
        self.port = int(self._server.server_port)
        return self

    @property
    def url(self) -> str:
        """``http://HOST:PORT/``: what a local client (or the reverse proxy) posts to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop listening; requests in progress get up to ``timeout_s`` seconds. Idempotent."""
        server, self._server = self._server, None
        if server is not None and self._hub is not None:
            try:
                self._hub.run(lambda: server.stop(timeout=timeout_s), timeout_s + 5.0)
            except (RuntimeError, TimeoutError):  # the hub thread is gone: its sockets went with it
                pass
