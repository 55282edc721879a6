"""Bot: a GatewayClient, a MessageSender and an EventRouter in one object, for small bots.

::

    bot = Bot.from_env()                       # QQ_APP_ID, QQ_CLIENT_SECRET (+ QQ_API_BASE, QQ_TOKEN_URL)

    @bot.on("C2C_MESSAGE_CREATE")
    def echo(message: C2CMessage) -> None:
        message.reply(f"echo: {message.content}")

    bot.run()                                  # until Ctrl-C, stop(), or a final Fatal (a ban)

Handlers run on host threads, one dispatch at a time per bot, in order (``GatewayClient``); a
handler may block as long as it likes without delaying a heartbeat. The sender shares the
connection's access token (``_tokens``).
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import replace
from typing import Any, Callable, Mapping

from qqgate import core

from ._client import GatewayClient
from ._config import ShellConfig
from ._events import Event
from ._host import Executor
from ._hub import HubThread
from ._router import EventRouter, H
from ._sender import Kind, MessageSender, Sent
from ._status import GatewayStatus

log = logging.getLogger("qqgate.shell")

ENV_API_BASE = "QQ_API_BASE"
ENV_TOKEN_URL = "QQ_TOKEN_URL"


def random_seed() -> int:
    """A seed for the core's jitter from the OS (each bot its own, so a fleet does not reconnect
    in lock-step)."""
    return random.SystemRandom().randrange(1 << 31)


class Bot:
    """One bot: ``on`` handlers by event name, ``send``/``reply`` with the managed token, ``run``.

    ``on_fatal``/``on_status`` as ``GatewayClient``'s; ``executor``/``hub`` too. ``run()`` or
    ``start()`` once.
    """

    def __init__(self, config: ShellConfig, *, on_fatal: Callable[[core.Fatal], None] | None = None,
                 on_status: Callable[[core.StatusChanged], None] | None = None,
                 executor: Executor | None = None, hub: HubThread | None = None) -> None:
        self.config = config
        self.sender = MessageSender(config, hub=hub)
        self.router = EventRouter(self.sender)
        self.client = GatewayClient(config, on_dispatch=self.router, on_fatal=self._fatal, on_status=on_status,
                                    executor=executor, hub=hub)
        self._on_fatal = on_fatal
        self.last_fatal: core.Fatal | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, intents: int | None = None,
                 **fields: Any) -> "Bot":
        """A bot whose credentials come from QQ_APP_ID and QQ_CLIENT_SECRET, and its endpoints
        from QQ_API_BASE and QQ_TOKEN_URL when set (the sandbox, a test gateway). ``intents``:
        the Identify intents (``Intents``; default GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES);
        ``fields`` go to ``ShellConfig`` (``core`` defaults to a random jitter seed). Raises
        ShellConfigError naming a missing variable."""
        source = os.environ if env is None else env
        for var, name in ((ENV_API_BASE, "api_base"), (ENV_TOKEN_URL, "token_url")):
            value = source.get(var, "").strip()
            if value and name not in fields:
                fields[name] = value
        if "core" not in fields:
            base = core.Config(seed=random_seed())
            fields["core"] = base if intents is None else replace(base, intents=int(intents))
        elif intents is not None:
            raise ValueError("give intents inside core=core.Config(...) or alone, not both")
        return cls(ShellConfig.from_env(source, **fields))

    def on(self, event: str | type[Event]) -> Callable[[H], H]:
        """Decorator: a handler for dispatches named ``event`` (``EventRouter.on``)."""
        return self.router.on(event)

    def send(self, kind: Kind | str, target: str, content: str | None = None, **fields: Any) -> Sent:
        """Send a message (``MessageSender.send``); blocks the calling thread."""
        return self.sender.send(kind, target, content, **fields)

    def _fatal(self, fatal: core.Fatal) -> None:
        self.last_fatal = fatal
        if self._on_fatal is not None:
            self._on_fatal(fatal)
        elif not fatal.retryable:
            log.error("bot %s stopped for good: %s", self.config.app_id, fatal.reason)

    def start(self) -> None:
        """Start the connection; returns at once (``GatewayClient.start``)."""
        self.client.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop (``GatewayClient.stop``); True when it ended within ``timeout_s`` seconds."""
        return self.client.stop(timeout_s)

    def run(self, duration_s: float | None = None) -> None:
        """Start, then block until Ctrl-C (KeyboardInterrupt), ``stop()`` from a handler, a final
        Fatal, or ``duration_s`` seconds; then stop cleanly and return."""
        self.start()
        try:
            self.client.join(duration_s)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def status(self) -> GatewayStatus:
        """``GatewayClient.status()``: never blocks."""
        return self.client.status()


__all__ = ["Bot", "random_seed"]
