"""The input handlers: one function per input type, each ``(state, at, input, out) -> state``.

``step`` (core/_step.py) checks the input's time and connection epoch, then calls exactly
one of these through a ``match`` over the ``Input`` union. Every phase change an input can
cause starts here (through ``_policies.set_phase``) and is listed in
``_phases.TRANSITIONS``; ``on_frame`` (core/_receive.py) is the handler of FrameReceived.
"""

from __future__ import annotations

from . import _inputs as I
from ._close_codes import CLIENT_RESUME_CLOSE, close_rule
from ._commands import CloseSocket, Command, FetchToken, Log
from ._phases import Phase, RUNNING_PHASES, TERMINAL_PHASES
from ._policies import after_close, begin_attempt, fail, give_up, leave_connection, stop_all
from ._receive import await_hello, reject, send_heartbeat, try_identify
from ._state import Connection, State

MAX_TOKEN_LIFETIME_S = 30 * 86400.0
"""A token lifetime beyond this (the API says 7200 s) is treated as a bad answer."""
MAX_TIME_S = 1e12
"""Input times beyond ±1e12 s (31,000 years) are rejected: no monotonic clock reads that."""


def finite_number(value: object) -> bool:
    """A real number within ±``MAX_TIME_S`` (huge ints would overflow later arithmetic)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return -MAX_TIME_S <= value <= MAX_TIME_S  # False for NaN too


def on_start(s: State, at: float, out: list[Command]) -> State:
    """Start: accepted in IDLE and STOPPED; fetch what is missing, then open."""
    if s.phase not in (Phase.IDLE, Phase.STOPPED):
        out.append(Log("warning", "start_ignored", {"phase": s.phase.value}))
        return s._replace(counters=s.counters.bump("inputs_ignored"))
    s = s._replace(consecutive_failures=0, outage_reported=False)
    auth = s.auth
    if auth.token is not None and auth.refresh_at is None and auth.expires_at is not None:
        s = s._replace(auth=auth._replace(refresh_at=max(at, auth.expires_at - s.config.token_refresh_margin_s)))
    return begin_attempt(s, at, out)


def on_stop(s: State, at: float, out: list[Command]) -> State:
    """Stop: close the live connection with 1000 and stop for good."""
    if s.conn is not None:
        out.append(CloseSocket(s.conn.id, 1000, "client stopping"))
    return stop_all(s, at, Phase.STOPPED, "stopped by the host", out)


def on_token_issued(s: State, at: float, inp: I.TokenIssued, out: list[Command]) -> State:
    """A token: keep it, arm its refresh while running, and take the next step if waiting for it."""
    expires = inp.expires_in_s
    if (not isinstance(inp.token, str) or not inp.token or not finite_number(expires)
            or not 0 < expires <= MAX_TOKEN_LIFETIME_S):
        out.append(Log("warning", "token_rejected", {"reason": "empty token or expires_in out of range"}))
        return on_token_failed(s, at, I.TokenFailed(at, "unusable token response"), out)
    running = s.phase in RUNNING_PHASES
    if not running:
        # Not asked for now: keep it for later, but arm no timer outside a running connection.
        out.append(Log("debug", "token_kept", {"phase": s.phase.value}))
    cfg = s.config
    lifetime = float(expires)
    expires_at = at + lifetime
    usable_until = expires_at - min(cfg.token_refresh_margin_s, lifetime / 2)
    refresh_at = max(usable_until, at + min(cfg.token_retry_s, lifetime / 2)) if running else None
    s = s._replace(auth=s.auth._replace(token=inp.token, expires_at=expires_at, usable_until=usable_until,
                                        forced=False, request_deadline=None, refresh_at=refresh_at))
    out.append(Log("info", "token_issued", {"expires_in_s": lifetime}))
    if s.phase is Phase.RESOLVING and not s.gateway_pending:
        return begin_attempt(s, at, out)
    return s


def on_token_failed(s: State, at: float, inp: I.TokenFailed, out: list[Command]) -> State:
    """No token: fail the attempt if waiting for it, else retry the background refresh later.

    A non-retryable failure (credentials refused) while waiting for the token stops the core
    in FAILED: retrying for ever would report "gateway unreachable" for a configuration error.
    """
    s = s._replace(auth=s.auth._replace(request_deadline=None))
    if s.phase is Phase.RESOLVING and not s.gateway_pending:
        if inp.retryable is False:
            return give_up(s, at, f"access token refused: {inp.error}", out)
        return fail(s, at, f"access token request failed: {inp.error}", out)
    if s.phase not in RUNNING_PHASES:
        return s
    out.append(Log("warning", "token_refresh_failed", {"error": inp.error,
                                                       "retry_in_s": s.config.token_retry_s}))
    return s._replace(auth=s.auth._replace(refresh_at=at + s.config.token_retry_s))


def on_gateway_resolved(s: State, at: float, inp: I.GatewayResolved, out: list[Command]) -> State:
    """The URL (and the identify budget, when reported): take the next step if waiting for it."""
    if not s.gateway_pending:
        out.append(Log("debug", "stale_input", {"input": "GatewayResolved"}))
        return s._replace(counters=s.counters.bump("stale_inputs"))
    if not isinstance(inp.url, str) or not inp.url.startswith(("ws://", "wss://")):
        # The URL itself is not quoted: it may carry a secret, and a quote cut short would
        # leave part of it where no redactor can recognise it.
        error = "gateway URL is not a ws:// or wss:// URL"
        return on_gateway_failed(s, at, I.GatewayFailed(at, error), out)
    gateway = s.gateway._replace(url=inp.url, request_deadline=None)
    limit = inp.session_start_limit
    if limit is not None:
        if _valid_limit(limit):
            gateway = gateway._replace(identifies_remaining=limit.remaining,
                                       max_concurrency=max(1, limit.max_concurrency),
                                       budget_reset_at=at + limit.reset_after_ms / 1000.0)
        else:
            out.append(Log("warning", "session_start_limit_ignored", {"reason": "values out of range"}))
    s = s._replace(gateway=gateway)
    out.append(Log("info", "gateway_resolved", {"url": inp.url}))
    if s.phase is Phase.RESOLVING and not s.token_pending:
        return begin_attempt(s, at, out)
    return s


def _valid_limit(limit: I.SessionStartLimit) -> bool:
    """session_start_limit values a real server could send: non-negative ints, reset ≤ 48 h."""
    values = (limit.total, limit.remaining, limit.reset_after_ms, limit.max_concurrency)
    return (all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)
            and limit.reset_after_ms <= 48 * 3_600_000 and limit.max_concurrency <= 1024)


def on_gateway_failed(s: State, at: float, inp: I.GatewayFailed, out: list[Command]) -> State:
    """No URL: fail the attempt if waiting for it."""
    if not s.gateway_pending:
        out.append(Log("debug", "stale_input", {"input": "GatewayFailed"}))
        return s._replace(counters=s.counters.bump("stale_inputs"))
    s = s._replace(gateway=s.gateway._replace(request_deadline=None))
    if s.phase is not Phase.RESOLVING:
        return s
    if inp.retryable is False:
        return give_up(s, at, f"gateway URL refused: {inp.error}", out)
    return fail(s, at, f"gateway URL request failed: {inp.error}", out)


def on_socket_opened(s: State, at: float, out: list[Command]) -> State:
    """The upgrade completed: await Hello (only while CONNECTING)."""
    if s.phase is not Phase.CONNECTING:
        return reject(s, f"SocketOpened while {s.phase.value}", out)
    return await_hello(s, at, out)


def on_socket_closed(s: State, at: float, inp: I.SocketClosed, out: list[Command]) -> State:
    """The live connection ended: apply its close code's rule."""
    code = inp.code if isinstance(inp.code, int) and not isinstance(inp.code, bool) else None
    out.append(Log("warning", "socket_closed", {"conn": inp.conn, "code": code, "reason": inp.reason}))
    return after_close(s, at, close_rule(code), code, str(inp.reason), out)


