"""The world's trace: what happened in a run, as typed events.

Every event is a frozen slots dataclass whose first field ``at`` is model seconds (virtual
seconds in the simulator; wall time × time scale in the chaos gateway), like the core's
inputs. Consumers ``match`` on the classes. ``kind`` names each event class and
``to_fields()`` gives its other fields as a JSON-ready dict: that is how the chaos gateway
shows its events (``/_chaos/state``, ``qqgate gateway``) and how its ``events_of`` filters them.

Who notes what:

- the server model (both links): ``ServerClosed``, ``ServerClosedUnseen``, ``ServerConnEnded``,
  ``HeartbeatTimedOut``, ``SessionConflict``, ``ResumeRejected``, ``FrameRefused``,
  ``IdentifyRefused``, ``SessionDropped``, ``SessionEnded``, ``SessionEstablished``,
  ``SessionCycled``, ``FaultApplied``, ``FlowBlackHoled``;
- the frames a client sent, decoded once by the link (``_client_frame``): ``HeartbeatSent``
  (simulator only), ``IdentifySent``, ``ResumeSent``;
- the simulator, for the commands the client gave it: ``RequestSent``, ``SocketOpening``,
  ``ConnectStalled``, ``ClientClosed``, ``DispatchDelivered``, ``StatusNoted``, ``FatalNoted``,
  ``LogNoted``, and ``SpinStopped`` when it stops a busy spin;
- the chaos gateway's own sockets: ``GatewayListening``, ``GatewayStopping``, ``GatewayError``,
  ``WsAccepted``, ``WsEnded``, ``ClientClosedUnseen``, ``ConnectReset``, ``ConnectRefused``,
  ``ConnectStalled`` (with no ``conn``: no connection exists before the upgrade).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Union, assert_never

from qqgate.core import Phase

from ._faults import (
    Ban, DisallowIntents, DnsOutage, ExpireSessions, Fault, HalfOpen, InvalidateSessions, NoHello, NoReady,
    RateLimitIdentify, RefuseConnects, RejectResumes, RejectTokens, ServerClose, ServerReconnect,
    StallConnects, WrongCertificate,
)


@dataclass(frozen=True, slots=True)
class _Event:
    at: float
    kind: ClassVar[str] = ""

    def to_fields(self) -> dict[str, Any]:
        """Every field but ``at``, JSON-ready, in declaration order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "at"}


# -- the server model ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServerClosed(_Event):
    """The server closed ``conn`` with ``code`` (None: dropped, no close frame) and ``reason``."""

    conn: int
    code: int | None
    reason: str
    kind: ClassVar[str] = "server_closed"


@dataclass(frozen=True, slots=True)
class ServerClosedUnseen(_Event):
    """The server closed a black-holed ``conn``: the client never learns of it."""

    conn: int
    code: int | None
    kind: ClassVar[str] = "server_closed_unseen"


@dataclass(frozen=True, slots=True)
class ServerConnEnded(_Event):
    """The server forgot ``conn`` (it closed it, or the client did)."""

    conn: int
    kind: ClassVar[str] = "server_conn_end"


@dataclass(frozen=True, slots=True)
class HeartbeatTimedOut(_Event):
    """No heartbeat on ``conn`` for the world's heartbeat timeout: the server drops it."""

    conn: int
    kind: ClassVar[str] = "server_heartbeat_timeout"


@dataclass(frozen=True, slots=True)
class SessionConflict(_Event):
    """An Identify/Resume on ``conn`` came too soon after the last drop: refused (incident 6)."""

    conn: int
    kind: ClassVar[str] = "server_session_conflict"


@dataclass(frozen=True, slots=True)
class ResumeRejected(_Event):
    """A Resume on ``conn`` met a ``RejectResumes`` fault: closed at once."""

    conn: int
    kind: ClassVar[str] = "server_rejected_resume"


@dataclass(frozen=True, slots=True)
class FrameRefused(_Event):
    """The server refused a frame on ``conn`` and closes it with ``code``; ``why`` says what was
    wrong (a binary frame, a bad token, a second Identify, bad intents or shard, ...)."""

    conn: int
    code: int | None
    why: str
    kind: ClassVar[str] = "server_refused"


@dataclass(frozen=True, slots=True)
class IdentifyRefused(_Event):
    """An Identify on ``conn`` was refused with op 9, then close 4903; ``why``: disallowed intents
    or the session start budget."""

    conn: int
    why: str
    kind: ClassVar[str] = "server_refused_identify"


