"""qqgate: a QQ Bot gateway connection core that cannot silently die, spin or lose a dispatch.

The installed distribution puts everything under this one namespace, so nothing generic
(``core``, ``replay``, ``io_shell``) lands in a user's environment:

- ``qqgate.core``: the pure reducer, ``step(state, input) -> (state, commands)``, and
  ``qqgate.core.journal``, the journal format that records its steps;
- ``qqgate.io_shell``: the gevent + websocket-client runtime that runs it on real sockets, and
  its journal store (``qqgate.io_shell.journal``);
- ``qqgate.replay``: the world (``replay.world``: server model, simulator, chaos gateway), log
  and journal replay, scenarios, and the reliability checks (``replay.checks``);
- ``qqgate.cli``: the ``qqgate`` command line, which alone imports all of them.

Dependencies point one way (README, "Layout"; ``tests/test_import_direction.py``).

The embedding names are re-exported here lazily: ``import qqgate`` (and ``import
qqgate.core``) loads neither gevent nor any socket module until one of them is used::

    from qqgate import GatewayClient, ShellConfig
    from qqgate import AsyncGatewayClient, Bot, BotPool, C2CMessage, Intents, MessageSender
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .io_shell._client import GatewayClient as GatewayClient
    from .io_shell._config import (
        ShellConfig as ShellConfig, ShellConfigError as ShellConfigError,
    )
    from .io_shell._rest import RestError as RestError
    from .io_shell._status import GatewayStatus as GatewayStatus
    from .io_shell._asyncio import (
        AsyncGatewayClient as AsyncGatewayClient, GatewayFailed as GatewayFailed,
    )
    from .io_shell._bot import Bot as Bot
    from .io_shell._events import (
        C2CMessage as C2CMessage, ChannelMessage as ChannelMessage, DirectMessage as DirectMessage,
        Event as Event, Friendship as Friendship, GroupMembership as GroupMembership,
        GroupMessage as GroupMessage, Interaction as Interaction, Message as Message,
    )
    from .io_shell._intents import Intents as Intents
    from .io_shell._pool import BotPool as BotPool
    from .io_shell._router import EventRouter as EventRouter
    from .io_shell._sender import (
        MessageSender as MessageSender, RateLimited as RateLimited, SendError as SendError, Sent as Sent,
    )

__version__ = "0.1.0"

_EXPORTS = {
    "GatewayClient": ".io_shell._client", "GatewayStatus": ".io_shell._status",
    "RestError": ".io_shell._rest", "ShellConfig": ".io_shell._config",
    "ShellConfigError": ".io_shell._config",
    "AsyncGatewayClient": ".io_shell._asyncio", "GatewayFailed": ".io_shell._asyncio", "Bot": ".io_shell._bot",
    "C2CMessage": ".io_shell._events", "ChannelMessage": ".io_shell._events", "DirectMessage": ".io_shell._events",
    "Event": ".io_shell._events", "Friendship": ".io_shell._events", "GroupMembership": ".io_shell._events",
    "GroupMessage": ".io_shell._events", "Interaction": ".io_shell._events", "Message": ".io_shell._events",
    "Intents": ".io_shell._intents", "BotPool": ".io_shell._pool", "EventRouter": ".io_shell._router",
    "MessageSender": ".io_shell._sender", "RateLimited": ".io_shell._sender", "SendError": ".io_shell._sender",
    "Sent": ".io_shell._sender",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qqgate' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
