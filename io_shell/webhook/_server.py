"""Serving a receiver with gevent's WSGI server (``gevent.pywsgi``), the default host.

``ReceiverServer(receiver, host, port).start()`` listens and returns at once (greenlets in
the caller's hub; ``qqgate run`` monkey-patches first, so the receiver's threads are
greenlets too). Plain HTTP: put it behind a TLS reverse proxy on one of the ports QQ allows
(80, 443, 8080, 8443; README, "Webhook").
"""

from __future__ import annotations

import logging
from typing import Any

from ._receiver import WebhookReceiver

log = logging.getLogger("qqgate.webhook")


class ReceiverServer:
    """gevent's WSGIServer around ``receiver.wsgi_app`` on ``host``:``port`` (0: any free port)."""

    def __init__(self, receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 8443) -> None:
        self.receiver = receiver
        self.host = host
        self.port = port
        self._server: Any = None

    def start(self) -> "ReceiverServer":
        """Listen; returns at once. Raises OSError when the address cannot be bound."""
        from gevent.pywsgi import WSGIServer  # type: ignore[import-untyped]

        self._server = WSGIServer((self.host, self.port), self.receiver.wsgi_app, log=None, error_log=log)
        self._server.start()
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
        if server is not None:
            server.stop(timeout=timeout_s)
