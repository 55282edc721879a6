"""Inputs to the core: everything the outside world tells the reducer.

Every input is a frozen dataclass carrying ``at``: seconds on the caller's monotonic
clock (never wall-clock time). Socket inputs name the connection epoch ``conn`` they
belong to; the core ignores (and counts) inputs that name a connection it has already
left, so a late close or a stale reader greenlet can never disturb a newer socket
(design.md, "Connection epochs").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class SessionStartLimit:
    """``session_start_limit`` of ``GET /gateway/bot`` (protocol.md, "Timing facts").

    ``reset_after_ms`` is in milliseconds, as the server sends it. ``max_concurrency``
    identifies are allowed per 5 seconds; ``remaining`` per 24 hours.
    """

    total: int
    remaining: int
    reset_after_ms: int
    max_concurrency: int


@dataclass(frozen=True, slots=True)
class Start:
    """The host asks the core to connect. Accepted in IDLE and STOPPED."""

    at: float


@dataclass(frozen=True, slots=True)
class Stop:
    """The host asks the core to close the gateway connection and stop for good."""

    at: float


@dataclass(frozen=True, slots=True)
class TokenIssued:
    """``getAppAccessToken`` answered: ``expires_in_s`` seconds of validity (the API sends a string; the shell converts it)."""

    at: float
    token: str
    expires_in_s: float


@dataclass(frozen=True, slots=True)
class TokenFailed:
    """The access-token request failed (network, HTTP status, bad body); ``error`` is a human-readable reason.

    ``retryable`` False: asking again cannot help (the endpoint refused the app id or secret):
    the core stops in FAILED with a non-retryable Fatal carrying ``error``.
    """

    at: float
    error: str
    retryable: bool = field(default=True, metadata={"journal": "omit_default"})


@dataclass(frozen=True, slots=True)
class GatewayResolved:
    """``GET /gateway/bot`` (or ``/gateway``) answered with the WebSocket ``url``.

    ``session_start_limit`` is None when the endpoint did not report one (plain ``/gateway``).
    """

    at: float
    url: str
    session_start_limit: SessionStartLimit | None = None


@dataclass(frozen=True, slots=True)
class GatewayFailed:
    """The gateway-URL request failed (DNS, refused, HTTP error); ``error`` is a human-readable reason.

    ``retryable`` False: the answer can never be used (a cleartext ``ws://`` URL the shell
    refuses to send the token to): the core stops in FAILED with a non-retryable Fatal.
    """

    at: float
    error: str
    retryable: bool = field(default=True, metadata={"journal": "omit_default"})


@dataclass(frozen=True, slots=True)
class SocketOpened:
    """The WebSocket upgrade of connection ``conn`` completed."""

    at: float
    conn: int


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """One WebSocket message arrived on ``conn``.

    ``text`` is the raw message: a ``str`` for a text frame, ``bytes`` for a binary one.
    Decoding happens inside the core so that a replay reproduces decode errors too.
    """

    at: float
    conn: int
    text: str | bytes


@dataclass(frozen=True, slots=True)
class SocketClosed:
    """Connection ``conn`` ended.

    ``code`` is the close code from the peer's close frame, or None when the transport
    ended without one (EOF, reset, 1005/1006). ``reason`` is the close reason text.
    """

    at: float
    conn: int
    code: int | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """Opening connection ``conn`` failed before the upgrade (DNS, refused, TLS, handshake status)."""

    at: float
    conn: int
    error: str


@dataclass(frozen=True, slots=True)
class SendFailed:
    """Sending a frame on ``conn`` failed; the core treats the connection as lost."""

    at: float
    conn: int
    error: str


@dataclass(frozen=True, slots=True)
class DispatchSettled:
    """The host's dispatch handler returned for the dispatch with sequence ``seq``.

    ``session_epoch`` is the dispatch's own (``Dispatch.session_epoch``): a settle for a
    dispatch of an earlier session is stale and never advances the current session's
    settled seq. Resume reports the last settled ``seq`` so that a dispatch whose handler
    never finished is replayed by the server rather than lost (design.md, "Delivery").
    """

    at: float
    seq: int
    session_epoch: int


@dataclass(frozen=True, slots=True)
class Tick:
    """The timer armed from ``next_deadline`` fired. Early or late ticks are harmless."""

    at: float


Input = Union[
    Start,
    Stop,
    TokenIssued,
    TokenFailed,
    GatewayResolved,
    GatewayFailed,
    SocketOpened,
    FrameReceived,
    SocketClosed,
    ConnectFailed,
    SendFailed,
    DispatchSettled,
    Tick,
]

SOCKET_INPUTS = (SocketOpened, FrameReceived, SocketClosed, ConnectFailed, SendFailed)
"""Input types that name a connection epoch ``conn`` and are filtered by it."""
