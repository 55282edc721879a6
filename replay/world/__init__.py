"""The world: a model of the QQ gateway and the network around it, and its two links.

What it holds:

- ``WorldSpec`` (``_spec``): server parameters and a fault schedule, as plain data;
- the faults (``_faults``): ``ServerClose``, ``HalfOpen``, ``DnsOutage``, ... and their JSON form;
- ``Network`` (``_network``): the timed faults in force and the black-holed flows, shared by
  both links;
- ``GatewayServer`` (``_server``): the server model (Hello, Identify/Resume validation, READY,
  replay on resume, ACKs, the ~30-minute op 7 + 4009 cycle, the ~60 s heartbeat timeout, the
  resume window, tokens (``_tokens``) and session starts (``_sessions``)), driven through a
  ``ServerLink``; it applies every fault, once, for both links, and judges what became of
  every undelivered message (``MessageFates``);
- the typed trace (``_trace``): ``ServerClosed``, ``SocketOpening``, ``FaultApplied``, ... (one
  frozen dataclass per kind of event, ``TraceEvent`` their union), noted by the server model
  and both links; client frames are decoded once by the link that carries them
  (``_client_frame``);
- ``ClientModel`` and ``CoreClient`` (``_client_model``): the reducer shape the simulator drives;
- ``Simulation`` (``_sim``): the first link, a discrete-event simulator that joins the server
  model to one client reducer on a virtual clock; its ``RunResult`` (``_run_result``);
- ``gateway`` (a subpackage, not re-exported here so the simulator never loads gevent): the
  second link, the chaos gateway, the same server model on real sockets.

Every time is model seconds from the start of a run. One-way dependencies: the world may
import ``qqgate.core`` (and the journal format) only; never ``io_shell``, never the rest of
``replay`` (scenarios, detectors, log import and the legacy model build on the world).
"""

from ._client_model import ClientModel, CoreClient
from ._faults import (
    FAULT_TYPES, TIMED_FAULTS, Ban, DisallowIntents, DnsOutage, ExpireSessions, Fault, HalfOpen,
    InvalidateSessions, NoHello, NoReady, RateLimitIdentify, RefuseConnects, RejectResumes, RejectTokens,
    ServerClose, ServerReconnect, StallConnects, TimedFault, WrongCertificate, fault_from_json,
    schedule_end_s,
)
from ._network import Network
from ._client_frame import ClientFrame, decode_client_frame, sent_event
from ._run_result import RunResult
from ._server import GATEWAY_URL, SESSION_ENDING_CODES, GatewayServer, ServerLink
from ._sessions import MessageFates, ServerConn, ServerSession, SessionStarts
from ._sim import DNS_ERROR, TLS_ERROR, RunObserver, Simulation
from ._spec import KNOWN_INTENTS, DropStyle, WorldSpec
from ._tokens import INVALID_CREDENTIALS, TokenBook
from ._trace import (
    ClientClosed, ClientClosedUnseen, ConnectRefused, ConnectReset, ConnectStalled,
    DispatchDelivered, FatalNoted, FaultApplied, FlowBlackHoled, FrameRefused, GatewayError,
    GatewayListening, GatewayStopping, HeartbeatSent, HeartbeatTimedOut, IdentifyRefused, IdentifySent,
    LogNoted, RequestSent, ResumeRejected, ResumeSent, ServerClosed, ServerClosedUnseen, ServerConnEnded,
    SessionConflict, SessionCycled, SessionDropped, SessionEnded, SessionEstablished, SocketOpening,
    SpinStopped, StatusNoted, TraceEvent, WsAccepted, WsEnded,
)

__all__ = [
    "ClientModel", "CoreClient",
    "FAULT_TYPES", "Ban", "DisallowIntents", "DnsOutage", "ExpireSessions", "Fault", "HalfOpen",
    "InvalidateSessions", "NoHello", "NoReady", "RateLimitIdentify", "RefuseConnects", "RejectResumes",
    "RejectTokens", "ServerClose", "ServerReconnect", "StallConnects", "WrongCertificate", "fault_from_json",
    "schedule_end_s", "TIMED_FAULTS", "TimedFault",
    "Network", "GATEWAY_URL", "SESSION_ENDING_CODES", "GatewayServer", "ServerLink",
    "MessageFates", "ServerConn", "ServerSession", "SessionStarts",
    "INVALID_CREDENTIALS", "TokenBook",
    "ClientFrame", "decode_client_frame", "sent_event",
    "DNS_ERROR", "TLS_ERROR", "RunObserver", "RunResult", "Simulation",
    "KNOWN_INTENTS", "DropStyle", "WorldSpec",
    "ClientClosed", "ClientClosedUnseen", "ConnectRefused", "ConnectReset", "ConnectStalled",
    "DispatchDelivered", "FatalNoted", "FaultApplied", "FlowBlackHoled", "FrameRefused", "GatewayError",
    "GatewayListening", "GatewayStopping", "HeartbeatSent", "HeartbeatTimedOut", "IdentifyRefused",
    "IdentifySent", "LogNoted", "RequestSent", "ResumeRejected", "ResumeSent", "ServerClosed",
    "ServerClosedUnseen", "ServerConnEnded", "SessionConflict", "SessionCycled", "SessionDropped",
    "SessionEnded", "SessionEstablished", "SocketOpening", "SpinStopped", "StatusNoted", "TraceEvent",
    "WsAccepted", "WsEnded",
]
