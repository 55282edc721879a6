"""Handling one frame from the live connection: Hello, dispatches, ACKs, op 7, op 9.

Rules from protocol.md ("Frames") and design.md ("Heartbeat", "Delivery").
"""

from __future__ import annotations


from ._close_codes import CLIENT_RESUME_CLOSE
from ._commands import Command, Deliver, Dispatch, Log, SendFrame
from ._frames import Frame, Op, decode_frame, heartbeat_frame, identify_frame, resume_frame
from ._phases import Phase
from ._policies import begin_attempt, drop_session, fail, leave_connection, schedule_retry, set_phase
from ._prng import next_uniform
from ._state import State


def reject(s: State, reason: str, conn: int | None, out: list[Command]) -> State:
    """Log and count a frame the core cannot use; never raise."""
    out.append(Log("warning", "frame_rejected", {"reason": reason, "conn": conn}))
    return s._replace(counters=s.counters.bump("frames_rejected"))


def on_frame(s: State, at: float, text: str | bytes, out: list[Command]) -> State:
    """A frame arrived on the live connection (already checked to be ``live_conn``)."""
    # Anything at all from the peer proves the link alive (zombie rule, design.md).
    s = s._replace(received_since_heartbeat=True, last_received_at=at)
    frame = decode_frame(text)
    if not isinstance(frame, Frame):
        return reject(s, frame.reason, s.live_conn, out)
    if s.phase is Phase.CONNECTING:
        return reject(s, f"op {frame.op} before the connection was reported open", s.live_conn, out)
    op = frame.op
    if op == Op.HELLO:
        return _on_hello(s, at, frame, out)
    if s.heartbeat_interval_s is None:
        return reject(s, f"op {op} before Hello", s.live_conn, out)
    if op == Op.HEARTBEAT_ACK:
        return s._replace(counters=s.counters.bump("heartbeat_acks"))
    if op == Op.HEARTBEAT:
        # The server asks for a heartbeat now; it is not a missed ACK (design.md).
        return send_heartbeat(s, at, out, requested=True)
    if op == Op.RECONNECT:
        return _server_reconnect(s, at, out)
    if op == Op.INVALID_SESSION:
        return _invalid_session(s, at, out)
    return _on_dispatch(s, at, frame, out)


def send_heartbeat(s: State, at: float, out: list[Command], requested: bool = False) -> State:
    """Send op 1 with the last received ``s`` and schedule the next beat one interval later."""
    assert s.live_conn is not None and s.heartbeat_interval_s is not None
    out.append(SendFrame(s.live_conn, heartbeat_frame(s.last_seq)))
    return s._replace(heartbeat_sent_at=at, received_since_heartbeat=False,
                   next_heartbeat_at=at + s.heartbeat_interval_s,
                   counters=s.counters.bump("heartbeats_sent"))


def _on_hello(s: State, at: float, frame: Frame, out: list[Command]) -> State:
    if s.heartbeat_interval_s is not None:
        return reject(s, "second Hello on one connection", s.live_conn, out)
    interval_s = float(frame.d["heartbeat_interval"]) / 1000.0
    u = 1.0
    rng = s.rng
    if s.config.first_heartbeat_jitter:
        rng, u = next_uniform(rng)
        u = max(u, 1e-3)
    s = s._replace(rng=rng, heartbeat_interval_s=interval_s, next_heartbeat_at=at + interval_s * u,
                received_since_heartbeat=True, phase_deadline=None)
    out.append(Log("info", "hello", {"heartbeat_interval_ms": frame.d["heartbeat_interval"]}))
    return _identify_or_resume(s, at, out)


def _resume_blocker(s: State, at: float) -> str | None:
    cfg = s.config
    if s.session_id is None:
        return "no session"
    if s.resume_failures >= cfg.resume_failures_before_identify:
        return f"{s.resume_failures} failed resumes in a row"
    if s.session_started_at is not None and at - s.session_started_at > cfg.session_max_age_s:
        return f"session older than {cfg.session_max_age_s:.0f} s"
    if s.session_lost_at is not None and at - s.session_lost_at > cfg.resume_window_s:
        return f"session lost more than {cfg.resume_window_s:.0f} s ago"
    return None


def _identify_or_resume(s: State, at: float, out: list[Command]) -> State:
    cfg = s.config
    blocker = _resume_blocker(s, at)
    if blocker is None and s.session_id is not None and s.token is not None and s.live_conn is not None:
        seq = s.settled_seq if s.settled_seq is not None else 0
        out.append(SendFrame(s.live_conn, resume_frame(s.token, s.session_id, seq)))
        out.append(Log("info", "resume_sent", {"session_id": s.session_id, "seq": seq}))
        s = s._replace(phase_deadline=at + cfg.ready_timeout_s, counters=s.counters.bump("resumes_sent"))
        return set_phase(s, Phase.RESUMING, f"resuming session {s.session_id}", out)
    if s.session_id is not None and blocker is not None:
        s = drop_session(s, blocker, out)
    s = s._replace(resume_failures=0)
    s = set_phase(s, Phase.IDENTIFYING, "identifying", out)
    return try_identify(s, at, out)