@dataclass(frozen=True, slots=True)
class SessionDropped(_Event):
    """The client identified on ``conn`` while ``session_id`` could still be resumed: it gave
    that session up, and every message of it not yet delivered is lost."""

    session_id: str
    conn: int
    kind: ClassVar[str] = "session_dropped_by_client"


@dataclass(frozen=True, slots=True)
class SessionEnded(_Event):
    """The server ended ``session_id`` (``why``: a session-ending close, expiry, a restart): it
    can no longer be resumed."""

    session_id: str
    why: str
    kind: ClassVar[str] = "server_session_ended"


@dataclass(frozen=True, slots=True)
class SessionEstablished(_Event):
    """The server sent READY or RESUMED on ``conn``."""

    conn: int
    kind: ClassVar[str] = "server_established"


@dataclass(frozen=True, slots=True)
class SessionCycled(_Event):
    """The ~30-minute cycle (or a ``ServerReconnect``): op 7 on ``conn``, 4009 to follow."""

    conn: int
    kind: ClassVar[str] = "server_session_cycle"


@dataclass(frozen=True, slots=True)
class FaultApplied(_Event):
    """The server model applied ``fault`` (a timed fault: its window started).

    ``conns``: the connections a ``HalfOpen`` black-holed (empty for other faults).
    """

    fault: Fault
    conns: tuple[int, ...] = ()
    kind: ClassVar[str] = "fault"

    def to_fields(self) -> dict[str, Any]:
        """``{"fault": name}`` plus ``code`` (closes, bans), ``duration_s`` (timed faults) or
        ``conns`` (HalfOpen)."""
        name = type(self.fault).__name__
        match self.fault:
            case DnsOutage(duration_s=d) | RefuseConnects(duration_s=d) | StallConnects(duration_s=d) \
                    | RejectResumes(duration_s=d) | RejectTokens(duration_s=d) | RateLimitIdentify(duration_s=d) \
                    | DisallowIntents(duration_s=d) | NoHello(duration_s=d) | NoReady(duration_s=d) \
                    | WrongCertificate(duration_s=d):
                return {"fault": name, "duration_s": d}
            case ServerClose(code=code) | Ban(code=code):
                return {"fault": name, "code": code}
            case HalfOpen():
                return {"fault": name, "conns": list(self.conns)}
            case ServerReconnect() | InvalidateSessions() | ExpireSessions():
                return {"fault": name}
            case _:
                assert_never(self.fault)


@dataclass(frozen=True, slots=True)
class FlowBlackHoled(_Event):
    """A ``HalfOpen`` cut ``conn``: frames vanish both ways, no close is seen."""

    conn: int
    kind: ClassVar[str] = "half_open"


# -- frames the client sent (decoded once) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class HeartbeatSent(_Event):
    """The client sent op 1 on ``conn``."""

    conn: int
    kind: ClassVar[str] = "heartbeat"


@dataclass(frozen=True, slots=True)
class IdentifySent(_Event):
    """The client sent op 2 on ``conn``; ``intents`` and ``shard`` as the frame had them (any JSON)."""

    conn: int
    intents: Any = None
    shard: Any = None
    kind: ClassVar[str] = "identify"


@dataclass(frozen=True, slots=True)
class ResumeSent(_Event):
    """The client sent op 6 on ``conn``; ``session_id`` and ``seq`` as the frame had them (any JSON)."""

    conn: int
    session_id: Any = None
    seq: Any = None
    kind: ClassVar[str] = "resume"


# -- the client's other commands, as the simulator carried them out -----------------------------
@dataclass(frozen=True, slots=True)
class RequestSent(_Event):
    """A REST request: ``"token"`` (FetchToken) or ``"gateway"`` (ResolveGateway)."""

    what: Literal["token", "gateway"]
    kind: ClassVar[str] = "request"


@dataclass(frozen=True, slots=True)
class SocketOpening(_Event):
    """The client asked for WebSocket connection ``conn``."""

    conn: int
    kind: ClassVar[str] = "open"


@dataclass(frozen=True, slots=True)
class ConnectStalled(_Event):
    """A WebSocket connect hangs (``StallConnects``); ``conn`` is None in the chaos gateway."""

    conn: int | None = None
    kind: ClassVar[str] = "connect_stalled"

    def to_fields(self) -> dict[str, Any]:
        return {} if self.conn is None else {"conn": self.conn}