def on_connect_failed(s: State, at: float, inp: I.ConnectFailed, out: list[Command]) -> State:
    """Opening failed before the upgrade: a failure; from the second in a row, resolve the URL again."""
    if s.phase is not Phase.CONNECTING:
        return reject(s, f"ConnectFailed after the connection opened ({s.phase.value})", out)
    s = leave_connection(s, at, out, None)
    if s.consecutive_failures >= 1:
        # The cached URL may be what fails: resolve it again next time.
        s = s._replace(gateway=s.gateway._replace(url=None))
    return fail(s, at, f"connect failed: {inp.error}", out)


def on_send_failed(s: State, at: float, inp: I.SendFailed, out: list[Command]) -> State:
    """A send failed: the connection is lost; keep the session and retry."""
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "send failed"))
    return fail(s, at, f"send failed: {inp.error}", out)


def on_dispatch_settled(s: State, at: float, inp: I.DispatchSettled, out: list[Command]) -> State:
    """The host's handler returned: advance the session's settled seq (never past ``last_seq``).

    A settle for a dispatch of an earlier session (``session_epoch``) is stale: counted, and
    it never touches the current session.
    """
    seq, session = inp.seq, s.session
    if session is not None and inp.session_epoch != session.epoch:
        out.append(Log("debug", "stale_input", {"input": "DispatchSettled", "seq": seq,
                                                "session_epoch": inp.session_epoch}))
        return s._replace(counters=s.counters.bump("stale_inputs"))
    last_seq = None if session is None else session.last_seq
    if (session is None or last_seq is None or not isinstance(seq, int) or isinstance(seq, bool)
            or seq > last_seq):
        out.append(Log("warning", "settle_rejected", {"seq": seq, "last_seq": last_seq}))
        return s._replace(counters=s.counters.bump("inputs_ignored"))
    if session.settled_seq is None or seq > session.settled_seq:
        s = s._replace(session=session._replace(settled_seq=seq))
    return s


