"""Intents: the Identify ``intents`` bitmask as a public flag type with the docs' names.

Each member is one event group a bot subscribes to (protocol.md, "Intents", from bot-docs
``interface-framework/event-emit``: the intents table; the group and C2C events' page
``server-inter/group/manage/event`` gives 1<<25 for GROUP_ADD_ROBOT and the rest)::

    GUILDS                  1 << 0    guild create/update/delete, channel create/update/delete
    GUILD_MEMBERS           1 << 1    guild member add/update/remove
    GUILD_MESSAGES          1 << 9    MESSAGE_CREATE (private guilds only)
    GUILD_MESSAGE_REACTIONS 1 << 10   reactions
    DIRECT_MESSAGE          1 << 12   DIRECT_MESSAGE_CREATE (guild DMs)
    GROUP_AND_C2C_EVENT     1 << 25   C2C_MESSAGE_CREATE, GROUP_AT_MESSAGE_CREATE, FRIEND_ADD/DEL,
                                      GROUP_ADD_ROBOT/GROUP_DEL_ROBOT, *_MSG_REJECT/RECEIVE
    INTERACTION             1 << 26   INTERACTION_CREATE (buttons)
    MESSAGE_AUDIT           1 << 27   MESSAGE_AUDIT_PASS/REJECT
    FORUMS_EVENT            1 << 28   forum threads (private guilds only)
    AUDIO_ACTION            1 << 29   audio
    PUBLIC_GUILD_MESSAGES   1 << 30   AT_MESSAGE_CREATE (@-mentions in public guilds)

Bits without a name here (1<<23 and 1<<24 are used by botgo and NoneBot's adapter but not
documented, protocol.md "Corrections") are kept as they are: ``Intents(1 << 24)`` is valid.
``Intents`` is an ``int``, so it goes wherever an intents integer goes
(``core.Config(intents=Intents.GROUP_AND_C2C_EVENT | Intents.INTERACTION)``).
"""

from __future__ import annotations

import enum


class Intents(enum.IntFlag, boundary=enum.KEEP):
    """Identify intents (see the module docstring for the table and its sources)."""

    NONE = 0
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGE = 1 << 12
    GROUP_AND_C2C_EVENT = 1 << 25
    INTERACTION = 1 << 26
    MESSAGE_AUDIT = 1 << 27
    FORUMS_EVENT = 1 << 28
    AUDIO_ACTION = 1 << 29
    PUBLIC_GUILD_MESSAGES = 1 << 30

    @classmethod
    def default(cls) -> "Intents":
        """The core's default: ``GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES``."""
        return cls.GROUP_AND_C2C_EVENT | cls.PUBLIC_GUILD_MESSAGES

    @classmethod
    def parse(cls, text: str) -> "Intents":
        """``"GROUP_AND_C2C_EVENT | 0x4000000"``: names (any case) and integers (decimal or
        0x/0o/0b), joined by ``|`` or ``,``. Raises ValueError naming the bad part and the known
        names, or a negative or too large (≥ 2**31) value."""
        value = 0
        parts = [p.strip() for p in text.replace(",", "|").split("|")]
        if not any(parts):
            raise ValueError("intents are empty: give names like GROUP_AND_C2C_EVENT or an integer")
        for part in parts:
            if not part:
                raise ValueError(f"an empty part in intents {text!r}")
            member = cls.__members__.get(part.upper())
            if member is not None:
                value |= int(member)
                continue
            try:
                number = int(part, 0)
            except ValueError:
                names = ", ".join(n for n in cls.__members__ if n != "NONE")
                raise ValueError(f"unknown intent {part!r} (names: {names}; or an integer)") from None
            if not 0 <= number < 1 << 31:
                raise ValueError(f"intents must be >= 0 and < 2**31, got {part}")
            value |= number
        return cls(value)


__all__ = ["Intents"]
