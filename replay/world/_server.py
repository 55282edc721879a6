"""A model of the QQ gateway server, driven by either link: the simulator or the chaos gateway.

Facts from protocol.md ("Frames", "Close codes", "Timing facts", "Corrections"): Hello
first; Identify and Resume validated; READY with ``s`` = 1; Resume replays every kept
dispatch with ``s > seq`` then RESUMED; op 11 answers each op 1; a connection silent for
~60 s is dropped with no close code; after ~1800 s a connection gets op 7 then close 4009
"Session timed out". All randomness comes from the ``random.Random`` the link passes in
(deterministic on the simulator's virtual clock).

It forgives nothing a real gateway would refuse (each refusal is noted in the trace):

- a token must be one the token endpoint issued, still live (``tokens``), else 4004;
- Identify: intents (4013), shard (4010), intents the bot may not use and the session start
  budget (op 9 then 4903, ``_sessions``), a second Identify or Resume on one connection
  (4005 "already authenticated": inferred from botgo's error table, where 4005 is that code,
  and Discord's gateway, which QQ's copies);
- a binary frame: close 4002 "invalid payload" (protocol.md: every frame is one JSON text
  message, so the gateway cannot decode it; the table's code for an undecodable payload);
- a close with 4004, 4006, 4007 or 4900-4913 ends the session on the server (the table says
  "drop the session, identify"): a Resume of it gets op 9 then 4006;
- a Resume of an expired or too old session gets the world's expired answer (4902 "reset by
  resume" by default, bot-node-sdk#94) and ends it.

The model also keeps the books on loss: an Identify while an earlier session could still be
resumed marks that session dropped by the client (``ServerSession.dropped_at``), and
``message_fates`` sorts every undelivered message into lost, pending or abandoned.

Faults are applied here, once, for both links (``apply`` for a scheduled fault, ``trigger``
for one injected now); the network it sends through (``network``) knows which timed faults
are in force and which flows are black-holed.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Callable, Iterable, Protocol, assert_never

import orjson

from ._client_frame import ClientFrame
from ._faults import (
    TIMED_FAULTS, Ban, DisallowIntents, DnsOutage, ExpireSessions, Fault, HalfOpen, InvalidateSessions,
    NoHello, NoReady, RateLimitIdentify, RefuseConnects, RejectResumes, RejectTokens, ServerClose,
    ServerReconnect, StallConnects, WrongCertificate,
)
from ._network import Network
from ._sessions import (
    IDENTIFY_REFUSED, IDENTIFY_REFUSED_DELAY_S, MessageFates, ServerConn, ServerSession, SessionStarts,
    identify_problem,
)
from ._spec import WorldSpec
from ._tokens import TokenBook
from ._trace import (
    FaultApplied, FlowBlackHoled, FrameRefused, HeartbeatTimedOut, IdentifyRefused, ResumeRejected,
    ServerClosed, ServerClosedUnseen, ServerConnEnded, SessionConflict, SessionCycled, SessionDropped,
    SessionEnded, SessionEstablished, TraceEvent,
)

GATEWAY_URL = "wss://api.sgroup.qq.com/websocket"
SESSION_ENDING_CODES = frozenset({4004, 4006, 4007, *range(4900, 4914)})
"""Closes after which the session is gone on the server: the codes whose row in the close-code
table says "drop the session, identify" (4004: inferred from the docs' "other errors: identify
again"; 4006, 4007, 4900-4913: protocol.md "Close codes")."""
ALREADY_IDENTIFIED = (4005, "already authenticated")
INVALID_PAYLOAD = (4002, "invalid payload")
AUTH_FAILED = (4004, "authentication failed")
INVALID_SESSION_CLOSE_DELAY_S = 0.5
"""op 9 to the 4006 close that follows a Resume of an unknown session."""
CYCLE_CLOSE_DELAY_S = 0.1
"""op 7 to the 4009 close of the ~30-minute cycle."""
BOT_USER = {"id": "11586990140073229091", "username": "qqgate-sim-bot", "bot": True}


class ServerLink(Protocol):
    """What the server needs from a link (the simulator or the chaos gateway).

    ``now`` is model seconds. ``to_client`` and ``close_to_client`` are only called for
    flows that are not black-holed; ``black_hole`` tells the link a flow just was. A
    ``close_to_client`` with ``code`` None ends the connection the way ``style`` says
    (``"fin"``, ``"empty"`` or ``"reset"``, see ``_spec.DropStyle``).
    """

    @property
    def now(self) -> float: ...

    def to_client(self, conn: int, text: str) -> None: ...

    def close_to_client(self, conn: int, code: int | None, reason: str, style: str) -> None: ...

    def black_hole(self, conn: int) -> None: ...

    def after(self, delay_s: float, action: Callable[[], None]) -> None: ...

    def note(self, event: TraceEvent) -> None: ...


class GatewayServer:
    """The server side of the simulated world.

    ``accept(conn)`` on a new socket, ``receive(conn, frame)`` for each client frame,
    ``client_closed(conn)`` when the client closes; ``apply(fault)`` at a fault's time,
    ``trigger(fault)`` to inject one now. ``tokens`` answers the token endpoint (both links'
    REST), ``session_start_limit(now)`` the ``GET /gateway/bot`` budget.
    """

    def __init__(self, world: WorldSpec, link: ServerLink, rng: random.Random, *, keep_history: bool = True,
                 on_pushed: Callable[[float, str], None] | None = None) -> None:
        self.world = world
        self.keep_history = keep_history
        """False: keep no per-message history (``pushed``, ``message_sessions``) and drop the
        dispatch logs of sessions that can no longer be resumed; ``on_pushed`` sees every push."""
        self.on_pushed = on_pushed
        self.link = link
        self.rng = rng
        self.conns: dict[int, ServerConn] = {}
        self.sessions: dict[str, ServerSession] = {}
        self.session_counter = 0
        self.message_counter = 0
        self.network = Network(world.faults)
        self.tokens = TokenBook(world.token_lifetime_s, world.token_overlap_s, world.credentials,
                                rng=random.Random(0x51EED))
        self.starts = SessionStarts.of(world)
        self.banned_code: int | None = None
        self.last_drop_at: float | None = None
        self.pushed: list[tuple[float, str]] = []
        """(model time, d.id) of every message dispatch pushed to a session."""
        self.identifies = 0
        self.message_sessions: dict[str, str] = {}
        """d.id → the session it was pushed to."""
        self.resumes_accepted = 0

    # -- connection lifecycle -------------------------------------------------------
    def accept(self, conn: int) -> None:
        now = self.link.now
        sc = ServerConn(conn, now, now)
        self.conns[conn] = sc
        if self.network.active(NoHello, now) is None:
            self._send(sc, {"op": 10, "d": {"heartbeat_interval": self.world.heartbeat_interval_ms}})
        self._arm_watchdog(sc)

    def _arm_watchdog(self, sc: ServerConn) -> None:
        due = sc.last_heartbeat_at + self.world.heartbeat_timeout_s
        self.link.after(max(0.0, due - self.link.now), lambda: self._watchdog(sc))

    def _watchdog(self, sc: ServerConn) -> None:
        if not sc.open:
            return
        if self.link.now - sc.last_heartbeat_at >= self.world.heartbeat_timeout_s - 1e-9:
            self.link.note(HeartbeatTimedOut(self.link.now, sc.conn))
            self.close(sc.conn, None, "")
        else:
            self._arm_watchdog(sc)

    def close(self, conn: int, code: int | None, reason: str, style: str | None = None) -> None:
        """Close ``conn`` from the server side (``code`` None: no code, ended as ``style`` says,
        default the world's ``drop_style``). A session-ending code ends the connection's session."""
        sc = self.conns.get(conn)
        if sc is None or not sc.open:
            return
        if code in SESSION_ENDING_CODES:
            self._end_sessions_of(sc, f"close {code}")
        self._forget(sc)
        if self.network.is_black_holed(conn):
            self.link.note(ServerClosedUnseen(self.link.now, conn, code))
            return
        self.link.note(ServerClosed(self.link.now, conn, code, reason))
        self.link.close_to_client(conn, code, reason, style or self.world.drop_style)

    def client_closed(self, conn: int) -> None:
        """The client closed ``conn``."""
        sc = self.conns.get(conn)
        if sc is not None and sc.open:
            self._forget(sc)

    def _forget(self, sc: ServerConn) -> None:
        sc.open = False
        now = self.link.now
        self.link.note(ServerConnEnded(now, sc.conn))
        self.last_drop_at = now
        if sc.session is not None and sc.session.conn == sc.conn:
            sc.session.conn = None
            sc.session.lost_at = now
        self.conns.pop(sc.conn, None)

    def open_conns(self) -> list[int]:
        return sorted(c for c, sc in self.conns.items() if sc.open)

    # -- sessions ---------------------------------------------------------------------
    def _end_sessions_of(self, sc: ServerConn, why: str) -> None:
        """A session-ending close on ``sc``: it ends the session the connection carries or was
        resuming; on a connection with neither (closed before its Identify or Resume), every
        session no connection carries, since the client of one bot will drop the one it holds."""
        session = sc.session or sc.resuming
        if session is not None:
            self._end_session(session, why)
            return
        for other in self.sessions.values():
            if other.conn is None:
                self._end_session(other, why)

    def _end_session(self, session: ServerSession, why: str) -> None:
        if session.valid:
            session.valid = False
            self.link.note(SessionEnded(self.link.now, session.session_id, why))

    def expired(self, session: ServerSession, now: float) -> bool:
        """Past the resume window since its connection ended, or older than the session age limit."""
        world = self.world
        if session.lost_at is not None and now - session.lost_at > world.server_resume_window_s:
            return True
        age = world.server_session_max_age_s
        return age is not None and now - session.started_at > age

    def _drop_dead_logs(self, now: float) -> None:
        """Empty the dispatch logs of the sessions no Resume can ever take again (ended, or
        expired while no connection carries them): a log is only read by a successful Resume,
        so this changes nothing but memory."""
        for session in self.sessions.values():
            if session.log and session.conn is None and (not session.valid or self.expired(session, now)):
                session.log.clear()

    def resumable(self, session: ServerSession, now: float) -> bool:
        """Would a Resume of ``session`` be accepted at ``now`` (with a valid token and seq)?"""
        return (session.valid and self.banned_code is None and not self.expired(session, now)
                and self.network.active(RejectResumes, now) is None)

    def message_fates(self, delivered: Iterable[str], end: float, in_flight_s: float) -> MessageFates:
        """Sort every pushed, undelivered message (see ``MessageFates``). ``end`` is model time;
        a message pushed in its last ``in_flight_s`` seconds is pending."""
        got = set(delivered)
        lost: list[str] = []
        pending: list[str] = []
        abandoned: list[str] = []
        seen: set[str] = set()
        for at, msg_id in self.pushed:
            if msg_id in got or msg_id in seen:
                continue
            seen.add(msg_id)
            session = self.sessions[self.message_sessions[msg_id]]
            if session.dropped_at is not None:
                lost.append(msg_id)
            elif at > end - in_flight_s:
                pending.append(msg_id)
            elif self.resumable(session, end):
                held = self.conns.get(session.conn) if session.conn is not None else None
                settled = (held is not None and held.established_at is not None
                           and not self.network.is_black_holed(held.conn)
                           and end - held.established_at > in_flight_s)
                (lost if settled else pending).append(msg_id)
            else:
                abandoned.append(msg_id)
        return MessageFates(tuple(lost), tuple(pending), tuple(abandoned))

    def session_start_limit(self, now: float) -> tuple[int, int, int, int]:
        """(total, remaining, reset_after ms, max_concurrency) as ``GET /gateway/bot`` reports them."""
        spent = self.network.active(RateLimitIdentify, now)
        if spent is not None:
            end = spent.end_s
            reset_ms = 86_400_000 if end is None else max(1, round((end - now) * 1000))
            return self.starts.total, 0, reset_ms, self.starts.max_concurrency
        return (self.starts.total, self.starts.remaining(now),
                max(1, round(self.starts.reset_after_s(now) * 1000)), self.starts.max_concurrency)

    # -- faults ---------------------------------------------------------------------
    def apply(self, fault: Fault) -> None:
        """Apply ``fault`` now: act on the open connections for a fault that acts once; a
        timed fault is already in force through ``network`` and is only noted."""
        conns = self.open_conns()
        now = self.link.now
        match fault:
            case ServerClose(code=code, reason=reason, drop_style=style):
                self.link.note(FaultApplied(now, fault))
                for conn in conns:
                    self.close(conn, code, reason, style)
            case ServerReconnect():
                self.link.note(FaultApplied(now, fault))
                for conn in conns:
                    self.server_reconnect(conn)
            case InvalidateSessions():
                self.link.note(FaultApplied(now, fault))
                for session in self.sessions.values():
                    self._end_session(session, "server restart")
                for conn in conns:
                    self.close(conn, None, "")
            case ExpireSessions():
                self.link.note(FaultApplied(now, fault))
                for conn in conns:
                    self.close(conn, None, "")
                long_ago = now - self.world.server_resume_window_s - 1.0
                for session in self.sessions.values():
                    session.lost_at = long_ago if session.lost_at is None else min(session.lost_at, long_ago)
            case HalfOpen():
                self.link.note(FaultApplied(now, fault, tuple(conns)))
                for conn in conns:
                    self.network.black_hole(conn)
                    self.link.black_hole(conn)
                    self.link.note(FlowBlackHoled(now, conn))
            case Ban(code=code, reason=reason):
                self.link.note(FaultApplied(now, fault))
                self.banned_code = code
                for conn in conns:
                    self.close(conn, code, reason)
            case RejectTokens():
                self.link.note(FaultApplied(now, fault))
                self.tokens.revoke_all()
            case (DnsOutage() | RefuseConnects() | StallConnects() | RejectResumes() | RateLimitIdentify()
                  | DisallowIntents() | NoHello() | NoReady() | WrongCertificate()):
                self.link.note(FaultApplied(now, fault))
            case _:
                assert_never(fault)

    def trigger(self, fault: Fault) -> None:
        """Apply ``fault`` now, whatever its ``at``; a timed fault starts now for its duration."""
        fault = dataclasses.replace(fault, at=self.link.now)
        if isinstance(fault, TIMED_FAULTS):
            self.network.add_window(fault)
        self.apply(fault)

    # -- frames ---------------------------------------------------------------------
    def _send(self, sc: ServerConn, payload: dict[str, Any]) -> None:
        if sc.open:
            self._to_client(sc.conn, orjson.dumps(payload).decode())

    def _to_client(self, conn: int, text: str) -> None:
        if not self.network.is_black_holed(conn):
            self.link.to_client(conn, text)

    def _refuse(self, sc: ServerConn, code: int | None, reason: str, why: str) -> None:
        self.link.note(FrameRefused(self.link.now, sc.conn, code, why))
        self.close(sc.conn, code, reason)

    def receive(self, conn: int, frame: ClientFrame) -> None:
        """A client frame on ``conn``, decoded once by the link (``decode_client_frame``)."""
        sc = self.conns.get(conn)
        if sc is None or not sc.open:
            return
        if frame.binary:
            self._refuse(sc, *INVALID_PAYLOAD, "a binary frame")
            return
        if not frame.is_json:
            self._refuse(sc, *INVALID_PAYLOAD, "not JSON")
            return
        op, d = frame.op, frame.d
        if op == 1:
            sc.last_heartbeat_at = self.link.now
            world = self.world
            if world.ack_loss_probability and self.rng.random() < world.ack_loss_probability:
                return
            if world.ack_delay_max_s:
                self.link.after(self.rng.uniform(0.0, world.ack_delay_max_s), lambda: self._send(sc, {"op": 11}))
            else:
                self._send(sc, {"op": 11})
        elif op == 2:
            self._identify(sc, d)
        elif op == 6:
            self._resume(sc, d)
        else:
            self._refuse(sc, 4001, "invalid opcode", f"op {op!r}")

    def _gatekeep(self, sc: ServerConn, d: Any, what: str) -> bool:
        """Checks shared by Identify and Resume; False when the connection was refused."""
        now = self.link.now
        if sc.identified:
            self._refuse(sc, *ALREADY_IDENTIFIED, f"a second {what} on one connection")
            return False
        if self.banned_code is not None:
            self.close(sc.conn, self.banned_code, "bot banned")
            return False
        if not isinstance(d, dict) or not self.tokens.check_header(d.get("token"), now):
            if what == "Resume" and isinstance(d, dict):
                named = self.sessions.get(str(d.get("session_id")))
                if named is not None:
                    self._end_session(named, "Resume with a bad token")
            self._refuse(sc, *AUTH_FAILED, f"{what} with a token the server did not issue or that expired")
            return False
        return True

    def _refuse_identify(self, sc: ServerConn, why: str) -> None:
        """op 9, then close 4903 "create session error" (openclaw-qqbot#18)."""
        self.link.note(IdentifyRefused(self.link.now, sc.conn, why))
        self._send(sc, {"op": 9, "d": False})
        conn = sc.conn
        self.link.after(IDENTIFY_REFUSED_DELAY_S, lambda: self.close(conn, *IDENTIFY_REFUSED))

    def _identify(self, sc: ServerConn, d: Any) -> None:
        now = self.link.now
        for session in self.sessions.values():
            if session.dropped_at is None and self.resumable(session, now):
                session.dropped_at = now
                self.link.note(SessionDropped(now, session.session_id, sc.conn))
        if not self.keep_history:
            self._drop_dead_logs(now)
        if self.network.active(NoReady, now) is not None or not self._gatekeep(sc, d, "Identify"):
            return
        conflict = self.world.session_conflict_s
        if conflict > 0 and self.last_drop_at is not None and now - self.last_drop_at < conflict:
            self.link.note(SessionConflict(now, sc.conn))
            self.close(sc.conn, None, "")
            return
        allowed = self.world.allowed_intents
        disallowed = self.network.active(DisallowIntents, now)
        if disallowed is not None:
            allowed &= ~disallowed.intents
        problem = identify_problem(d, allowed)
        if problem == IDENTIFY_REFUSED:
            self._refuse_identify(sc, "disallowed intents")
            return
        if problem is not None:
            self._refuse(sc, *problem, f"Identify with intents {d.get('intents')!r}, shard {d.get('shard')!r}")
            return
        budget = ("the identify budget is spent" if self.network.active(RateLimitIdentify, now) is not None
                  else self.starts.refusal(now))
        if budget is not None:
            self._refuse_identify(sc, budget)
            return
        self.starts.started(now)
        self.session_counter += 1
        self.identifies += 1
        session = ServerSession(f"sess-{self.session_counter:04d}", started_at=now, conn=sc.conn)
        self.sessions[session.session_id] = session
        sc.session = session
        sc.identified = True
        session.seq = 1
        shard = d.get("shard", [0, 1])
        self._send(sc, {"op": 0, "s": 1, "t": "READY", "d": {
            "version": 1, "session_id": session.session_id, "user": BOT_USER, "shard": shard}})
        self._established(sc)

    def _resume(self, sc: ServerConn, d: Any) -> None:
        now = self.link.now
        if self.network.active(NoReady, now) is not None or not self._gatekeep(sc, d, "Resume"):
            return
        session = self.sessions.get(str(d.get("session_id")))
        sc.resuming = session
        rejected = self.network.active(RejectResumes, now)
        if rejected is not None:
            # Incident 7: the server no longer takes the session (hermes PR #22384: "the
            # typical signal that the session_id has expired server-side").
            if session is not None:
                self._end_session(session, "Resume rejected")
            self.link.note(ResumeRejected(now, sc.conn))
            self.close(sc.conn, rejected.code, "")
            return
        if session is None or not session.valid:
            self._send(sc, {"op": 9, "d": False})
            conn = sc.conn
            self.link.after(INVALID_SESSION_CLOSE_DELAY_S, lambda: self.close(conn, 4006, "session id invalid"))
            return
        if self.expired(session, now):
            self._end_session(session, "expired")
            self.link.note(ResumeRejected(now, sc.conn))
            self.close(sc.conn, self.world.expired_resume_close, self.world.expired_resume_reason)
            return
        seq = d.get("seq")
        if (not isinstance(seq, int) or isinstance(seq, bool) or seq > session.seq
                or (session.log and seq < session.log[0][0] - 1)):
            sc.session = session
            self._refuse(sc, 4007, "invalid seq", f"Resume from seq {seq!r} (session at {session.seq})")
            return
        if session.conn is not None and session.conn != sc.conn:
            self.close(session.conn, 4009, "Session timed out")
        session.conn = sc.conn
        session.lost_at = None
        sc.session = session
        sc.identified = True
        self.resumes_accepted += 1
        for s, text in session.log:
            if s > seq:
                self._to_client(sc.conn, text)
        self._send(sc, {"op": 0, "s": session.seq, "t": "RESUMED", "d": ""})
        self._established(sc)

    def _established(self, sc: ServerConn) -> None:
        sc.established_at = self.link.now
        self.link.note(SessionEstablished(self.link.now, sc.conn))
        cycle = self.world.session_cycle_s
        if cycle is not None:
            jitter = self.world.session_cycle_jitter_s
            at = cycle + self.rng.uniform(-jitter, jitter)
            self.link.after(max(0.0, sc.opened_at + at - self.link.now), lambda: self._cycle(sc))
        if self.world.message_interval_s is not None:
            self._schedule_message(sc)

    def _cycle(self, sc: ServerConn) -> None:
        """The ~30-minute cycle: op 7, then close 4009 (openclaw#78890, botpy#141)."""
        if not sc.open:
            return
        self.link.note(SessionCycled(self.link.now, sc.conn))
        self._send(sc, {"op": 7})
        conn = sc.conn
        self.link.after(CYCLE_CLOSE_DELAY_S, lambda: self.close(conn, 4009, "Session timed out"))

    def server_reconnect(self, conn: int) -> None:
        sc = self.conns.get(conn)
        if sc is not None:
            self._cycle(sc)

    def _schedule_message(self, sc: ServerConn) -> None:
        assert self.world.message_interval_s is not None
        gap = self.rng.expovariate(1.0 / self.world.message_interval_s)
        self.link.after(gap, lambda: self._message(sc))

    def _message(self, sc: ServerConn) -> None:
        session = sc.session
        if not sc.open or session is None or session.conn != sc.conn:
            return
        self.message_counter += 1
        msg_id = f"ROBOT1.0_sim{self.message_counter:07d}"
        frame = self._message_frame(session, msg_id)
        if self.keep_history:
            self.pushed.append((self.link.now, msg_id))
            self.message_sessions[msg_id] = session.session_id
        if self.on_pushed is not None:
            self.on_pushed(self.link.now, msg_id)
        self._to_client(sc.conn, frame)
        if self.world.duplicate_probability and self.rng.random() < self.world.duplicate_probability:
            self._to_client(sc.conn, self._message_frame(session, msg_id))
        self._schedule_message(sc)

    def _message_frame(self, session: ServerSession, msg_id: str) -> str:
        session.seq += 1
        text = orjson.dumps({"op": 0, "s": session.seq, "t": "C2C_MESSAGE_CREATE",
                             "id": f"C2C_MESSAGE_CREATE:{session.seq:x}", "d": {
                                 "author": {"user_openid": "E4F4AEA33253A2797FB897C50B81D7ED"},
                                 "content": "hello", "id": msg_id,
                                 "timestamp": "2023-11-06T13:37:18+08:00"}}).decode()
        session.log.append((session.seq, text))
        limit = self.world.resume_replay_limit
        if len(session.log) > limit:
            del session.log[: len(session.log) - limit]
        return text
