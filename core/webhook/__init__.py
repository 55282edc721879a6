"""qqgate.core.webhook: the pure reducer of QQ's webhook (HTTP callback) delivery.

A sibling of the WebSocket core, with the same shape: ``step(state, input) -> (state,
commands)``, no I/O, no clock, no randomness. One HTTP callback is one ``CallbackReceived``
input (the raw body, the shell's signature verdict, the timestamp header and the receiver's
wall clock); the answer comes back as a ``Respond`` or ``AnswerValidation`` command naming
the request, and an accepted event as the core's own ``Deliver`` (so ``on_dispatch`` gets the
same ``Dispatch`` whichever transport delivered it), settled with the core's
``DispatchSettled``. The journal format records and replays it like a WebSocket session
(header client ``"webhook"``).

Why the signature verdict is an input, not something the reducer computes: verifying
Ed25519 needs a cryptography library (the core may import only the standard library and
orjson, a test enforces it) and the key, which is the bot secret; a journal must hold
neither. The shell verifies, the reducer decides, the journal records the verdict with the
raw request, and a replay reproduces every decision without the key.

Modules: ``_config`` (WebhookConfig), ``_inputs`` (CallbackReceived, CallbacksRestored, Signature),
``_commands`` (Respond, AnswerValidation, the op 12 answers), ``_payload`` (decoding a
body), ``_state`` (WebhookState, WebhookCounters), ``_step``, ``_restore`` (WebhookRehydration:
a journal folded into what a restarted receiver must remember).
"""

from ._commands import ACK, ACK_RETRY, AnswerValidation, Respond, WebhookCommand
from ._config import WebhookConfig
from ._inputs import CallbackReceived, CallbacksRestored, Signature, WebhookInput
from ._payload import Event, Heartbeat, Malformed, Validation, decode_callback
from ._restore import WebhookRehydration
from ._state import WebhookCounters, WebhookState, initial_state, next_deadline
from ._step import step

__version__ = "0.1.0"

__all__ = [
    "ACK", "ACK_RETRY", "AnswerValidation", "Respond", "WebhookCommand",
    "WebhookConfig",
    "CallbackReceived", "CallbacksRestored", "Signature", "WebhookInput", "WebhookRehydration",
    "Event", "Heartbeat", "Malformed", "Validation", "decode_callback",
    "WebhookCounters", "WebhookState", "initial_state", "next_deadline", "step",
    "__version__",
]
