"""One frame from the live connection: Hello, dispatches, ACKs, op 1, op 7, op 9.

The handler of ``FrameReceived`` (``on_frame``) and what it needs: Identify or Resume after
Hello, identify pacing, and delivery with duplicate suppression. Rules from protocol.md
("Frames") and design.md ("Heartbeat", "Delivery").
"""

from __future__ import annotations

from ._close_codes import CLIENT_RESUME_CLOSE
from ._commands import Command, Log, SendFrame, deliver, send_frame
from ._frames import Frame, Op, Rejected, decode_frame, heartbeat_frame, identify_frame, resume_frame
from ._phases import Phase
from ._policies import drop_session, fail, leave_connection, schedule_retry, set_phase
from ._prng import next_uniform
from ._state import Connection, Session, State


_CONNECTING = Phase.CONNECTING  # a module global: ``Phase.X`` costs an enum lookup per use on Python 3.11


def reject(s: State, reason: str, out: list[Command]) -> State:
    """Log and count a frame or socket event the core cannot use; never raise."""
    out.append(Log("warning", "frame_rejected", {"reason": reason, "conn": s.live_conn}))
    return s._replace(counters=s.counters.bump("frames_rejected"))


def on_frame(s: State, at: float, conn: Connection, text: str | bytes, out: list[Command]) -> State:
    """A frame arrived on the live connection ``conn`` (the step checked its epoch)."""
    # Anything at all from the peer proves the link alive (zombie rule, design.md).
    conn = conn.frame_received(at)
    frame = decode_frame(text)
    if isinstance(frame, Rejected):
        return reject(s._replace(conn=conn), frame.reason, out)
    if s.phase is _CONNECTING:
        return reject(s._replace(conn=conn), f"op {frame.op} before the connection was reported open", out)
    op = frame.op
    if conn.heartbeat_interval_s is not None:  # after Hello; the two frequent frames first
        if op == 0:  # Op.DISPATCH
            return _on_dispatch(s, at, conn, frame, out)
        if op == 11:  # Op.HEARTBEAT_ACK
            return s.advance(at, conn, s.session, s.dedupe, s.counters.bump("heartbeat_acks"))
    s = s._replace(conn=conn)
    if op == Op.HELLO:
        return _on_hello(s, at, conn, frame, out)
    if conn.heartbeat_interval_s is None:
        return reject(s, f"op {op} before Hello", out)
    if op == Op.HEARTBEAT:
        # The server asks for a heartbeat now; it is not a missed ACK (design.md).
        return send_heartbeat(s, at, out)
    if op == Op.RECONNECT:
        return _server_reconnect(s, at, out)
    assert op == Op.INVALID_SESSION, op  # decode_frame admits only SERVER_OPS
    return _invalid_session(s, at, out)


def send_heartbeat(s: State, at: float, out: list[Command]) -> State:
    """Send op 1 with the session's last received ``s`` and schedule the next beat one interval later."""
    conn = s.conn
    assert conn is not None and conn.heartbeat_interval_s is not None
    session = s.session
    out.append(send_frame(conn.id, heartbeat_frame(None if session is None else session.last_seq)))
    return s.advance(at, conn.heartbeat_sent(at), session, s.dedupe, s.counters.bump("heartbeats_sent"))


def _on_hello(s: State, at: float, conn: Connection, frame: Frame, out: list[Command]) -> State:
    if conn.heartbeat_interval_s is not None:
        return reject(s, "second Hello on one connection", out)
    interval_s = float(frame.d["heartbeat_interval"]) / 1000.0
    u = 1.0
    rng = s.rng
    if s.config.first_heartbeat_jitter:
        rng, u = next_uniform(rng)
        u = max(u, 1e-3)
    conn = conn._replace(heartbeat_interval_s=interval_s, next_heartbeat_at=at + interval_s * u,
                         received_since_heartbeat=True, deadline=None)
    s = s._replace(rng=rng, conn=conn)
    out.append(Log("info", "hello", {"heartbeat_interval_ms": frame.d["heartbeat_interval"]}))
    return _identify_or_resume(s, at, out)