@dataclass(frozen=True, slots=True)
class ClientClosed(_Event):
    """The client closed ``conn`` with ``code`` and ``reason``."""

    conn: int
    code: int
    reason: str
    kind: ClassVar[str] = "client_close"


@dataclass(frozen=True, slots=True)
class DispatchDelivered(_Event):
    """The client handed dispatch ``seq`` (type ``event_type``, the frame's ``t``) to its host."""

    seq: int
    event_type: str
    kind: ClassVar[str] = "deliver"


@dataclass(frozen=True, slots=True)
class StatusNoted(_Event):
    """The client's phase changed to ``phase``; ``detail`` says why."""

    phase: Phase
    detail: str
    kind: ClassVar[str] = "status"


@dataclass(frozen=True, slots=True)
class FatalNoted(_Event):
    """The client told its host it cannot go on (``retryable``: it still keeps trying)."""

    reason: str
    retryable: bool
    close_code: int | None
    kind: ClassVar[str] = "fatal"


@dataclass(frozen=True, slots=True)
class LogNoted(_Event):
    """One log record of the client: ``level``, ``event`` and its ``fields``."""

    level: str
    event: str
    fields: Mapping[str, Any]
    kind: ClassVar[str] = "log"

    def to_fields(self) -> dict[str, Any]:
        return {"level": self.level, "event": self.event, **self.fields}


@dataclass(frozen=True, slots=True)
class SpinStopped(_Event):
    """The client made ``steps`` steps with the clock standing still: the run was stopped."""

    steps: int
    kind: ClassVar[str] = "spin"


# -- the chaos gateway's sockets ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GatewayListening(_Event):
    """The chaos gateway listens on 127.0.0.1:``port``, model time running ``time_scale`` × wall time."""

    port: int
    time_scale: float
    kind: ClassVar[str] = "gateway_listening"


@dataclass(frozen=True, slots=True)
class GatewayStopping(_Event):
    """The chaos gateway is stopping."""

    kind: ClassVar[str] = "gateway_stopping"


@dataclass(frozen=True, slots=True)
class GatewayError(_Event):
    """A timer of the model raised ``error`` (repr); the gateway went on."""

    error: str
    kind: ClassVar[str] = "gateway_error"


@dataclass(frozen=True, slots=True)
class WsAccepted(_Event):
    """A WebSocket upgrade was accepted as connection ``conn`` (Hello goes out)."""

    conn: int
    kind: ClassVar[str] = "ws_accepted"


@dataclass(frozen=True, slots=True)
class WsEnded(_Event):
    """Connection ``conn`` ended; ``code`` is the client's close code if it sent one."""

    conn: int
    code: int | None
    kind: ClassVar[str] = "ws_ended"


@dataclass(frozen=True, slots=True)
class ClientClosedUnseen(_Event):
    """A black-holed ``conn`` ended on the client's side; the model is not told."""

    conn: int
    code: int | None
    kind: ClassVar[str] = "client_closed_unseen"


@dataclass(frozen=True, slots=True)
class ConnectReset(_Event):
    """A TCP connection was reset at once; ``reason`` names the fault (``"DnsOutage"``)."""

    reason: str
    kind: ClassVar[str] = "connect_reset"


@dataclass(frozen=True, slots=True)
class ConnectRefused(_Event):
    """A WebSocket upgrade was reset (``RefuseConnects``); ``error`` is the fault's text."""

    error: str
    kind: ClassVar[str] = "connect_refused"


TraceEvent = Union[
    ServerClosed, ServerClosedUnseen, ServerConnEnded, HeartbeatTimedOut, SessionConflict,
    ResumeRejected, FrameRefused, IdentifyRefused, SessionDropped, SessionEnded, SessionEstablished, SessionCycled, FaultApplied, FlowBlackHoled,
    HeartbeatSent, IdentifySent, ResumeSent,
    RequestSent, SocketOpening, ConnectStalled, ClientClosed, DispatchDelivered, StatusNoted,
    FatalNoted, LogNoted, SpinStopped,
    GatewayListening, GatewayStopping, GatewayError, WsAccepted, WsEnded, ClientClosedUnseen,
    ConnectReset, ConnectRefused,
]
"""Every event of the world's trace."""
