"""Invariants of the core, checked after every step of every simulated run and property test.

``check_step(before, inp, after, commands)`` returns a list of violated invariants (empty
when all hold). Pure; used by replay/ and tests/, never by the core itself.
"""

from __future__ import annotations

from . import _inputs as I
from ._commands import CloseSocket, Command, Deliver, Fatal, OpenSocket, SendFrame, StatusChanged
from ._phases import RUNNING_PHASES, SOCKET_PHASES, TERMINAL_PHASES, Phase, transition_allowed
from ._state import State, next_deadline

_EPS = 1e-9


def check_step(before: State, inp: I.Input, after: State, commands: tuple[Command, ...]) -> list[str]:
    """Return human-readable descriptions of every invariant this step broke."""
    return (_connection_rules(before, after, commands) + _phase_rules(before, inp, after, commands)
            + _timer_rules(inp, after) + _delivery_rules(before, after, commands))


def _connection_rules(before: State, after: State, commands: tuple[Command, ...]) -> list[str]:
    bad: list[str] = []
    cfg = after.config
    at = after.now
    # 1. Exactly one live connection in the socket phases, none elsewhere.
    if (after.conn is not None) != (after.phase in SOCKET_PHASES):
        bad.append(f"live_conn={after.live_conn} in phase {after.phase.value}")
    # 2. Connection ids count up; one OpenSocket per step at most; the floor holds.
    opens = [c for c in commands if isinstance(c, OpenSocket)]
    if len(opens) > 1:
        bad.append(f"{len(opens)} OpenSocket commands in one step")
    for opened in opens:
        if opened.conn <= before.highest_conn_id:
            bad.append(f"OpenSocket conn {opened.conn} does not count up from {before.highest_conn_id}")
        if before.last_open_at is not None and at - before.last_open_at < cfg.open_floor_s - _EPS:
            bad.append(f"OpenSocket {at - before.last_open_at:.3f} s after the previous one "
                       f"(floor {cfg.open_floor_s} s)")
    # 3. Frames and closes only name the connection in use.
    for cmd in commands:
        if isinstance(cmd, (SendFrame, CloseSocket)) and cmd.conn not in (before.live_conn, after.live_conn):
            bad.append(f"{type(cmd).__name__} names conn {cmd.conn}, not a connection in use")
    return bad


def _phase_rules(before: State, inp: I.Input, after: State, commands: tuple[Command, ...]) -> list[str]:
    bad: list[str] = []
    # 4. Every phase change is one the transition table allows for this input, and is announced.
    if not transition_allowed(type(inp), before.phase, after.phase):
        bad.append(f"{type(inp).__name__} moved {before.phase.value} → {after.phase.value}, "
                   f"which TRANSITIONS does not allow")
    changes = [c.phase for c in commands if isinstance(c, StatusChanged)]
    if after.phase is not before.phase and (not changes or changes[-1] is not after.phase):
        bad.append(f"phase {before.phase.value} → {after.phase.value} without a StatusChanged to it")
    if after.phase is before.phase and changes:
        bad.append(f"StatusChanged {[p.value for p in changes]} but the phase stayed {after.phase.value}")
    # 5. Terminal phases are quiet.
    if before.phase in TERMINAL_PHASES and not isinstance(inp, I.Start):
        if any(isinstance(c, (OpenSocket, SendFrame)) for c in commands):
            bad.append(f"socket activity in terminal phase {before.phase.value}")
    # 6. One retryable Fatal per outage (unless the core gave up).
    fatals = [c for c in commands if isinstance(c, Fatal) and c.retryable]
    if fatals and before.outage_reported and after.phase is not Phase.FAILED:
        bad.append("a second retryable Fatal in one outage")
    return bad


def _timer_rules(inp: I.Input, after: State) -> list[str]:
    bad: list[str] = []
    cfg = after.config
    at = after.now
    # 7. Never stuck: outside IDLE and the terminal phases there is always a deadline.
    deadline = next_deadline(after)
    if after.phase in RUNNING_PHASES and deadline is None:
        bad.append(f"phase {after.phase.value} has no deadline: the core could wait for ever")
    # 8. No spin: after a Tick, every remaining deadline lies strictly in the future.
    if isinstance(inp, I.Tick) and deadline is not None and deadline <= at:
        bad.append(f"after a Tick at {at} the next deadline {deadline} is not in the future")
    # 9. Backoff is bounded.
    if after.phase is Phase.BACKING_OFF and after.retry_at is not None:
        bound = max(cfg.backoff_cap_s, cfg.ratelimit_cooldown_s, cfg.open_floor_s) + _EPS
        if after.retry_at - at > bound:
            bad.append(f"retry in {after.retry_at - at:.3f} s exceeds the bound {bound:.3f} s")
    return bad


def _delivery_rules(before: State, after: State, commands: tuple[Command, ...]) -> list[str]:
    bad: list[str] = []
    # 10. A dispatch key is delivered once, tagged with the session it arrived in.
    delivered = [c.dispatch for c in commands if isinstance(c, Deliver)]
    keys = [d.dedupe_key for d in delivered]
    if len(keys) != len(set(keys)) or any(k in before.dedupe for k in keys):
        bad.append("a dispatch was delivered twice")
    epoch = 0 if after.session is None else after.session.epoch
    if any(d.session_epoch != epoch for d in delivered):
        bad.append(f"a dispatch tagged with session epoch {delivered[0].session_epoch}, not {epoch}")
    # 11. Settled seq never passes the received seq; session epochs count up.
    session = after.session
    if session is not None:
        if session.settled_seq is not None and (session.last_seq is None or session.settled_seq > session.last_seq):
            bad.append(f"settled seq {session.settled_seq} beyond last received {session.last_seq}")
        if session.epoch > after.sessions_started or (
                before.session is not None and session.epoch < before.session.epoch):
            bad.append(f"session epoch {session.epoch} out of order (started {after.sessions_started})")
    return bad
