"""An unmodified botpy 1.2.1 bot that answers every C2C message, pointed at a local gateway.

Usage: python botpy_echo.py http://127.0.0.1:PORT

botpy is only told where the servers are: its OpenAPI host is the ``Route`` class constants
(``SCHEME``/``DOMAIN``/``SANDBOX_DOMAIN``), and its token URL is a literal inside
``Token.update_access_token`` (``https://bots.qq.com/app/getAppAccessToken``), so aiohttp's
request entry point rewrites that one prefix. The WebSocket URL comes from ``GET /gateway/bot``
as in production. Everything else - token handling, Identify/Resume, heartbeats, reconnects,
replies - is botpy's own code.
"""

from __future__ import annotations

import sys
from typing import Any

import aiohttp
import botpy
from botpy.http import Route
from botpy.message import C2CMessage

TOKEN_PREFIX = "https://bots.qq.com"


def point_at(base: str) -> None:
    """Send botpy's REST traffic to ``base`` (http://127.0.0.1:PORT)."""
    scheme, _, host = base.partition("://")
    Route.SCHEME = scheme
    Route.DOMAIN = host
    Route.SANDBOX_DOMAIN = host
    original = aiohttp.ClientSession._request

    async def _request(self: aiohttp.ClientSession, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        url = str(str_or_url)
        if url.startswith(TOKEN_PREFIX):
            str_or_url = base + url[len(TOKEN_PREFIX):]
        return await original(self, method, str_or_url, **kwargs)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]


class EchoBot(botpy.Client):
    async def on_ready(self) -> None:
        print(f"botpy-echo: ready as {self.robot.name} ({self.robot.id})", flush=True)

    async def on_c2c_message_create(self, message: C2CMessage) -> None:
        print(f"botpy-echo: got {message.id} {message.content!r}", flush=True)
        result = await message.reply(content=f"echo: {message.content}", msg_type=0)
        print(f"botpy-echo: replied to {message.id}: {result}", flush=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    point_at(argv[1])
    intents = botpy.Intents.none()
    intents.public_messages = True  # GROUP_AND_C2C_EVENT, 1 << 25
    EchoBot(intents=intents, timeout=5).run(appid="102000001", secret="chaos-secret")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
