"""ShellConfig: what the I/O shell needs besides the core's policies.

Credentials, REST endpoints, TLS, socket timeouts and the journal target. The core's
policy numbers stay in ``core.Config`` (the ``core`` field). All durations are in seconds.
The client secret never appears in ``repr``, logs or journals.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable
from urllib.parse import urlsplit

from qqgate import core
from qqgate.core.journal import describe_core, journal_header

DEFAULT_API_BASE = "https://api.sgroup.qq.com"
"""OpenAPI base (protocol.md, "REST facts")."""
SANDBOX_API_BASE = "https://sandbox.api.sgroup.qq.com"
"""OpenAPI base of the sandbox environment."""
DEFAULT_TOKEN_URL = "https://bots.qq.com/app/getAppAccessToken"
"""Access-token endpoint (protocol.md, "REST facts")."""

ENV_APP_ID = "QQ_APP_ID"
ENV_CLIENT_SECRET = "QQ_CLIENT_SECRET"


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): traffic that never leaves the machine."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cleartext_refused(url: str, insecure: bool) -> str | None:
    """Why ``url`` may not be used (a ``ws://``/``http://`` URL to a host off this machine while
    ``insecure`` is False), or None. The token travels in Identify and in REST headers: in
    cleartext, anyone on the path reads it."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "http") or insecure or is_loopback(parts.hostname):
        return None
    # The host is not quoted: it may carry a secret, case-folded where no redactor finds it.
    return (f"refusing a cleartext {parts.scheme}:// URL to a host off this machine: the access token "
            f"would travel unencrypted (allow it with --insecure / ShellConfig(insecure=True))")


class ShellConfigError(ValueError):
    """A ShellConfig field is missing or out of range; the message names it (never its secret value)."""


