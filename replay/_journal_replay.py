"""Journal replay: rebuild the reducer a journal was recorded with, and replay the journal through it.

The journal format (``core.journal``) reads and verifies a journal through a reducer it is
given; which reducers exist is replay's knowledge: the core, rebuilt from the header's
config, or the legacy hermes adapter model.
"""

from __future__ import annotations

from typing import Any

from qqgate import core
from qqgate.core.journal import Journal, JournalError, VerifyResult, verify

from .world import ClientModel, CoreClient


def model_from_header(header: dict[str, Any]) -> ClientModel:
    """Rebuild the reducer a journal header's ``client`` names; raise JournalError if it cannot."""
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


def replay_journal(journal: Journal) -> VerifyResult:
    """Replay every recorded input through the reducer the header names; stop at the first
    divergence. Raises JournalError when the header names no reducer that can be rebuilt."""
    return verify(journal, model_from_header(journal.header))
