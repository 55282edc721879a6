"""Config: every policy number of the core, with its default and its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# Intents (protocol.md, "Intents").
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGE = 1 << 12
GROUP_AND_C2C_EVENT = 1 << 25
INTERACTION = 1 << 26
MESSAGE_AUDIT = 1 << 27
FORUMS_EVENT = 1 << 28
AUDIO_ACTION = 1 << 29
PUBLIC_GUILD_MESSAGES = 1 << 30


class ConfigError(ValueError):
    """A Config field is out of range; the message names the field and the bound."""


@dataclass(frozen=True, slots=True)
class Config:
    """Policies of the connection core. All durations are in seconds.

    Defaults follow design.md and protocol.md; each field says where its number comes from.
    Raises ConfigError from ``validate()`` (called by ``initial_state``) on a bad value.
    """

    intents: int = GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES
    """Identify ``intents`` bitmask (protocol.md, "Intents")."""
    shard_id: int = 0
    shard_count: int = 1
    seed: int = 0
    """Seed of the core's PRNG (backoff jitter, first-heartbeat jitter); recorded in journals."""

    backoff_base_s: float = 1.0
    """Backoff before the n-th consecutive failure is U(0, min(cap, base × 2^n)) (full jitter)."""
    backoff_cap_s: float = 60.0
    open_floor_s: float = 1.0
    """Hard minimum between two OpenSocket commands: no input sequence can make the core spin."""
    ratelimit_cooldown_s: float = 60.0
    """Wait after close 4008 ("sending too fast"); hermes waits 60 s too (incidents.md)."""

    request_timeout_s: float = 15.0
    """A token or gateway-URL request with no answer after this long counts as failed."""
    connect_timeout_s: float = 15.0
    """OpenSocket with no SocketOpened after this long: abandon the connection and retry."""
    hello_timeout_s: float = 15.0
    """No Hello this long after the upgrade: close and retry (design.md, "Hello timeout")."""
    ready_timeout_s: float = 30.0
    """No READY/RESUMED this long after Identify/Resume was sent: close and retry."""

    resume_failures_before_identify: int = 3
    """Consecutive Resumes the server answered by closing the connection before RESUMED, after
    which the core falls back to Identify (incident 7). A Resume that got no answer at all (the
    ready timeout, a dead link) is retried and does not count: the server has not refused it."""
    session_max_age_s: float = 12 * 3600.0
    """A session older than this whose Resume failed is re-identified at once, without waiting
    for ``resume_failures_before_identify`` failures. Age alone never drops a session: the
    first Resume is always tried, since the server replays what it still holds and refuses
    what it does not (op 9, 4006, 4007, 4900-4913). No QQ rule sets this number: QQ
    documents no session lifetime; bot-docs#191 reports a session that kept resuming for
    about three days and then stopped delivering until a new session was identified, and
    12 h stays well inside that."""
    resume_window_s: float = 300.0
    """A session lost longer ago than this whose Resume failed is re-identified at once, as
    for ``session_max_age_s``. QQ does not document how long a lost session stays resumable
    (protocol.md; OpenClaw assumes 5 minutes), so the window never stops a first Resume."""
    identify_window_s: float = 5.0
    """At most ``max_concurrency`` identifies per this window (protocol.md, session_start_limit)."""

    token_refresh_margin_s: float = 50.0
    """Refresh the access token this long before it expires (a new one is issued in the last 60 s)."""
    token_retry_s: float = 30.0
    """After a failed background token refresh, try again after this long."""
    max_auth_failures: int = 2
    """Consecutive 4004 closes (each after a forced token refresh) that make the core fail."""

    fatal_after_failures: int = 5
    """Emit Fatal(retryable=True) once per outage after this many consecutive failures."""
    max_failures: int | None = None
    """None: retry for ever. A number: stop in FAILED after this many consecutive failures."""

    dedupe_window: int = 512
    """How many recent dispatch keys are remembered to drop duplicates (protocol.md: dedupe by d.id)."""
    first_heartbeat_jitter: bool = True
    """First heartbeat after interval × U(0, 1), as Discord-style gateways ask."""

    def validate(self) -> None:
        """Raise ConfigError naming the first field that is out of range."""
        positive = (
            "backoff_base_s", "backoff_cap_s", "open_floor_s", "request_timeout_s",
            "connect_timeout_s", "hello_timeout_s", "ready_timeout_s", "session_max_age_s",
            "resume_window_s", "identify_window_s", "token_retry_s",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"Config.{name} must be a number > 0 (seconds), got {value!r}")
        for name in ("ratelimit_cooldown_s", "token_refresh_margin_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"Config.{name} must be a number >= 0 (seconds), got {value!r}")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ConfigError("Config.backoff_cap_s must be >= backoff_base_s")
        for name in ("resume_failures_before_identify", "fatal_after_failures",
                     "max_auth_failures", "dedupe_window"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"Config.{name} must be an integer >= 1, got {value!r}")
        if self.max_failures is not None and (not isinstance(self.max_failures, int) or self.max_failures < 1):
            raise ConfigError(f"Config.max_failures must be None or an integer >= 1, got {self.max_failures!r}")
        if not (0 <= self.shard_id < self.shard_count):
            raise ConfigError(f"Config.shard_id must be in [0, shard_count), got {self.shard_id}/{self.shard_count}")
        if not isinstance(self.intents, int) or self.intents < 0:
            raise ConfigError(f"Config.intents must be a non-negative integer, got {self.intents!r}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (journal headers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Build a Config from ``to_dict`` output; unknown keys raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown Config fields: {', '.join(unknown)}")
        config = cls(**data)
        config.validate()
        return config
