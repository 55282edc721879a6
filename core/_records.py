"""Journal records: the portable, secret-free form of one step (pure; no I/O).

Shared by io_shell (which journals live runs) and replay (which writes simulated runs and
replays both). A record is ``{"type": "step", "i": n, "input": {...}, "commands": [...]}``.
Secrets never reach a record: every access token (and any secret registered up front,
such as the client secret) is replaced by a stable placeholder (``«token-1»``) in inputs
and commands alike, so a replay compares commands modulo that redaction.
"""

from __future__ import annotations

from typing import Any, Iterable

from ._codec import encode_command, encode_input
from ._commands import Command
from ._inputs import Input, TokenIssued

FORMAT = "qqgate-journal"
FORMAT_VERSION = 1


class Redactor:
    """Replaces secrets with stable placeholders in every string of a record.

    ``add(secret, label)`` registers a secret (placeholder ``«label»``); TokenIssued inputs
    register their token automatically as ``«token-N»``. Empty secrets are ignored.
    """

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        self._secrets: dict[str, str] = {}
        self._tokens = 0
        for secret, label in secrets:
            self.add(secret, label)

    def add(self, secret: str, label: str) -> None:
        """Register ``secret``; it will be written as ``«label»``."""
        if secret and secret not in self._secrets:
            self._secrets[secret] = f"«{label}»"

    def see_input(self, inp: Input) -> None:
        """Register the token of a TokenIssued input before it is recorded."""
        if isinstance(inp, TokenIssued) and isinstance(inp.token, str) and inp.token not in self._secrets:
            self._tokens += 1
            self.add(inp.token, f"token-{self._tokens}")

    def redact(self, value: Any) -> Any:
        """``value`` (str, dict, list, scalar) with every registered secret replaced."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            for secret, placeholder in self._secrets.items():
                if secret in value:
                    value = value.replace(secret, placeholder)
            return value
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        return value


def step_record(i: int, inp: Input, commands: tuple[Command, ...], redactor: Redactor) -> dict[str, Any]:
    """The journal record of step ``i`` with secrets redacted."""
    redactor.see_input(inp)
    return {"type": "step", "i": i,
            "input": redactor.redact(encode_input(inp)),
            "commands": [redactor.redact(encode_command(c)) for c in commands]}


def header_record(fields: dict[str, Any]) -> dict[str, Any]:
    """A journal header: the format marker plus ``fields`` (client description, seed, versions)."""
    head: dict[str, Any] = {"type": "header", "format": FORMAT, "format_version": FORMAT_VERSION}
    head.update(fields)
    return head