def _resume_blocker(s: State, at: float) -> str | None:
    """Why the session must not be resumed on this connection, or None to resume it.

    The age cap and the resume window are guesses at rules QQ does not document, so they
    never stop a first Resume: a session the server can still resume is worth one round
    trip, because dropping it throws away every dispatch the server holds for it (one
    pushed while the client was leaving the old connection, say). Only once a Resume of
    the session has failed do they end it at once, instead of after
    ``resume_failures_before_identify`` failures. A server that refuses the session says
    so itself (op 9, 4006, 4007, 4900-4913), and the core identifies on that answer.
    """
    cfg = s.config
    session = s.session
    if session is None:
        return "no session"
    failures = session.resume_failures
    if failures >= cfg.resume_failures_before_identify:
        return f"{failures} failed resumes in a row"
    if failures and at - session.started_at > cfg.session_max_age_s:
        return f"a resume failed and the session is older than {cfg.session_max_age_s:.0f} s"
    if failures and session.lost_at is not None and at - session.lost_at > cfg.resume_window_s:
        return f"a resume failed and the session was lost more than {cfg.resume_window_s:.0f} s ago"
    return None


def _identify_or_resume(s: State, at: float, out: list[Command]) -> State:
    cfg = s.config
    blocker = _resume_blocker(s, at)
    session, conn, token = s.session, s.conn, s.auth.token
    assert conn is not None
    if blocker is None and session is not None and token is not None:
        seq = session.settled_seq if session.settled_seq is not None else 0
        out.append(SendFrame(conn.id, resume_frame(token, session.id, seq)))
        out.append(Log("info", "resume_sent", {"session_id": session.id, "seq": seq}))
        s = s._replace(conn=conn._replace(deadline=at + cfg.ready_timeout_s),
                       counters=s.counters.bump("resumes_sent"))
        return set_phase(s, Phase.RESUMING, f"resuming session {session.id}", out)
    if session is not None and blocker is not None:
        s = drop_session(s, blocker, out)
    elif session is not None:
        s = s._replace(session=session._replace(resume_failures=0))
    s = set_phase(s, Phase.IDENTIFYING, "identifying", out)
    return try_identify(s, at, out)


def identify_allowed_at(s: State, at: float) -> float:
    """Earliest time an Identify may be sent: ``max_concurrency`` per ``identify_window_s``,
    and none while the daily ``session_start_limit.remaining`` is spent (protocol.md)."""
    cfg = s.config
    gateway = s.gateway
    earliest = at
    if gateway.identifies_remaining is not None and gateway.identifies_remaining <= 0 \
            and gateway.budget_reset_at is not None:
        earliest = max(earliest, gateway.budget_reset_at)
    recent = [t for t in gateway.identify_times if t > earliest - cfg.identify_window_s]
    if len(recent) >= gateway.max_concurrency:
        earliest = max(earliest, recent[-gateway.max_concurrency] + cfg.identify_window_s)
    return earliest


def try_identify(s: State, at: float, out: list[Command]) -> State:
    """Send Identify now, or set the connection's ``identify_at`` when pacing forbids it."""
    cfg = s.config
    conn, token, gateway = s.conn, s.auth.token, s.gateway
    assert conn is not None and token is not None
    when = identify_allowed_at(s, at)
    if when > at:
        out.append(Log("info", "identify_paced", {"wait_s": round(when - at, 3)}))
        return s._replace(conn=conn._replace(identify_at=when, deadline=when + cfg.ready_timeout_s))
    out.append(SendFrame(conn.id, identify_frame(token, cfg.intents, (cfg.shard_id, cfg.shard_count))))
    out.append(Log("info", "identify_sent", {"intents": cfg.intents, "shard": [cfg.shard_id, cfg.shard_count]}))
    window_start = at - cfg.identify_window_s
    times = tuple(t for t in gateway.identify_times if t > window_start) + (at,)
    remaining = None if gateway.identifies_remaining is None else gateway.identifies_remaining - 1
    return s._replace(
        conn=conn._replace(identify_at=None, deadline=at + cfg.ready_timeout_s),
        gateway=gateway._replace(identify_times=times[-max(1, gateway.max_concurrency):],
                                 identifies_remaining=remaining),
        counters=s.counters.bump("identifies_sent"))


def _server_reconnect(s: State, at: float, out: list[Command]) -> State:
    """op 7: the server asks for a reconnect and resume; free and immediate once established."""
    established = s.conn is not None and s.conn.established_at is not None
    out.append(Log("info", "reconnect_requested", {"conn": s.live_conn}))
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "reconnect requested (op 7)"))
    if established:
        return schedule_retry(s, at, 0.0, "server asked to reconnect (op 7)", out)
    return fail(s, at, "op 7 before the session was established", out)


