"""Typed events: the dispatches a bot lives on, as frozen dataclasses, the raw ``d`` kept alongside.

``parse_event(dispatch, sender)`` turns a ``core.Dispatch`` (from either transport: the gateway
or the webhook receiver) into one of these; a dispatch of another type, or one whose fields do
not fit (a missing target id, a wrong type), stays a plain ``Event`` with ``problem`` saying
why: parsing never raises. Every event keeps ``raw`` (the ``d`` object as received) and
``dispatch`` (the ``core.Dispatch``: ``seq``, ``event_id``).

Shapes (bot-docs ``server-inter/message/send-receive/event``, ``server-inter/group/manage/
event``, ``server-inter/user/manage/event``, ``server-inter/message/trans/msg-btn``;
protocol.md "Frames"; field names as botpy 1.2.1 reads them)::

    C2C_MESSAGE_CREATE       C2CMessage      d.id, d.content, d.author.user_openid
    GROUP_AT_MESSAGE_CREATE  GroupMessage    d.id, d.content, d.group_openid, d.author.member_openid
    AT_MESSAGE_CREATE        ChannelMessage  d.id, d.content, d.channel_id, d.guild_id, d.author.id
    DIRECT_MESSAGE_CREATE    DirectMessage   d.id, d.content, d.guild_id, d.channel_id, d.author.id
    INTERACTION_CREATE       Interaction     d.id, d.type, d.chat_type, d.scene, the target ids,
                                             d.data.resolved.button_id / button_data
    GROUP_ADD_ROBOT, GROUP_DEL_ROBOT         GroupMembership   d.group_openid, d.op_member_openid
    FRIEND_ADD, FRIEND_DEL                   Friendship        d.openid

``reply(content, **fields)`` answers a message (``msg_id``, with the next ``msg_seq``) or an
event (``event_id``) where QQ allows one, through the ``MessageSender`` the event was parsed
with; it blocks the calling thread. ``await areply(...)`` does the same from asyncio (in the
loop's default executor).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from qqgate import core

if TYPE_CHECKING:
    from ._sender import Kind, MessageSender, Sent

log = logging.getLogger("qqgate.events")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Any dispatch. ``event_type`` is its ``t``; ``raw`` its ``d``; ``problem`` says why a
    dispatch of a known type was left untyped (None otherwise)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ()
    event_type: str
    raw: Any = field(repr=False)
    dispatch: core.Dispatch = field(repr=False, compare=False)
    problem: str | None = None
    sender: "MessageSender | None" = field(default=None, repr=False, compare=False)

    @property
    def seq(self) -> int:
        """The dispatch's ``s`` (the webhook's delivery number)."""
        return self.dispatch.seq

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]] | None:
        return None

    def reply(self, content: str | None = None, **fields: Any) -> "Sent":
        """Answer this event (see the module docstring); blocks. Raises RuntimeError when the
        event cannot be answered or has no sender, and what ``MessageSender.send`` raises."""
        target = self._reply_target()
        if target is None:
            raise RuntimeError(f"a {self.event_type} event cannot be replied to")
        if self.sender is None:
            raise RuntimeError("this event has no MessageSender: parse it with parse_event(dispatch, sender)")
        kind, to, ref = target
        return self.sender.send(kind, to, content, **{**ref, **fields})

    async def areply(self, content: str | None = None, **fields: Any) -> "Sent":
        """``reply`` from asyncio: runs in the running loop's default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.reply, content, **fields))


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Event):
    """A message: its ``id`` (``msg_id`` of a reply), ``content``, ``timestamp`` (as sent),
    ``author_id`` (the openid or guild user id), ``attachments`` (raw objects)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE", "AT_MESSAGE_CREATE",
                                              "DIRECT_MESSAGE_CREATE")
    id: str
    content: str
    timestamp: str | None = None
    author_id: str = ""
    attachments: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class C2CMessage(Message):
    """C2C_MESSAGE_CREATE: a user wrote to the bot (intent GROUP_AND_C2C_EVENT)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("C2C_MESSAGE_CREATE",)
    user_openid: str

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]]:
        return "c2c", self.user_openid, {"msg_id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMessage(Message):
    """GROUP_AT_MESSAGE_CREATE: the bot was @-mentioned in a group (intent GROUP_AND_C2C_EVENT)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("GROUP_AT_MESSAGE_CREATE",)
    group_openid: str
    member_openid: str = ""

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]]:
        return "group", self.group_openid, {"msg_id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelMessage(Message):
    """AT_MESSAGE_CREATE: the bot was @-mentioned in a guild channel (PUBLIC_GUILD_MESSAGES)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("AT_MESSAGE_CREATE",)
    channel_id: str
    guild_id: str = ""
    author_username: str = ""

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]]:
        return "channel", self.channel_id, {"msg_id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectMessage(Message):
    """DIRECT_MESSAGE_CREATE: a guild direct message (intent DIRECT_MESSAGE)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("DIRECT_MESSAGE_CREATE",)
    guild_id: str
    channel_id: str = ""
    author_username: str = ""

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]]:
        return "dm", self.guild_id, {"msg_id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class Interaction(Event):
    """INTERACTION_CREATE: a button was pressed (intent INTERACTION). ``chat_type`` 0 guild,
    1 group, 2 C2C (``scene`` says the same as "guild"/"group"/"c2c"); ``button_id`` and
    ``button_data`` from ``d.data.resolved``. A reply goes where the button was, with
    ``event_id``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("INTERACTION_CREATE",)
    id: str
    type: int | None = None
    chat_type: int | None = None
    scene: str | None = None
    group_openid: str | None = None
    group_member_openid: str | None = None
    user_openid: str | None = None
    channel_id: str | None = None
    guild_id: str | None = None
    button_id: str | None = None
    button_data: str | None = None

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]] | None:
        ref = {"event_id": self.id}
        if self.group_openid:
            return "group", self.group_openid, ref
        if self.user_openid:
            return "c2c", self.user_openid, ref
        if self.channel_id:
            return "channel", self.channel_id, ref
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMembership(Event):
    """GROUP_ADD_ROBOT / GROUP_DEL_ROBOT: the bot joined (``added``) or left a group; a join may
    be answered (``event_id``, the send page)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("GROUP_ADD_ROBOT", "GROUP_DEL_ROBOT")
    group_openid: str
    op_member_openid: str = ""
    timestamp: Any = None

    @property
    def added(self) -> bool:
        return self.event_type == "GROUP_ADD_ROBOT"

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]] | None:
        if not self.added or not self.dispatch.event_id:
            return None
        return "group", self.group_openid, {"event_id": self.dispatch.event_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class Friendship(Event):
    """FRIEND_ADD / FRIEND_DEL: a user added (``added``) or removed the bot; an add may be
    answered (``event_id``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("FRIEND_ADD", "FRIEND_DEL")
    openid: str
    timestamp: Any = None

    @property
    def added(self) -> bool:
        return self.event_type == "FRIEND_ADD"

    def _reply_target(self) -> tuple["Kind", str, dict[str, Any]] | None:
        if not self.added or not self.dispatch.event_id:
            return None
        return "c2c", self.openid, {"event_id": self.dispatch.event_id}


class _Unfit(Exception):
    """A field the event needs is missing or of the wrong type."""


def _obj(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unfit(f"{name} is not an object")
    return value


def _str(obj: Mapping[str, Any], key: str, name: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Unfit(f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Unfit(f"{name} is not a string")
    return str(value)


def _int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _need(obj: Mapping[str, Any], key: str, name: str) -> str:
    value = _str(obj, key, name, required=True)
    assert value is not None
    return value


def _message_fields(d: Mapping[str, Any]) -> dict[str, Any]:
    content = d.get("content", "")
    if not isinstance(content, str):
        raise _Unfit("d.content is not a string")
    attachments = d.get("attachments")
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list):
        raise _Unfit("d.attachments is not a list")
    timestamp = d.get("timestamp")
    return {"id": _need(d, "id", "d.id"), "content": content,
            "timestamp": str(timestamp) if timestamp is not None else None,
            "attachments": tuple(a for a in attachments if isinstance(a, dict))}


def _c2c(d: Mapping[str, Any]) -> dict[str, Any]:
    author = _obj(d.get("author"), "d.author")
    openid = _str(author, "user_openid", "d.author.user_openid") or _need(author, "id", "d.author.user_openid")
    return {**_message_fields(d), "user_openid": openid, "author_id": openid}


def _group(d: Mapping[str, Any]) -> dict[str, Any]:
    author = _obj(d.get("author"), "d.author")
    member = _str(author, "member_openid", "d.author.member_openid") or _str(author, "id", "d.author.id") or ""
    group = _str(d, "group_openid", "d.group_openid") or _need(d, "group_id", "d.group_openid")
    return {**_message_fields(d), "group_openid": group, "member_openid": member, "author_id": member}


def _guild_message(d: Mapping[str, Any], where: str) -> dict[str, Any]:
    author = _obj(d.get("author"), "d.author")
    fields = {**_message_fields(d), "author_id": _str(author, "id", "d.author.id") or "",
              "author_username": _str(author, "username", "d.author.username") or ""}
    if where == "channel":
        return {**fields, "channel_id": _need(d, "channel_id", "d.channel_id"),
                "guild_id": _str(d, "guild_id", "d.guild_id") or ""}
    return {**fields, "guild_id": _need(d, "guild_id", "d.guild_id"),
            "channel_id": _str(d, "channel_id", "d.channel_id") or ""}


def _interaction(d: Mapping[str, Any]) -> dict[str, Any]:
    data = _obj(d.get("data"), "d.data")
    resolved = _obj(data.get("resolved"), "d.data.resolved")
    return {"id": _need(d, "id", "d.id"), "type": _int(d, "type"), "chat_type": _int(d, "chat_type"),
            "scene": _str(d, "scene", "d.scene"), "group_openid": _str(d, "group_openid", "d.group_openid"),
            "group_member_openid": _str(d, "group_member_openid", "d.group_member_openid"),
            "user_openid": _str(d, "user_openid", "d.user_openid"),
            "channel_id": _str(d, "channel_id", "d.channel_id"), "guild_id": _str(d, "guild_id", "d.guild_id"),
            "button_id": _str(resolved, "button_id", "d.data.resolved.button_id"),
            "button_data": _str(resolved, "button_data", "d.data.resolved.button_data")}


def _group_membership(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"group_openid": _need(d, "group_openid", "d.group_openid"),
            "op_member_openid": _str(d, "op_member_openid", "d.op_member_openid") or "",
            "timestamp": d.get("timestamp")}


def _friendship(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"openid": _need(d, "openid", "d.openid"), "timestamp": d.get("timestamp")}


_PARSERS: dict[str, tuple[type[Event], Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "C2C_MESSAGE_CREATE": (C2CMessage, _c2c),
    "GROUP_AT_MESSAGE_CREATE": (GroupMessage, _group),
    "AT_MESSAGE_CREATE": (ChannelMessage, lambda d: _guild_message(d, "channel")),
    "DIRECT_MESSAGE_CREATE": (DirectMessage, lambda d: _guild_message(d, "dm")),
    "INTERACTION_CREATE": (Interaction, _interaction),
    "GROUP_ADD_ROBOT": (GroupMembership, _group_membership),
    "GROUP_DEL_ROBOT": (GroupMembership, _group_membership),
    "FRIEND_ADD": (Friendship, _friendship),
    "FRIEND_DEL": (Friendship, _friendship),
}
EVENT_TYPES: tuple[str, ...] = tuple(_PARSERS)
"""The dispatch types parsed into a typed event."""


def parse_event(dispatch: core.Dispatch, sender: "MessageSender | None" = None) -> Event:
    """``dispatch`` as its typed event (an ``Event`` with ``problem`` set when its fields do not
    fit, a plain ``Event`` for any other type). Never raises."""
    entry = _PARSERS.get(dispatch.event_type)
    d = dispatch.data
    if entry is None:
        return Event(event_type=dispatch.event_type, raw=d, dispatch=dispatch, sender=sender)
    cls, parse = entry
    try:
        if not isinstance(d, dict):
            raise _Unfit("d is not an object")
        fields = parse(d)
    except _Unfit as exc:
        problem = f"{dispatch.event_type} s={dispatch.seq}: {exc}"
        log.warning("event left untyped: %s", problem, extra={"qqgate_event": "event_untyped",
                                                              "qqgate_fields": {"problem": problem}})
        return Event(event_type=dispatch.event_type, raw=d, dispatch=dispatch, problem=problem, sender=sender)
    return cls(event_type=dispatch.event_type, raw=d, dispatch=dispatch, sender=sender, **fields)


__all__ = ["C2CMessage", "ChannelMessage", "DirectMessage", "EVENT_TYPES", "Event", "Friendship", "GroupMembership",
           "GroupMessage", "Interaction", "Message", "parse_event"]
