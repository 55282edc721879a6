"""The REST side of the chaos gateway: access tokens and the few OpenAPI endpoints a bot uses.

Facts from protocol.md "REST facts": ``POST /app/getAppAccessToken`` takes
``{"appId", "clientSecret"}`` and answers ``{"access_token", "expires_in"}`` with
``expires_in`` a *string* of seconds. Every other endpoint wants ``Authorization: QQBot
<access_token>``. ``GET /gateway`` gives the WebSocket URL, ``GET /gateway/bot`` adds
``shards`` and ``session_start_limit``; ``GET /users/@me`` has a numeric-looking ``id``
(botpy does ``int(data["id"])``). The send endpoints answer ``{"id", "timestamp"}`` and are
recorded so tests can assert on replies.

Tokens and the session start budget are the server model's (``GatewayServer.tokens``,
``session_start_limit``), on model time, so the gateway and the simulator issue, expire and
refuse tokens alike: a pair the world does not accept gets HTTP 401 ``{"code": 100016,
"message": "invalid appid or secret"}``; a token the model did not issue, or that expired or
was revoked, gets HTTP 401 on the OpenAPI and close 4004 on the gateway.

This module does no I/O: ``handle(method, path, headers, body)`` returns a status and a
JSON-able body, and ``_http.py`` puts them on the wire.
"""

from __future__ import annotations

import datetime
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from .._faults import RejectTokens
from .._server import GatewayServer
from .._tokens import INVALID_CREDENTIALS

BOT_USER_ID = "11586990140073229091"
"""The same id the model puts in READY."""
BOT_USERNAME = "qqgate-sim-bot"
CST = datetime.timezone(datetime.timedelta(hours=8))

Json = Any
Reply = tuple[int, Json]


@dataclass(frozen=True)
class SentMessage:
    """One message a client sent through a send endpoint.

    ``kind`` is "c2c", "group", "channel" or "dm"; ``target`` the openid, group_openid,
    channel id or DM guild id from the path; ``body`` the JSON object as sent; ``id`` what we answered.
    """

    at: float
    kind: str
    target: str
    body: dict[str, Any]
    id: str

    @property
    def msg_id(self) -> str | None:
        """The ``msg_id`` the message replies to (passive reply), if any."""
        value = self.body.get("msg_id")
        return value if isinstance(value, str) else None

    @property
    def content(self) -> str | None:
        value = self.body.get("content")
        return value if isinstance(value, str) else None


_SEND_ROUTES = (
    (re.compile(r"^/v2/users/([^/]+)/messages$"), "c2c"),
    (re.compile(r"^/v2/groups/([^/]+)/messages$"), "group"),
    (re.compile(r"^/channels/([^/]+)/messages$"), "channel"),
    (re.compile(r"^/dms/([^/]+)/messages$"), "dm"),  # guild direct messages (the send page's 频道私信)
)
_GET_ROUTES = ("/gateway", "/gateway/bot", "/users/@me")


def error(status: int, message: str) -> Reply:
    return status, {"code": status, "message": message}


class RestApi:
    """The OpenAPI endpoints over the server model ``server()`` at model time ``now()``.

    ``ws_url(headers)`` is the URL ``GET /gateway`` answers with (it may depend on the
    request's ``Host``: a client that reached us through the chaos host name gets it back, and
    during a ``DnsOutage`` a client on the IP address gets a URL that cannot resolve).
    """

    def __init__(self, ws_url: Callable[[dict[str, str]], str], server: Callable[[], GatewayServer],
                 now: Callable[[], float], time_scale: float) -> None:
        self.ws_url = ws_url
        self.server = server
        self.now = now
        self.time_scale = time_scale
        self.sent_messages: list[SentMessage] = []
        self.token_requests = 0
        self.requests: list[tuple[str, str, int]] = []
        """(method, path, status) of every request served, in order."""

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        status, payload = self._route(method, path, headers, body)
        self.requests.append((method, path, status))
        return status, payload

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path == "/app/getAppAccessToken":
            if method != "POST":
                return error(405, "method not allowed")
            return self._token(body)
        send_kind = next(((kind, m.group(1)) for rx, kind in _SEND_ROUTES if (m := rx.match(path))), None)
        if send_kind is None and path not in _GET_ROUTES:
            return error(404, "not found")
        if (send_kind is None) != (method == "GET") or method not in ("GET", "POST"):
            return error(405, "method not allowed")
        if not self._authorized(headers):
            return error(401, "invalid or expired access token")
        if send_kind is not None:
            return self._send(send_kind[0], send_kind[1], body)
        if path == "/users/@me":
            return 200, {"id": BOT_USER_ID, "username": BOT_USERNAME, "avatar": "",
                         "union_openid": "", "union_user_account": ""}
        url = self.ws_url(headers)
        if path == "/gateway":
            return 200, {"url": url}
        total, remaining, reset_after_ms, max_concurrency = self.server().session_start_limit(self.now())
        return 200, {"url": url, "shards": 1, "session_start_limit": {
            "total": total, "remaining": remaining,
            "reset_after": max(1, round(reset_after_ms / self.time_scale)),
            "max_concurrency": max_concurrency}}

    def _authorized(self, headers: dict[str, str]) -> bool:
        return self.server().tokens.check_header(headers.get("authorization", ""), self.now())

    def _token(self, body: bytes) -> Reply:
        obj = _json_object(body)
        if obj is None:
            return error(400, "body must be a JSON object")
        app_id, secret = obj.get("appId"), obj.get("clientSecret")
        if not isinstance(app_id, str) or not app_id or not isinstance(secret, str) or not secret:
            return error(400, "appId and clientSecret are required strings")
        self.token_requests += 1
        server, now = self.server(), self.now()
        if not server.tokens.accepts(app_id, secret) or server.network.active(RejectTokens, now) is not None:
            server.tokens.rejected += 1
            return 401, dict(INVALID_CREDENTIALS)
        token, expires_in = server.tokens.issue(app_id, now)
        # The client counts wall seconds: the model's lifetime divided by the time scale.
        return 200, {"access_token": token, "expires_in": str(max(1, int(expires_in / self.time_scale + 1e-6)))}

    def _send(self, kind: str, target: str, body: bytes) -> Reply:
        obj = _json_object(body)
        if obj is None:
            return error(400, "body must be a JSON object")
        reply_id = f"ROBOT1.0_chaos{len(self.sent_messages) + 1:07d}"
        stamp = datetime.datetime.now(CST).replace(microsecond=0).isoformat()
        self.sent_messages.append(SentMessage(time.monotonic(), kind, target, obj, reply_id))
        return 200, {"id": reply_id, "timestamp": stamp}


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None
