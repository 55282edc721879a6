"""The two REST calls the gateway needs: the access token and the WebSocket URL.

Both go through ``requests`` and are made cooperative by gevent: when ``socket`` is
monkey-patched (``qqgate run`` patches first thing) the call runs on the calling greenlet;
otherwise it runs in gevent's threadpool, so an embedding host that did not patch never
has its hub blocked by a DNS lookup or a slow TLS handshake.

Errors are ``RestError`` with a short, readable message that never contains the client
secret or an access token (protocol.md, "REST facts"; design.md, "The journal"): every text
taken from an answer is scrubbed by the client's one ``Redactor`` *before* it is shortened
(a secret cut at the snippet's end would no longer be recognised). Credentials the token
endpoint refuses are ``CredentialsRejected``: retrying cannot help, the client stops.
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


class CredentialsRejected(RestError):
    """The token endpoint refused the app id or client secret (HTTP 401/403, or an answer with a
    ``code`` of ``CREDENTIAL_CODES``); the message carries the API's own words."""


CREDENTIAL_CODES = frozenset({100016})
"""``getAppAccessToken`` answer codes that mean the app id or secret is wrong: the real API
answers ``{"code": 100016, "message": "invalid appid or secret"}`` (HTTP 200 or 401)."""


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


class _Scrub:
    """The client's redactor plus any extra secrets of this call (a token not yet stepped)."""

    def __init__(self, redactor: Redactor | None, config: ShellConfig, *extra: str) -> None:
        self._redactor = redactor if redactor is not None else Redactor(config.secrets)
        self._extra = [secret for secret in extra if secret]
        if config.client_secret not in self._extra:
            self._extra.append(config.client_secret)

    def add(self, secret: str) -> None:
        if secret and secret not in self._extra:
            self._extra.append(secret)

    def __call__(self, text: str, limit: int | None = None) -> str:
        """``text`` scrubbed, then cut to ``limit`` characters (whitespace runs folded)."""
        text = self._redactor.text(text)
        for secret in self._extra:
            text = text.replace(secret, "«redacted»")
        if limit is not None:
            text = " ".join(text.split())[:limit]
        return text


def _request(config: ShellConfig, method: str, url: str, scrub: _Scrub, **kwargs: Any) -> tuple[int, Any, str]:
    """One HTTP request: (status, decoded JSON or None, scrubbed body snippet).

    A non-JSON 2xx answer and transport failures raise RestError (scrubbed).
    """
    try:
        response = run_cooperatively(
            lambda: requests.request(method, url, timeout=config.request_timeout_s,
                                     verify=config.verify_tls, allow_redirects=False, **kwargs))
    except requests.exceptions.RequestException as exc:
        reason = _describe_exception(exc, config.request_timeout_s)
        raise RestError(scrub(f"{method} {url}: {reason}", 400)) from None
    snippet = scrub(response.text, _BODY_SNIPPET)
    try:
        body = response.json()
    except ValueError:
        body = None
    status = int(response.status_code)
    if 200 <= status < 300 and body is None:
        raise RestError(scrub(f"{method} {url}: answer is not JSON: {snippet!r}"))
    return status, body, snippet


def _api_words(body: Any, scrub: _Scrub) -> str:
    """``code=..., message=...`` of an error answer, scrubbed, or ""."""
    if not isinstance(body, dict):
        return ""
    return scrub(", ".join(f"{k}={body[k]!r}" for k in ("code", "message") if k in body), _BODY_SNIPPET)


def fetch_token(config: ShellConfig, redactor: Redactor | None = None) -> tuple[str, float]:
    """``POST token_url`` with ``{"appId", "clientSecret"}``; return (access_token, expires_in_s).

    The API sends ``expires_in`` as a string of seconds ("7200"); it is converted here.
    ``redactor`` is the client's (None: one for ``config.secrets``). Raises
    CredentialsRejected when the endpoint refuses the app id or secret (HTTP 401/403, or
    ``code`` 100016), RestError on any other failure, including an answer without a usable
    token. No message carries the secret, the token, or any part of either.
    """
    scrub = _Scrub(redactor, config)
    url = config.token_url
    status, body, snippet = _request(config, "POST", url, scrub,
                                     json={"appId": config.app_id, "clientSecret": config.client_secret})
    token = body.get("access_token") if isinstance(body, dict) else None
    if isinstance(token, str):
        scrub.add(token)
    code = body.get("code") if isinstance(body, dict) else None
    words = _api_words(body, scrub) or snippet
    if status in (401, 403) or (code in CREDENTIAL_CODES and not (isinstance(token, str) and token)):
        raise CredentialsRejected(scrub(f"POST {url}: credentials rejected: HTTP {status}"
                                        + (f": {words}" if words else "")))
    if not 200 <= status < 300:
        raise RestError(scrub(f"POST {url}: HTTP {status}" + (f": {words}" if words else "")))
    if not isinstance(body, dict):
        raise RestError(f"POST {url}: answer is not a JSON object")
    if not isinstance(token, str) or not token:
        raise RestError(scrub(f"POST {url}: no access_token in the answer" + (f" ({words})" if words else "")))
    raw = body.get("expires_in")
    try:
        expires_in_s = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise RestError(scrub(f"POST {url}: expires_in is not a number of seconds: {str(raw)!r}",
                              _BODY_SNIPPET)) from None
    if not expires_in_s > 0:
        raise RestError(scrub(f"POST {url}: expires_in must be > 0, got {str(raw)!r}", _BODY_SNIPPET))
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


def resolve_gateway(config: ShellConfig, token: str,
                    redactor: Redactor | None = None) -> tuple[str, core.SessionStartLimit | None]:
    """``GET {api_base}/gateway/bot`` with ``Authorization: QQBot <token>`` and ``X-Union-Appid``.

    Returns (WebSocket URL, session_start_limit or None). Raises RestError on any failure
    (scrubbed of the secret and the token). The URL's scheme is checked by the caller
    (cleartext) and by the core (ws/wss only).
    """
    url = config.api_base.rstrip("/") + "/gateway/bot"
    scrub = _Scrub(redactor, config, token)
    status, body, snippet = _request(config, "GET", url, scrub,
                                     headers={"Authorization": f"QQBot {token}", "X-Union-Appid": config.app_id})
    words = _api_words(body, scrub) or snippet
    if not 200 <= status < 300:
        raise RestError(scrub(f"GET {url}: HTTP {status}" + (f": {words}" if words else "")))
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
        raise RestError(scrub(f"GET {url}: no url in the answer" + (f" ({words})" if words else "")))
    return body["url"], _session_start_limit(body.get("session_start_limit"))
