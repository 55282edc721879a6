"""``step(state, input) -> (state, commands)``: the whole connection state machine.

Reading order: time and epochs first (every input), then one handler per input type.
Everything that affects transitions lives in this package; nothing here does I/O, reads a
clock or draws OS randomness (design.md, "The core").
"""

from __future__ import annotations

import math

from . import _inputs as I
from ._close_codes import CLIENT_RESUME_CLOSE, close_rule
from ._commands import CloseSocket, Command, FetchToken, Log
from ._phases import SOCKET_PHASES, TERMINAL_PHASES, Phase
from ._policies import after_close, begin_attempt, fail, leave_connection, set_phase, stop_all
from ._receive import on_frame, on_open_socket_ready, reject, send_heartbeat, try_identify
from ._state import State


def step(state: State, inp: I.Input) -> tuple[State, tuple[Command, ...]]:
    """Feed one input; return the new state and the commands to execute, in order.

    Pure and deterministic: the same state and input always give the same result. Never
    raises on any input (malformed frames, stale connections, out-of-order events become
    counted ``Log`` commands). ``inp.at`` earlier than a previous input is handled at the
    latest time seen and counted as a clock regression.
    """
    out: list[Command] = []
    s = state
    at = inp.at
    if not _finite_number(at) or abs(at) > MAX_TIME_S:
        out.append(Log("warning", "input_rejected", {"reason": "input time is not a finite number of seconds",
                                                     "input": type(inp).__name__}))
        return s._replace(counters=s.counters.bump("inputs_ignored")), tuple(out)
    if at < s.now:
        s = s._replace(counters=s.counters.bump("clock_regressions"))
        at = s.now
    else:
        s = s._replace(now=at)

    if isinstance(inp, I.SOCKET_INPUTS):
        if s.phase not in SOCKET_PHASES or inp.conn != s.live_conn:
            out.append(Log("debug", "stale_input", {"input": type(inp).__name__, "conn": inp.conn,
                                                    "live_conn": s.live_conn}))
            return s._replace(counters=s.counters.bump("stale_inputs")), tuple(out)
    elif s.phase in TERMINAL_PHASES and not isinstance(inp, (I.Start, I.Stop, I.Tick)):
        return s._replace(counters=s.counters.bump("inputs_ignored")), tuple(out)

    handler = _HANDLERS[type(inp)]
    s = handler(s, at, inp, out)
    return s, tuple(out)


MAX_TIME_S = 1e12
"""Input times beyond ±1e12 s (31,000 years) are rejected: no monotonic clock reads that."""


