"""``LegacyModel``: hermes-agent's QQ adapter as a reducer with the core's signature.

The face of the legacy model: which input goes to which part of the adapter (``_model``),
when it next wants a Tick, and how a journal header describes it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, assert_never

from qqgate.core import (
    Command, ConnectFailed, DispatchSettled, FrameReceived, GatewayFailed, GatewayResolved, Input,
    SendFailed, SocketClosed, SocketOpened, Start, Stop, Tick, TokenFailed, TokenIssued,
)

from ._model import SLEEPING_LOOPS, AdapterStep
from ._state import HeartbeatTask, LegacyConfig, LegacyState, ListenLoop


class LegacyModel:
    """hermes-agent's QQ adapter (v0.13 or v0.14) as a ``replay.world.ClientModel``.

    ``step(state, input)`` returns ``(state, commands)`` with no side effects;
    ``next_deadline(state)`` is the earliest virtual time (seconds) it wants a Tick. See the
    module docstring for the rules and the decisions behind them.
    """

    name = "legacy"

    def __init__(self, config: LegacyConfig = LegacyConfig()) -> None:
        self.config = config

    def initial_state(self) -> LegacyState:
        """Before Start: nothing connected; the heartbeat task not started (or already ended)."""
        alive = self.config.heartbeat_task_alive
        return LegacyState(heartbeat=HeartbeatTask.NOT_STARTED if alive else HeartbeatTask.ENDED)

    def step(self, state: LegacyState, inp: Input) -> tuple[LegacyState, tuple[Command, ...]]:
        """Feed one input; ``inp.at`` is in virtual seconds."""
        now = max(state.now_s, inp.at)
        if state.loop is ListenLoop.SPINNING:
            return (state if now == state.now_s else replace(state, now_s=now)), ()
        a = AdapterStep(self.config, replace(state, now_s=now))
        match inp:
            case Tick(at=at):
                a.tick(at)
            case FrameReceived():
                a.frame(inp)
            case SocketClosed():
                a.socket_closed(inp)
            case SocketOpened():
                a.socket_opened(inp)
            case ConnectFailed():
                a.connect_failed(inp)
            case TokenIssued():
                a.token_issued(inp)
            case TokenFailed(at=at, error=error):
                a.rest_failed(at, error, (ListenLoop.STARTUP_TOKEN, ListenLoop.RECONNECT_TOKEN))
            case GatewayResolved():
                a.gateway_resolved(inp)
            case GatewayFailed(at=at, error=error):
                a.rest_failed(at, error, (ListenLoop.STARTUP_GATEWAY, ListenLoop.RECONNECT_GATEWAY))
            case Start():
                a.start()
            case Stop():
                a.stop()
            case SendFailed() | DispatchSettled():
                pass  # ignored: see the package docstring
            case _:
                assert_never(inp)
        return a.s, tuple(a.out)

    def next_deadline(self, state: LegacyState) -> float | None:
        """The earliest wake-up (virtual seconds): heartbeat task or listen-loop sleep.

        While spinning it is the time of the last input: the clock stands still.
        """
        if state.loop is ListenLoop.SPINNING:
            return state.now_s
        times: list[float] = []
        if state.heartbeat is HeartbeatTask.SLEEPING and state.heartbeat_wake_at_s is not None:
            times.append(state.heartbeat_wake_at_s)
        if state.loop in SLEEPING_LOOPS and state.loop_wake_at_s is not None:
            times.append(state.loop_wake_at_s)
        return min(times) if times else None

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for journal headers."""
        c = self.config
        return {
            "client": "legacy",
            "models": "hermes-agent gateway/platforms/qqbot/adapter.py",
            "version": c.version,
            "app_id": c.app_id,
            "close_codes_visible": c.close_codes_visible,
            "heartbeat_task_alive": c.heartbeat_task_alive,
            "intents": c.intents,
            "config": {"version": c.version, "app_id": c.app_id,
                       "close_codes_visible": c.close_codes_visible,
                       "heartbeat_task_alive": c.heartbeat_task_alive, "intents": c.intents, "seed": c.seed},
        }