@runtime_checkable
class Recorder(Protocol):
    """Anything that journals steps: ``record(inp, commands)`` after every step, ``close()`` at the end.

    ``io_shell.journal.open_recorder`` returns one (it may also have ``flush()`` and
    ``session_id``); tests may pass a list-backed object.
    """

    def record(self, inp: core.Input, commands: tuple[core.Command, ...]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ShellConfig:
    """Configuration of a GatewayClient.

    ``journal`` is None (no journal), a target string for ``io_shell.journal.open_recorder``
    (a file path or a ``postgresql://`` URL), or a ready Recorder object. Raises
    ShellConfigError on a missing credential, a non-HTTP(S) URL or a non-positive timeout,
    and core.ConfigError on a bad ``core`` config.

    ``core.seed`` drives the core's jitter: give each bot process its own seed (the CLI
    draws a random one) so a fleet does not reconnect in lock-step.
    """

    app_id: str
    client_secret: str = field(repr=False)
    api_base: str = DEFAULT_API_BASE
    token_url: str = DEFAULT_TOKEN_URL
    verify_tls: bool = True
    """TLS certificate verification for REST and wss://. Turn it off only explicitly (logged as a warning)."""
    insecure: bool = False
    """Allow cleartext ``http://`` endpoints and ``ws://`` gateway URLs to hosts off this machine.
    Off by default: the access token travels in REST headers and in Identify, so a gateway URL
    answered as ``ws://`` is a non-retryable Fatal. Loopback hosts (127.0.0.0/8, ::1,
    localhost) are always allowed: that traffic never leaves the machine."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest WebSocket message accepted (bytes, fragments included). A bigger one closes the
    socket with 1009 as soon as a frame header announces it, and the core resumes. QQ's
    dispatches are a few KiB."""
    max_fragments: int = 1024
    """Most frames one fragmented message may take; more closes the socket with 1009 (a message
    that never ends)."""
    inbox_size: int = 10_000
    """Dispatches the host may hold unsettled (handed over, handler not yet returned); at this
    bound the reader stops reading, so TCP pushes back on the server. Memory stays bounded
    whatever the host does; a stall long enough ends as a zombie connection, resumed from the
    last settled seq (nothing is lost)."""
    request_timeout_s: float = 10.0
    """HTTP timeout of one token or gateway-URL request (connect and read). Keep it under
    ``core.request_timeout_s`` so the core hears a readable error rather than its own deadline."""
    send_timeout_s: float = 10.0
    """A frame that cannot be written within this long counts as SendFailed (a stuck link)."""
    close_timeout_s: float = 2.0
    """After sending a close frame, wait this long for the peer's close before dropping the socket."""
    core: core.Config = field(default_factory=core.Config)
    journal: str | Recorder | None = None

    def __post_init__(self) -> None:
        for name in ("app_id", "client_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ShellConfigError(f"ShellConfig.{name} must be a non-empty string")
        for name in ("api_base", "token_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise ShellConfigError(f"ShellConfig.{name} must be an http(s) URL, got {value!r}")
        for name in ("request_timeout_s", "send_timeout_s", "close_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ShellConfigError(f"ShellConfig.{name} must be a number > 0 (seconds), got {value!r}")
        for name in ("verify_tls", "insecure"):
            if not isinstance(getattr(self, name), bool):
                raise ShellConfigError(f"ShellConfig.{name} must be a bool, got {getattr(self, name)!r}")
        for name, low in (("max_message_bytes", 1024), ("max_fragments", 1), ("inbox_size", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ShellConfigError(f"ShellConfig.{name} must be an integer >= {low}, got {value!r}")
        for name in ("api_base", "token_url"):
            refused = cleartext_refused(getattr(self, name), self.insecure)
            if refused is not None:
                raise ShellConfigError(f"ShellConfig.{name}: {refused}")
        if not isinstance(self.core, core.Config):
            raise ShellConfigError("ShellConfig.core must be a core.Config")
        self.core.validate()
        if self.journal is not None and not isinstance(self.journal, (str, Recorder)):
            raise ShellConfigError("ShellConfig.journal must be None, a target string or a recorder "
                                   "with record(inp, commands) and close()")

    def __repr__(self) -> str:
        journal = self.journal if self.journal is None or isinstance(self.journal, str) else type(self.journal).__name__
        return (f"ShellConfig(app_id={self.app_id!r}, client_secret=<hidden>, api_base={self.api_base!r}, "
                f"token_url={self.token_url!r}, verify_tls={self.verify_tls}, insecure={self.insecure}, "
                f"request_timeout_s={self.request_timeout_s}, journal={journal!r}, core={self.core!r})")

    __str__ = __repr__

    @property
    def secrets(self) -> Sequence[tuple[str, str]]:
        """(secret, label) pairs to redact from journals and logs (``core.journal.Redactor`` format)."""
        return ((self.client_secret, "client-secret"),)

    def journal_header(self) -> dict[str, Any]:
        """The header fields of this run's journal (``core.journal.journal_header``): the core and
        its config, the seed, the bot and API base, and the versions of the shell's libraries."""
        versions: dict[str, str] = {}
        for module in ("gevent", "websocket", "requests"):
            try:
                versions[module] = str(__import__(module).__version__)
            except Exception:  # pragma: no cover - a missing optional module is not an error here
                continue
        return journal_header(describe_core(self.core), seed=self.core.seed, app_id=self.app_id,
                              api_base=self.api_base, versions=versions)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fields: Any) -> "ShellConfig":
        """Credentials from QQ_APP_ID and QQ_CLIENT_SECRET, the rest from ``fields``.

        Raises ShellConfigError naming the variable that is missing or empty.
        """
        source = os.environ if env is None else env
        values: dict[str, str] = {}
        for var, name in ((ENV_APP_ID, "app_id"), (ENV_CLIENT_SECRET, "client_secret")):
            value = source.get(var, "").strip()
            if not value:
                raise ShellConfigError(f"environment variable {var} is not set (the bot's "
                                       f"{'AppID' if name == 'app_id' else 'AppSecret'} from the QQ Open Platform)")
            values[name] = value
        return cls(app_id=values["app_id"], client_secret=values["client_secret"], **fields)
