"""Commands: everything the core asks its caller to do.

The core never performs I/O; it returns these frozen dataclasses from ``step`` and the
shell (or the simulator) executes them in order. Obligations are handed back, never done
behind the caller's back (wsproto's model).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Union

from ._phases import Phase


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One op 0 Dispatch frame, decoded.

    ``seq`` is the frame's ``s``, ``event_type`` its ``t`` (e.g. ``C2C_MESSAGE_CREATE``),
    ``event_id`` its top-level ``id`` (may be None), ``data`` its ``d`` (any JSON value),
    ``dedupe_key`` the key used for duplicate suppression (``d.id`` when present).
    ``session_epoch`` numbers the session it arrived in (``Session.epoch``: 1, 2, ...; 0 when
    it arrived with no session); the host hands it back in ``DispatchSettled``.
    """

    seq: int
    event_type: str
    event_id: str | None
    data: Any
    dedupe_key: str
    session_epoch: int


@dataclass(frozen=True, slots=True)
class FetchToken:
    """Request an access token (``getAppAccessToken``). ``force`` is True after a 4004."""

    force: bool = False


@dataclass(frozen=True, slots=True)
class ResolveGateway:
    """Request the WebSocket URL (``GET /gateway/bot`` with ``Authorization: QQBot <token>``).

    ``token`` is the access token to send (the core asks only while it holds a usable one).
    Answer with GatewayResolved or GatewayFailed.
    """

    token: str


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
    """Hand ``dispatch`` to the host's handler; answer with
    ``DispatchSettled(at, dispatch.seq, dispatch.session_epoch)`` when it returns."""

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


# -- Hot-path constructors ------------------------------------------------------------------
# A frozen dataclass's generated __init__ sets each field through ``object.__setattr__`` by
# name; calling the slot descriptors' setters directly builds the identical object in half
# the time. The core builds one Deliver per dispatch and one SendFrame per heartbeat
# (benchmarks/, figure 1). The field lists are checked here, at import, so a field added to
# either class without updating these fails loudly instead of leaving a slot unset.
_object_new = object.__new__
_DISPATCH_FIELDS = ("seq", "event_type", "event_id", "data", "dedupe_key", "session_epoch")
if (tuple(f.name for f in fields(Dispatch)) != _DISPATCH_FIELDS
        or tuple(f.name for f in fields(Deliver)) != ("dispatch",)
        or tuple(f.name for f in fields(SendFrame)) != ("conn", "text")):  # pragma: no cover
    raise TypeError("core/_commands.py: the hot-path constructors no longer match the dataclass fields")
(_set_seq, _set_event_type, _set_event_id, _set_data, _set_dedupe_key, _set_session_epoch) = (
    Dispatch.__dict__[name].__set__ for name in _DISPATCH_FIELDS)
_set_dispatch = Deliver.__dict__["dispatch"].__set__
_set_conn, _set_text = (SendFrame.__dict__[name].__set__ for name in ("conn", "text"))


def deliver(seq: int, event_type: str, event_id: str | None, data: Any, dedupe_key: str,
            session_epoch: int) -> Deliver:
    """``Deliver(Dispatch(seq, event_type, event_id, data, dedupe_key, session_epoch))``, built fast."""
    dispatch = _object_new(Dispatch)
    _set_seq(dispatch, seq)
    _set_event_type(dispatch, event_type)
    _set_event_id(dispatch, event_id)
    _set_data(dispatch, data)
    _set_dedupe_key(dispatch, dedupe_key)
    _set_session_epoch(dispatch, session_epoch)
    command: Deliver = _object_new(Deliver)
    _set_dispatch(command, dispatch)
    return command


def send_frame(conn: int, text: str) -> SendFrame:
    """``SendFrame(conn, text)``, built fast."""
    command: SendFrame = _object_new(SendFrame)
    _set_conn(command, conn)
    _set_text(command, text)
    return command
