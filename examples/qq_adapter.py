"""A QQ adapter for an asyncio bot framework, in the shape of hermes-agent's platform adapters.

connect() / disconnect() / send(chat_id, content, reply_to) / on_message(event): the framework
gives chats as strings, so a chat id is "c2c:<openid>", "group:<group_openid>",
"channel:<channel_id>" or "dm:<guild_id>". No monkey-patching; the gateway runs in its own
thread, sending shares its access token, and a slow agent turn never stalls a heartbeat.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from qqgate import (AsyncGatewayClient, C2CMessage, ChannelMessage, DirectMessage, GroupMessage, Message,
                    SendError, ShellConfig)

CHATS = {C2CMessage: "c2c", GroupMessage: "group", ChannelMessage: "channel", DirectMessage: "dm"}


@dataclass(frozen=True)
class MessageEvent:
    chat_id: str
    user_id: str
    text: str
    message_id: str


@dataclass(frozen=True)
class SendResult:
    success: bool
    message_id: str | None = None
    error: str | None = None


class QQAdapter:
    def __init__(self, config: ShellConfig, on_message: Callable[[MessageEvent], Awaitable[None]]) -> None:
        self.client = AsyncGatewayClient(config)
        self.on_message = on_message
        self.client.on(Message)(self._handle)  # C2C, group @, channel @ and guild DMs, in order
        self._turns: set[asyncio.Task[None]] = set()

    async def connect(self, timeout_s: float = 30.0) -> bool:
        await self.client.start()
        try:
            await self.client.wait_ready(timeout_s)
        except Exception:  # noqa: BLE001 - refused credentials, a ban, or no READY in time
            await self.client.stop()
            return False
        return True

    async def disconnect(self) -> None:
        await self.client.stop()

    @property
    def connected(self) -> bool:
        return self.client.is_ready()  # fail fast on a dead gateway instead of waiting

    async def send(self, chat_id: str, content: str, reply_to: str | None = None) -> SendResult:
        kind, _, target = chat_id.partition(":")
        if kind not in ("c2c", "group", "channel", "dm") or not target:
            return SendResult(False, error=f"not a QQ chat id: {chat_id!r}")
        try:
            sent = await self.client.send(kind, target, content, msg_id=reply_to)
        except SendError as exc:
            return SendResult(False, error=str(exc))
        return SendResult(True, message_id=sent.id)

    async def _handle(self, message: Message) -> None:
        chat = CHATS.get(type(message), "c2c")
        target = getattr(message, {"c2c": "user_openid", "group": "group_openid", "channel": "channel_id",
                                   "dm": "guild_id"}[chat])
        event = MessageEvent(f"{chat}:{target}", message.author_id, message.content, message.id)
        turn = asyncio.ensure_future(self.on_message(event))  # an agent turn may be long
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)
