"""Verifying a journal: its recorded inputs replayed through a reducer, commands compared.

The reducer is passed in (the core, or any model with the core's signature): this package
does not know which reducers exist. ``replay`` rebuilds the one a header names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ._codec import JournalCommand, encode_command, encode_input
from ._reader import Journal, StreamedJournal


class Reducer(Protocol):
    """What ``verify`` replays through: a name, an initial state, and a pure ``step``."""

    @property
    def name(self) -> str: ...

    def initial_state(self) -> Any: ...

    def step(self, state: Any, inp: Any) -> tuple[Any, tuple[JournalCommand, ...]]: ...
    # ``inp`` is Any: a journal holds the inputs of the reducer its header names (the core's,
    # the webhook reducer's), and each reducer takes only its own.


@dataclass(frozen=True)
class Divergence:
    """The first step whose replayed commands differ from the recorded ones.

    ``step`` counts from 1, ``line`` is the journal line; ``input`` is the encoded input,
    ``recorded`` and ``replayed`` the two command lists as encoded records.
    """

    step: int
    line: int
    input: dict[str, Any]
    recorded: list[Any]
    replayed: list[Any]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a replay: ``client`` is the reducer's name, ``steps`` how many were compared
    (up to and including a divergence), ``divergence`` None when every step matched."""

    client: str
    steps: int
    divergence: Divergence | None
    truncated_tail: bool


def verify(journal: Journal | StreamedJournal, reducer: Reducer) -> VerifyResult:
    """Replay every recorded input through ``reducer`` from its initial state; stop at the
    first step whose commands, encoded, differ from the recorded ones. A streamed journal
    (``stream_journal``) is replayed as it is read, one step in memory at a time.

    Raises whatever ``reducer.step`` raises (the core never raises on bad input), and
    JournalError for a streamed journal's unreadable or missing step.
    """
    state = reducer.initial_state()
    steps = journal.steps() if isinstance(journal, StreamedJournal) else journal.steps
    count = 0
    for i, (line, inp, recorded) in enumerate(steps, start=1):
        count = i
        state, commands = reducer.step(state, inp)
        replayed = [encode_command(c) for c in commands]
        if replayed != recorded:
            return VerifyResult(reducer.name, i, Divergence(i, line, encode_input(inp), recorded, replayed),
                                journal.truncated_tail)
    return VerifyResult(reducer.name, count, None, journal.truncated_tail)
