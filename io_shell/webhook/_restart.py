"""Restarting a webhook receiver from its journal store: the last session of this bot, folded.

QQ never delivers again an event it saw acknowledged, so what a receiver took must outlive it
in the journal. ``load_restore_point`` finds the store's newest webhook session of the bot
(header ``client`` "webhook", same ``app_id``), folds its steps through the webhook reducer
(``core.webhook.WebhookRehydration``, from the header's config) and returns the
``CallbacksRestored`` a new receiver feeds before ``Start``: the ids of the events it handled
and the events it acknowledged but never handled. Blocking (it reads the store): call it
before serving.
"""

from __future__ import annotations

from dataclasses import dataclass

from qqgate.core import webhook
from qqgate.core.journal import read_journal


@dataclass(frozen=True)
class RestorePoint:
    """What a restart found: the journal ``session_id`` it folded, the ``steps`` folded, and
    ``restored`` (None: that session left nothing to remember)."""

    session_id: str
    steps: int
    restored: webhook.CallbacksRestored | None


def load_restore_point(target: str, app_id: str, at: float) -> RestorePoint | None:
    """The restore point of bot ``app_id`` in the journal store ``target`` (a SQLite path or a
    postgresql:// URL), for a ``CallbacksRestored`` at ``at`` (the caller's monotonic clock);
    None when there is no store yet or no webhook session of this bot in it.

    Raises what reading the store raises (JournalStoreError, JournalError) and core.ConfigError
    for a header config this reducer does not know.
    """
    from .. import journal as store
    if not store.looks_like_store(target):
        return None
    ours = [s for s in store.list_sessions(target)
            if isinstance(s.header.get("client"), dict) and s.header["client"].get("client") == "webhook"
            and s.header.get("app_id") == app_id]
    if not ours:
        return None
    parsed = read_journal(store.journal_bytes(target, ours[-1].session_id))
    rehydration = webhook.WebhookRehydration(
        webhook.WebhookConfig.from_dict(dict(parsed.header["client"].get("config") or {})))
    for _line, inp, _recorded in parsed.steps:
        rehydration.apply(inp)  # type: ignore[arg-type]  # a webhook session holds webhook inputs
    return RestorePoint(ours[-1].session_id, rehydration.steps, rehydration.restored(at))


__all__ = ["RestorePoint", "load_restore_point"]
