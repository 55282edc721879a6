"""MessageSender: send messages through QQ's OpenAPI with the runtime's managed access token.

The four send endpoints (bot-docs ``server-inter/message/send-receive/send``; protocol.md,
"REST facts")::

    kind       path                               target
    "c2c"      POST /v2/users/{openid}/messages   a user's openid (C2C_MESSAGE_CREATE author.user_openid)
    "group"    POST /v2/groups/{group_openid}/messages
    "channel"  POST /channels/{channel_id}/messages
    "dm"       POST /dms/{guild_id}/messages      the DM's guild_id (DIRECT_MESSAGE_CREATE)

The body is ``{content, msg_type, msg_id?, msg_seq?, event_id?, ...}``; the answer ``{id,
timestamp}``. A reply names the message it answers (``msg_id``) or the event (``event_id``,
for INTERACTION_CREATE, FRIEND_ADD, GROUP_ADD_ROBOT). ``msg_seq``: "回复消息的序号，与 msg_id
联合使用，避免相同消息id回复重复发送 ... 相同的 msg_id + msg_seq 重复发送会失败" (the send page):
replies to one ``msg_id`` get 1, 2, 3, ... here unless the caller gives one, and a retry sends
the *same* ``msg_seq``, so a request that reached QQ before its answer was lost is refused as a
duplicate rather than sent twice.

Errors and retries follow the docs' OpenAPI error page (bot-docs ``dev-prepare/error-trace/
openapi``: "当 http code 不是 2XX 的时候，http 的 responese body 中还会有平台的错误码信息"):

- HTTP 401 ("认证失败"): the token is fetched again (``force``, through the shared
  ``TokenBroker``) and the request sent once more;
- HTTP 429 ("频率限制") and the rate-limit codes (``RATE_LIMIT_CODES``: 22009 "msg limit
  exceed", 20028, 304045, 304049, 304050, 304052, 1100100, 1100308): ``RateLimited``, retried
  after the ``Retry-After`` header's seconds (else ``backoff_s`` doubling) while the wait fits
  ``max_wait_s``;
- HTTP 500/504 ("处理失败") and the codes the page says to retry once ("一般重试一次会好，最多只能
  重试一次": 11242, 11252, 11263, 11281; the send page's 304082/304083 "请重试"): one more try;
- a network failure or timeout: retried with the same body, up to ``max_attempts`` in all;
- 201/202 ("异步操作成功 ... 会返回一个 error body"): ``Sent`` with ``pending`` True (e.g. 304023
  "等待人工审核");
- anything else: ``SendError`` with the HTTP status, QQ's ``code`` and ``message``.

The HTTP timeout is at least 5 s (the send page: "timeout 建议设置最低为 5 秒，避免出现实际消息已
发送成功，但没接收到同步的结果返回"). Sending never waits on the gateway connection: it needs only
a token. Every message text is scrubbed of the secret and the token.

Calls block the calling thread (``requests``, one ``Session`` per thread); on the runtime's hub
thread they are cooperative (``_cooperative.run_cooperatively``). ``AsyncGatewayClient.send``
runs them in the event loop's executor. Works for either transport: a webhook bot builds a
``MessageSender(ShellConfig(...))`` with the same credentials.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import requests

from qqgate.core.journal import Redactor

from . import _rest
from ._config import ShellConfig
from ._cooperative import run_cooperatively
from ._hub import HubThread
from ._tokens import TokenBroker

Kind = Literal["c2c", "group", "channel", "dm"]
PATHS: Mapping[str, str] = {"c2c": "/v2/users/{}/messages", "group": "/v2/groups/{}/messages",
                            "channel": "/channels/{}/messages", "dm": "/dms/{}/messages"}
RATE_LIMIT_CODES = frozenset({22009, 20028, 304045, 304049, 304050, 304052, 1100100, 1100308})
"""Business codes that mean "sent too much" (bot-docs error-trace/openapi and the send page)."""
RETRY_ONCE_CODES = frozenset({11242, 11252, 11263, 11281, 304082, 304083})
"""Business codes the docs say to retry once ("最多只能重试一次", "请重试")."""
MIN_SEND_TIMEOUT_S = 5.0
_SEQ_MEMORY = 4096


class SendError(_rest.RestError):
    """A send failed: ``status`` (HTTP, 0 for a network failure), QQ's ``code`` and ``message``
    (None when absent), ``attempts`` made. The text never holds the secret or a token."""

    def __init__(self, text: str, *, status: int = 0, code: int | None = None, message: str | None = None,
                 attempts: int = 1) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.message = message
        self.attempts = attempts


class RateLimited(SendError):
    """HTTP 429 or a rate-limit code, still so after the retries that fit ``max_wait_s``;
    ``retry_after_s`` is the server's ``Retry-After`` (seconds) when it gave one."""

    def __init__(self, text: str, *, retry_after_s: float | None = None, **fields: Any) -> None:
        super().__init__(text, **fields)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Sent:
    """A message QQ accepted: its ``id`` and ``timestamp`` (as QQ gave them; None when absent),
    ``pending`` True for a 201/202 (accepted for review), the answer as ``raw``."""

    id: str | None
    timestamp: Any
    pending: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class MessageSender:
    """Sends messages for one bot (``config``'s app id) with the shared access token.

    ``hub`` is the runtime whose ``TokenBroker`` holds the token (default: the process-wide
    hub, the one every ``GatewayClient`` uses unless told otherwise). ``max_attempts``: tries
    per message in all (≥ 1); ``max_wait_s``: the longest single wait for a rate limit or a
    retry (seconds); ``backoff_s``: the first retry's wait when the server gives none
    (doubling). Thread-safe.
    """

    def __init__(self, config: ShellConfig, *, hub: HubThread | None = None, max_attempts: int = 3,
                 max_wait_s: float = 5.0, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not isinstance(config, ShellConfig):
            raise TypeError("config must be an io_shell.ShellConfig")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if not max_wait_s >= 0 or not backoff_s >= 0:
            raise ValueError("max_wait_s and backoff_s must be >= 0 seconds")
        self.config = config
        self._hub = hub
        self.max_attempts = max_attempts
        self.max_wait_s = float(max_wait_s)
        self.backoff_s = float(backoff_s)
        self._sleep = sleep
        self._redactor = Redactor(config.secrets)
        self._local = threading.local()
        self._seq_lock = threading.Lock()
        self._seqs: collections.OrderedDict[str, int] = collections.OrderedDict()
        self.counters: dict[str, int] = {"sent": 0, "failed": 0, "retries": 0, "rate_limited": 0,
                                         "token_refreshes": 0}

    @property
    def hub(self) -> HubThread:
        if self._hub is None:
            self._hub = HubThread.shared()
        return self._hub

    # -- the four kinds ----------------------------------------------------------------------
    def send_c2c(self, openid: str, content: str | None = None, **fields: Any) -> Sent:
        """A message to a user (``POST /v2/users/{openid}/messages``); see ``send``."""
        return self.send("c2c", openid, content, **fields)

    def send_group(self, group_openid: str, content: str | None = None, **fields: Any) -> Sent:
        """A message to a group (``POST /v2/groups/{group_openid}/messages``); see ``send``."""
        return self.send("group", group_openid, content, **fields)

    def send_channel(self, channel_id: str, content: str | None = None, **fields: Any) -> Sent:
        """A message to a guild channel (``POST /channels/{channel_id}/messages``); see ``send``."""
        return self.send("channel", channel_id, content, **fields)

    def send_dm(self, guild_id: str, content: str | None = None, **fields: Any) -> Sent:
        """A guild direct message (``POST /dms/{guild_id}/messages``); see ``send``."""
        return self.send("dm", guild_id, content, **fields)

    def send(self, kind: Kind | str, target: str, content: str | None = None, *, msg_type: int = 0,
             msg_id: str | None = None, msg_seq: int | None = None, event_id: str | None = None,
             **fields: Any) -> Sent:
        """Send one message; block until QQ answered (or the retries ran out).

        ``kind`` is "c2c", "group", "channel" or "dm"; ``target`` the id its path takes.
        ``msg_type`` 0 is text (2 markdown, 3 ark, 4 embed, 7 media); other body fields
        (``markdown``, ``keyboard``, ``media``, ``ark``, ...) pass through ``fields``. With
        ``msg_id`` and no ``msg_seq`` the next number for that ``msg_id`` is used.
        Returns ``Sent``; raises ValueError for a bad kind or target, ``RateLimited``,
        ``SendError``, or ``_rest.CredentialsRejected`` when the token cannot be had.
        """
        path = PATHS.get(kind) if isinstance(kind, str) else None
        if path is None:
            raise ValueError(f"kind must be one of {', '.join(PATHS)}, got {kind!r}")
        if not isinstance(target, str) or not target or "/" in target:
            raise ValueError(f"target must be a non-empty id without '/', got {target!r}")
        body: dict[str, Any] = {"msg_type": msg_type, **fields}
        if content is not None:
            body["content"] = content
        if event_id is not None:
            body["event_id"] = event_id
        if msg_id is not None:
            body["msg_id"] = msg_id
            body["msg_seq"] = msg_seq if msg_seq is not None else self._next_seq(msg_id)
        elif msg_seq is not None:
            body["msg_seq"] = msg_seq
        return self.post(path.format(target), body)

    def _next_seq(self, msg_id: str) -> int:
        with self._seq_lock:
            seq = self._seqs.pop(msg_id, 0) + 1
            self._seqs[msg_id] = seq
            if len(self._seqs) > _SEQ_MEMORY:
                self._seqs.popitem(last=False)
            return seq

    # -- the request, its retries and its errors ------------------------------------------------
    def post(self, path: str, body: Mapping[str, Any]) -> Sent:
        """``POST {api_base}{path}`` with ``body`` as JSON, with the retries of the module
        docstring. Returns ``Sent``; raises ``SendError`` / ``RateLimited``."""
        url = self.config.api_base.rstrip("/") + path
        attempts = 0
        force = False
        refreshed = False
        retried_once = False
        delay = self.backoff_s
        while True:
            attempts += 1
            token = self._token(force)
            scrub = _rest._Scrub(self._redactor, self.config, token)
            try:
                status, answer, retry_after = self._request(url, token, body)
            except requests.exceptions.RequestException as exc:
                reason = _rest._describe_exception(exc, self._timeout_s())
                if attempts < self.max_attempts and delay <= self.max_wait_s:
                    self._retry_wait(delay)
                    delay *= 2
                    continue
                self.counters["failed"] += 1
                raise SendError(scrub(f"POST {url}: {reason}", 400), attempts=attempts) from None
            code, message = _code_and_message(answer)
            if 200 <= status < 300 and not (code is not None and code in RATE_LIMIT_CODES):
                if status in (201, 202) or code is not None:
                    self.counters["sent"] += 1
                    return Sent(_text(answer, "id"), _get(answer, "timestamp"), pending=True, raw=_as_map(answer))
                self.counters["sent"] += 1
                return Sent(_text(answer, "id"), _get(answer, "timestamp"), raw=_as_map(answer))
            words = scrub(", ".join(p for p in (f"code={code}" if code is not None else "",
                                                 f"message={message!r}" if message else "") if p), 300)
            text = scrub(f"POST {url}: HTTP {status}" + (f": {words}" if words else ""), 400)
            if status == 401 and not refreshed:
                self.counters["token_refreshes"] += 1
                force = refreshed = True
                attempts -= 1  # a refused token is not the message's fault
                continue
            force = False
            if status == 429 or (code is not None and code in RATE_LIMIT_CODES):
                self.counters["rate_limited"] += 1
                wait = retry_after if retry_after is not None else delay
                if attempts < self.max_attempts and wait <= self.max_wait_s:
                    self._retry_wait(wait)
                    delay *= 2
                    continue
                self.counters["failed"] += 1
                raise RateLimited(text, retry_after_s=retry_after, status=status, code=code, message=message,
                                  attempts=attempts)
            if (status in (500, 504) or (code is not None and code in RETRY_ONCE_CODES)) and not retried_once \
                    and attempts < self.max_attempts:
                retried_once = True
                self._retry_wait(min(delay, self.max_wait_s))
                continue
            self.counters["failed"] += 1
            raise SendError(text, status=status, code=code, message=message, attempts=attempts)

    def _retry_wait(self, seconds: float) -> None:
        self.counters["retries"] += 1
        if seconds > 0:
            if self.hub.in_hub():
                import gevent  # type: ignore[import-untyped]
                gevent.sleep(seconds)
            else:
                self._sleep(seconds)

    def _timeout_s(self) -> float:
        return max(MIN_SEND_TIMEOUT_S, self.config.request_timeout_s)

    def _token(self, force: bool) -> str:
        broker = TokenBroker.of(self.hub)
        if self.hub.in_hub():
            return broker.get(self.config, self._redactor, force=force, floor=True)[0]
        return broker.token(self.config, self._redactor, force=force)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _request(self, url: str, token: str, body: Mapping[str, Any]) -> tuple[int, Any, float | None]:
        headers = {"Authorization": f"QQBot {token}", "X-Union-Appid": self.config.app_id}
        session = self._session()

        def call() -> requests.Response:
            return session.post(url, json=dict(body), headers=headers, timeout=self._timeout_s(),
                                verify=self.config.verify_tls, allow_redirects=False)

        response = run_cooperatively(call) if self.hub.in_hub() else call()
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return int(response.status_code), answer, _retry_after(response.headers.get("Retry-After"))

    def redact(self, text: str) -> str:
        """``text`` with the client secret replaced by its placeholder."""
        return self._redactor.text(text)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _code_and_message(answer: Any) -> tuple[int | None, str | None]:
    if not isinstance(answer, dict):
        return None, None
    code = answer.get("code")
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or code == 0:
        code = None
    message = answer.get("message")
    return code, message if isinstance(message, str) else None


def _get(answer: Any, key: str) -> Any:
    return answer.get(key) if isinstance(answer, dict) else None


def _text(answer: Any, key: str) -> str | None:
    value = _get(answer, key)
    return value if isinstance(value, str) else None


def _as_map(answer: Any) -> Mapping[str, Any]:
    return answer if isinstance(answer, dict) else {}


__all__ = ["Kind", "MessageSender", "PATHS", "RATE_LIMIT_CODES", "RETRY_ONCE_CODES", "RateLimited", "SendError",
           "Sent"]
