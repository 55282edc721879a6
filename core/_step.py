"""``step(state, input) -> (state, commands)``: the whole connection state machine.

Reading order: the input's time and connection epoch first (every input), then exactly one
handler per input type, chosen by a ``match`` over the ``Input`` union (core/_handlers.py;
FrameReceived's in core/_receive.py). Nothing here does I/O, reads a clock or draws OS
randomness (design.md, "The core").
"""

from __future__ import annotations

from typing import assert_never

from . import _inputs as I
from ._commands import Command, Log
from ._handlers import (
    MAX_TIME_S, finite_number, on_connect_failed, on_dispatch_settled, on_gateway_failed, on_gateway_resolved,
    on_send_failed, on_socket_closed, on_socket_opened, on_start, on_stop, on_tick, on_token_failed,
    on_token_issued,
)
from ._phases import SOCKET_PHASES, TERMINAL_PHASES
from ._receive import on_frame
from ._state import State


def step(state: State, inp: I.Input) -> tuple[State, tuple[Command, ...]]:
    """Feed one input; return the new state and the commands to execute, in order.

    Pure and deterministic: the same state and input always give the same result. Never
    raises on any input (malformed frames, stale connections, out-of-order events become
    counted ``Log`` commands). ``inp.at`` earlier than a previous input is handled at the
    latest time seen and counted as a clock regression.
    """
    out: list[Command] = []
    s = state
    at = inp.at
    if type(at) is not float or not -MAX_TIME_S <= at <= MAX_TIME_S:  # the common case in one test
        if not finite_number(at):
            out.append(Log("warning", "input_rejected", {"reason": "input time is not a finite number of seconds",
                                                         "input": type(inp).__name__}))
            return s._replace(counters=s.counters.bump("inputs_ignored")), tuple(out)
    if at < s.now:
        s = s._replace(counters=s.counters.bump("clock_regressions"))
        at = s.now
    match inp:
        case I.Tick():  # the most frequent input with FrameReceived: first
            s = on_tick(s, at, out)
        case I.FrameReceived() | I.SocketOpened() | I.SocketClosed() | I.ConnectFailed() | I.SendFailed():
            # Socket inputs name their connection epoch: one the core has left is stale.
            conn = s.conn
            if conn is None or inp.conn != conn.id or s.phase not in SOCKET_PHASES:
                out.append(Log("debug", "stale_input", {"input": type(inp).__name__, "conn": inp.conn,
                                                        "live_conn": s.live_conn}))
                return s._replace(now=at, counters=s.counters.bump("stale_inputs")), tuple(out)
            match inp:
                case I.FrameReceived():
                    s = on_frame(s, at, conn, inp.text, out)
                case I.SocketOpened():
                    s = on_socket_opened(s, at, out)
                case I.SocketClosed():
                    s = on_socket_closed(s, at, inp, out)
                case I.ConnectFailed():
                    s = on_connect_failed(s, at, inp, out)
                case I.SendFailed():
                    s = on_send_failed(s, at, inp, out)
                case _:
                    assert_never(inp)
        case I.Start():
            s = on_start(s, at, out)
        case I.Stop():
            s = on_stop(s, at, out)
        case _ if s.phase in TERMINAL_PHASES:  # FAILED and STOPPED take only Start, Stop and Tick
            return s._replace(now=at, counters=s.counters.bump("inputs_ignored")), tuple(out)
        case I.DispatchSettled():
            s = on_dispatch_settled(s, at, inp, out)
        case I.TokenIssued():
            s = on_token_issued(s, at, inp, out)
        case I.TokenFailed():
            s = on_token_failed(s, at, inp, out)
        case I.GatewayResolved():
            s = on_gateway_resolved(s, at, inp, out)
        case I.GatewayFailed():
            s = on_gateway_failed(s, at, inp, out)
        case _:
            assert_never(inp)
    if s.now != at:  # the frequent handlers set ``now`` in the one copy they make
        s = s._replace(now=at)
    return s, tuple(out)


__all__ = ["step"]
