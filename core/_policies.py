"""Connection policies shared by the input handlers: attempts, backoff, failures, leaving.

Each takes the state, the current time ``at`` (seconds, the caller's monotonic clock) and
the list of commands being built, and returns the new state. ``set_phase`` is the only
place a phase changes; ``_phases.TRANSITIONS`` says which changes each input may cause.
Nothing here does I/O.
"""

from __future__ import annotations

from ._close_codes import CloseAction, CloseRule, Delay
from ._commands import (
    CloseSocket, Command, Fatal, FetchToken, Log, OpenSocket, ResolveGateway, StatusChanged,
)
from ._phases import Phase
from ._prng import next_uniform
from ._state import Connection, State


def set_phase(s: State, phase: Phase, detail: str, out: list[Command]) -> State:
    """Move to ``phase``, emitting StatusChanged when it differs."""
    if s.phase is not phase:
        out.append(StatusChanged(phase, detail))
        return s._replace(phase=phase)
    return s


def token_usable(s: State, at: float) -> bool:
    """A token exists, is not condemned by a 4004, and outlives the refresh margin."""
    auth = s.auth
    if auth.token is None or auth.forced or auth.usable_until is None:
        return False
    return at < auth.usable_until


def begin_attempt(s: State, at: float, out: list[Command]) -> State:
    """Take the next step towards an open socket: token, then gateway URL, then OpenSocket.

    The OpenSocket floor (``Config.open_floor_s``) is enforced here and only here, so no
    sequence of inputs can make two OpenSocket commands closer than the floor.
    """
    s = s._replace(retry_at=None)
    cfg = s.config
    auth = s.auth
    if not token_usable(s, at) or auth.token is None:
        if auth.request_deadline is None:
            out.append(FetchToken(force=auth.forced))
            s = s._replace(auth=auth._replace(request_deadline=at + cfg.request_timeout_s, refresh_at=None))
        return set_phase(s, Phase.RESOLVING, "fetching access token", out)
    url = s.gateway.url
    if url is None:
        if s.gateway.request_deadline is None:
            out.append(ResolveGateway(auth.token))
            s = s._replace(gateway=s.gateway._replace(request_deadline=at + cfg.request_timeout_s))
        return set_phase(s, Phase.RESOLVING, "resolving gateway URL", out)
    if s.last_open_at is not None and at < s.last_open_at + cfg.open_floor_s:
        s = s._replace(retry_at=s.last_open_at + cfg.open_floor_s)
        return set_phase(s, Phase.BACKING_OFF, "waiting for the reconnect floor", out)
    conn_id = s.highest_conn_id + 1
    out.append(OpenSocket(conn_id, url))
    s = s._replace(conn=Connection(conn_id, deadline=at + cfg.connect_timeout_s), highest_conn_id=conn_id,
                   last_open_at=at, counters=s.counters.bump("sockets_opened"))
    return set_phase(s, Phase.CONNECTING, f"opening connection {conn_id}", out)


def backoff_delay(s: State) -> tuple[State, float]:
    """Capped exponential backoff with full jitter: U(0, min(cap, base × 2^failures)) seconds."""
    cfg = s.config
    ceiling = min(cfg.backoff_cap_s, cfg.backoff_base_s * (2.0 ** min(s.consecutive_failures, 62)))
    rng, u = next_uniform(s.rng)
    return s._replace(rng=rng), u * ceiling


def schedule_retry(s: State, at: float, delay_s: float, detail: str, out: list[Command]) -> State:
    """Retry after ``delay_s`` seconds (0: at once, subject to the floor)."""
    if delay_s <= 0:
        return begin_attempt(s, at, out)
    s = s._replace(retry_at=at + delay_s)
    out.append(Log("info", "retry_scheduled", {"in_s": round(delay_s, 3), "failures": s.consecutive_failures,
                                                "reason": detail}))
    return set_phase(s, Phase.BACKING_OFF, detail, out)


def fail(s: State, at: float, reason: str, out: list[Command]) -> State:
    """Count one failure, tell the host when an outage runs long, then retry after backoff.

    Never silent (design.md): after ``fatal_after_failures`` consecutive failures a
    ``Fatal(retryable=True)`` is emitted once per outage; with ``max_failures`` set the
    core stops in FAILED instead of retrying.
    """
    cfg = s.config
    failures = s.consecutive_failures + 1
    s = s._replace(consecutive_failures=failures, counters=s.counters.bump("failures"))
    out.append(Log("warning", "attempt_failed", {"reason": reason, "failures": failures}))
    if cfg.max_failures is not None and failures >= cfg.max_failures:
        out.append(Fatal(f"gave up after {failures} consecutive failures (last: {reason})",
                         retryable=False))
        return stop_all(s, at, Phase.FAILED, "failure limit reached", out)
    if failures >= cfg.fatal_after_failures and not s.outage_reported:
        out.append(Fatal(f"gateway unreachable: {failures} consecutive failures (last: {reason}); still retrying",
                         retryable=True))
        s = s._replace(outage_reported=True)
    s, wait = backoff_delay(s)
    return schedule_retry(s, at, wait, reason, out)


