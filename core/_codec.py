"""JSON-ready encoding of inputs and commands (journals, replay comparisons).

``encode_input``/``encode_command`` return plain dicts with a ``type`` key naming the
dataclass; ``decode_input``/``decode_command`` invert them and raise CodecError (a
ValueError) on anything malformed. Bytes (binary frames) are encoded as
``{"$bytes": "<hex>"}`` so that a replay reproduces binary-frame rejections too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import _commands as C
from . import _inputs as I
from ._phases import Phase


class CodecError(ValueError):
    """A journal record does not describe a known input or command."""


_INPUT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        I.Start, I.Stop, I.TokenIssued, I.TokenFailed, I.GatewayResolved, I.GatewayFailed,
        I.SocketOpened, I.FrameReceived, I.SocketClosed, I.ConnectFailed, I.SendFailed,
        I.DispatchSettled, I.Tick,
    )
}
_COMMAND_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        C.FetchToken, C.ResolveGateway, C.OpenSocket, C.SendFrame, C.CloseSocket, C.Deliver,
        C.StatusChanged, C.Fatal, C.Log,
    )
}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, Phase):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def encode_input(inp: I.Input) -> dict[str, Any]:
    """``{"type": "FrameReceived", "at": 1.5, "conn": 1, "text": "..."}`` for an input."""
    out: dict[str, Any] = {"type": type(inp).__name__}
    out.update(_plain(inp))
    return out


def encode_command(cmd: C.Command) -> dict[str, Any]:
    """``{"type": "SendFrame", "conn": 1, "text": "..."}`` for a command."""
    out: dict[str, Any] = {"type": type(cmd).__name__}
    out.update(_plain(cmd))
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


def decode_input(record: Any) -> I.Input:
    """Invert ``encode_input``; raise CodecError on a malformed record."""
    if not isinstance(record, dict) or record.get("type") not in _INPUT_TYPES:
        raise CodecError(f"not an input record: {str(record)[:120]}")
    cls = _INPUT_TYPES[record["type"]]
    body = {k: _unbytes(v) for k, v in record.items() if k != "type"}
    if cls is I.GatewayResolved and isinstance(body.get("session_start_limit"), dict):
        body["session_start_limit"] = _build(I.SessionStartLimit, body["session_start_limit"], "input")
    if not isinstance(body.get("at"), (int, float)) or isinstance(body.get("at"), bool):
        raise CodecError(f"input {cls.__name__} has no numeric 'at'")
    result: I.Input = _build(cls, body, "input")
    return result


def decode_command(record: Any) -> C.Command:
    """Invert ``encode_command``; raise CodecError on a malformed record."""
    if not isinstance(record, dict) or record.get("type") not in _COMMAND_TYPES:
        raise CodecError(f"not a command record: {str(record)[:120]}")
    cls = _COMMAND_TYPES[record["type"]]
    body = {k: v for k, v in record.items() if k != "type"}
    if cls is C.Deliver and isinstance(body.get("dispatch"), dict):
        body["dispatch"] = _build(C.Dispatch, body["dispatch"], "command")
    if cls is C.StatusChanged and isinstance(body.get("phase"), str):
        try:
            body["phase"] = Phase(body["phase"])
        except ValueError:
            raise CodecError(f"unknown phase {body['phase']!r}") from None
    result: C.Command = _build(cls, body, "command")
    return result