_TIMEOUTS = {Phase.CONNECTING: "connect timed out", Phase.AWAITING_HELLO: "no Hello",
             Phase.IDENTIFYING: "no READY after Identify", Phase.RESUMING: "no RESUMED after Resume"}


def on_tick(s: State, at: float, out: list[Command]) -> State:
    """Run every deadline that is due, in a fixed order; an early tick does nothing."""
    if s.phase not in RUNNING_PHASES:
        return s
    deadline = s.auth.request_deadline
    if deadline is not None and at >= deadline:
        s = s._replace(auth=s.auth._replace(request_deadline=None))
        if s.phase is Phase.RESOLVING and not s.gateway_pending:
            s = fail(s, at, f"access token request timed out after {s.config.request_timeout_s:.0f} s", out)
        else:
            out.append(Log("warning", "token_refresh_failed", {"error": "timed out"}))
            s = s._replace(auth=s.auth._replace(refresh_at=at + s.config.token_retry_s))
    deadline = s.gateway.request_deadline
    if deadline is not None and at >= deadline:
        s = s._replace(gateway=s.gateway._replace(request_deadline=None))
        if s.phase is Phase.RESOLVING and not s.token_pending:
            s = fail(s, at, f"gateway URL request timed out after {s.config.request_timeout_s:.0f} s", out)
    conn = s.conn
    if conn is not None and conn.deadline is not None and at >= conn.deadline:
        reason = _TIMEOUTS.get(s.phase, "timed out")
        s = fail(leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, reason)), at, reason, out)
        conn = s.conn
    if s.retry_at is not None and at >= s.retry_at and s.phase is Phase.BACKING_OFF:
        s = begin_attempt(s, at, out)
        conn = s.conn
    if conn is not None and conn.identify_at is not None and at >= conn.identify_at \
            and s.phase is Phase.IDENTIFYING:
        s = try_identify(s, at, out)
        conn = s.conn
    if conn is not None and conn.next_heartbeat_at is not None and at >= conn.next_heartbeat_at:
        if conn.heartbeat_sent_at is not None and not conn.received_since_heartbeat:
            s = _zombie(s, at, conn, out)
        else:
            s = send_heartbeat(s, at, out)
    auth = s.auth
    if auth.refresh_at is not None and at >= auth.refresh_at and s.phase not in TERMINAL_PHASES:
        auth = auth._replace(refresh_at=None)
        if auth.request_deadline is None:
            out.append(FetchToken(force=False))
            auth = auth._replace(request_deadline=at + s.config.request_timeout_s)
        s = s._replace(auth=auth)
    return s


def _zombie(s: State, at: float, conn: Connection, out: list[Command]) -> State:
    """A heartbeat went out and no frame at all came back before the next was due: the link is
    dead though TCP may not know (design.md, "Zombie")."""
    since = conn.last_received_at if conn.last_received_at is not None else conn.heartbeat_sent_at
    assert since is not None
    out.append(Log("warning", "zombie_connection", {"conn": conn.id, "silent_s": round(at - since, 3)}))
    s = s._replace(counters=s.counters.bump("zombies_detected"))
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "zombie connection: no frame since the last heartbeat"))
    return fail(s, at, "zombie connection (no heartbeat ACK)", out)
