"""The webhook reducer's state: one immutable value.

::

    WebhookState
    ├── phase, now, config             IDLE → READY (receiving) → STOPPED; the latest input time
    ├── dedupe: DedupeWindow           event ids already delivered (the core's window)
    ├── in_flight: frozenset[int]      delivery numbers handed to the handler, not yet settled
    ├── delivered                      the last delivery number given (1, 2, ...)
    ├── rejected_in_row, outage_reported   signature/timestamp rejections since the last accepted one
    └── counters: WebhookCounters

There are no timers: the reducer answers each callback at once and QQ owns the retries, so
``next_deadline`` is always None.
"""

from __future__ import annotations

from typing import NamedTuple

from .._dedupe import DedupeWindow
from .._phases import Phase
from ._config import WebhookConfig

_new = tuple.__new__


class WebhookCounters(NamedTuple):
    """Monotonic counts of what the webhook reducer saw and did (status, tests, benchmarks)."""

    callbacks: int = 0
    validations: int = 0
    deliveries: int = 0
    duplicates_dropped: int = 0
    signature_rejected: int = 0
    stale_rejected: int = 0
    malformed_rejected: int = 0
    retries_requested: int = 0
    """Callbacks answered ``{"op":12,"d":1}``: before Start, after Stop, or past ``max_in_flight``."""
    heartbeats: int = 0
    settled: int = 0
    stale_settles: int = 0
    clock_regressions: int = 0
    inputs_ignored: int = 0
    restored_deliveries: int = 0
    """Events a restarted receiver delivered again because the process before never handled them."""

    def bump(self, name: str, by: int = 1) -> "WebhookCounters":
        """A copy with counter ``name`` increased by ``by``; KeyError on an unknown name."""
        values = [*self]
        values[_INDEX[name]] += by
        return _new(WebhookCounters, values)

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return dict(self._asdict())


_INDEX = {name: i for i, name in enumerate(WebhookCounters._fields)}


class WebhookState(NamedTuple):
    """Where the webhook receiver is; see the module docstring for the fields."""

    config: WebhookConfig
    dedupe: DedupeWindow
    phase: Phase = Phase.IDLE
    now: float = 0.0
    in_flight: frozenset[int] = frozenset()
    delivered: int = 0
    rejected_in_row: int = 0
    outage_reported: bool = False
    counters: WebhookCounters = WebhookCounters()


def initial_state(config: WebhookConfig | None = None) -> WebhookState:
    """The state before ``Start``; raises ConfigError on a bad config."""
    config = config or WebhookConfig()
    config.validate()
    return WebhookState(config=config, dedupe=DedupeWindow(config.dedupe_window))


def next_deadline(state: WebhookState) -> float | None:
    """Always None: the webhook reducer keeps no timers (QQ owns the retries)."""
    return None