def _invalid_session(s: State, at: float, out: list[Command]) -> State:
    """op 9: identify or resume parameters were rejected; drop the session and identify again.

    ``d`` is ``false`` in every observed frame (protocol.md); the session is dropped either way.
    """
    out.append(Log("warning", "invalid_session", {"conn": s.live_conn,
                                                   "session_id": None if s.session is None else s.session.id}))
    s = leave_connection(s, at, out, (CLIENT_RESUME_CLOSE, "invalid session (op 9)"))
    s = drop_session(s, "invalid session (op 9)", out)
    return fail(s, at, "invalid session (op 9)", out)


def _established(s: State, at: float, conn: Connection, session: Session, detail: str,
                 out: list[Command]) -> State:
    """READY or RESUMED: the outage is over and server-meant closes are free again."""
    if s.outage_reported:
        out.append(Log("info", "outage_over", {"failures": s.consecutive_failures}))
    s = s._replace(consecutive_failures=0, outage_reported=False, auth=s.auth._replace(rejections=0),
                   conn=conn._replace(deadline=None, established_at=at),
                   session=session._replace(lost_at=None, resume_failures=0))
    return set_phase(s, Phase.READY, detail, out)


def _dedupe_key(frame: Frame, session: Session | None) -> str:
    d = frame.d
    if type(d) is dict:
        d_id = d.get("id")
        if type(d_id) is str and d_id:
            return f"id:{d_id}"
    if frame.id:
        return f"event:{frame.id}"
    return f"seq:{None if session is None else session.id}:{frame.s}"


def _on_dispatch(s: State, at: float, conn: Connection, frame: Frame, out: list[Command]) -> State:
    """op 0 after Hello: READY and RESUMED change the connection; every other event is delivered once.

    The hot path: built for one copy of each record it changes (benchmarks/, figure 1).
    """
    seq, event_type = frame.s, frame.t
    assert seq is not None and event_type is not None
    if event_type == "READY":
        d = frame.d
        session_id = d.get("session_id") if type(d) is dict else None
        if type(session_id) is not str or not session_id:
            return reject(s._replace(conn=conn), "READY without a string session_id", out)
        if s.phase is not Phase.IDENTIFYING:
            return reject(s._replace(conn=conn), f"READY while {s.phase.value}", out)
        epoch = s.sessions_started + 1
        s = _established(s._replace(sessions_started=epoch), at, conn, Session(session_id, epoch, at),
                         f"READY, session {session_id}", out)
        assert s.conn is not None
        conn = s.conn
    elif event_type == "RESUMED":
        if s.phase is not Phase.RESUMING or s.session is None:
            return reject(s._replace(conn=conn), f"RESUMED while {s.phase.value}", out)
        # RESUMED only changes connection state: it is not delivered and its ``s``
        # (the session's current seq) is not a new event.
        return _established(s, at, conn, s.session, f"RESUMED session {s.session.id}", out)
    session, counters, dedupe = s.session, s.counters, s.dedupe
    if session is not None:
        # A dispatch that arrives with no session (never before READY on a real gateway) is
        # delivered, but its seq belongs to no session: none is tracked (twilight does the same).
        last_seq = session.last_seq
        if last_seq is not None and seq <= last_seq:
            counters = counters.bump("seq_regressions")
        else:
            session = session.seq_received(seq)
    key = _dedupe_key(frame, session)
    if key in dedupe:
        out.append(Log("debug", "duplicate_dropped", {"seq": seq, "t": event_type, "key": key}))
        return s.advance(at, conn, session, dedupe, counters.bump("duplicates_dropped"))
    out.append(deliver(seq, event_type, frame.id, frame.d, key, 0 if session is None else session.epoch))
    return s.advance(at, conn, session, dedupe.add(key), counters.bump("dispatches_delivered"))


def await_hello(s: State, at: float, out: list[Command]) -> State:
    """SocketOpened for the live connection: wait for Hello."""
    conn = s.conn
    assert conn is not None
    s = s._replace(conn=conn._replace(deadline=at + s.config.hello_timeout_s, received_since_heartbeat=True,
                                      last_received_at=at))
    return set_phase(s, Phase.AWAITING_HELLO, f"connection {conn.id} open, awaiting Hello", out)
