"""Journal replay: feed recorded inputs through the current reducer and compare commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qqgate import core

from ._journal import Journal, JournalError
from .world import ClientModel, CoreClient


@dataclass(frozen=True)
class Divergence:
    """The first step whose replayed commands differ from the recorded ones."""

    step: int
    line: int
    input: dict[str, Any]
    recorded: list[Any]
    replayed: list[Any]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a replay: ``steps`` compared, ``divergence`` None when identical."""

    client: str
    steps: int
    divergence: Divergence | None
    truncated_tail: bool


def model_from_header(header: dict[str, Any]) -> ClientModel:
    """Rebuild the reducer a journal was recorded with; raise JournalError if unknown."""
    client = header.get("client")
    if not isinstance(client, dict):
        raise JournalError("header has no 'client' description")
    kind = client.get("client")
    try:
        if kind == "core":
            return CoreClient(core.Config.from_dict(dict(client.get("config") or {})))
        if kind == "legacy":
            from .legacy import LegacyConfig, LegacyModel
            return LegacyModel(LegacyConfig(**dict(client.get("config") or {})))
    except (TypeError, ValueError) as exc:
        raise JournalError(f"header client config: {exc}") from None
    raise JournalError(f"header names an unknown client {kind!r}")


def verify(journal: Journal) -> VerifyResult:
    """Replay every recorded input; stop at the first divergence."""
    model = model_from_header(journal.header)
    state = model.initial_state()
    for i, (line, inp, recorded) in enumerate(journal.steps, start=1):
        state, commands = model.step(state, inp)
        replayed = [core.encode_command(c) for c in commands]
        if replayed != recorded:
            return VerifyResult(model.name, i, Divergence(i, line, core.encode_input(inp), recorded, replayed),
                                journal.truncated_tail)
    return VerifyResult(model.name, len(journal.steps), None, journal.truncated_tail)
