"""StepEncoder: ``orjson.dumps(core.step_record(...))``, byte for byte, at a fraction of the cost.

``core.step_record`` is the reference; the encoder only takes two shortcuts, each checked:

- Inputs and commands are frozen dataclasses that orjson serializes natively, in field
  order, exactly as ``core.encode_input``/``encode_command`` flatten them (nested
  dataclasses as plain maps, enums by value, tuples as lists, bytes as ``{"$bytes": hex}``
  through ``default``). The first time it meets a class, the encoder compares its native
  bytes with the core codec's; a class that differs, has a field named ``type`` or one
  starting with ``_`` (orjson skips those), or any value orjson refuses (a non-str dict
  key, ...) takes the core codec's path from then on.
- Redaction walks every string once any secret is known (always: the client secret is
  registered up front). JSON escapes character by character, so a string holds a secret
  exactly when the encoded record holds the secret's escaped form
  (``orjson.dumps(secret)[1:-1]``): a record holding none is already redacted. One that
  holds one is re-encoded by ``core.step_record``. The secrets are the Redactor's own (its
  registered secrets and every access token ``see_input`` registers); if they cannot be
  read, every step takes the reference path.

tests/test_journal_store.py checks the equality on every journal in logs_samples/.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import orjson

from qqgate import core

_UNSEEN = b""


def _bytes_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _native(obj: Any, head: bytes) -> bytes:
    body = orjson.dumps(obj, default=_bytes_default)
    return head + b"}" if body == b"{}" else head + b"," + body[1:]


class StepEncoder:
    """Encodes the steps of one session in order with its ``core.Redactor`` (one writer only)."""

    def __init__(self, redactor: core.Redactor) -> None:
        self._redactor = redactor
        self._known = -1
        self._needles: list[bytes] | None = []
        self._heads: dict[type, bytes | None] = {}
        """Per class: ``{"type":"Name"`` when its native encoding is verified, None when not."""

    def _refresh(self) -> None:
        secrets: Any = getattr(self._redactor, "_secrets", None)
        if not isinstance(secrets, dict):
            self._needles = None  # unknown Redactor internals: always take the reference path
            return
        if len(secrets) != self._known:
            self._known = len(secrets)
            self._needles = [orjson.dumps(s)[1:-1] for s in secrets if isinstance(s, str) and s]

    def _learn(self, obj: Any, reference: Callable[[Any], dict[str, Any]]) -> bytes | None:
        cls = type(obj)
        head: bytes | None = None
        if dataclasses.is_dataclass(obj) and all(
                f.name != "type" and not f.name.startswith("_") for f in dataclasses.fields(obj)):
            candidate = b'{"type":' + orjson.dumps(cls.__name__)
            try:
                if _native(obj, candidate) == orjson.dumps(reference(obj)):
                    head = candidate
            except TypeError:
                pass
        self._heads[cls] = head
        return head

    def _encode(self, obj: Any, reference: Callable[[Any], dict[str, Any]]) -> bytes | None:
        head = self._heads.get(type(obj), _UNSEEN)
        if head == _UNSEEN:
            head = self._learn(obj, reference)
        return None if head is None else _native(obj, head)

    def encode(self, i: int, inp: core.Input, commands: tuple[core.Command, ...]) -> bytes:
        """The bytes of ``orjson.dumps(core.step_record(i, inp, commands, redactor))``.

        Raises what that would raise (orjson's TypeError) on a step that cannot be encoded.
        """
        self._redactor.see_input(inp)
        self._refresh()
        needles = self._needles
        if needles is not None:
            try:
                first = self._encode(inp, core.encode_input)
                rest = [self._encode(c, core.encode_command) for c in commands]
            except TypeError:
                first = None
            if first is not None and None not in rest:
                data = b'{"type":"step","i":%d,"input":%b,"commands":[%b]}' % (
                    i, first, b",".join(r for r in rest if r is not None))
                if not any(needle in data for needle in needles):
                    return data
        return orjson.dumps(core.step_record(i, inp, commands, self._redactor))