def identify_allowed_at(s: State, at: float) -> float:
    """Earliest time an Identify may be sent: ``max_concurrency`` per ``identify_window_s``,
    and none while the daily ``session_start_limit.remaining`` is spent (protocol.md)."""
    cfg = s.config
    earliest = at
    if s.identifies_remaining is not None and s.identifies_remaining <= 0 and s.identify_budget_reset_at is not None:
        earliest = max(earliest, s.identify_budget_reset_at)
    recent = [t for t in s.identify_times if t > earliest - cfg.identify_window_s]
    if len(recent) >= s.max_concurrency:
        earliest = max(earliest, recent[-s.max_concurrency] + cfg.identify_window_s)
    return earliest


def try_identify(s: State, at: float, out: list[Command]) -> State:
    """Send Identify now, or set ``identify_at`` when pacing forbids it."""
    cfg = s.config
    when = identify_allowed_at(s, at)
    if when > at:
        out.append(Log("info", "identify_paced", {"wait_s": round(when - at, 3)}))
        return s._replace(identify_at=when, phase_deadline=when + cfg.ready_timeout_s)
    assert s.live_conn is not None and s.token is not None
    out.append(SendFrame(s.live_conn, identify_frame(s.token, cfg.intents, (cfg.shard_id, cfg.shard_count))))
    out.append(Log("info", "identify_sent", {"intents": cfg.intents, "shard": [cfg.shard_id, cfg.shard_count]}))
    window_start = at - cfg.identify_window_s
    times = tuple(t for t in s.identify_times if t > window_start) + (at,)
    remaining = None if s.identifies_remaining is None else s.identifies_remaining - 1
    return s._replace(identify_at=None, identify_times=times[-max(1, s.max_concurrency):],
                   identifies_remaining=remaining, phase_deadline=at + cfg.ready_timeout_s,
                   counters=s.counters.bump("identifies_sent"))


def _server_reconnect(s: State, at: float, out: list[Command]) -> State:
    """op 7: the server asks for a reconnect and resume; free and immediate once established."""
    established = s.connected_at is not None
    out.append(Log("info", "reconnect_requested", {"conn": s.live_conn}))
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "reconnect requested (op 7)"))
    if established:
        return schedule_retry(s, at, 0.0, "server asked to reconnect (op 7)", out)
    return fail(s, at, "op 7 before the session was established", out)


def _invalid_session(s: State, at: float, out: list[Command]) -> State:
    """op 9: identify or resume parameters were rejected; drop the session and identify again.

    ``d`` is ``false`` in every observed frame (protocol.md); the session is dropped either way.
    """
    out.append(Log("warning", "invalid_session", {"conn": s.live_conn, "session_id": s.session_id}))
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "invalid session (op 9)"))
    s = s._replace(resume_failures=0)
    s = drop_session(s, "invalid session (op 9)", out)
    return fail(s, at, "invalid session (op 9)", out)


def _established(s: State, at: float, detail: str, out: list[Command]) -> State:
    if s.outage_reported:
        out.append(Log("info", "outage_over", {"failures": s.failures}))
    s = s._replace(failures=0, outage_reported=False, resume_failures=0, auth_failures=0,
                session_lost_at=None, phase_deadline=None, connected_at=at)
    return set_phase(s, Phase.READY, detail, out)


def _dedupe_key(s: State, frame: Frame) -> str:
    d = frame.d
    if isinstance(d, dict) and isinstance(d.get("id"), str) and d["id"]:
        return f"id:{d['id']}"
    if frame.id:
        return f"event:{frame.id}"
    return f"seq:{s.session_id}:{frame.s}"


def _on_dispatch(s: State, at: float, frame: Frame, out: list[Command]) -> State:
    assert frame.s is not None and frame.t is not None
    if frame.t == "READY":
        d = frame.d
        session_id = d.get("session_id") if isinstance(d, dict) else None
        if not isinstance(session_id, str) or not session_id:
            return reject(s, "READY without a string session_id", s.live_conn, out)
        if s.phase is not Phase.IDENTIFYING:
            return reject(s, f"READY while {s.phase.value}", s.live_conn, out)
        s = s._replace(session_id=session_id, session_started_at=at, last_seq=None, settled_seq=None)
        s = _established(s, at, f"READY, session {session_id}", out)
    elif frame.t == "RESUMED":
        if s.phase is not Phase.RESUMING:
            return reject(s, f"RESUMED while {s.phase.value}", s.live_conn, out)
        # RESUMED only changes connection state: it is not delivered and its ``s``
        # (the session's current seq) is not a new event.
        return _established(s, at, f"RESUMED session {s.session_id}", out)
    if s.last_seq is not None and frame.s <= s.last_seq:
        s = s._replace(counters=s.counters.bump("seq_regressions"))
    else:
        s = s._replace(last_seq=frame.s)
    key = _dedupe_key(s, frame)
    if key in s.seen:
        out.append(Log("debug", "duplicate_dropped", {"seq": frame.s, "t": frame.t, "key": key}))
        return s._replace(counters=s.counters.bump("duplicates_dropped"))
    out.append(Deliver(Dispatch(frame.s, frame.t, frame.id, frame.d, key)))
    return s._replace(seen=s.seen.add(key), counters=s.counters.bump("dispatches_delivered"))


def on_open_socket_ready(s: State, at: float, out: list[Command]) -> State:
    """SocketOpened for the live connection: wait for Hello."""
    s = s._replace(phase_deadline=at + s.config.hello_timeout_s, received_since_heartbeat=True,
                last_received_at=at)
    return set_phase(s, Phase.AWAITING_HELLO, f"connection {s.live_conn} open, awaiting Hello", out)


__all__ = ["on_frame", "send_heartbeat", "try_identify", "on_open_socket_ready", "reject", "begin_attempt"]
