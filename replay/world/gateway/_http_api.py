"""The REST side of the chaos gateway: access tokens and the few OpenAPI endpoints a bot uses.

Facts from protocol.md "REST facts": ``POST /app/getAppAccessToken`` takes
``{"appId", "clientSecret"}`` and answers ``{"access_token", "expires_in"}`` with
``expires_in`` a *string* of seconds; in the last 60 s before expiry a new token is
issued and the old one stays valid for those 60 s. Every other endpoint wants
``Authorization: QQBot <access_token>``. ``GET /gateway`` gives the WebSocket URL,
``GET /gateway/bot`` adds ``shards`` and ``session_start_limit``; ``GET /users/@me``
has a numeric-looking ``id`` (botpy does ``int(data["id"])``). The send endpoints answer
``{"id", "timestamp"}`` and are recorded so tests can assert on replies.

Durations are server-side and divided by the time scale: the token lifetime (7200 s) and
its 60 s overlap, and ``reset_after``. A token never lives under ``MIN_LIFETIME_S`` wall
seconds, and ``expires_in`` is never "0" (a client would refresh in a tight loop).

This module does no I/O: ``handle(method, path, headers, body)`` returns a status and a
JSON-able body, and ``_http.py`` puts them on the wire.
"""

from __future__ import annotations

import datetime
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

BOT_USER_ID = "11586990140073229091"
"""The same id the model puts in READY."""
BOT_USERNAME = "qqgate-sim-bot"
TOKEN_LIFETIME_S = 7200.0
TOKEN_OVERLAP_S = 60.0
MIN_LIFETIME_S = 2.0
MIN_OVERLAP_S = 1.0
SESSION_LIMIT_TOTAL = 1000
RESET_AFTER_MS = 86_400_000
CST = datetime.timezone(datetime.timedelta(hours=8))

Json = Any
Reply = tuple[int, Json]


@dataclass(frozen=True)
class SentMessage:
    """One message a client sent through a send endpoint.

    ``kind`` is "c2c", "group" or "channel"; ``target`` the openid, group_openid or
    channel id from the path; ``body`` the JSON object as sent; ``id`` what we answered.
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


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class TokenBook:
    """Access tokens per appId, on the wall clock, with lifetimes divided by ``time_scale``."""

    time_scale: float
    clock: Callable[[], float] = time.monotonic
    current: dict[str, _Token] = field(default_factory=dict)
    valid: dict[str, float] = field(default_factory=dict)
    issued: int = 0

    @property
    def lifetime_s(self) -> float:
        return max(TOKEN_LIFETIME_S / self.time_scale, MIN_LIFETIME_S)

    @property
    def overlap_s(self) -> float:
        return max(TOKEN_OVERLAP_S / self.time_scale, MIN_OVERLAP_S)

    def issue(self, app_id: str) -> tuple[str, str]:
        """(access_token, expires_in) for ``app_id``: the current token, or a new one near expiry."""
        now = self.clock()
        token = self.current.get(app_id)
        if token is None or token.expires_at - now <= self.overlap_s:
            self.issued += 1
            token = _Token(f"chaos-{self.issued}-{uuid.uuid4().hex[:16]}", now + self.lifetime_s)
            self.current[app_id] = token
            self.valid[token.value] = token.expires_at
            self.valid = {t: exp for t, exp in self.valid.items() if exp > now}
        return token.value, str(int(token.expires_at - now + 1e-3))

    def check(self, value: str) -> bool:
        expires_at = self.valid.get(value)
        return expires_at is not None and self.clock() < expires_at


_SEND_ROUTES = (
    (re.compile(r"^/v2/users/([^/]+)/messages$"), "c2c"),
    (re.compile(r"^/v2/groups/([^/]+)/messages$"), "group"),
    (re.compile(r"^/channels/([^/]+)/messages$"), "channel"),
)
_GET_ROUTES = ("/gateway", "/gateway/bot", "/users/@me")


def error(status: int, message: str) -> Reply:
    return status, {"code": status, "message": message}


class RestApi:
    """The OpenAPI endpoints. ``identifies`` reports the model's count for ``remaining``."""

    def __init__(self, ws_url: str, time_scale: float, identifies: Callable[[], int]) -> None:
        self.ws_url = ws_url
        self.time_scale = time_scale
        self.tokens = TokenBook(time_scale)
        self.identifies = identifies
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
        if path == "/gateway":
            return 200, {"url": self.ws_url}
        return 200, {"url": self.ws_url, "shards": 1, "session_start_limit": {
            "total": SESSION_LIMIT_TOTAL,
            "remaining": max(0, SESSION_LIMIT_TOTAL - self.identifies()),
            "reset_after": max(1, round(RESET_AFTER_MS / self.time_scale)),
            "max_concurrency": 1}}

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme == "QQBot" and self.tokens.check(token.strip())

    def _token(self, body: bytes) -> Reply:
        obj = _json_object(body)
        if obj is None:
            return error(400, "body must be a JSON object")
        app_id, secret = obj.get("appId"), obj.get("clientSecret")
        if not isinstance(app_id, str) or not app_id or not isinstance(secret, str) or not secret:
            return error(400, "appId and clientSecret are required strings")
        self.token_requests += 1
        token, expires_in = self.tokens.issue(app_id)
        return 200, {"access_token": token, "expires_in": expires_in}

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
