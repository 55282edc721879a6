"""Journal records and lines: the portable, secret-free form of a run (pure; no I/O).

A journal is JSON lines, orjson-encoded, each newline-terminated: the header record
(``_header``), then one step record per step::

    {"type": "step", "i": n, "input": {...}, "commands": [...]}

``step_line`` is the one encoder of a step: the simulator's journals, the live shell's
journal store and ``qqgate export`` all hold exactly its bytes. Secrets never reach a record:
every registered secret and every access token becomes its ``Redactor`` placeholder, in
inputs and commands alike.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

import orjson

from ._codec import JournalCommand, JournalInput, encode_command, encode_input
from ._header import header_record
from ._redact import Redactor

Step = tuple[JournalInput, tuple[JournalCommand, ...]]
"""One step of a run: the input and the commands the reducer (the core or the webhook reducer) returned for it."""


def step_record(i: int, inp: JournalInput, commands: tuple[JournalCommand, ...], redactor: Redactor) -> dict[str, Any]:
    """The journal record of step ``i`` (counting from 1) with secrets redacted.

    Registers the token of a TokenIssued input with ``redactor`` first, so steps must be
    given in order.
    """
    redactor.see_input(inp)
    text = redactor.text
    return {"type": "step", "i": i, "input": encode_input(inp, text),
            "commands": [encode_command(c, text) for c in commands]}


def step_line(i: int, inp: JournalInput, commands: tuple[JournalCommand, ...], redactor: Redactor) -> bytes:
    """``step_record`` as a journal line, without its newline.

    Raises TypeError (orjson's) for a value that is not JSON-serializable.
    """
    return orjson.dumps(step_record(i, inp, commands, redactor))


def header_line(fields: Mapping[str, Any], redactor: Redactor | None = None) -> bytes:
    """The header record of ``fields`` as a journal line, without its newline, redacted."""
    record = header_record(fields)
    return orjson.dumps(redactor.redact(record) if redactor is not None else record)


def journal_lines(header: Mapping[str, Any], steps: Iterable[Step],
                  redactor: Redactor | None = None) -> Iterator[bytes]:
    """Every line of a journal, each ending in a newline: the header, then step 1, 2, ...

    ``header``: the fields of ``journal_header``. ``redactor`` (default: a new one, which
    still redacts every access token) is used for the steps only, as the simulator's
    journals always were.
    """
    redactor = redactor or Redactor()
    yield header_line(header) + b"\n"
    for i, (inp, commands) in enumerate(steps, start=1):
        yield step_line(i, inp, commands, redactor) + b"\n"
