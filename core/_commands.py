"""Commands: everything the core asks its caller to do.

The core never performs I/O; it returns these frozen dataclasses from ``step`` and the
shell (or the simulator) executes them in order. Obligations are handed back, never done
behind the caller's back (wsproto's model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ._phases import Phase


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One op 0 Dispatch frame, decoded.

    ``seq`` is the frame's ``s``, ``event_type`` its ``t`` (e.g. ``C2C_MESSAGE_CREATE``),
    ``event_id`` its top-level ``id`` (may be None), ``data`` its ``d`` (any JSON value),
    ``dedupe_key`` the key used for duplicate suppression (``d.id`` when present).
    """

    seq: int
    event_type: str
    event_id: str | None
    data: Any
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class FetchToken:
    """Request an access token (``getAppAccessToken``). ``force`` is True after a 4004."""

    force: bool = False


@dataclass(frozen=True, slots=True)
class ResolveGateway:
    """Request the WebSocket URL (``GET /gateway/bot``); answer with GatewayResolved or GatewayFailed."""


@dataclass(frozen=True, slots=True)
class OpenSocket:
    """Open WebSocket connection number ``conn`` to ``url``; answer with SocketOpened or ConnectFailed."""

    conn: int
    url: str


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send ``text`` as one text message on connection ``conn``."""

    conn: int
    text: str


@dataclass(frozen=True, slots=True)
class CloseSocket:
    """Close connection ``conn`` with ``code`` and ``reason``; no SocketClosed for it is needed any more."""

    conn: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand ``dispatch`` to the host's handler; answer with DispatchSettled(seq) when it returns."""

    dispatch: Dispatch


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The connection phase changed; ``detail`` says why (human-readable)."""

    phase: Phase
    detail: str


@dataclass(frozen=True, slots=True)
class Fatal:
    """The host must be told something it cannot ignore.

    ``retryable`` True: a long outage (``Config.fatal_after_failures`` failures in a row);
    the core keeps retrying and says so once per outage. ``retryable`` False: the core
    stopped in FAILED; ``close_code`` names the fatal close code (protocol.md), or is None
    when the caller's ``Config.max_failures`` limit was reached.
    """

    reason: str
    retryable: bool
    close_code: int | None = None


@dataclass(frozen=True, slots=True)
class Log:
    """A structured log record: ``level`` is debug|info|warning|error, ``event`` a snake_case name."""

    level: str
    event: str
    fields: dict[str, Any] = field(default_factory=dict)


Command = Union[
    FetchToken,
    ResolveGateway,
    OpenSocket,
    SendFrame,
    CloseSocket,
    Deliver,
    StatusChanged,
    Fatal,
    Log,
]
