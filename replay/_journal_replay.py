"""Journal replay: rebuild the reducer a journal was recorded with, and replay the journal through it.

The journal format (``core.journal``) reads and verifies a journal through a reducer it is
given; which reducers exist is replay's knowledge: the core, rebuilt from the header's
config, the webhook reducer (``core.webhook``, likewise), the legacy hermes adapter model, or the botpy model.
"""

from __future__ import annotations

from typing import Any

from qqgate import core
from qqgate.core import webhook
from qqgate.core.journal import Journal, JournalError, Reducer, VerifyResult, verify

from .world import CoreClient


class WebhookClient:
    """Adapter: ``core.webhook.step`` behind the journal's ``Reducer`` protocol."""

    name = "webhook"

    def __init__(self, config: webhook.WebhookConfig | None = None) -> None:
        self.config = config or webhook.WebhookConfig()
        self.config.validate()

    def initial_state(self) -> webhook.WebhookState:
        return webhook.initial_state(self.config)

    def step(self, state: webhook.WebhookState,
             inp: webhook.WebhookInput) -> tuple[webhook.WebhookState, tuple[webhook.WebhookCommand, ...]]:
        return webhook.step(state, inp)

    def describe(self) -> dict[str, Any]:
        return {"client": "webhook", "version": webhook.__version__, "config": self.config.to_dict()}


def model_from_header(header: dict[str, Any]) -> Reducer:
    """Rebuild the reducer a journal header's ``client`` names; raise JournalError if it cannot."""
    client = header.get("client")
    if not isinstance(client, dict):
        raise JournalError("header has no 'client' description")
    kind = client.get("client")
    try:
        if kind == "core":
            return CoreClient(core.Config.from_dict(dict(client.get("config") or {})))
        if kind == "webhook":
            return WebhookClient(webhook.WebhookConfig.from_dict(dict(client.get("config") or {})))
        if kind == "legacy":
            from .legacy import LegacyConfig, LegacyModel
            return LegacyModel(LegacyConfig(**dict(client.get("config") or {})))
        if kind == "botpy":
            from .legacy import BotpyConfig, BotpyModel
            return BotpyModel(BotpyConfig(**dict(client.get("config") or {})))
    except (TypeError, ValueError) as exc:
        raise JournalError(f"header client config: {exc}") from None
    raise JournalError(f"header names an unknown client {kind!r}")


def replay_journal(journal: Journal) -> VerifyResult:
    """Replay every recorded input through the reducer the header names; stop at the first
    divergence. Raises JournalError when the header names no reducer that can be rebuilt."""
    return verify(journal, model_from_header(journal.header))