def give_up(s: State, at: float, reason: str, out: list[Command]) -> State:
    """A failure no retry can mend (credentials refused, an unusable gateway URL): stop in
    FAILED with a non-retryable Fatal carrying ``reason``."""
    s = s._replace(consecutive_failures=s.consecutive_failures + 1, counters=s.counters.bump("failures"))
    out.append(Log("error", "attempt_failed", {"reason": reason, "failures": s.consecutive_failures,
                                               "retryable": False}))
    out.append(Fatal(reason, retryable=False))
    return stop_all(s, at, Phase.FAILED, reason, out)


def stop_all(s: State, at: float, phase: Phase, detail: str, out: list[Command]) -> State:
    """Enter a terminal phase: leave the connection and clear every deadline so nothing wakes the core."""
    session = s.session
    if session is not None and session.lost_at is None:
        session = session._replace(lost_at=at)
    s = s._replace(conn=None, session=session, retry_at=None,
                   auth=s.auth._replace(request_deadline=None, refresh_at=None),
                   gateway=s.gateway._replace(request_deadline=None))
    return set_phase(s, phase, detail, out)


def leave_connection(s: State, at: float, out: list[Command], close: tuple[int, str] | None,
                     server_closed: bool = False) -> State:
    """Forget the live connection and every timer it owns, closing it when ``close`` is given.

    The session stays (marked lost at ``at``). A Resume the server answered by closing the
    connection before RESUMED (``server_closed`` while RESUMING: incident 7's "accepts the
    socket and closes it at once") counts towards the fallback to Identify; a Resume that
    only went unanswered (the core's own timeout, a dead link) does not: the server has not
    refused the session, and dropping it would throw away what the server still holds.
    """
    if s.conn is not None and close is not None:
        out.append(CloseSocket(s.conn.id, close[0], close[1]))
    session = s.session
    if session is not None:
        refused = server_closed and s.phase is Phase.RESUMING
        session = session._replace(
            resume_failures=session.resume_failures + (1 if refused else 0),
            lost_at=at if session.lost_at is None else session.lost_at)
    return s._replace(conn=None, session=session)


def drop_session(s: State, why: str, out: list[Command]) -> State:
    """Forget the session so the next connection identifies."""
    if s.session is None:
        return s
    out.append(Log("info", "session_dropped", {"session_id": s.session.id, "reason": why}))
    return s._replace(session=None)


def after_close(s: State, at: float, rule: CloseRule, code: int | None, reason: str,
                out: list[Command]) -> State:
    """Apply a close-code rule (protocol.md, "Close codes") once the connection is left."""
    cfg = s.config
    was_established = s.conn is not None and s.conn.established_at is not None
    s = leave_connection(s, at, out, None, server_closed=True)
    what = f"close {code if code is not None else 'without code'} ({rule.meaning})"
    if rule.action is CloseAction.FATAL:
        out.append(Fatal(f"{what}: {reason or 'no reason'}", retryable=False, close_code=code))
        return stop_all(s, at, Phase.FAILED, what, out)
    if rule.action is CloseAction.REFRESH_TOKEN:
        rejections = s.auth.rejections + 1
        if rejections >= cfg.max_auth_failures:
            out.append(Fatal(f"{what} {rejections} times in a row, even with a fresh token",
                             retryable=False, close_code=code))
            s = s._replace(auth=s.auth._replace(rejections=rejections))
            return stop_all(s, at, Phase.FAILED, what, out)
        s = s._replace(auth=s.auth._replace(token=None, forced=True, rejections=rejections))
        s = drop_session(s, what, out)
        return fail(s, at, what, out)
    if rule.action is CloseAction.IDENTIFY:
        s = drop_session(s, what, out)
    if rule.delay is Delay.NOW and was_established:
        return schedule_retry(s, at, 0.0, what, out)
    if rule.delay is Delay.COOLDOWN:
        return schedule_retry(s, at, cfg.ratelimit_cooldown_s, what, out)
    return fail(s, at, what, out)
