"""Access tokens as the server sees them: who may get one, how long each lives, which are valid.

Facts from protocol.md ("REST facts"): ``POST /app/getAppAccessToken`` with ``{"appId",
"clientSecret"}`` answers ``{"access_token", "expires_in"}`` with ``expires_in`` the
*remaining* lifetime as a string of seconds; in the last 60 s before expiry a request gets a
new token and the old one stays valid for those 60 s. Every gateway frame and REST call that
carries a token is checked here, so an expired or revoked token fails the same way on both
links (4004 on the gateway, HTTP 401 on the OpenAPI).

Times are model seconds (the link's ``now``); no I/O, no clock of its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

INVALID_CREDENTIALS = {"code": 100016, "message": "invalid appid or secret"}
"""The token endpoint's answer to an unknown appId or a wrong secret (HTTP 401); the body QQ bots
report for wrong credentials (test_io_shell's peer and protocol.md's peers use it)."""


@dataclass
class _Token:
    app_id: str
    expires_at: float


@dataclass
class TokenBook:
    """Tokens per appId on model time.

    ``credentials``: accepted (appId, clientSecret) pairs; empty accepts any pair of
    non-empty strings. ``lifetime_s`` and ``overlap_s`` as in the WorldSpec. ``min_lifetime_s``
    keeps ``expires_in`` from reaching "0" (a client would refresh in a tight loop).
    """

    lifetime_s: float
    overlap_s: float
    credentials: tuple[tuple[str, str], ...] = ()
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    current: dict[str, str] = field(default_factory=dict)
    """appId → its newest token."""
    valid: dict[str, _Token] = field(default_factory=dict)
    """Every token not yet expired or revoked."""
    issued: int = 0
    rejected: int = 0

    def accepts(self, app_id: object, secret: object) -> bool:
        """Whether (``app_id``, ``secret``) may have a token."""
        if not isinstance(app_id, str) or not app_id or not isinstance(secret, str) or not secret:
            return False
        return not self.credentials or (app_id, secret) in self.credentials

    def issue(self, app_id: str, now: float) -> tuple[str, int]:
        """(access_token, expires_in seconds) for ``app_id`` at ``now``: the current token, or a
        new one in the current token's last ``overlap_s`` (the old one stays valid to its end)."""
        self._expire(now)
        value = self.current.get(app_id, "")
        token = self.valid.get(value)
        if token is None or token.expires_at - now <= self.overlap_s:
            self.issued += 1
            value = f"chaos-{self.issued}-{self.rng.getrandbits(64):016x}"
            token = _Token(app_id, now + self.lifetime_s)
            self.current[app_id] = value
            self.valid[value] = token
        return value, max(1, int(token.expires_at - now + 1e-3))

    def check(self, value: object, now: float) -> bool:
        """True while ``value`` is a token this book issued, not expired and not revoked."""
        token = self.valid.get(value) if isinstance(value, str) else None
        return token is not None and now < token.expires_at

    def check_header(self, header: object, now: float) -> bool:
        """``QQBot <token>`` (the Identify/Resume ``token`` field, the Authorization header)."""
        if not isinstance(header, str):
            return False
        scheme, _, value = header.partition(" ")
        return scheme == "QQBot" and self.check(value.strip(), now)

    def revoke_all(self) -> int:
        """Revoke every token (the secret was reset); returns how many were live."""
        count = len(self.valid)
        self.valid.clear()
        self.current.clear()
        return count

    def _expire(self, now: float) -> None:
        if len(self.valid) > 64:
            self.valid = {v: t for v, t in self.valid.items() if t.expires_at > now}
