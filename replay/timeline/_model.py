"""The timeline model: a run as lanes of phase bands, marks and findings on one time axis.

Pure data, built by ``_build`` from a simulated run (the world's typed trace and the client's
journal) or from a journal, and drawn by the renderers (``_html``, ``_png``, ``_text``). Every
time is seconds from the timeline's origin (``Timeline.origin_unix_s``, when the source has a
wall clock: a journal store's header, a real log's timestamps).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MarkKind(str, enum.Enum):
    """What a mark on a lane stands for. The value is the renderers' name for it."""

    HEARTBEAT = "heartbeat"
    """The client sent op 1."""
    ACK = "ack"
    """The client received op 11, a heartbeat ACK."""
    HELLO = "hello"
    """The client received op 10, Hello."""
    IDENTIFY = "identify"
    """The client sent op 2, Identify."""
    RESUME = "resume"
    """The client sent op 6, Resume."""
    READY = "ready"
    """The client received READY or RESUMED: a session is established."""
    OPEN = "open"
    """The client opened a WebSocket connection: a (re)connect attempt."""
    CONNECT_FAILED = "connect_failed"
    """Opening a connection failed before the upgrade."""
    REQUEST_FAILED = "request_failed"
    """A REST request (access token, gateway URL) failed."""
    SERVER_CLOSE = "server_close"
    """The connection ended from the far side, as the client saw it (close code, or none)."""
    CLIENT_CLOSE = "client_close"
    """The client closed the connection itself (its code and reason)."""
    RECONNECT = "reconnect"
    """The client received op 7, Reconnect."""
    INVALID_SESSION = "invalid_session"
    """The client received op 9, Invalid Session."""
    ZOMBIE = "zombie"
    """The client noticed a dead link (heartbeat ACKs missing) and dropped it."""
    SERVER_DROP = "server_drop"
    """The server ended a connection the client did not hear of (simulated runs: the trace)."""
    DELIVERED = "delivered"
    """A dispatch handed to the bot."""
    DEDUPLICATED = "deduplicated"
    """A duplicate dispatch the client recognised and dropped."""
    DELIVERED_TWICE = "delivered_twice"
    """A dispatch handed to the bot a second time (same ``d.id``)."""
    LOST = "lost"
    """A message the server pushed that the client never delivered (simulated runs: the trace)."""
    FATAL = "fatal"
    """The client told its host it cannot go on (or, retryable, that an outage runs long)."""


ROWS: dict[str, tuple[MarkKind, ...]] = {
    "link": (MarkKind.HEARTBEAT, MarkKind.ACK, MarkKind.HELLO),
    "connection": (MarkKind.OPEN, MarkKind.IDENTIFY, MarkKind.RESUME, MarkKind.READY,
                   MarkKind.CONNECT_FAILED, MarkKind.REQUEST_FAILED, MarkKind.RECONNECT,
                   MarkKind.INVALID_SESSION),
    "closes": (MarkKind.SERVER_CLOSE, MarkKind.CLIENT_CLOSE, MarkKind.ZOMBIE, MarkKind.SERVER_DROP,
               MarkKind.FATAL),
    "dispatches": (MarkKind.DELIVERED, MarkKind.DEDUPLICATED, MarkKind.DELIVERED_TWICE, MarkKind.LOST),
}
"""The rows of a lane, top to bottom, and the mark kinds each shows (every kind in one row)."""

ROW_OF: dict[MarkKind, str] = {kind: row for row, kinds in ROWS.items() for kind in kinds}


@dataclass(frozen=True, slots=True)
class Band:
    """The client was in ``phase`` (a ``core.Phase`` value) from ``start`` to ``end`` seconds;
    ``detail`` says why it entered it."""

    start: float
    end: float
    phase: str
    detail: str


@dataclass(frozen=True, slots=True)
class Mark:
    """Something happened at ``at`` seconds: ``kind``, a one-line ``label``, and ``step``, the
    index (from 0) in ``Lane.steps`` of the step that shows it, or -1 when no step does (the
    world's trace saw it). ``tag``: a few characters drawn beside the mark when there is room
    (a close code)."""

    at: float
    kind: MarkKind
    label: str
    step: int = -1
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time worth shading, ``start`` to ``end`` seconds (equal: an instant):
    a fault of the world, or on a lane a link that was dead (``label`` says which)."""

    start: float
    end: float
    label: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FindingMark:
    """A detector's finding on a lane: ``name`` (e.g. ``death_loop``), first seen ``at``
    seconds (None: not dated), ``summary`` (its evidence), ``count`` and whether it names a
    failure."""

    name: str
    at: float | None
    summary: str
    count: int
    failure: bool


@dataclass
class Lane:
    """One client's life on the timeline.

    ``key`` is short (``legacy``, ``core``, ``journal``), ``title`` says which client.
    ``bands`` cover the run without gaps from its first step; ``phases_derived`` is True when
    the client reports no phases of its own (the legacy model) and they were read off its socket
    events. ``marks`` are in time order. ``steps`` holds each step as its journal record text
    (JSON, secrets redacted): what a mark's hover shows. ``summary``: (label, value) figures.
    """

    key: str
    title: str
    bands: list[Band] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    findings: list[FindingMark] = field(default_factory=list)
    steps: list[bytes] = field(default_factory=list)
    phases_derived: bool = False
    summary: list[tuple[str, str]] = field(default_factory=list)

    def count(self, kind: MarkKind) -> int:
        """How many marks of ``kind`` the lane holds."""
        return sum(1 for m in self.marks if m.kind is kind)


@dataclass
class Timeline:
    """Lanes on one time axis, ``0`` to ``end_s`` seconds.

    ``origin_unix_s``: the wall-clock time (seconds since the epoch) of second 0, or None when
    the source has no wall clock (a simulated run: times show as ``+H:MM:SS``);
    ``origin_note`` says where it came from and how exact it is. ``windows``: the world's
    faults (shared by every lane). ``notes``: lines shown under the title.
    """

    title: str
    end_s: float
    lanes: list[Lane]
    windows: list[Window] = field(default_factory=list)
    origin_unix_s: float | None = None
    origin_note: str = ""
    notes: list[str] = field(default_factory=list)
