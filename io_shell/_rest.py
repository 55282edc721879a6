"""The two REST calls the gateway needs: the access token and the WebSocket URL.

Both go through ``requests`` and are made cooperative by gevent: when ``socket`` is
monkey-patched (``qqgate run`` patches first thing) the call runs on the calling greenlet;
otherwise it runs in gevent's threadpool, so an embedding host that did not patch never
has its hub blocked by a DNS lookup or a slow TLS handshake.

Errors are ``RestError`` with a short, readable message that never contains the client
secret or an access token (protocol.md, "REST facts"; design.md, "The journal").
"""

from __future__ import annotations

from typing import Any

import requests

from qqgate import core
from qqgate.core.journal import Redactor

from ._config import ShellConfig
from ._cooperative import run_cooperatively

_BODY_SNIPPET = 200
"""At most this many characters of an error body go into a message."""


class RestError(Exception):
    """A REST call failed: network, TLS, timeout, HTTP status or an unusable body."""


def _describe_exception(exc: BaseException, timeout_s: float) -> str:
    """A one-line reason for a requests exception (the innermost cause, not the pool's prose)."""
    if isinstance(exc, requests.exceptions.SSLError):
        kind = "TLS error"
    elif isinstance(exc, requests.exceptions.Timeout):
        return f"timed out after {timeout_s:g} s"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        kind = "cannot connect"
    else:
        kind = type(exc).__name__
    inner: BaseException = exc
    seen = 0
    while seen < 8:
        nxt = inner.__cause__ or inner.__context__
        if nxt is None and inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if nxt is None:
            break
        reason = getattr(nxt, "reason", None)
        inner = reason if isinstance(reason, BaseException) else nxt
        seen += 1
    text = str(inner) or type(inner).__name__
    if "Max retries exceeded" in text and "Caused by" in text:
        text = text.split("Caused by", 1)[1].strip(" ()")
    return f"{kind}: {text[:300]}"


def _redactor(*secrets: str) -> Redactor:
    """Replaces each of ``secrets`` (the client secret, a token) with ``«redacted»`` in a message."""
    return Redactor((secret, "redacted") for secret in secrets)


def _request(config: ShellConfig, method: str, url: str, redactor: Redactor, **kwargs: Any) -> Any:
    """One HTTP request; the decoded JSON body of a 2xx answer, else RestError (redacted)."""
    try:
        response = run_cooperatively(
            lambda: requests.request(method, url, timeout=config.request_timeout_s,
                                     verify=config.verify_tls, allow_redirects=False, **kwargs))
    except requests.exceptions.RequestException as exc:
        reason = _describe_exception(exc, config.request_timeout_s)
        raise RestError(redactor.redact(f"{method} {url}: {reason}")) from None
    body_text = response.text
    if not 200 <= response.status_code < 300:
        snippet = " ".join(body_text.split())[:_BODY_SNIPPET]
        raise RestError(redactor.redact(f"{method} {url}: HTTP {response.status_code}"
                                        + (f": {snippet}" if snippet else "")))
    try:
        return response.json()
    except ValueError:
        snippet = " ".join(body_text.split())[:_BODY_SNIPPET]
        raise RestError(redactor.redact(f"{method} {url}: answer is not JSON: {snippet!r}")) from None


def fetch_token(config: ShellConfig) -> tuple[str, float]:
    """``POST token_url`` with ``{"appId", "clientSecret"}``; return (access_token, expires_in_s).

    The API sends ``expires_in`` as a string of seconds ("7200"); it is converted here.
    Raises RestError on any failure, including an answer without a usable token (the API
    reports bad credentials as ``{"code": ..., "message": ...}``).
    """
    redactor = _redactor(config.client_secret)
    body = _request(config, "POST", config.token_url, redactor,
                    json={"appId": config.app_id, "clientSecret": config.client_secret})
    if not isinstance(body, dict):
        raise RestError(f"POST {config.token_url}: answer is not a JSON object")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        detail = ", ".join(f"{k}={body[k]!r}" for k in ("code", "message") if k in body)
        raise RestError(redactor.redact(f"POST {config.token_url}: no access_token in the answer"
                                        + (f" ({detail})" if detail else "")))
    raw = body.get("expires_in")
    try:
        expires_in_s = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RestError(f"POST {config.token_url}: expires_in is not a number of seconds: {raw!r}") from None
    if not expires_in_s > 0:
        raise RestError(f"POST {config.token_url}: expires_in must be > 0, got {raw!r}")
    return token, expires_in_s


def _session_start_limit(value: Any) -> core.SessionStartLimit | None:
    """``session_start_limit`` of ``/gateway/bot`` (``reset_after`` in ms), or None when absent or malformed."""
    if not isinstance(value, dict):
        return None
    try:
        fields = {name: value[key] for name, key in (("total", "total"), ("remaining", "remaining"),
                                                     ("reset_after_ms", "reset_after"),
                                                     ("max_concurrency", "max_concurrency"))}
    except KeyError:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in fields.values()):
        return None
    return core.SessionStartLimit(**fields)


def resolve_gateway(config: ShellConfig, token: str) -> tuple[str, core.SessionStartLimit | None]:
    """``GET {api_base}/gateway/bot`` with ``Authorization: QQBot <token>`` and ``X-Union-Appid``.

    Returns (WebSocket URL, session_start_limit or None). Raises RestError on any failure.
    The URL is not checked here: the core rejects a non-ws(s) URL itself.
    """
    url = config.api_base.rstrip("/") + "/gateway/bot"
    redactor = _redactor(config.client_secret, token)
    body = _request(config, "GET", url, redactor,
                    headers={"Authorization": f"QQBot {token}", "X-Union-Appid": config.app_id})
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
        detail = ""
        if isinstance(body, dict):
            detail = ", ".join(f"{k}={body[k]!r}" for k in ("code", "message") if k in body)
        raise RestError(redactor.redact(f"GET {url}: no url in the answer"
                                        + (f" ({detail})" if detail else "")))
    return body["url"], _session_start_limit(body.get("session_start_limit"))
