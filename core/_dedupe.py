"""A bounded, immutable window of recently delivered dispatch keys.

The docs warn the same message can be pushed more than once (protocol.md: "dedupe by
d.id"), so the core remembers the keys it delivered. The window is a persistent value:
``add`` returns a new window and the old one still answers exactly as before.

Each window is a version of a shared, append-only log (``_Log``): key → position, and
position → key. A window is ``(capacity, log, end)``: it holds the keys at positions
``[start, end)`` of its log. Adding to the newest version appends one entry and shares the
log, O(1) with no copy; adding to an older version (or a key the log already holds, or to
a log grown to twice the window) first copies this version's keys into a fresh log, O(window)
and rare. Positions are claimed with ``dict.setdefault``, a single atomic operation, so two
threads adding to the same version can never both append. Nothing is ever removed from a log,
so no version ever changes what it holds.

Which keys are remembered is unchanged from the earlier chunked design: keys are grouped in
chunks of ``CHUNK`` by position, and a window remembers the chunk being filled plus the
``ceil(capacity / CHUNK)`` full chunks before it, so at least ``capacity`` and at most
``capacity + CHUNK - 1`` of the latest keys.
"""

from __future__ import annotations

CHUNK = 64


class _Log:
    """Append-only: ``positions`` maps key → position, ``keys`` position → key."""

    __slots__ = ("positions", "keys")

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.keys: dict[int, str] = {}


class DedupeWindow:
    """Remembers at least ``capacity`` most recent keys (up to ``capacity + CHUNK - 1``).

    ``key in window`` and ``window.add(key)`` are O(1); ``==`` compares the capacity and the
    remembered keys in order. The attributes are private and never reassigned after
    construction: a window is a value.
    """

    __slots__ = ("_capacity", "_keep", "_log", "_start", "_end")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keep = max(1, -(-capacity // CHUNK))  # full chunks kept: ceil(capacity / CHUNK)
        self._log = _Log()
        self._start = 0
        self._end = 0

    @property
    def capacity(self) -> int:
        """How many of the latest keys are remembered at least."""
        return self._capacity

    def __contains__(self, key: object) -> bool:
        position = self._log.positions.get(key) if isinstance(key, str) else None
        return position is not None and self._start <= position < self._end

    def add(self, key: str) -> "DedupeWindow":
        """Return a window that also holds ``key`` (the caller checked it is not held)."""
        log, end = self._log, self._end
        if not (key not in log.positions and len(log.keys) < 2 * (self._capacity + CHUNK)
                and log.keys.setdefault(end, key) is key):
            old, log = log, _Log()
            for position in range(self._start, end):
                log.keys[position] = kept = old.keys[position]
                log.positions[kept] = position
            log.keys[end] = key
        log.positions[key] = end
        end += 1
        window = _new(DedupeWindow)
        window._capacity, window._keep, window._log, window._end = self._capacity, self._keep, log, end
        # The oldest chunk is forgotten when a new one is full.
        window._start = self._start if end % CHUNK else max(0, (end // CHUNK - self._keep) * CHUNK)
        return window

    def keys(self) -> list[str]:
        """The remembered keys, oldest first."""
        return [self._log.keys[p] for p in range(self._start, self._end)]

    def __len__(self) -> int:
        return self._end - self._start

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DedupeWindow):
            return NotImplemented
        return self._capacity == other._capacity and self.keys() == other.keys()

    def __hash__(self) -> int:
        return hash((self._capacity, tuple(self.keys())))

    def __repr__(self) -> str:
        return f"DedupeWindow(capacity={self._capacity}, keys={len(self)})"


_new = object.__new__
