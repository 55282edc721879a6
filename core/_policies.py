"""Connection policies: attempts, backoff, failures, leaving a connection.

Helpers of ``step``. Each takes the state, the current time ``at`` (seconds) and the list
of commands being built, and returns the new state. Nothing here does I/O.
"""

from __future__ import annotations


from ._close_codes import CLIENT_RESUME_CLOSE, CloseAction, CloseRule, Delay
from ._commands import (
    CloseSocket, Command, Fatal, FetchToken, Log, OpenSocket, ResolveGateway, StatusChanged,
)
from ._phases import Phase
from ._prng import next_uniform
from ._state import State


def set_phase(s: State, phase: Phase, detail: str, out: list[Command]) -> State:
    """Move to ``phase``, emitting StatusChanged when it differs."""
    if s.phase != phase:
        out.append(StatusChanged(phase, detail))
        return s._replace(phase=phase)
    return s


def token_usable(s: State, at: float) -> bool:
    """A token exists, is not condemned by a 4004, and outlives the refresh margin."""
    if s.token is None or s.token_forced or s.token_usable_until is None:
        return False
    return at < s.token_usable_until


def begin_attempt(s: State, at: float, out: list[Command]) -> State:
    """Take the next step towards an open socket: token, then gateway URL, then OpenSocket.

    The OpenSocket floor (``Config.open_floor_s``) is enforced here and only here, so no
    sequence of inputs can make two OpenSocket commands closer than the floor.
    """
    s = s._replace(retry_at=None)
    cfg = s.config
    if not token_usable(s, at):
        if not s.token_pending:
            out.append(FetchToken(force=s.token_forced))
            s = s._replace(token_deadline=at + cfg.request_timeout_s, token_refresh_at=None)
        return set_phase(s, Phase.RESOLVING, "fetching access token", out)
    url = s.gateway_url
    if url is None:
        if not s.gateway_pending:
            out.append(ResolveGateway())
            s = s._replace(gateway_deadline=at + cfg.request_timeout_s)
        return set_phase(s, Phase.RESOLVING, "resolving gateway URL", out)
    if s.last_open_at is not None and at < s.last_open_at + cfg.open_floor_s:
        s = s._replace(retry_at=s.last_open_at + cfg.open_floor_s)
        return set_phase(s, Phase.BACKING_OFF, "waiting for the reconnect floor", out)
    conn = s.last_conn + 1
    out.append(OpenSocket(conn, url))
    s = s._replace(last_conn=conn, live_conn=conn, last_open_at=at,
                phase_deadline=at + cfg.connect_timeout_s, counters=s.counters.bump("sockets_opened"))
    return set_phase(s, Phase.CONNECTING, f"opening connection {conn}", out)


def backoff_delay(s: State) -> tuple[State, float]:
    """Capped exponential backoff with full jitter: U(0, min(cap, base × 2^failures)) seconds."""
    cfg = s.config
    ceiling = min(cfg.backoff_cap_s, cfg.backoff_base_s * (2.0 ** min(s.failures, 62)))
    rng, u = next_uniform(s.rng)
    return s._replace(rng=rng), u * ceiling


def schedule_retry(s: State, at: float, delay_s: float, detail: str, out: list[Command]) -> State:
    """Retry after ``delay_s`` seconds (0: at once, subject to the floor)."""
    if delay_s <= 0:
        return begin_attempt(s, at, out)
    s = s._replace(retry_at=at + delay_s)
    out.append(Log("info", "retry_scheduled", {"in_s": round(delay_s, 3), "failures": s.failures,
                                                "reason": detail}))
    return set_phase(s, Phase.BACKING_OFF, detail, out)


