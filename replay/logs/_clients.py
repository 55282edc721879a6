"""The clients qqgate can read, what is known of their behaviour, and their readers in order.

:data:`CLIENTS` holds, per client, its title, its reconnect schedule and attempt budget as its
source or a real report states them (research notes clients-behaviour.md; these give inferred
times their reasons, and the derived worlds their lengths), and whether qqgate has a model of
it. :data:`RULES` is the readers' index (``_rules.RuleIndex``) in the order ambiguous wordings
are tried when nothing else decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._clients_js import BOT_NODE_SDK, HAPPYCLAW, NODE_UNKNOWN, NULLCLAW, OPENCLAW, SATORI, ZEROCLAW
from ._clients_py import ASTRBOT, BOTPY, CRASHES, GUILD_BOT, HERMES, NONEBOT, NONEBOT_CONTINUATIONS
from ._rules import RuleIndex


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What qqgate knows of one client.

    - ``title``: how the report names it.
    - ``delays_s``: the sleep before reconnect attempt k (from 0; the last repeats), seconds, or
      None when unknown; ``delays_source``: where that comes from.
    - ``max_attempts``: failed attempts after which it gives up for good (None: never / unknown).
    - ``model``: the name of qqgate's model of it (``"hermes"``, ``"botpy"``), or None.
    """

    name: str
    title: str
    delays_s: tuple[float, ...] | None
    delays_source: str
    max_attempts: int | None = None
    model: str | None = None


CLIENTS: dict[str, ClientInfo] = {c.name: c for c in (
    ClientInfo("hermes", "hermes-agent's QQ adapter", (2.0, 5.0, 10.0, 30.0, 60.0),
               "hermes RECONNECT_BACKOFF = [2, 5, 10, 30, 60] (gateway/platforms/qqbot/constants.py)",
               max_attempts=100, model="hermes"),
    ClientInfo("botpy", "botpy (qq-botpy)", (5.0,),
               "botpy 1.2.1 connection.py: 5 s after the socket loop ends, always", model="botpy"),
    ClientInfo("astrbot", "AstrBot's qqofficial adapter (botpy underneath)", (5.0,),
               "botpy's 5 s (AstrBot runs botpy's reconnect loop)"),
    ClientInfo("nonebot", "NoneBot adapter-qq", (3.0,), "adapter-qq RECONNECT_INTERVAL = 3.0"),
    ClientInfo("guild-bot", "QQ-official-guild-bot (chinosk6)", None, "not known"),
    ClientInfo("openclaw", "OpenClaw's qqbot plugin / openclaw-qqbot", (1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
               "RECONNECT_DELAYS = [1000, 2000, 5000, 10000, 30000, 60000] ms", max_attempts=100),
    ClientInfo("bot-node-sdk", "bot-node-sdk (qq-guild-bot)", (0.0,),
               "bot-node-sdk client.ts: reconnects at once", max_attempts=10),
    ClientInfo("node (bot-node-sdk#94)", "an unknown Node client (bot-node-sdk#94)", None,
               "its reporter: 'every 5-15 s, about 10 times'", max_attempts=10),
    ClientInfo("happyclaw", "happyclaw's QQ client", (5.0, 10.0, 20.0, 40.0, 60.0),
               "happyclaw PR #538: 5 s → 10 s → 20 s → 40 s → 60 s", max_attempts=10),
    ClientInfo("satori", "Koishi/satori adapter-qq", (5.0,), "satori WsClient retryInterval = 5 s"),
    ClientInfo("zeroclaw", "zeroclaw's QQ channel (Rust)", (2.0, 4.0, 8.0, 16.0, 32.0, 60.0),
               "zeroclaw channel supervisor: 2 s doubling to 60 s"),
    ClientInfo("nullclaw", "nullclaw's QQ channel (Zig)", (5.0,), "its log: 'Reconnecting in 5000ms'",
               max_attempts=10),
    ClientInfo("python", "a Python client", None, "not known"),
)}

RULES = RuleIndex((
    ("hermes", HERMES), ("openclaw", OPENCLAW), ("botpy", BOTPY), ("astrbot", ASTRBOT),
    ("nonebot", NONEBOT), ("satori", SATORI), ("zeroclaw", ZEROCLAW), ("nullclaw", NULLCLAW),
    ("node (bot-node-sdk#94)", NODE_UNKNOWN), ("bot-node-sdk", BOT_NODE_SDK), ("happyclaw", HAPPYCLAW),
    ("guild-bot", GUILD_BOT), ("python", CRASHES),
), hint_only=("satori",))
"""Every reader; hermes first (the client the project started from), the rest by how common."""

CONTINUATION_RULES = RuleIndex((("nonebot", NONEBOT_CONTINUATIONS), ("python", CRASHES)))
"""Rules for lines inside a traceback or a continued record."""

FORMAT_RULES: dict[str, tuple[str, ...]] = {"astrbot": ("astrbot", "botpy")}
"""A client format whose lines may carry another client's messages (AstrBot re-logs botpy's)."""
