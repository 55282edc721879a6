"""The receiver as a WSGI application (PEP 3333): mount it in any WSGI host, or serve it with gevent.

Only ``POST`` is taken (anything else: 405). The body is read in full, up to
``ReceiverConfig.max_body_bytes`` (larger: 413; no ``Content-Length`` and not chunked: 411),
and handed with the ``X-Signature-Ed25519`` and ``X-Signature-Timestamp`` headers to
``WebhookReceiver.handle``; its answer goes back as ``application/json``. The path is the
host's business: the app answers wherever it is mounted.

An ASGI host can run it through asgiref's ``WsgiToAsgi(receiver.wsgi_app)`` (the WSGI call
then runs in asgiref's thread pool, which the receiver's lock makes safe).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from ._receiver import WebhookReceiver

StartResponse = Callable[..., Any]


def _reply(start_response: StartResponse, status: int, body: bytes,
           extra: tuple[tuple[str, str], ...] = ()) -> Iterable[bytes]:
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra])
    return [body]


def _error(status: int, message: str) -> bytes:
    return f'{{"code":{status},"message":"{message}"}}'.encode("ascii")


def wsgi_app(receiver: WebhookReceiver) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI application that feeds every POST to ``receiver`` and answers with its answer."""
    limit = receiver.config.max_body_bytes

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            receiver.refuse(f"method {environ.get('REQUEST_METHOD')!r}")
            return _reply(start_response, 405, _error(405, "only POST"), (("Allow", "POST"),))
        stream = environ["wsgi.input"]
        length_text = environ.get("CONTENT_LENGTH") or ""
        if length_text.strip():
            try:
                length = int(length_text)
            except ValueError:
                receiver.refuse("bad Content-Length")
                return _reply(start_response, 400, _error(400, "bad Content-Length"))
            if length < 0 or length > limit:
                receiver.refuse(f"body of {length} bytes (limit {limit})")
                return _reply(start_response, 413, _error(413, "body too large"))
            body = stream.read(length) if length else b""
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = stream.read(limit + 1)
            if len(body) > limit:
                receiver.refuse(f"chunked body over {limit} bytes")
                return _reply(start_response, 413, _error(413, "body too large"))
        else:
            receiver.refuse("no Content-Length")
            return _reply(start_response, 411, _error(411, "Content-Length required"))
        answer = receiver.handle(bytes(body), environ.get("HTTP_X_SIGNATURE_ED25519"),
                                 environ.get("HTTP_X_SIGNATURE_TIMESTAMP"))
        return _reply(start_response, answer.status, answer.body)

    return app
