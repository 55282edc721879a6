"""WebhookRehydration: what a webhook journal leaves a restarted receiver to remember (pure).

The journal is the source of truth (as for the gateway core, ``core.journal.Rehydration``):
folding a webhook session's recorded inputs through ``core.webhook.step`` from its recorded
config gives the last state of the process that wrote it. Beside that state it keeps what the
reducer does not: the ``Dispatch`` of every delivery whose handler never returned (a ``Deliver``
command adds it, the ``DispatchSettled`` naming its number removes it). ``restored(at)`` is the
``CallbacksRestored`` input a new receiver feeds before ``Start``: the keys of handled events
(redeliveries of them are dropped) and the unhandled events (delivered again). QQ will not
redeliver an event it saw acknowledged, so without this a restart would lose the unhandled
ones and hand a late redelivery of a handled one to the handler twice.
"""

from __future__ import annotations

from .._commands import Deliver, Dispatch
from .._inputs import DispatchSettled
from ._commands import WebhookCommand
from ._config import WebhookConfig
from ._inputs import CallbacksRestored, WebhookInput
from ._state import WebhookState, initial_state
from ._step import step


class WebhookRehydration:
    """A webhook journal folded step by step: ``state``, and ``pending`` deliveries by number.

    ``WebhookRehydration(config)`` starts from ``initial_state(config)`` (the journal header's
    config). ``apply(inp)`` steps the reducer; ``steps`` counts the inputs applied. Pure.
    """

    __slots__ = ("state", "pending", "steps")

    def __init__(self, config: WebhookConfig | None = None) -> None:
        self.state: WebhookState = initial_state(config)
        self.pending: dict[int, Dispatch] = {}
        self.steps = 0

    def apply(self, inp: WebhookInput) -> tuple[WebhookCommand, ...]:
        """Step the reducer with ``inp``; track deliveries and settles. Returns the step's commands."""
        self.state, commands = step(self.state, inp)
        self.steps += 1
        if type(inp) is DispatchSettled:
            self.pending.pop(inp.seq, None)
        for command in commands:
            if type(command) is Deliver:
                self.pending[command.dispatch.seq] = command.dispatch
        return commands

    def restored(self, at: float) -> CallbacksRestored | None:
        """The ``CallbacksRestored`` for a new receiver at ``at`` (its clock), or None when the
        journal leaves nothing to remember."""
        unhandled = tuple(self.pending[n] for n in sorted(self.pending))
        pending_keys = {d.dedupe_key for d in unhandled}
        keys = tuple(k for k in self.state.dedupe.keys() if k not in pending_keys)
        if not keys and not unhandled:
            return None
        return CallbacksRestored(at, keys, unhandled)


__all__ = ["WebhookRehydration"]
