"""qqgate.io_shell: the thin gevent runtime, in a thread of its own, that executes the core's commands.

The embedding API (design.md, "The I/O shell")::

    from qqgate.io_shell import GatewayClient, ShellConfig
    client = GatewayClient(ShellConfig.from_env(), on_dispatch=handle)
    client.start(); ...; client.status(); client.is_ready(); client.stop()  # or join()

Modules: ``_hub`` (the runtime's OS thread and gevent hub, the deadline heap), ``_driver`` (one
client's core state and commands), ``_connection`` and ``_wsframes`` (one WebSocket, frames
with limits), ``_rest`` (token, gateway URL), ``_host`` (handlers on host threads), ``_client``
(GatewayClient), ``_status``, ``_config``, ``_sync`` (OS-thread primitives).

Names are re-exported lazily so that ``qqgate`` (which imports ``_run_command`` to build its
parser) imports neither gevent, requests nor ssl for the subcommands that do not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import GatewayClient, open_journal
    from ._config import (
        DEFAULT_API_BASE, DEFAULT_TOKEN_URL, SANDBOX_API_BASE, Recorder, ShellConfig, ShellConfigError,
    )
    from ._rest import RestError
    from ._status import GatewayStatus

_EXPORTS = {
    "GatewayClient": "._client", "open_journal": "._client",
    "ShellConfig": "._config", "ShellConfigError": "._config", "Recorder": "._config",
    "DEFAULT_API_BASE": "._config", "SANDBOX_API_BASE": "._config", "DEFAULT_TOKEN_URL": "._config",
    "RestError": "._rest", "GatewayStatus": "._status",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'io_shell' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
