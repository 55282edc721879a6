"""WebhookConfig: every policy number of the webhook reducer, with its default and its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .._config import ConfigError


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Policies of the webhook (HTTP callback) reducer. Durations are in seconds.

    Raises ConfigError (the core's) from ``validate()`` (called by ``initial_state``) on a
    bad value; the message names the field.
    """

    timestamp_window_s: float = 300.0
    """A signed callback whose ``X-Signature-Timestamp`` is more than this many seconds away
    from the receiver's wall clock (either way) is rejected with 401. This replay guard is
    our addition: the docs ask for no freshness check (bot-docs ``interface-framework/sign``
    verifies the signature only), so without it a captured request could be replayed for
    ever. Five minutes is the tolerance Slack and Stripe use for the same check; QQ's
    redeliveries of one event come within seconds to a minute (AstrBot PR #6320 dedupes them
    over 60 s), and the window must also absorb the two hosts' clock skew."""
    dedupe_window: int = 8192
    """How many recent event ids are remembered to drop redeliveries. QQ redelivers a callback
    whose answer was late or failed up to 3 times with the same top-level ``id`` (AstrBot PR
    #6320); AstrBot keeps ids for 60 s, this keeps at least this many ids."""
    max_in_flight: int = 1000
    """Deliveries handed to the host's handler and not yet settled beyond which a new event is
    answered ``{"op":12,"d":1}`` (botgo: ``d`` 1 asks the server to retry) instead of being
    queued: back-pressure through QQ's own retries rather than an unbounded queue."""
    fatal_after_rejections: int = 20
    """Emit ``Fatal(retryable=True)`` once after this many callbacks in a row were rejected for
    their signature or timestamp with none accepted: a wrong AppSecret or a host clock far
    off rejects every callback, and that must not stay silent."""
    allow_unsigned_validation: bool = False
    """Answer an op 13 validation that carries no ``X-Signature-Ed25519`` header. Off by
    default: botgo (tencent-connect/botgo ``interaction/webhook``) verifies the signature of
    every callback, op 13 included, and an unsigned op 13 answered is a signing oracle:
    ``signature(event_ts + plain_token)`` is exactly a valid event signature for the timestamp
    ``event_ts`` and the body ``plain_token``. When on, a ``plain_token`` holding ``{`` (so one
    that could end in a JSON body) and an ``event_ts`` that is not all digits are still
    refused."""

    def validate(self) -> None:
        """Raise ConfigError naming the first field that is out of range."""
        window = self.timestamp_window_s
        if not isinstance(window, (int, float)) or isinstance(window, bool) or not window > 0:
            raise ConfigError(f"WebhookConfig.timestamp_window_s must be a number > 0 (seconds), got {window!r}")
        for name in ("dedupe_window", "max_in_flight", "fatal_after_rejections"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"WebhookConfig.{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.allow_unsigned_validation, bool):
            raise ConfigError("WebhookConfig.allow_unsigned_validation must be a bool")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (journal headers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WebhookConfig":
        """Build a WebhookConfig from ``to_dict`` output; unknown keys raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown WebhookConfig fields: {', '.join(unknown)}")
        config = cls(**data)
        config.validate()
        return config
