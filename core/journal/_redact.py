"""Redaction: secrets replaced by stable placeholders before anything is written or shown.

Every journal record, every log field the shell writes and every REST error message goes
through a ``Redactor``: the access token and the client secret never appear in any output
(design.md, "The journal"). Placeholders are stable (``«token-1»`` is the first access token
of a session, ``«client-secret»`` the secret registered up front), so a replay compares
commands modulo redaction.
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import TokenIssued


class Redactor:
    """Replaces secrets with stable placeholders in every string of a value.

    ``Redactor([(secret, label), ...])`` registers secrets up front (placeholder
    ``«label»``); TokenIssued inputs passed to ``see_input`` register their token as
    ``«token-N»``. Empty secrets are ignored. One Redactor per journal session or client:
    token numbering is its state.
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

    def see_input(self, inp: object) -> None:
        """Register the token of a TokenIssued input before it is recorded."""
        if isinstance(inp, TokenIssued) and isinstance(inp.token, str) and inp.token not in self._secrets:
            self._tokens += 1
            self.add(inp.token, f"token-{self._tokens}")

    def text(self, value: str) -> str:
        """``value`` with every registered secret replaced by its placeholder."""
        for secret, placeholder in self._secrets.items():
            if secret in value:
                value = value.replace(secret, placeholder)
        return value

    def redact(self, value: Any) -> Any:
        """``value`` (str, dict, list, scalar) with every registered secret replaced.

        Dict values and list items are redacted (keys are not); dicts and lists are copied,
        never changed in place; other values come back as they are.
        """
        if not self._secrets:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        return value
