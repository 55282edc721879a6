"""A model of the QQ gateway server, driven by either link: the simulator or the chaos gateway.

Facts from protocol.md ("Frames", "Close codes", "Timing facts"): Hello first; Identify
and Resume validated (``QQBot `` token prefix, known session, seq in range); READY with
``s`` = 1; Resume replays every dispatch with ``s > seq`` then RESUMED; op 11 answers
each op 1; a connection silent for ~60 s is dropped with no close frame; after ~1800 s a
connection gets op 7 then close 4009 "Session timed out". All randomness comes from the
``random.Random`` the link passes in (deterministic on the simulator's virtual clock).

Faults are applied here, once, for both links (``apply`` for a scheduled fault, ``trigger``
for one injected now); the network it sends through (``network``) knows which timed faults
are in force and which flows are black-holed.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, assert_never

import orjson

from ._faults import (
    TIMED_FAULTS, Ban, DnsOutage, Fault, HalfOpen, InvalidateSessions, RefuseConnects,
    RejectResumes, ServerClose, ServerReconnect, StallConnects,
)
from ._client_frame import ClientFrame
from ._network import Network
from ._spec import WorldSpec
from ._trace import (
    FaultApplied, FlowBlackHoled, HeartbeatTimedOut, ResumeRejected, ServerClosed,
    ServerClosedUnseen, ServerConnEnded, SessionConflict, SessionCycled, SessionEstablished,
    TraceEvent,
)

GATEWAY_URL = "wss://api.sgroup.qq.com/websocket"


class ServerLink(Protocol):
    """What the server needs from a link (the simulator or the chaos gateway).

    ``now`` is model seconds. ``to_client`` and ``close_to_client`` are only called for
    flows that are not black-holed; ``black_hole`` tells the link a flow just was.
    """

    @property
    def now(self) -> float: ...

    def to_client(self, conn: int, text: str) -> None: ...

    def close_to_client(self, conn: int, code: int | None, reason: str) -> None: ...

    def black_hole(self, conn: int) -> None: ...

    def after(self, delay_s: float, action: Callable[[], None]) -> None: ...

    def note(self, event: TraceEvent) -> None: ...


@dataclass
class ServerSession:
    """One gateway session: its dispatch log (for replay on resume) and liveness."""

    session_id: str
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    lost_at: float | None = None
    valid: bool = True
    conn: int | None = None


@dataclass
class ServerConn:
    """One accepted WebSocket connection as the server sees it."""

    conn: int
    opened_at: float
    last_heartbeat_at: float
    session: ServerSession | None = None
    open: bool = True


class GatewayServer:
    """The server side of the simulated world.

    ``accept(conn)`` on a new socket, ``receive(conn, frame)`` for each client frame,
    ``client_closed(conn)`` when the client closes; ``apply(fault)`` at a fault's time,
    ``trigger(fault)`` to inject one now.
    """

    REPLAY_LOG_LIMIT = 5000

    def __init__(self, world: WorldSpec, link: ServerLink, rng: random.Random) -> None:
        self.world = world
        self.link = link
        self.rng = rng
        self.conns: dict[int, ServerConn] = {}
        self.sessions: dict[str, ServerSession] = {}
        self.session_counter = 0
        self.message_counter = 0
        self.network = Network(world.faults)
        self.banned_code: int | None = None
        self.last_drop_at: float | None = None
        self.pushed: list[tuple[float, str]] = []
        """(virtual time, d.id) of every message dispatch pushed to a session."""
        self.identifies = 0
        self.message_sessions: dict[str, str] = {}
        """d.id → the session it was pushed to (soak accounting)."""
        self.resumes_accepted = 0

    # -- connection lifecycle -------------------------------------------------------
    def accept(self, conn: int) -> None:
        now = self.link.now
        sc = ServerConn(conn, now, now)
        self.conns[conn] = sc
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

    def close(self, conn: int, code: int | None, reason: str) -> None:
        """Close ``conn`` from the server side (None: drop with no close frame)."""
        sc = self.conns.get(conn)
        if sc is None or not sc.open:
            return
        self._forget(sc)
        if self.network.is_black_holed(conn):
            self.link.note(ServerClosedUnseen(self.link.now, conn, code))
            return
        self.link.note(ServerClosed(self.link.now, conn, code, reason))
        self.link.close_to_client(conn, code, reason)

    def client_closed(self, conn: int) -> None:
        """The client closed ``conn``."""
        sc = self.conns.get(conn)
        if sc is not None and sc.open:
            self._forget(sc)

    def _forget(self, sc: ServerConn) -> None:
        sc.open = False
        self.link.note(ServerConnEnded(self.link.now, sc.conn))
        self.last_drop_at = self.link.now
        if sc.session is not None and sc.session.conn == sc.conn:
            sc.session.conn = None
            sc.session.lost_at = self.link.now
        self.conns.pop(sc.conn, None)

    def open_conns(self) -> list[int]:
        return sorted(c for c, sc in self.conns.items() if sc.open)

    # -- faults ---------------------------------------------------------------------
    def apply(self, fault: Fault) -> None:
        """Apply ``fault`` now: act on the open connections for a fault that acts once; a
        timed fault is already in force through ``network`` and is only noted."""
        conns = self.open_conns()
        now = self.link.now
        match fault:
            case ServerClose(code=code, reason=reason):
                self.link.note(FaultApplied(now, fault))
                for conn in conns:
                    self.close(conn, code, reason)
            case ServerReconnect():
                self.link.note(FaultApplied(now, fault))
                for conn in conns:
                    self.server_reconnect(conn)
            case InvalidateSessions():
                self.link.note(FaultApplied(now, fault))
                for session in self.sessions.values():
                    session.valid = False
                for conn in conns:
                    self.close(conn, None, "")
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
            case DnsOutage() | RefuseConnects() | StallConnects() | RejectResumes():
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

    def receive(self, conn: int, frame: ClientFrame) -> None:
        """A client frame on ``conn``, decoded once by the link (``decode_client_frame``)."""
        sc = self.conns.get(conn)
        if sc is None or not sc.open:
            return
        if not frame.is_json:
            self.close(conn, 4002, "invalid payload")
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
            self.close(conn, 4001, "invalid opcode")

    def _gatekeep(self, sc: ServerConn, d: Any) -> bool:
        if self.banned_code is not None:
            self.close(sc.conn, self.banned_code, "bot banned")
            return False
        if not isinstance(d, dict) or not str(d.get("token", "")).startswith("QQBot "):
            self.close(sc.conn, 4004, "authentication failed")
            return False
        conflict = self.world.session_conflict_s
        if conflict > 0 and self.last_drop_at is not None and self.link.now - self.last_drop_at < conflict:
            self.link.note(SessionConflict(self.link.now, sc.conn))
            self.close(sc.conn, None, "")
            return False
        return True

    def _identify(self, sc: ServerConn, d: Any) -> None:
        if not self._gatekeep(sc, d):
            return
        self.session_counter += 1
        self.identifies += 1
        session = ServerSession(f"sess-{self.session_counter:04d}", conn=sc.conn)
        self.sessions[session.session_id] = session
        sc.session = session
        session.seq = 1
        self._send(sc, {"op": 0, "s": 1, "t": "READY", "d": {
            "version": 1, "session_id": session.session_id,
            "user": {"id": "11586990140073229091", "username": "qqgate-sim-bot", "bot": True},
            "shard": [0, 1]}})
        self._established(sc)

    def _resume(self, sc: ServerConn, d: Any) -> None:
        if not self._gatekeep(sc, d):
            return
        rejected = self.network.active(RejectResumes, self.link.now)
        if rejected is not None:
            self.link.note(ResumeRejected(self.link.now, sc.conn))
            self.close(sc.conn, rejected.code, "")
            return
        session = self.sessions.get(str(d.get("session_id")))
        expired = (session is not None and session.lost_at is not None
                   and self.link.now - session.lost_at > self.world.server_resume_window_s)
        if session is None or not session.valid or expired:
            self._send(sc, {"op": 9, "d": False})
            conn = sc.conn
            self.link.after(0.5, lambda: self.close(conn, 4006, "session id invalid"))
            return
        seq = d.get("seq")
        if not isinstance(seq, int) or seq > session.seq or (session.log and seq < session.log[0][0] - 1):
            self.close(sc.conn, 4007, "invalid seq")
            return
        if session.conn is not None and session.conn != sc.conn:
            self.close(session.conn, 4009, "Session timed out")
        session.conn = sc.conn
        session.lost_at = None
        sc.session = session
        self.resumes_accepted += 1
        for s, text in session.log:
            if s > seq:
                self._to_client(sc.conn, text)
        self._send(sc, {"op": 0, "s": session.seq, "t": "RESUMED", "d": ""})
        self._established(sc)

    def _established(self, sc: ServerConn) -> None:
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
        self.link.after(0.1, lambda: self.close(conn, 4009, "Session timed out"))

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
        self.pushed.append((self.link.now, msg_id))
        self.message_sessions[msg_id] = session.session_id
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
        if len(session.log) > self.REPLAY_LOG_LIMIT:
            del session.log[: len(session.log) - self.REPLAY_LOG_LIMIT]
        return text
