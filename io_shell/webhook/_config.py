"""ReceiverConfig: what the webhook receiver needs besides the webhook reducer's policies.

The bot's credentials (the AppSecret is the signing key), the journal target and the HTTP
limits. The reducer's policy numbers stay in ``core.webhook.WebhookConfig`` (the ``webhook``
field). Durations are in seconds. The secret never appears in ``repr``, logs or journals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from qqgate.core import webhook
from qqgate.core.journal import describe_webhook, journal_header

from .._config import ENV_APP_ID, ENV_CLIENT_SECRET, Recorder, ShellConfigError

ALLOWED_PORTS = (80, 443, 8080, 8443)
"""The ports QQ's platform accepts in a callback URL (bot-docs ``interface-framework/event-emit``
asks for an HTTPS callback address; the four ports are protocol.md's, "Webhook"). The receiver
itself may listen anywhere: a TLS reverse proxy on one of these ports forwards to it."""


@dataclass(frozen=True)
class ReceiverConfig:
    """Configuration of a WebhookReceiver.

    ``journal`` is None, a target string for ``io_shell.journal.open_recorder`` (a SQLite
    path or a ``postgresql://`` URL) or a ready Recorder. ``ack_after_commit``: with a
    journal, an event is acknowledged (op 12) only once its step is committed, so an
    acknowledged event is never lost to a crash (the restart finds it in the journal);
    ``commit_timeout_s`` bounds that wait. ``max_body_bytes``: larger bodies get 413.
    ``drain_timeout_s``: on ``stop()``, how long acknowledged events still queued may take
    to reach the handler. ``restore``: with a journal store, start from what the store's last
    webhook session of this bot left (``core.webhook.WebhookRehydration``): its handled event
    ids stay deduplicated and its acknowledged but unhandled events are delivered again, so
    neither a restart nor a crash loses or doubles an event QQ saw acknowledged. Raises
    ShellConfigError on a missing credential or a bad number, core.ConfigError on a bad
    ``webhook`` config.
    """

    app_id: str
    client_secret: str = field(repr=False)
    webhook: webhook.WebhookConfig = field(default_factory=webhook.WebhookConfig)
    journal: str | Recorder | None = None
    ack_after_commit: bool = True
    commit_timeout_s: float = 2.0
    max_body_bytes: int = 1 << 20
    drain_timeout_s: float = 5.0
    restore: bool = True

    def __post_init__(self) -> None:
        for name in ("app_id", "client_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ShellConfigError(f"ReceiverConfig.{name} must be a non-empty string")
        for name in ("commit_timeout_s", "drain_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ShellConfigError(f"ReceiverConfig.{name} must be a number > 0 (seconds), got {value!r}")
        if not isinstance(self.restore, bool) or not isinstance(self.ack_after_commit, bool):
            raise ShellConfigError("ReceiverConfig.restore and ack_after_commit must be bools")
        if not isinstance(self.max_body_bytes, int) or self.max_body_bytes < 1024:
            raise ShellConfigError(f"ReceiverConfig.max_body_bytes must be an integer >= 1024, got {self.max_body_bytes!r}")
        if not isinstance(self.webhook, webhook.WebhookConfig):
            raise ShellConfigError("ReceiverConfig.webhook must be a core.webhook.WebhookConfig")
        self.webhook.validate()
        if self.journal is not None and not isinstance(self.journal, (str, Recorder)):
            raise ShellConfigError("ReceiverConfig.journal must be None, a target string or a recorder")

    def __repr__(self) -> str:
        journal = self.journal if self.journal is None or isinstance(self.journal, str) else type(self.journal).__name__
        return (f"ReceiverConfig(app_id={self.app_id!r}, client_secret=<hidden>, journal={journal!r}, "
                f"ack_after_commit={self.ack_after_commit}, webhook={self.webhook!r})")

    __str__ = __repr__

    @property
    def secrets(self) -> Sequence[tuple[str, str]]:
        """(secret, label) pairs to redact from journals and logs (the same label as the WebSocket shell's)."""
        return ((self.client_secret, "client-secret"),)

    def journal_header(self) -> dict[str, Any]:
        """The header fields of this run's journal: the webhook reducer and its config, the bot,
        and the versions of the receiver's libraries. ``seed`` is 0: the reducer draws no randomness."""
        versions: dict[str, str] = {}
        for module in ("gevent", "cryptography"):
            try:
                versions[module] = str(__import__(module).__version__)
            except Exception:  # pragma: no cover - a missing optional module is not an error here
                continue
        return journal_header(describe_webhook(self.webhook), seed=0, app_id=self.app_id, versions=versions)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fields: Any) -> "ReceiverConfig":
        """Credentials from QQ_APP_ID and QQ_CLIENT_SECRET (the AppSecret signs and verifies
        callbacks), the rest from ``fields``. Raises ShellConfigError naming a missing variable."""
        source = os.environ if env is None else env
        values: dict[str, str] = {}
        for var, name in ((ENV_APP_ID, "app_id"), (ENV_CLIENT_SECRET, "client_secret")):
            value = source.get(var, "").strip()
            if not value:
                raise ShellConfigError(f"environment variable {var} is not set (the bot's "
                                       f"{'AppID' if name == 'app_id' else 'AppSecret'} from the QQ Open Platform)")
            values[name] = value
        return cls(app_id=values["app_id"], client_secret=values["client_secret"], **fields)
