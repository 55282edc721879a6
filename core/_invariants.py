"""Invariants of the core, checked after every step of every simulated run and property test.

``check_step(before, inp, after, commands)`` returns a list of violated invariants (empty
when all hold). Pure; used by replay/ and tests/, never by the core itself.
"""

from __future__ import annotations

from . import _inputs as I
from ._commands import CloseSocket, Command, Deliver, Fatal, OpenSocket, SendFrame
from ._phases import SOCKET_PHASES, TERMINAL_PHASES, Phase
from ._state import State, next_deadline

_EPS = 1e-9


def check_step(before: State, inp: I.Input, after: State, commands: tuple[Command, ...]) -> list[str]:
    """Return human-readable descriptions of every invariant this step broke."""
    bad: list[str] = []
    cfg = after.config
    at = after.now
    # 1. Exactly one live connection in the socket phases, none elsewhere.
    if (after.live_conn is not None) != (after.phase in SOCKET_PHASES):
        bad.append(f"live_conn={after.live_conn} in phase {after.phase.value}")
    # 2. Connection ids count up; one OpenSocket per step at most; the floor holds.
    opens = [c for c in commands if isinstance(c, OpenSocket)]
    if len(opens) > 1:
        bad.append(f"{len(opens)} OpenSocket commands in one step")
    for opened in opens:
        if opened.conn <= before.last_conn:
            bad.append(f"OpenSocket conn {opened.conn} does not count up from {before.last_conn}")
        if before.last_open_at is not None and at - before.last_open_at < cfg.open_floor_s - _EPS:
            bad.append(f"OpenSocket {at - before.last_open_at:.3f} s after the previous one "
                       f"(floor {cfg.open_floor_s} s)")
    # 3. Frames and closes only name the connection in use.
    for cmd in commands:
        if isinstance(cmd, (SendFrame, CloseSocket)) and cmd.conn not in (before.live_conn, after.live_conn):
            bad.append(f"{type(cmd).__name__} names conn {cmd.conn}, not a connection in use")
    # 4. Never stuck: outside IDLE and the terminal phases there is always a deadline.
    deadline = next_deadline(after)
    if after.phase not in TERMINAL_PHASES and after.phase is not Phase.IDLE and deadline is None:
        bad.append(f"phase {after.phase.value} has no deadline: the core could wait for ever")
    # 5. No spin: after a Tick, every remaining deadline lies strictly in the future.
    if isinstance(inp, I.Tick) and deadline is not None and deadline <= at:
        bad.append(f"after a Tick at {at} the next deadline {deadline} is not in the future")
    # 6. Backoff is bounded.
    if after.phase is Phase.BACKING_OFF and after.retry_at is not None:
        bound = max(cfg.backoff_cap_s, cfg.ratelimit_cooldown_s, cfg.open_floor_s) + _EPS
        if after.retry_at - at > bound:
            bad.append(f"retry in {after.retry_at - at:.3f} s exceeds the bound {bound:.3f} s")
    # 7. Terminal phases are quiet.
    if before.phase in TERMINAL_PHASES and not isinstance(inp, I.Start):
        if any(isinstance(c, (OpenSocket, SendFrame)) for c in commands):
            bad.append(f"socket activity in terminal phase {before.phase.value}")
    # 8. A dispatch key is delivered once.
    keys = [c.dispatch.dedupe_key for c in commands if isinstance(c, Deliver)]
    if len(keys) != len(set(keys)) or any(k in before.seen for k in keys):
        bad.append("a dispatch was delivered twice")
    # 9. One retryable Fatal per outage (unless the core gave up).
    fatals = [c for c in commands if isinstance(c, Fatal) and c.retryable]
    if fatals and before.outage_reported and after.phase is not Phase.FAILED:
        bad.append("a second retryable Fatal in one outage")
    # 10. Settled seq never passes the received seq.
    if after.settled_seq is not None and (after.last_seq is None or after.settled_seq > after.last_seq):
        bad.append(f"settled seq {after.settled_seq} beyond last received {after.last_seq}")
    return bad
