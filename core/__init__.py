"""qqgate.core: the pure QQ Bot gateway connection reducer.

``step(state, input) -> (state, commands)`` and ``next_deadline(state)``; no I/O, no
clock, no OS randomness. See design.md ("The core"). The journal format that records its
steps is the subpackage ``qqgate.core.journal`` (imported on its own: the core does not
need it).

Modules: inputs (``_inputs``) and commands (``_commands``), the state and its sub-records
(``_state``: ``Connection``, ``Session``, ``Auth``, ``Gateway``, ``Counters``), phases and
the allowed transitions as data (``_phases``), ``step`` (``_step``) and one handler per
input (``_handlers``, ``_receive`` for frames), shared policies (``_policies``), the
close-code table (``_close_codes``), frames (``_frames``), the dedupe window (``_dedupe``),
the PRNG (``_prng``), invariants (``_invariants``).

Typical use::

    state = initial_state(Config(seed=42))
    state, commands = step(state, Start(at=now))
    ...  # execute commands, feed inputs, arm one timer at next_deadline(state)
"""

from ._close_codes import CLIENT_RESUME_CLOSE, CLOSE_CODES, CloseAction, CloseRule, Delay, close_rule
from ._commands import (
    CloseSocket, Command, Deliver, Dispatch, Fatal, FetchToken, Log, OpenSocket,
    ResolveGateway, SendFrame, StatusChanged,
)
from ._config import Config, ConfigError
from ._frames import Op, decode_frame
from ._inputs import (
    ConnectFailed, DispatchSettled, FrameReceived, GatewayFailed, GatewayResolved, Input,
    SendFailed, SessionStartLimit, SocketClosed, SocketOpened, Start, Stop, Tick, TokenFailed,
    TokenIssued,
)
from ._invariants import check_step
from ._phases import TRANSITIONS, Phase, transition_allowed
from ._state import Auth, Connection, Counters, Gateway, Session, State, initial_state, next_deadline
from ._step import step

__version__ = "0.1.0"

__all__ = [
    "CLIENT_RESUME_CLOSE", "CLOSE_CODES", "CloseAction", "CloseRule", "Delay", "close_rule",
    "CloseSocket", "Command", "Deliver", "Dispatch", "Fatal", "FetchToken", "Log", "OpenSocket",
    "ResolveGateway", "SendFrame", "StatusChanged",
    "Config", "ConfigError", "Op", "decode_frame",
    "ConnectFailed", "DispatchSettled", "FrameReceived", "GatewayFailed", "GatewayResolved",
    "Input", "SendFailed", "SessionStartLimit", "SocketClosed", "SocketOpened", "Start", "Stop",
    "Tick", "TokenFailed", "TokenIssued",
    "check_step", "Phase", "TRANSITIONS", "transition_allowed",
    "Auth", "Connection", "Counters", "Gateway", "Session", "State", "initial_state", "next_deadline", "step",
    "__version__",
]
