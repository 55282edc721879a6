"""JSON-ready encoding of the core's inputs and commands (journal records, replay comparisons).

``encode_input``/``encode_command`` return plain dicts with a ``type`` key naming the
dataclass, then its fields in declaration order (nested dataclasses as plain maps, enums by
value, tuples as lists). ``decode_input``/``decode_command`` invert them and raise
CodecError on anything malformed. Bytes (binary frames) are encoded as
``{"$bytes": "<hex>"}`` so that a replay reproduces binary-frame rejections too.

The known types are the members of ``core.Input`` and ``core.Command`` and of the webhook
reducer's ``core.webhook.WebhookInput`` and ``WebhookCommand`` (the two share the core's
``Start``, ``Stop``, ``DispatchSettled``, ``Deliver``, ``StatusChanged``, ``Fatal`` and ``Log``):
a type either reducer adds is journaled without touching this module.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Union

from .. import Command, Deliver, Dispatch, GatewayResolved, Input, Phase, SessionStartLimit, StatusChanged
from ..webhook import CallbacksRestored, WebhookCommand, WebhookInput
from ._errors import CodecError

JournalInput = Union[Input, WebhookInput]
"""Any input a journal may hold: the WebSocket core's or the webhook reducer's."""
JournalCommand = Union[Command, WebhookCommand]
"""Any command a journal may hold."""

_INPUT_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(JournalInput)}
_COMMAND_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(JournalCommand)}

Text = Callable[[str], str]
"""A function applied to every string of an encoded record (redaction)."""

_AS_IS = frozenset({int, float, bool, type(None)})
"""Types whose values are already JSON-ready (exact types: an IntEnum is not)."""
_FIELDS: dict[type, tuple[str, ...]] = {}
"""Field names of every dataclass met so far, in declaration order."""


_OMIT_DEFAULTS: dict[type, dict[str, Any]] = {}
"""Per dataclass, the fields left out of a record while they hold their default: fields added
after journals were written (``metadata={"journal": "omit_default"}``), so those journals and
the new encoder stay byte-identical."""


def _field_names(cls: type) -> tuple[str, ...] | None:
    names = _FIELDS.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(cls):
            return None
        fields = dataclasses.fields(cls)
        names = _FIELDS[cls] = tuple(f.name for f in fields)
        _OMIT_DEFAULTS[cls] = {f.name: f.default for f in fields if f.metadata.get("journal") == "omit_default"}
    return names


def _plain(value: Any, text: Text | None) -> Any:
    cls = type(value)
    if cls is str:
        return value if text is None else text(value)
    if cls in _AS_IS:
        return value
    if isinstance(value, bytes):
        hexed = value.hex()
        return {"$bytes": hexed if text is None else text(hexed)}
    if isinstance(value, Phase):
        return value.value if text is None else text(value.value)
    names = _field_names(cls)
    if names is not None:
        omit = _OMIT_DEFAULTS[cls]
        if omit:
            return {name: _plain(getattr(value, name), text) for name in names
                    if name not in omit or getattr(value, name) != omit[name]}
        return {name: _plain(getattr(value, name), text) for name in names}
    if isinstance(value, dict):
        return {str(k): _plain(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, text) for v in value]
    if text is not None and isinstance(value, str):
        return text(value)
    return value


def encode_input(inp: JournalInput, text: Text | None = None) -> dict[str, Any]:
    """``{"type": "FrameReceived", "at": 1.5, "conn": 1, "text": "..."}`` for an input.

    ``text``, when given, is applied to every string value (not to keys): ``Redactor.text``.
    """
    return _plain_with_type(inp, text)


def encode_command(cmd: JournalCommand, text: Text | None = None) -> dict[str, Any]:
    """``{"type": "SendFrame", "conn": 1, "text": "..."}`` for a command; ``text`` as for inputs."""
    return _plain_with_type(cmd, text)


def _plain_with_type(value: Any, text: Text | None) -> dict[str, Any]:
    name = type(value).__name__
    out: dict[str, Any] = {"type": name if text is None else text(name)}
    out.update(_plain(value, text))
    return out


def _unbytes(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        try:
            return bytes.fromhex(value["$bytes"])
        except (TypeError, ValueError) as exc:
            raise CodecError(f"bad $bytes value: {exc}") from None
    return value


def _build(cls: type[Any], fields_in: dict[str, Any], kind: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(fields_in) - names
    if unknown:
        raise CodecError(f"{kind} {cls.__name__} has unknown fields {sorted(unknown)}")
    try:
        return cls(**fields_in)
    except TypeError as exc:
        raise CodecError(f"{kind} {cls.__name__}: {exc}") from None


def decode_input(record: Any) -> JournalInput:
    """Invert ``encode_input``; raise CodecError on a malformed record."""
    if not isinstance(record, dict) or record.get("type") not in _INPUT_TYPES:
        raise CodecError(f"not an input record: {str(record)[:120]}")
    cls = _INPUT_TYPES[record["type"]]
    body = {k: _unbytes(v) for k, v in record.items() if k != "type"}
    if cls is GatewayResolved and isinstance(body.get("session_start_limit"), dict):
        body["session_start_limit"] = _build(SessionStartLimit, body["session_start_limit"], "input")
    if cls is CallbacksRestored:
        if isinstance(body.get("dedupe_keys"), list):
            body["dedupe_keys"] = tuple(body["dedupe_keys"])
        if isinstance(body.get("unhandled"), list):
            body["unhandled"] = tuple(_build(Dispatch, d, "input") if isinstance(d, dict) else d
                                      for d in body["unhandled"])
    if not isinstance(body.get("at"), (int, float)) or isinstance(body.get("at"), bool):
        raise CodecError(f"input {cls.__name__} has no numeric 'at'")
    result: JournalInput = _build(cls, body, "input")
    return result


def decode_command(record: Any) -> JournalCommand:
    """Invert ``encode_command``; raise CodecError on a malformed record."""
    if not isinstance(record, dict) or record.get("type") not in _COMMAND_TYPES:
        raise CodecError(f"not a command record: {str(record)[:120]}")
    cls = _COMMAND_TYPES[record["type"]]
    body = {k: v for k, v in record.items() if k != "type"}
    if cls is Deliver and isinstance(body.get("dispatch"), dict):
        body["dispatch"] = _build(Dispatch, body["dispatch"], "command")
    if cls is StatusChanged and isinstance(body.get("phase"), str):
        try:
            body["phase"] = Phase(body["phase"])
        except ValueError:
            raise CodecError(f"unknown phase {body['phase']!r}") from None
    result: JournalCommand = _build(cls, body, "command")
    return result
