"""A bounded, immutable window of recently delivered dispatch keys.

The docs warn the same message can be pushed more than once (protocol.md: "dedupe by
d.id"), so the core remembers the keys it delivered. The window is a persistent value:
``add`` returns a new window and the old one still answers exactly as before.

Each window is a version of a shared, append-only log (``_Log``): the keys in the order they
were added (``keys``, position ``base + i``) and where each one is (``positions``). A window
is ``(log, start, end)``: it holds the keys at positions ``[start, end)``. Adding to the
newest version appends one entry and shares the log: O(1), no copy. Adding to an older
version (or a key the log already holds, or to a log grown to twice the window) first copies
this version's keys into a fresh log: O(window), and rare. A key is appended first and only
then checked to sit at the window's own end (``list.append`` is atomic), so two threads adding
to one version can never both extend it. Nothing is ever removed from a log or moved within
it, so no version ever changes what it holds.

Which keys are remembered is unchanged from the earlier chunked design: keys are grouped in
chunks of ``CHUNK`` by position, and a window remembers the chunk being filled plus the
``ceil(capacity / CHUNK)`` full chunks before it, so at least ``capacity`` and at most
``capacity + CHUNK - 1`` of the latest keys.
"""

from __future__ import annotations

CHUNK = 64


class _Log:
    """Append-only: ``keys[i]`` is the key at position ``base + i``; ``positions`` the reverse."""

    __slots__ = ("capacity", "keep", "limit", "base", "keys", "positions")

    def __init__(self, capacity: int, base: int) -> None:
        self.capacity = capacity
        self.keep = max(1, -(-capacity // CHUNK))  # full chunks kept: ceil(capacity / CHUNK)
        self.limit = 2 * (capacity + CHUNK)  # entries before a log is compacted by a copy
        self.base = base
        self.keys: list[str] = []
        self.positions: dict[str, int] = {}


class DedupeWindow:
    """Remembers at least ``capacity`` most recent keys (up to ``capacity + CHUNK - 1``).

    ``key in window`` and ``window.add(key)`` are O(1); ``==`` compares the capacity and the
    remembered keys in order. The attributes are private and never reassigned after
    construction: a window is a value.
    """

    __slots__ = ("_log", "_start", "_end")

    def __init__(self, capacity: int) -> None:
        self._log = _Log(capacity, 0)
        self._start = 0
        self._end = 0

    @property
    def capacity(self) -> int:
        """How many of the latest keys are remembered at least."""
        return self._log.capacity

    def __contains__(self, key: object) -> bool:
        position = self._log.positions.get(key) if isinstance(key, str) else None
        return position is not None and self._start <= position < self._end

    def add(self, key: str) -> "DedupeWindow":
        """Return a window that also holds ``key`` (the caller checked it is not held)."""
        log, end = self._log, self._end
        keys = log.keys
        if key in log.positions or len(keys) >= log.limit or log.base + len(keys) != end:
            log = self._copy()
            keys = log.keys
        keys.append(key)
        if keys[end - log.base] is not key:  # another thread extended this version first
            log = self._copy()
            log.keys.append(key)
        log.positions[key] = end
        end += 1
        window = _new(DedupeWindow)
        window._log, window._end = log, end
        # The oldest chunk is forgotten when a new one is full.
        window._start = self._start if end % CHUNK else max(0, (end // CHUNK - log.keep) * CHUNK)
        return window

    def _copy(self) -> _Log:
        """A fresh log holding exactly this window's keys."""
        log = _Log(self._log.capacity, self._start)
        log.keys = self.keys()
        log.positions = {key: self._start + i for i, key in enumerate(log.keys)}
        return log

    def keys(self) -> list[str]:
        """The remembered keys, oldest first."""
        base = self._log.base
        return self._log.keys[self._start - base:self._end - base]

    def __len__(self) -> int:
        return self._end - self._start

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DedupeWindow):
            return NotImplemented
        return self.capacity == other.capacity and self.keys() == other.keys()

    def __hash__(self) -> int:
        return hash((self.capacity, tuple(self.keys())))

    def __repr__(self) -> str:
        return f"DedupeWindow(capacity={self.capacity}, keys={len(self)})"


_new = object.__new__
