"""Connection phases (design.md, "Phases")."""

from __future__ import annotations

import enum


class Phase(str, enum.Enum):
    """Where the connection is.

    ``IDLE → RESOLVING → CONNECTING → AWAITING_HELLO → IDENTIFYING | RESUMING → READY``,
    ``BACKING_OFF`` between attempts, ``FAILED`` (terminal: fatal close code or a
    caller-set failure limit) and ``STOPPED`` (the host called stop).
    """

    IDLE = "IDLE"
    RESOLVING = "RESOLVING"
    CONNECTING = "CONNECTING"
    AWAITING_HELLO = "AWAITING_HELLO"
    IDENTIFYING = "IDENTIFYING"
    RESUMING = "RESUMING"
    READY = "READY"
    BACKING_OFF = "BACKING_OFF"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


TERMINAL_PHASES = frozenset({Phase.FAILED, Phase.STOPPED})
SOCKET_PHASES = frozenset(
    {Phase.CONNECTING, Phase.AWAITING_HELLO, Phase.IDENTIFYING, Phase.RESUMING, Phase.READY}
)
"""Phases in which exactly one connection (``live_conn``) is in use."""
