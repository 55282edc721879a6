"""The gateway close-code table (protocol.md, "Close codes"), held as data.

Each close code maps to a CloseRule saying what the client must do. The step function
looks rules up here; it never branches on code numbers itself (twilight-gateway keeps
``can_reconnect()`` as data the same way).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CloseAction(str, enum.Enum):
    """What to do after a close."""

    RESUME = "resume"
    """Keep the session and resume (after backoff unless ``immediate``)."""
    IDENTIFY = "identify"
    """Drop the session and identify again."""
    REFRESH_TOKEN = "refresh_token"
    """Force a new access token, then identify; repeated 4004 is fatal."""
    FATAL = "fatal"
    """Configuration error or ban: stop in FAILED and tell the host."""


class Delay(str, enum.Enum):
    """When to reconnect after a close."""

    NOW = "now"
    """The server meant it (4009, op 7): reconnect at once, not a failure."""
    BACKOFF = "backoff"
    """Count a failure; wait the capped exponential backoff with full jitter."""
    COOLDOWN = "cooldown"
    """Rate limited (4008): wait ``Config.ratelimit_cooldown_s``."""


@dataclass(frozen=True, slots=True)
class CloseRule:
    """The row of the close-code table for one code."""

    meaning: str
    action: CloseAction
    delay: Delay


_NETWORK = CloseRule("no close code: network loss", CloseAction.RESUME, Delay.BACKOFF)

CLOSE_CODES: dict[int, CloseRule] = {
    1000: CloseRule("normal close by the peer", CloseAction.RESUME, Delay.BACKOFF),
    1001: CloseRule("peer going away", CloseAction.RESUME, Delay.BACKOFF),
    1005: _NETWORK,
    1006: _NETWORK,
    4001: CloseRule("invalid opcode", CloseAction.FATAL, Delay.NOW),
    4002: CloseRule("invalid payload", CloseAction.FATAL, Delay.NOW),
    4004: CloseRule("authentication failed", CloseAction.REFRESH_TOKEN, Delay.BACKOFF),
    4006: CloseRule("session id invalid", CloseAction.IDENTIFY, Delay.BACKOFF),
    4007: CloseRule("invalid seq on resume", CloseAction.IDENTIFY, Delay.BACKOFF),
    4008: CloseRule("sending too fast", CloseAction.RESUME, Delay.COOLDOWN),
    4009: CloseRule("connection expired (session timed out)", CloseAction.RESUME, Delay.NOW),
    4010: CloseRule("invalid shard", CloseAction.FATAL, Delay.NOW),
    4011: CloseRule("sharding required (too many guilds)", CloseAction.FATAL, Delay.NOW),
    4012: CloseRule("invalid API version", CloseAction.FATAL, Delay.NOW),
    4013: CloseRule("invalid intent", CloseAction.FATAL, Delay.NOW),
    4014: CloseRule("intent not permitted", CloseAction.FATAL, Delay.NOW),
    4914: CloseRule("bot taken down (sandbox only)", CloseAction.FATAL, Delay.NOW),
    4915: CloseRule("bot banned", CloseAction.FATAL, Delay.NOW),
}
for _code in range(4900, 4914):
    CLOSE_CODES[_code] = CloseRule("internal server error", CloseAction.IDENTIFY, Delay.BACKOFF)

UNKNOWN_CODE = CloseRule("unknown close code", CloseAction.RESUME, Delay.BACKOFF)


def close_rule(code: int | None) -> CloseRule:
    """The rule for a close ``code`` (None: the transport ended without a close frame).

    Unknown codes are treated like a network loss: keep the session, resume after backoff.
    """
    if code is None:
        return _NETWORK
    return CLOSE_CODES.get(code, UNKNOWN_CODE)


CLIENT_RESUME_CLOSE = 4000
"""Close code the client uses when it leaves a connection but keeps its session.

Any non-1000 code: a 1000/1001 close from the client may end the session on
Discord-style gateways, so the core never uses them for a connection it means to resume.
"""
