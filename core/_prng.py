"""A small deterministic PRNG whose whole state is one integer in the core state.

SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for jitter. The core
never draws OS randomness; the seed is recorded in journals so replays are exact.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def next_uniform(state: int) -> tuple[int, float]:
    """Advance the PRNG: return (new_state, u) with ``u`` uniform in [0, 1)."""
    state = (state + _GOLDEN) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return state, (z >> 11) * (1.0 / (1 << 53))


def seed_state(seed: int) -> int:
    """The initial PRNG state for a seed (any Python int)."""
    return seed & _MASK