def fail(s: State, at: float, reason: str, out: list[Command], delay: Delay = Delay.BACKOFF) -> State:
    """Count one failure, tell the host when an outage runs long, then schedule the retry.

    Never silent (design.md): after ``fatal_after_failures`` consecutive failures a
    ``Fatal(retryable=True)`` is emitted once per outage; with ``max_failures`` set the
    core stops in FAILED instead of retrying.
    """
    cfg = s.config
    s = s._replace(failures=s.failures + 1, counters=s.counters.bump("failures"))
    out.append(Log("warning", "attempt_failed", {"reason": reason, "failures": s.failures}))
    if cfg.max_failures is not None and s.failures >= cfg.max_failures:
        out.append(Fatal(f"gave up after {s.failures} consecutive failures (last: {reason})",
                         retryable=False))
        return stop_all(s, Phase.FAILED, "failure limit reached", out)
    if s.failures >= cfg.fatal_after_failures and not s.outage_reported:
        out.append(Fatal(f"gateway unreachable: {s.failures} consecutive failures (last: {reason}); still retrying",
                         retryable=True))
        s = s._replace(outage_reported=True)
    if delay is Delay.COOLDOWN:
        return schedule_retry(s, at, cfg.ratelimit_cooldown_s, reason, out)
    s, wait = backoff_delay(s)
    return schedule_retry(s, at, wait, reason, out)


def stop_all(s: State, phase: Phase, detail: str, out: list[Command]) -> State:
    """Enter a terminal phase: clear every deadline so nothing wakes the core again."""
    s = s._replace(live_conn=None, retry_at=None, token_deadline=None, gateway_deadline=None,
                phase_deadline=None,
                next_heartbeat_at=None, identify_at=None, token_refresh_at=None,
                heartbeat_interval_s=None)
    if s.session_id is not None and s.session_lost_at is None:
        s = s._replace(session_lost_at=s.now)
    return set_phase(s, phase, detail, out)


def leave_connection(s: State, at: float, out: list[Command], close: tuple[int, str] | None) -> State:
    """Forget the live connection (closing it when ``close`` is given) and its timers.

    A resume attempt that ends before RESUMED counts towards the fallback to Identify.
    """
    if s.live_conn is not None and close is not None:
        out.append(CloseSocket(s.live_conn, close[0], close[1]))
    resume_failures = s.resume_failures + (1 if s.phase is Phase.RESUMING else 0)
    lost_at = s.session_lost_at
    if s.session_id is not None and lost_at is None:
        lost_at = at
    return s._replace(live_conn=None, phase_deadline=None, next_heartbeat_at=None,
                   heartbeat_sent_at=None, heartbeat_interval_s=None, received_since_heartbeat=True,
                   identify_at=None, connected_at=None, resume_failures=resume_failures,
                   session_lost_at=lost_at)


def drop_session(s: State, why: str, out: list[Command]) -> State:
    """Forget the session so the next connection identifies."""
    if s.session_id is None:
        return s
    out.append(Log("info", "session_dropped", {"session_id": s.session_id, "reason": why}))
    return s._replace(session_id=None, session_started_at=None, session_lost_at=None,
                   last_seq=None, settled_seq=None, resume_failures=0)


def after_close(s: State, at: float, rule: CloseRule, code: int | None, reason: str,
                out: list[Command]) -> State:
    """Apply a close-code rule (protocol.md, "Close codes") once the connection is left."""
    cfg = s.config
    was_established = s.connected_at is not None
    s = leave_connection(s, at, out, None)
    what = f"close {code if code is not None else 'without code'} ({rule.meaning})"
    if rule.action is CloseAction.FATAL:
        out.append(Fatal(f"{what}: {reason or 'no reason'}", retryable=False, close_code=code))
        return stop_all(s, Phase.FAILED, what, out)
    if rule.action is CloseAction.REFRESH_TOKEN:
        s = s._replace(auth_failures=s.auth_failures + 1)
        if s.auth_failures >= cfg.max_auth_failures:
            out.append(Fatal(f"{what} {s.auth_failures} times in a row, even with a fresh token",
                             retryable=False, close_code=code))
            return stop_all(s, Phase.FAILED, what, out)
        s = s._replace(token=None, token_forced=True)
        s = drop_session(s, what, out)
        return fail(s, at, what, out)
    if rule.action is CloseAction.IDENTIFY:
        s = drop_session(s, what, out)
    if rule.delay is Delay.NOW and was_established:
        return schedule_retry(s, at, 0.0, what, out)
    if rule.delay is Delay.COOLDOWN:
        return schedule_retry(s, at, cfg.ratelimit_cooldown_s, what, out)
    return fail(s, at, what, out)


CLIENT_CLOSE = CLIENT_RESUME_CLOSE
