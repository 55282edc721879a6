"""Inputs of the webhook reducer: what the receiver tells it about each HTTP callback.

The webhook reducer takes the core's own ``Start``, ``Stop`` and ``DispatchSettled`` and two
inputs of its own: ``CallbackReceived``, one HTTP POST with the verdict of its signature check
already made by the shell, and ``CallbacksRestored``, what a restarted receiver's journal kept. Every input carries ``at``: seconds on the caller's monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .._commands import Dispatch
from .._inputs import DispatchSettled, Start, Stop


class Signature:
    """The verdicts a ``CallbackReceived.signature`` may hold (plain strings, so a journal
    line reads as text). Anything else counts as ``INVALID``.

    The check itself is the shell's (bot-docs ``interface-framework/sign``: Ed25519 over
    ``X-Signature-Timestamp`` + the raw body, with the key from the bot secret): the reducer
    imports no cryptography and never sees the secret, and a replay reproduces every decision
    from the recorded verdicts without the key.
    """

    VALID = "valid"
    """``X-Signature-Ed25519`` verified over ``X-Signature-Timestamp`` + the raw body."""
    INVALID = "invalid"
    """Well-formed, but the verification failed (wrong key, altered body or timestamp)."""
    MISSING = "missing"
    """No ``X-Signature-Ed25519`` or no ``X-Signature-Timestamp`` header."""
    MALFORMED = "malformed"
    """Not hex, not 64 bytes, or the top three bits of its last byte set (the docs' check
    ``sig[63]&224 != 0``)."""

    ALL = frozenset({VALID, INVALID, MISSING, MALFORMED})


@dataclass(frozen=True, slots=True)
class CallbackReceived:
    """One HTTP callback (a POST to the webhook URL) arrived.

    ``request`` is the shell's number for it (1, 2, ... in one run): the reducer's answer
    names it. ``body`` is the raw body, a ``str`` when it is valid UTF-8 (the usual case),
    else ``bytes``; decoding the JSON happens in the reducer so a replay reproduces decode
    errors too. ``signature`` is the shell's verdict (a ``Signature`` value). ``timestamp``
    is ``X-Signature-Timestamp`` as sent (None when absent). ``received_unix_s`` is the
    receiver's wall clock at arrival, seconds since the epoch: the replay guard compares it
    with ``timestamp`` (``WebhookConfig.timestamp_window_s``).
    """

    at: float
    request: int
    body: str | bytes
    signature: str
    timestamp: str | None
    received_unix_s: float


@dataclass(frozen=True, slots=True)
class CallbacksRestored:
    """A restarted receiver hands over what its journal kept; feed it before ``Start``.

    QQ never delivers again an event it saw acknowledged, so after a restart the receiver
    itself must remember what the process before it took: ``dedupe_keys`` are the keys of the
    events it delivered and whose handler returned (a redelivery of one is dropped), oldest
    first; ``unhandled`` are the events it acknowledged and delivered whose handler never
    returned (``Dispatch`` as delivered then): they are delivered again, with new delivery
    numbers. ``core.webhook.WebhookRehydration`` folds a journal into this input.
    """

    at: float
    dedupe_keys: tuple[str, ...] = ()
    unhandled: tuple[Dispatch, ...] = ()


WebhookInput = Union[Start, Stop, CallbackReceived, DispatchSettled, CallbacksRestored]
"""Every input the webhook reducer takes (``Start``, ``Stop``, ``DispatchSettled``: the core's)."""
