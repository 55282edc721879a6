"""qqgate.core: the pure QQ Bot gateway connection reducer.

``step(state, input) -> (state, commands)`` and ``next_deadline(state)``; no I/O, no
clock, no OS randomness. See design.md ("The core"). The journal format that records its
steps is the subpackage ``qqgate.core.journal`` (imported on its own: the core does not
need it).

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
from ._phases import Phase
from ._state import Counters, State, initial_state, next_deadline
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
    "check_step", "Phase", "Counters", "State", "initial_state", "next_deadline", "step",
    "__version__",
]
