"""One access-token fetcher per bot per process, shared by the gateway connection and the sender.

QQ issues a new access token only in the last 60 s of the current one's life, and the old one
stays valid to its end (protocol.md, "REST facts": bot-docs ``dev-prepare/interface-framework/
api-use``). Two fetchers of one app's token (the gateway connection's and a bot's own, for
sending) race in that minute and double the token traffic; so every ``GatewayClient`` and every
``MessageSender`` of a process asks one ``TokenBroker`` per runtime hub, which keeps one entry
per (token URL, app id, secret):

- a token with more than ``REFRESH_WINDOW_S`` seconds left is handed out as it is (asking QQ
  again would return the same one);
- inside the window, or when the caller says the token was refused (``force``: a 4004 close,
  an HTTP 401), it is fetched again, once: callers that ask while a fetch is running wait for
  that fetch and share its answer (or its error);
- for the sender only (``token``), a token fetched less than ``REFETCH_FLOOR_S`` seconds ago is
  handed out without asking again (a server that answers the same token inside the window must
  not be asked once per message). The connection never gets such a token: its core asks when
  its own refresh rule says so, and gets a fresh answer, exactly as without a broker.

``get`` runs on a greenlet of the hub (the driver's REST greenlets); ``token`` is for host
threads: a valid cached token is read without crossing threads, otherwise the fetch runs on the
hub and the calling thread waits. The fetch itself is ``_rest.fetch_token`` (requests, made
cooperative by ``_cooperative``). Errors are ``_rest.RestError`` / ``CredentialsRejected``,
scrubbed of the secret and of every token.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]

from qqgate.core.journal import Redactor

from . import _rest
from ._config import ShellConfig
from ._hub import HubThread
from ._sync import allocate_lock

REFRESH_WINDOW_S = 60.0
"""A token with less than this left is fetched again: QQ issues a new one only then (protocol.md)."""
REFETCH_FLOOR_S = 5.0
"""A token fetched less than this long ago is never fetched again unless forced (seconds)."""


@dataclass(frozen=True, slots=True)
class _Issued:
    token: str
    expires_at: float
    """``time.monotonic()`` seconds when the token expires (its ``expires_in`` after the answer)."""
    fetched_at: float


class _Entry:
    __slots__ = ("issued", "inflight", "fetches")

    def __init__(self) -> None:
        self.issued: _Issued | None = None
        self.inflight: Any = None  # a gevent AsyncResult while a fetch runs
        self.fetches = 0


def _key(config: ShellConfig) -> tuple[str, str, str]:
    # The secret is part of the key (a client with a wrong secret must not get a good token),
    # as a digest so that the broker never holds it in a second place.
    digest = hashlib.sha256(config.client_secret.encode("utf-8")).hexdigest()
    return config.token_url, config.app_id, digest


class TokenBroker:
    """The access tokens of every bot on one hub (see the module docstring). Thread-safe where said."""

    _brokers: dict[int, "TokenBroker"] = {}
    _brokers_lock = allocate_lock()

    def __init__(self, hub: HubThread) -> None:
        self.hub = hub
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._lock = allocate_lock()

    @classmethod
    def of(cls, hub: HubThread) -> "TokenBroker":
        """The broker of ``hub`` (made on first use). Thread-safe."""
        with cls._brokers_lock:
            broker = cls._brokers.get(id(hub))
            if broker is None or broker.hub is not hub:
                broker = cls._brokers[id(hub)] = cls(hub)
            return broker

    def _entry(self, config: ShellConfig) -> _Entry:
        key = _key(config)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            return entry

    def fetches(self, config: ShellConfig) -> int:
        """How many times this bot's token was fetched from the token endpoint so far."""
        return self._entry(config).fetches

    def _cached(self, entry: _Entry, now: float, floor: bool) -> tuple[str, float] | None:
        issued = entry.issued
        if issued is None:
            return None
        left = issued.expires_at - now
        if left > REFRESH_WINDOW_S or (floor and left >= 1.0 and now - issued.fetched_at < REFETCH_FLOOR_S):
            return issued.token, left
        return None

    def get(self, config: ShellConfig, redactor: Redactor | None = None, *,
            force: bool = False, floor: bool = False) -> tuple[str, float]:
        """(access_token, seconds it has left) for ``config``'s bot. Hub greenlets only.
        ``floor``: the sender's rule (``REFETCH_FLOOR_S``).

        Raises ``_rest.CredentialsRejected`` or ``_rest.RestError`` (the fetch's own error, for
        every caller that waited on it).
        """
        entry = self._entry(config)
        inflight = entry.inflight
        if inflight is not None:
            token, expires_at = inflight.get()
            return token, expires_at - time.monotonic()
        if not force:
            cached = self._cached(entry, time.monotonic(), floor)
            if cached is not None:
                return cached
        result = gevent.event.AsyncResult()
        entry.inflight = result
        try:
            token, expires_in_s = _rest.fetch_token(config, redactor)
        except gevent.GreenletExit:
            result.set_exception(_rest.RestError("the token request was cancelled"))
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter, then raised here
            result.set_exception(exc)
            raise
        else:
            now = time.monotonic()
            entry.issued = _Issued(token, now + expires_in_s, now)
            entry.fetches += 1
            result.set((token, entry.issued.expires_at))
            return token, expires_in_s
        finally:
            entry.inflight = None

    def token(self, config: ShellConfig, redactor: Redactor | None = None, *, force: bool = False,
              timeout_s: float | None = None) -> str:
        """The access token for ``config``'s bot, from any thread but the hub's (which must use
        ``get``). Blocks the calling thread only when a fetch is needed, for at most
        ``timeout_s`` seconds (default: the config's ``request_timeout_s`` + 5). Raises
        RestError / CredentialsRejected, or TimeoutError."""
        if not force:
            cached = self._cached(self._entry(config), time.monotonic(), True)
            if cached is not None:
                return cached[0]
        wait = timeout_s if timeout_s is not None else config.request_timeout_s + 5.0
        token, _left = self.hub.run(lambda: self.get(config, redactor, force=force, floor=True), timeout_s=wait)
        return token


__all__ = ["REFETCH_FLOOR_S", "REFRESH_WINDOW_S", "TokenBroker"]
