"""Connection phases (design.md, "Phases") and the phase changes each input may cause, as data.

``TRANSITIONS[input type][phase before]`` is the set of phases the step of that input may
end in (staying put is always allowed: any input may be ignored, rejected or counted).
The step function never consults it; ``check_step`` enforces it after every step of every
test and simulation, the way h11 keeps its ``EVENT_TRIGGERED_TRANSITIONS`` as a table.
"""

from __future__ import annotations

import enum
from typing import Mapping

from . import _inputs as I


class Phase(str, enum.Enum):
    """Where the connection is.

    ``IDLE → RESOLVING → CONNECTING → AWAITING_HELLO → IDENTIFYING | RESUMING → READY``,
    ``BACKING_OFF`` between attempts, ``FAILED`` (terminal: fatal close code or a
    caller-set failure limit) and ``STOPPED`` (the host called stop).
    """

    IDLE = "IDLE"
    RESOLVING = "RESOLVING"
    CONNECTING = "CONNECTING"
    AWAITING_HELLO = "AWAITING_HELLO"
    IDENTIFYING = "IDENTIFYING"
    RESUMING = "RESUMING"
    READY = "READY"
    BACKING_OFF = "BACKING_OFF"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


TERMINAL_PHASES = frozenset({Phase.FAILED, Phase.STOPPED})
SOCKET_PHASES = frozenset(
    {Phase.CONNECTING, Phase.AWAITING_HELLO, Phase.IDENTIFYING, Phase.RESUMING, Phase.READY}
)
"""Phases in which exactly one connection (``State.conn``) is in use."""
RUNNING_PHASES = frozenset(set(Phase) - TERMINAL_PHASES - {Phase.IDLE})
"""Phases in which the core wants a Tick (``next_deadline`` is never None)."""

ATTEMPT = frozenset({Phase.RESOLVING, Phase.BACKING_OFF, Phase.CONNECTING})
"""Where starting an attempt lands: fetching a token or URL, waiting out the open floor, or opening."""
AFTER_FAILURE = ATTEMPT | {Phase.FAILED}
"""Where a failed attempt or a lost connection lands: a retry (at once or after backoff), or
FAILED when the failure limit or a fatal close code says so."""

TRANSITIONS: Mapping[type, Mapping[Phase, frozenset[Phase]]] = {
    I.Start: {Phase.IDLE: ATTEMPT, Phase.STOPPED: ATTEMPT},
    I.Stop: {phase: frozenset({Phase.STOPPED}) for phase in Phase},
    I.TokenIssued: {Phase.RESOLVING: AFTER_FAILURE},  # the next step, or a failure if unusable
    I.TokenFailed: {Phase.RESOLVING: AFTER_FAILURE},
    I.GatewayResolved: {Phase.RESOLVING: AFTER_FAILURE},  # the next step, or a failure if not ws(s)
    I.GatewayFailed: {Phase.RESOLVING: AFTER_FAILURE},
    I.SocketOpened: {Phase.CONNECTING: frozenset({Phase.AWAITING_HELLO})},
    I.FrameReceived: {
        Phase.AWAITING_HELLO: frozenset({Phase.IDENTIFYING, Phase.RESUMING}),  # Hello
        Phase.IDENTIFYING: AFTER_FAILURE | {Phase.READY},  # READY; op 7, op 9
        Phase.RESUMING: AFTER_FAILURE | {Phase.READY},  # RESUMED; op 7, op 9
        Phase.READY: AFTER_FAILURE,  # op 7, op 9
    },
    I.SocketClosed: {phase: AFTER_FAILURE for phase in SOCKET_PHASES},
    I.ConnectFailed: {Phase.CONNECTING: AFTER_FAILURE},
    I.SendFailed: {phase: AFTER_FAILURE for phase in SOCKET_PHASES},
    I.DispatchSettled: {},
    I.Tick: {
        Phase.RESOLVING: AFTER_FAILURE,  # a token or URL request timed out
        Phase.BACKING_OFF: ATTEMPT,  # the backoff ended
        **{phase: AFTER_FAILURE for phase in SOCKET_PHASES},  # phase deadline; zombie connection
    },
}


def transition_allowed(input_type: type, before: Phase, after: Phase) -> bool:
    """True when ``TRANSITIONS`` lets an input of ``input_type`` take ``before`` to ``after``."""
    return before is after or after in TRANSITIONS.get(input_type, {}).get(before, frozenset())