def _finite_number(value: object) -> bool:
    """A real number a float can hold (huge ints would overflow later arithmetic)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_TIME_S
    return math.isfinite(value)


def _start(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    if s.phase not in (Phase.IDLE, Phase.STOPPED):
        out.append(Log("warning", "start_ignored", {"phase": s.phase.value}))
        return s._replace(counters=s.counters.bump("inputs_ignored"))
    s = s._replace(failures=0, outage_reported=False, phase=Phase.RESOLVING)
    if s.token is not None and s.token_refresh_at is None and s.token_expires_at is not None:
        s = s._replace(token_refresh_at=max(at, s.token_expires_at - s.config.token_refresh_margin_s))
    s = s._replace(phase=Phase.IDLE)
    return begin_attempt(s, at, out)


def _stop(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    if s.live_conn is not None:
        out.append(CloseSocket(s.live_conn, 1000, "client stopping"))
    return stop_all(s, Phase.STOPPED, "stopped by the host", out)


MAX_TOKEN_LIFETIME_S = 30 * 86400.0
"""A token lifetime beyond this (the API says 7200 s) is treated as a bad answer."""


def _token_issued(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.TokenIssued)
    expires = inp.expires_in_s
    if (not isinstance(inp.token, str) or not inp.token or not _finite_number(expires)
            or not 0 < expires <= MAX_TOKEN_LIFETIME_S):
        out.append(Log("warning", "token_rejected", {"reason": "empty token or expires_in out of range"}))
        return _token_failed(s, at, I.TokenFailed(at, "unusable token response"), out)
    if s.phase in TERMINAL_PHASES or s.phase is Phase.IDLE:
        # Not asked for now: keep it for later, but arm no timer outside a running connection.
        out.append(Log("debug", "token_kept", {"phase": s.phase.value}))
    cfg = s.config
    lifetime = float(expires)
    expires_at = at + lifetime
    usable_until = expires_at - min(cfg.token_refresh_margin_s, lifetime / 2)
    running = s.phase not in TERMINAL_PHASES and s.phase is not Phase.IDLE
    s = s._replace(token=inp.token, token_expires_at=expires_at, token_usable_until=usable_until,
                token_forced=False, token_deadline=None,
                token_refresh_at=max(usable_until, at + min(cfg.token_retry_s, lifetime / 2)) if running else None)
    out.append(Log("info", "token_issued", {"expires_in_s": lifetime}))
    if s.phase is Phase.RESOLVING and not s.gateway_pending:
        return begin_attempt(s, at, out)
    return s


def _token_failed(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.TokenFailed)
    s = s._replace(token_deadline=None)
    if s.phase is Phase.RESOLVING and not s.gateway_pending:
        return fail(s, at, f"access token request failed: {inp.error}", out)
    if s.phase in TERMINAL_PHASES or s.phase is Phase.IDLE:
        return s
    out.append(Log("warning", "token_refresh_failed", {"error": inp.error,
                                                       "retry_in_s": s.config.token_retry_s}))
    return s._replace(token_refresh_at=at + s.config.token_retry_s)


def _gateway_resolved(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.GatewayResolved)
    if not s.gateway_pending:
        out.append(Log("debug", "stale_input", {"input": "GatewayResolved"}))
        return s._replace(counters=s.counters.bump("stale_inputs"))
    if not isinstance(inp.url, str) or not inp.url.startswith(("ws://", "wss://")):
        return _gateway_failed(s, at, I.GatewayFailed(at, f"gateway URL is not a ws(s) URL: {str(inp.url)[:80]!r}"), out)
    s = s._replace(gateway_url=inp.url, gateway_deadline=None)
    limit = inp.session_start_limit
    if limit is not None:
        if _valid_limit(limit):
            s = s._replace(identifies_remaining=limit.remaining, max_concurrency=max(1, limit.max_concurrency),
                        identify_budget_reset_at=at + limit.reset_after_ms / 1000.0)
        else:
            out.append(Log("warning", "session_start_limit_ignored", {"reason": "values out of range"}))
    out.append(Log("info", "gateway_resolved", {"url": inp.url}))
    if s.phase is Phase.RESOLVING and not s.token_pending:
        return begin_attempt(s, at, out)
    return s


def _valid_limit(limit: I.SessionStartLimit) -> bool:
    """session_start_limit values a real server could send: non-negative ints, reset ≤ 48 h."""
    values = (limit.total, limit.remaining, limit.reset_after_ms, limit.max_concurrency)
    return (all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)
            and limit.reset_after_ms <= 48 * 3_600_000 and limit.max_concurrency <= 1024)


def _gateway_failed(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.GatewayFailed)
    if not s.gateway_pending:
        out.append(Log("debug", "stale_input", {"input": "GatewayFailed"}))
        return s._replace(counters=s.counters.bump("stale_inputs"))
    s = s._replace(gateway_deadline=None)
    if s.phase is not Phase.RESOLVING:
        return s
    return fail(s, at, f"gateway URL request failed: {inp.error}", out)


def _socket_opened(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    if s.phase is not Phase.CONNECTING:
        return reject(s, f"SocketOpened while {s.phase.value}", s.live_conn, out)
    return on_open_socket_ready(s, at, out)


def _frame_received(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.FrameReceived)
    return on_frame(s, at, inp.text, out)


def _socket_closed(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.SocketClosed)
    code = inp.code if isinstance(inp.code, int) and not isinstance(inp.code, bool) else None
    out.append(Log("warning", "socket_closed", {"conn": inp.conn, "code": code, "reason": inp.reason}))
    return after_close(s, at, close_rule(code), code, str(inp.reason), out)


def _connect_failed(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.ConnectFailed)
    if s.phase is not Phase.CONNECTING:
        return reject(s, f"ConnectFailed after the connection opened ({s.phase.value})", s.live_conn, out)
    s = leave_connection(s, at, out, None)
    if s.failures >= 1:
        # The cached URL may be what fails: resolve it again next time.
        s = s._replace(gateway_url=None)
    return fail(s, at, f"connect failed: {inp.error}", out)


def _send_failed(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.SendFailed)
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "send failed"))
    return fail(s, at, f"send failed: {inp.error}", out)


def _dispatch_settled(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    assert isinstance(inp, I.DispatchSettled)
    seq = inp.seq
    if not isinstance(seq, int) or isinstance(seq, bool) or s.last_seq is None or seq > s.last_seq:
        out.append(Log("warning", "settle_rejected", {"seq": seq, "last_seq": s.last_seq}))
        return s._replace(counters=s.counters.bump("inputs_ignored"))
    if s.settled_seq is None or seq > s.settled_seq:
        s = s._replace(settled_seq=seq)
    return s


def _tick(s: State, at: float, inp: I.Input, out: list[Command]) -> State:
    """Run every deadline that is due, in a fixed order; an early tick does nothing."""
    cfg = s.config
    if s.phase in TERMINAL_PHASES or s.phase is Phase.IDLE:
        return s
    for kind in ("token", "gateway"):
        deadline = s.token_deadline if kind == "token" else s.gateway_deadline
        if deadline is None or at < deadline:
            continue
        what = "access token" if kind == "token" else "gateway URL"
        s = s._replace(token_deadline=None) if kind == "token" else s._replace(gateway_deadline=None)
        if s.phase is Phase.RESOLVING and not (s.token_pending or s.gateway_pending):
            s = fail(s, at, f"{what} request timed out after {cfg.request_timeout_s:.0f} s", out)
        elif kind == "token":
            out.append(Log("warning", "token_refresh_failed", {"error": "timed out"}))
            s = s._replace(token_refresh_at=at + cfg.token_retry_s)
    if s.phase_deadline is not None and at >= s.phase_deadline and s.live_conn is not None:
        why = {Phase.CONNECTING: "connect timed out", Phase.AWAITING_HELLO: "no Hello",
               Phase.IDENTIFYING: "no READY after Identify", Phase.RESUMING: "no RESUMED after Resume"}
        reason = why.get(s.phase, "timed out")
        s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, reason))
        s = fail(s, at, reason, out)
    if s.phase is Phase.BACKING_OFF and s.retry_at is not None and at >= s.retry_at:
        s = begin_attempt(s, at, out)
    if s.identify_at is not None and at >= s.identify_at and s.phase is Phase.IDENTIFYING:
        s = try_identify(s, at, out)
    if s.next_heartbeat_at is not None and at >= s.next_heartbeat_at and s.live_conn is not None:
        if s.heartbeat_sent_at is not None and not s.received_since_heartbeat:
            silent = at - (s.last_received_at if s.last_received_at is not None else s.heartbeat_sent_at)
            out.append(Log("warning", "zombie_connection", {"conn": s.live_conn, "silent_s": round(silent, 3)}))
            s = s._replace(counters=s.counters.bump("zombies_detected"))
            s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "zombie connection: no frame since the last heartbeat"))
            s = fail(s, at, "zombie connection (no heartbeat ACK)", out)
        else:
            s = send_heartbeat(s, at, out)
    if s.token_refresh_at is not None and at >= s.token_refresh_at and s.phase not in TERMINAL_PHASES:
        s = s._replace(token_refresh_at=None)
        if not s.token_pending:
            out.append(FetchToken(force=False))
            s = s._replace(token_deadline=at + cfg.request_timeout_s)
    return s


_HANDLERS = {
    I.Start: _start, I.Stop: _stop, I.TokenIssued: _token_issued, I.TokenFailed: _token_failed,
    I.GatewayResolved: _gateway_resolved, I.GatewayFailed: _gateway_failed,
    I.SocketOpened: _socket_opened, I.FrameReceived: _frame_received, I.SocketClosed: _socket_closed,
    I.ConnectFailed: _connect_failed, I.SendFailed: _send_failed,
    I.DispatchSettled: _dispatch_settled, I.Tick: _tick,
}

__all__ = ["step", "set_phase"]
