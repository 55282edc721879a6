"""qqgate.io_shell: the thin gevent runtime, in a thread of its own, that executes the core's commands.

The embedding API (design.md, "The I/O shell")::

    from qqgate.io_shell import GatewayClient, ShellConfig
    client = GatewayClient(ShellConfig.from_env(), on_dispatch=handle)
    client.start(); ...; client.status(); client.is_ready(); client.stop()  # or join()

Modules: ``_hub`` (the runtime's OS thread and gevent hub, the deadline heap), ``_driver`` (one
client's core state and commands), ``_connection`` and ``_wsframes`` (one WebSocket, frames
with limits), ``_rest`` (token, gateway URL), ``_host`` (handlers on host threads), ``_client``
(GatewayClient), ``_status``, ``_config``, ``_sync`` (OS-thread primitives). The embedding
faces: ``_asyncio`` (AsyncGatewayClient), ``_tokens`` (one token fetcher per bot), ``_sender``
(MessageSender), ``_events`` (typed events), ``_router`` (EventRouter), ``_bot`` (Bot),
``_intents`` (Intents), ``_pool`` (BotPool), ``_metrics`` (Prometheus, health; needs the
``metrics`` extra), ``_jsonlog`` (JsonFormatter).

Names are re-exported lazily so that ``qqgate`` (which imports ``_run_command`` to build its
parser) imports neither gevent, requests nor ssl for the subcommands that do not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import GatewayClient as GatewayClient, open_journal as open_journal
    from ._config import (
        DEFAULT_API_BASE as DEFAULT_API_BASE, DEFAULT_TOKEN_URL as DEFAULT_TOKEN_URL,
        SANDBOX_API_BASE as SANDBOX_API_BASE, Recorder as Recorder, ShellConfig as ShellConfig,
        ShellConfigError as ShellConfigError,
    )
    from ._rest import RestError as RestError
    from ._status import GatewayStatus as GatewayStatus
    from ._asyncio import (
        AsyncGatewayClient as AsyncGatewayClient, GatewayFailed as GatewayFailed,
    )
    from ._bot import Bot as Bot
    from ._events import (
        C2CMessage as C2CMessage, ChannelMessage as ChannelMessage, DirectMessage as DirectMessage,
        Event as Event, Friendship as Friendship, GroupMembership as GroupMembership,
        GroupMessage as GroupMessage, Interaction as Interaction, Message as Message,
        parse_event as parse_event,
    )
    from ._intents import Intents as Intents
    from ._router import EventRouter as EventRouter
    from ._sender import (
        MessageSender as MessageSender, RateLimited as RateLimited, SendError as SendError, Sent as Sent,
    )
    from ._tokens import TokenBroker as TokenBroker
    from ._pool import BotPool as BotPool, BotStats as BotStats, health_of as health_of
    from ._metrics import Metrics as Metrics, MetricsServer as MetricsServer
    from ._jsonlog import JsonFormatter as JsonFormatter, json_handler as json_handler

_EXPORTS = {
    "GatewayClient": "._client", "open_journal": "._client",
    "ShellConfig": "._config", "ShellConfigError": "._config", "Recorder": "._config",
    "DEFAULT_API_BASE": "._config", "SANDBOX_API_BASE": "._config", "DEFAULT_TOKEN_URL": "._config",
    "RestError": "._rest", "GatewayStatus": "._status",
    "AsyncGatewayClient": "._asyncio", "GatewayFailed": "._asyncio", "Bot": "._bot",
    "C2CMessage": "._events", "ChannelMessage": "._events", "DirectMessage": "._events", "Event": "._events",
    "Friendship": "._events", "GroupMembership": "._events", "GroupMessage": "._events",
    "Interaction": "._events", "Message": "._events", "parse_event": "._events",
    "Intents": "._intents", "EventRouter": "._router",
    "MessageSender": "._sender", "RateLimited": "._sender", "SendError": "._sender", "Sent": "._sender",
    "TokenBroker": "._tokens", "BotPool": "._pool", "BotStats": "._pool", "health_of": "._pool",
    "Metrics": "._metrics", "MetricsServer": "._metrics", "JsonFormatter": "._jsonlog",
    "json_handler": "._jsonlog",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'io_shell' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
