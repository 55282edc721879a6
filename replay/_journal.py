"""JSON-lines journals: write every step of a run, and replay a journal through the current reducer.

Format (one orjson object per line):
``{"type": "header", "format": "qqgate-journal", "format_version": 1, "client": {...},
"seed": N, ...}`` then ``{"type": "step", "i": n, "input": {...}, "commands": [...]}``.

Secrets never reach a journal: every access token (and any secret registered up front,
such as the client secret) is replaced by a stable placeholder (``«token-1»``) in inputs
and commands alike, so a replay compares commands modulo that redaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Iterable

import orjson

import core

FORMAT = "qqgate-journal"
FORMAT_VERSION = 1


class JournalError(ValueError):
    """A journal cannot be read: the message names the line and what is wrong."""


class Redactor:
    """Replaces secrets with stable placeholders in every string of a record.

    ``add(secret, label)`` registers a secret; TokenIssued inputs register their token
    automatically (``«token-N»``). Placeholders are stable within one journal.
    """

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        self._secrets: dict[str, str] = {}
        self._tokens = 0
        for secret, label in secrets:
            self.add(secret, label)

    def add(self, secret: str, label: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets[secret] = f"«{label}»"

    def see_input(self, inp: core.Input) -> None:
        if isinstance(inp, core.TokenIssued) and isinstance(inp.token, str) and inp.token not in self._secrets:
            self._tokens += 1
            self.add(inp.token, f"token-{self._tokens}")

    def redact(self, value: Any) -> Any:
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


def step_record(i: int, inp: core.Input, commands: tuple[core.Command, ...], redactor: Redactor) -> dict[str, Any]:
    """The journal record of step ``i`` (secrets redacted)."""
    redactor.see_input(inp)
    return {"type": "step", "i": i,
            "input": redactor.redact(core.encode_input(inp)),
            "commands": [redactor.redact(core.encode_command(c)) for c in commands]}


def write_journal(out: IO[bytes], header: dict[str, Any],
                  steps: Iterable[tuple[core.Input, tuple[core.Command, ...]]],
                  redactor: Redactor | None = None) -> int:
    """Write a header and every step as JSON lines; return the number of steps written."""
    redactor = redactor or Redactor()
    head = {"type": "header", "format": FORMAT, "format_version": FORMAT_VERSION}
    head.update(header)
    out.write(orjson.dumps(head) + b"\n")
    n = 0
    for n, (inp, commands) in enumerate(steps, start=1):
        out.write(orjson.dumps(step_record(n, inp, commands, redactor)) + b"\n")
    return n


@dataclass
class Journal:
    """A parsed journal: header, steps as (line number, input, recorded command dicts)."""

    header: dict[str, Any]
    steps: list[tuple[int, core.Input, list[Any]]] = field(default_factory=list)
    truncated_tail: bool = False
    """True when the last line was cut short (a killed writer): it is ignored."""


def read_journal(data: bytes) -> Journal:
    """Parse a journal; raise JournalError naming the first unreadable line.

    A final line without its newline that does not parse is treated as a write cut short
    by a crash and ignored (``truncated_tail``).
    """
    lines = data.split(b"\n")
    complete_end = data.endswith(b"\n")
    if not lines or not lines[0].strip():
        raise JournalError("line 1: empty journal (no header)")
    journal: Journal | None = None
    for index, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if index == len(lines) and not complete_end and journal is not None:
                journal.truncated_tail = True
                break
            raise JournalError(f"line {index}: not JSON ({exc})") from None
        if journal is None:
            if not isinstance(record, dict) or record.get("type") != "header" or record.get("format") != FORMAT:
                raise JournalError(f"line {index}: not a {FORMAT} header")
            if record.get("format_version") != FORMAT_VERSION:
                raise JournalError(f"line {index}: format_version {record.get('format_version')!r} "
                                   f"is not {FORMAT_VERSION}")
            journal = Journal(header=record)
            continue
        if not isinstance(record, dict) or record.get("type") != "step":
            raise JournalError(f"line {index}: not a step record")
        try:
            inp = core.decode_input(record.get("input"))
        except core.CodecError as exc:
            raise JournalError(f"line {index}: {exc}") from None
        commands = record.get("commands")
        if not isinstance(commands, list):
            raise JournalError(f"line {index}: 'commands' is not a list")
        journal.steps.append((index, inp, commands))
    if journal is None:
        raise JournalError("no header found")
    return journal
