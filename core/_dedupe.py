"""A bounded, immutable window of recently delivered dispatch keys.

Persistent in the functional sense: ``add`` returns a new window and shares the older
chunks, so remembering one more key copies at most ``CHUNK`` entries, never the whole
window. The docs warn the same message can be pushed more than once (protocol.md:
"dedupe by d.id").
"""

from __future__ import annotations

from dataclasses import dataclass

CHUNK = 64


@dataclass(frozen=True, slots=True)
class DedupeWindow:
    """Remembers at least ``capacity`` most recent keys (up to ``capacity + CHUNK``)."""

    capacity: int
    current: frozenset[str] = frozenset()
    older: tuple[frozenset[str], ...] = ()

    def __contains__(self, key: object) -> bool:
        if key in self.current:
            return True
        return any(key in chunk for chunk in self.older)

    def add(self, key: str) -> "DedupeWindow":
        """Return a window that also holds ``key``; the oldest chunk is dropped past capacity."""
        current = self.current | {key}
        if len(current) < CHUNK:
            return DedupeWindow(self.capacity, current, self.older)
        keep = max(1, -(-self.capacity // CHUNK))
        older = ((current,) + self.older)[:keep]
        return DedupeWindow(self.capacity, frozenset(), older)

    def __len__(self) -> int:
        return len(self.current) + sum(len(c) for c in self.older)
