"""One HTTP POST from the chaos gateway to a webhook receiver: h11 over a gevent socket.

A new connection per attempt (a receiver that went down is seen at the next attempt), the
whole exchange bounded by one deadline. Every way it can fail is a ``PostFailed`` whose
``reason`` names it: ``refused``, ``reset``, ``timeout``, ``bad response``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped, unused-ignore]
import gevent.socket  # type: ignore[import-untyped, unused-ignore]
import h11

from ._ws import RECV_BYTES, drop

MAX_ANSWER_BYTES = 64 * 1024


class PostFailed(Exception):
    """The POST got no usable answer; ``reason`` is one of refused, reset, timeout, bad response."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Where to post: host, port and the request target (path and query) of an http:// URL."""

    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> "Target":
        """Raises ValueError for anything but an http:// URL with a host."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// URL: {url!r}")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.hostname, parts.port or 80, path)


def post(target: Target, body: bytes, headers: list[tuple[str, str]], timeout_s: float) -> tuple[int, bytes]:
    """POST ``body`` with ``headers`` (plus Host, Content-Type, Content-Length); return
    (status, answer body). Raises PostFailed."""
    sock = None
    try:
        with gevent.Timeout(timeout_s, PostFailed("timeout", f"no answer within {timeout_s:g} s")):
            try:
                sock = gevent.socket.create_connection((target.host, target.port))
            except ConnectionRefusedError:
                raise PostFailed("refused") from None
            conn = h11.Connection(h11.CLIENT)
            request = h11.Request(method="POST", target=target.path, headers=[
                ("Host", f"{target.host}:{target.port}"), ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))), ("Connection", "close"), *headers])
            sock.sendall(conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
            status = 0
            chunks: list[bytes] = []
            size = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(RECV_BYTES))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > MAX_ANSWER_BYTES:
                        raise PostFailed("bad response", "answer too large")
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    return status, b"".join(chunks)
                elif isinstance(event, h11.ConnectionClosed):
                    raise PostFailed("reset", "closed before the answer ended")
    except PostFailed:
        raise
    except h11.ProtocolError as exc:
        raise PostFailed("bad response", str(exc)) from None
    except OSError as exc:
        raise PostFailed("reset", exc.strerror or type(exc).__name__) from None
    finally:
        if sock is not None:
            drop(sock)
