"""Commands of the webhook reducer: the HTTP answers it asks the receiver to give.

Besides these two, the webhook reducer returns the core's own ``Deliver`` (the same
``Dispatch`` the WebSocket path hands to ``on_dispatch``), ``StatusChanged``, ``Fatal`` and
``Log``, so a host sees one delivery pipeline whichever transport it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .._commands import Deliver, Fatal, Log, StatusChanged

ACK = '{"op":12,"d":0}'
"""op 12 "HTTP Callback ACK" (bot-docs ``interface-framework/event-emit``, opcode table): the
event was received. botgo's ``GenDispatchACK`` answers ``{"op":12,"d":0}``."""
ACK_RETRY = '{"op":12,"d":1}'
"""op 12 with ``d`` 1: "if handling failed, d is 1 and the server will retry" (botgo
``interaction/webhook``, ``GenDispatchACK``)."""


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer HTTP request ``request`` with ``status`` and the JSON text ``body``
    (``Content-Type: application/json``)."""

    request: int
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class AnswerValidation:
    """Answer the op 13 callback-URL validation ``request`` with status 200 and the JSON
    ``{"plain_token": plain_token, "signature": hex(Ed25519 signature of event_ts + plain_token)}``.

    The signing needs the key, so it is the shell's (bot-docs ``interface-framework/event-emit``,
    "回调地址及事件监听配置": the Go example signs ``EventTs`` then ``PlainToken``).
    """

    request: int
    plain_token: str
    event_ts: str


WebhookCommand = Union[Respond, AnswerValidation, Deliver, StatusChanged, Fatal, Log]
"""Every command the webhook reducer returns."""
