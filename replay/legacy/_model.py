"""The legacy adapter's behaviour, one step at a time: its listen loop, heartbeat task and frames.

``AdapterStep`` runs one input through the adapter (``LegacyModel.step`` in ``_reducer`` drives
it). Follows incidents.md, "How the legacy adapter behaves"; the decisions taken where it
leaves a choice are listed in the package docstring (``replay.legacy``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from qqgate.core import (
    CloseSocket, Command, ConnectFailed, Deliver, Dispatch, FetchToken, FrameReceived,
    GatewayResolved, OpenSocket, ResolveGateway, SendFrame, SocketClosed, SocketOpened, TokenIssued,
)

from . import _messages as M
from ._state import (
    DEFAULT_HEARTBEAT_S, DEFAULT_HELLO_MS, FATAL_CLOSE_CODES, FIRST_BEAT_HELLO_FIRST_P,
    FIXED_FATAL_CLOSE_CODES, FIXED_SESSION_CLOSE_CODES, HELLO_FACTOR, HELLO_RACE_WINDOW_S,
    MAX_QUICK_DISCONNECTS, MAX_RECONNECT_ATTEMPTS, QUICK_DISCONNECT_S, RATE_LIMIT_CLOSE_CODE,
    RATE_LIMIT_WAIT_S, RECONNECT_DELAYS_S, RUNNING_CLEARED, SESSION_CLOSE_CODES, TOKEN_CLOSE_CODE,
    TOKEN_REFRESH_MARGIN_S, HeartbeatTask, LegacyConfig, LegacyState, ListenLoop, LoopEnd,
)

_STARTUP = frozenset({ListenLoop.STARTUP_TOKEN, ListenLoop.STARTUP_GATEWAY, ListenLoop.STARTUP_OPEN})
SLEEPING_LOOPS = frozenset({ListenLoop.RATE_LIMITED, ListenLoop.BACKOFF})
"""Listen-loop states that sleep until ``loop_wake_at_s``."""
_NORMAL_CLOSE = 1000


def _frame(op: int, d: Any) -> str:
    """A JSON text frame, compact, ``op`` first (``{"op":1,"d":5}``).

    The layout is kept because the legacy journals (logs_samples, ``--journal``) record these
    bytes; nothing reads the frames by their bytes (the world decodes every frame it carries).
    """
    return json.dumps({"op": op, "d": d}, separators=(",", ":"), ensure_ascii=False)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def hello_wins_race(seed: int) -> bool:
    """The seed's draw of the heartbeat task's startup race: True (with probability
    ``FIRST_BEAT_HELLO_FIRST_P``) when Hello is processed before the task first sleeps.
    A splitmix64 step of the seed: pure, and the same on every platform."""
    z = (seed + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return z / 2.0 ** 64 < FIRST_BEAT_HELLO_FIRST_P


class AdapterStep:
    """One step of the adapter in progress: the state so far and the commands emitted."""

    __slots__ = ("cfg", "s", "out", "tag")

    def __init__(self, cfg: LegacyConfig, state: LegacyState) -> None:
        self.cfg = cfg
        self.s = state
        self.out: list[Command] = []
        self.tag = M.tag(cfg.app_id)

    # -- helpers -----------------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        self.s = replace(self.s, **changes)

    def log(self, level: str, message: str) -> None:
        self.out.append(M.record(level, message, self.tag))

    @property
    def clears_running(self) -> bool:
        """0.12/0.13: every error clears ``running`` (the heartbeat task and the loop can end)."""
        return self.cfg.version in RUNNING_CLEARED

    @property
    def fixed(self) -> bool:
        """After the 2026-06 fixes: 4009 resumes, op 7/9 handled, fatal codes stop, no spin."""
        return self.cfg.version == "fixed"

    def give_up(self, end: LoopEnd, fatal_error: str | None = None) -> None:
        """The listen task returns; nothing restarts it and the host is not told."""
        self.set(loop=ListenLoop.RETURNED, loop_wake_at_s=None, loop_end=end,
                 fatal_error=fatal_error if fatal_error is not None else self.s.fatal_error)

    # -- connect() and the reconnect's REST/socket steps --------------------------------
    def start(self) -> None:
        if self.s.loop is ListenLoop.IDLE:
            self.out.append(FetchToken(force=False))
            self.set(loop=ListenLoop.STARTUP_TOKEN)

    def token_issued(self, inp: TokenIssued) -> None:
        loop = self.s.loop
        if loop not in (ListenLoop.STARTUP_TOKEN, ListenLoop.RECONNECT_TOKEN):
            return
        self.set(token=inp.token, token_expires_at_s=inp.at + inp.expires_in_s, token_invalidated=False)
        self.log(M.INFO, M.token_refreshed(inp.expires_in_s))
        self.out.append(ResolveGateway(inp.token))
        self.set(loop=ListenLoop.STARTUP_GATEWAY if loop in _STARTUP else ListenLoop.RECONNECT_GATEWAY)

    def rest_failed(self, at: float, error: str, waiting_for: tuple[ListenLoop, ListenLoop]) -> None:
        startup, reconnect = waiting_for
        if self.s.loop is startup:
            self.startup_failed(error)
        elif self.s.loop is reconnect:
            self.reconnect_failed(at, error)

    def gateway_resolved(self, inp: GatewayResolved) -> None:
        loop = self.s.loop
        if loop not in (ListenLoop.STARTUP_GATEWAY, ListenLoop.RECONNECT_GATEWAY):
            return
        # _open_ws: close the held socket if still open, drop it, then dial a new one.
        if self.s.ws_conn is not None and self.s.ws_open:
            self.out.append(CloseSocket(self.s.ws_conn, _NORMAL_CLOSE, ""))
        conn = self.s.next_conn
        self.out.append(OpenSocket(conn, inp.url))
        self.set(ws_conn=None, ws_open=False, pending_conn=conn, gateway_url=inp.url,
                 next_conn=conn + 1,
                 loop=ListenLoop.STARTUP_OPEN if loop in _STARTUP else ListenLoop.RECONNECT_OPEN)

    def socket_opened(self, inp: SocketOpened) -> None:
        loop = self.s.loop
        if inp.conn != self.s.pending_conn or loop not in (ListenLoop.STARTUP_OPEN, ListenLoop.RECONNECT_OPEN):
            return
        self.set(ws_conn=inp.conn, ws_open=True, pending_conn=None, running=True)
        self.log(M.INFO, M.ws_connected(self.s.gateway_url or ""))
        if loop is ListenLoop.STARTUP_OPEN:
            # connect(): start the listen task and the adapter's one heartbeat task.
            if self.s.heartbeat is HeartbeatTask.NOT_STARTED:
                # The task reads the interval when it starts: 30 s, unless Hello wins the race
                # (settled when Hello arrives: ``hello``).
                self.set(heartbeat=HeartbeatTask.SLEEPING, heartbeat_started_at_s=inp.at,
                         heartbeat_wake_at_s=inp.at + self.s.heartbeat_interval_s)
            self.set(loop=ListenLoop.READING, read_started_at_s=inp.at)
            return
        # Success is counted here, at the upgrade, before Hello and READY.
        self.log(M.INFO, M.RECONNECTED)
        self.set(attempts=0, quick_disconnects=0)
        self.loop_round(inp.at)

    def connect_failed(self, inp: ConnectFailed) -> None:
        loop = self.s.loop
        if inp.conn != self.s.pending_conn or loop not in (ListenLoop.STARTUP_OPEN, ListenLoop.RECONNECT_OPEN):
            return
        self.set(pending_conn=None)  # the adapter's socket stays None
        if loop is ListenLoop.STARTUP_OPEN:
            self.startup_failed(inp.error)
        else:
            self.reconnect_failed(inp.at, inp.error)

    def startup_failed(self, error: str) -> None:
        text = M.startup_failed(error)
        self.log(M.ERROR, text)
        self.give_up(LoopEnd.STARTUP_FAILED, text)

    # -- the listen loop ----------------------------------------------------------------
    def loop_round(self, at: float) -> None:
        """``while running:`` then ``_read_events()`` on whatever socket is held."""
        if not self.s.running:
            self.give_up(LoopEnd.LOOP_CONDITION_FALSE)  # v0.13: the task just ends, silently
            return
        self.set(read_started_at_s=at)
        if self.s.ws_conn is None:
            self.error_path(at, M.ERR_WS_NOT_CONNECTED)
        elif not self.s.ws_open and self.fixed:
            self.error_path(at, M.ERR_WS_CLOSED)  # the fix: a closed socket raises
        elif not self.s.ws_open:
            # Reading a closed socket returns at once without an exception: the counters
            # reset and the loop goes round again with no await, for ever (v0.14).
            self.set(attempts=0, quick_disconnects=0, loop=ListenLoop.SPINNING, loop_wake_at_s=None)
        else:
            self.set(loop=ListenLoop.READING)

    def begin_reconnect(self, at: float, from_close: bool) -> None:
        delay = RECONNECT_DELAYS_S[min(self.s.attempts, len(RECONNECT_DELAYS_S) - 1)]
        self.log(M.INFO, M.reconnecting(delay, self.s.attempts))
        self.set(loop=ListenLoop.BACKOFF, loop_wake_at_s=at + delay, reconnect_from_close=from_close)

    def reconnect_attempt(self, at: float) -> None:
        """The backoff sleep ended: reset the heartbeat interval, then token and URL."""
        self.set(loop_wake_at_s=None, heartbeat_interval_s=DEFAULT_HEARTBEAT_S)
        s = self.s
        if s.token is None or at >= s.token_expires_at_s - TOKEN_REFRESH_MARGIN_S:
            self.out.append(FetchToken(force=s.token_invalidated))
            self.set(loop=ListenLoop.RECONNECT_TOKEN)
        else:
            self.out.append(ResolveGateway(s.token))
            self.set(loop=ListenLoop.RECONNECT_GATEWAY)

    def reconnect_failed(self, at: float, error: str) -> None:
        self.log(M.WARNING, M.reconnect_failed(error))
        self.set(attempts=self.s.attempts + 1)
        if not self.clears_running and self.s.reconnect_from_close and self.s.attempts >= MAX_RECONNECT_ATTEMPTS:
            self.log(M.ERROR, M.MAX_RECONNECT_ATTEMPTS_CLOSE)
            self.give_up(LoopEnd.MAX_ATTEMPTS)
            return
        self.loop_round(at)

    def socket_closed(self, inp: SocketClosed) -> None:
        if inp.conn != self.s.ws_conn or not self.s.ws_open:
            return
        self.set(ws_open=False)
        if self.s.loop is not ListenLoop.READING:
            return
        if self.cfg.close_codes_visible and (inp.code is not None or inp.reason == ""):
            self.close_path(inp.at, inp.code, inp.reason)
        else:
            self.error_path(inp.at, M.ERR_WS_CLOSED)

    def close_path(self, at: float, code: int | None, reason: str) -> None:
        """``except QQCloseError``: a close frame, with its code."""
        self.log(M.WARNING, M.ws_closed(code, reason))
        lived_s = at - self.s.read_started_at_s
        if lived_s < QUICK_DISCONNECT_S:
            count = self.s.quick_disconnects + 1
            self.set(quick_disconnects=count)
            self.log(M.INFO, M.quick_disconnect(lived_s, count))
            if count >= MAX_QUICK_DISCONNECTS:  # before `running` is touched
                self.log(M.ERROR, M.TOO_MANY_QUICK_DISCONNECTS)
                self.give_up(LoopEnd.QUICK_DISCONNECTS, M.FATAL_QUICK_DISCONNECTS)
                return
        else:
            self.set(quick_disconnects=0)
        if self.clears_running:
            self.set(running=False)  # v0.14 only marks the transport down
        fatal = FIXED_FATAL_CLOSE_CODES if self.fixed else FATAL_CLOSE_CODES
        if code in fatal:
            self.log(M.ERROR, M.bot_is(code))
            self.give_up(LoopEnd.FATAL_CLOSE, M.FATAL_OFFLINE if code == 4914 else M.FATAL_BANNED
                         if code == 4915 else M.bot_is(code))
            return
        if code == RATE_LIMIT_CLOSE_CODE:
            self.log(M.INFO, M.rate_limited(RATE_LIMIT_WAIT_S))
            self.set(loop=ListenLoop.RATE_LIMITED, loop_wake_at_s=at + RATE_LIMIT_WAIT_S)
            return
        if code == TOKEN_CLOSE_CODE:
            self.log(M.INFO, M.INVALID_TOKEN)
            self.set(token=None, token_expires_at_s=0.0, token_invalidated=True)
        if code is not None and code in (FIXED_SESSION_CLOSE_CODES if self.fixed else SESSION_CLOSE_CODES):
            self.log(M.INFO, M.session_error(code))
            self.set(session_id=None, last_seq=None)
        self.begin_reconnect(at, from_close=True)

    def error_path(self, at: float, error: str) -> None:
        """``except Exception``: no code, no close-code handling, no quick-disconnect count."""
        self.log(M.WARNING, M.ws_error(error))
        if self.clears_running:
            self.set(running=False)
        if self.s.attempts >= MAX_RECONNECT_ATTEMPTS:
            self.log(M.ERROR, M.MAX_RECONNECT_ATTEMPTS)
            self.give_up(LoopEnd.MAX_ATTEMPTS)
            return
        self.begin_reconnect(at, from_close=False)

    # -- frames -------------------------------------------------------------------------
    def frame(self, inp: FrameReceived) -> None:
        s = self.s
        if s.loop is not ListenLoop.READING or inp.conn != s.ws_conn or not s.ws_open:
            return
        if isinstance(inp.text, bytes):
            return  # a BINARY message: _read_events has no branch for it
        try:
            payload = json.loads(inp.text)
        except ValueError:
            self.out.append(M.record(M.WARNING, M.parse_failed(inp.text), M.BARE_TAG))
            return
        if not isinstance(payload, dict):
            return
        op, t, seq, d = payload.get("op"), payload.get("t"), payload.get("s"), payload.get("d")
        if isinstance(seq, int) and not isinstance(seq, bool) and (s.last_seq is None or seq > s.last_seq):
            self.set(last_seq=seq)
        if op == 10:
            self.hello(d, inp.at)
        elif op == 0 and t:
            self.dispatch(payload, t, seq, d)
        elif op == 7 and self.fixed:
            self.log(M.INFO, M.SERVER_REQUESTED_RECONNECT)
            self.drop_and_reconnect(inp.at)
        elif op == 9 and self.fixed:
            if d is True:
                self.log(M.INFO, M.INVALID_SESSION_RESUMABLE)
            else:
                self.log(M.INFO, M.INVALID_SESSION_CLEARING)
                self.set(session_id=None, last_seq=None)
            self.drop_and_reconnect(inp.at)
        # op 11 (ACK), op 7 and op 9 before the fixes, anything else: ignored.

    def drop_and_reconnect(self, at: float) -> None:
        """The fixed adapter's answer to op 7 / op 9: close the socket, keep what is left of the
        session, reconnect (not counted as a failure)."""
        assert self.s.ws_conn is not None
        self.out.append(CloseSocket(self.s.ws_conn, 4000, "reconnect"))
        self.set(ws_open=False)
        self.begin_reconnect(at, from_close=True)

    def hello(self, d: Any, at: float) -> None:
        interval_ms = d.get("heartbeat_interval", DEFAULT_HELLO_MS) if isinstance(d, dict) else DEFAULT_HELLO_MS
        if not isinstance(interval_ms, (int, float)) or isinstance(interval_ms, bool):
            interval_ms = DEFAULT_HELLO_MS
        self.set(heartbeat_interval_s=interval_ms / 1000.0 * HELLO_FACTOR)
        started = self.s.heartbeat_started_at_s
        if started is not None:  # the first Hello settles the heartbeat task's startup race
            won = at - started <= HELLO_RACE_WINDOW_S and hello_wins_race(self.cfg.seed)
            if won and self.s.heartbeat is HeartbeatTask.SLEEPING:
                self.set(heartbeat_wake_at_s=started + self.s.heartbeat_interval_s)
            self.set(heartbeat_started_at_s=None)
        s = self.s
        token = f"QQBot {s.token}"
        assert s.ws_conn is not None
        if s.session_id and s.last_seq is not None:
            resume = {"token": token, "session_id": s.session_id, "seq": s.last_seq}
            self.out.append(SendFrame(s.ws_conn, _frame(6, resume)))
            self.log(M.INFO, M.resume_sent(s.session_id, s.last_seq))
        else:
            identify = {"token": token, "intents": self.cfg.intents, "shard": [0, 1], "properties": {}}
            self.out.append(SendFrame(s.ws_conn, _frame(2, identify)))
            self.log(M.INFO, M.IDENTIFY_SENT)

    def dispatch(self, payload: dict[str, Any], t: Any, seq: Any, d: Any) -> None:
        if t == "READY":
            if isinstance(d, dict):
                sid = d.get("session_id")
                self.set(session_id=sid if isinstance(sid, str) else None)
                self.log(M.INFO, M.ready(sid))
            return
        if t == "RESUMED":
            self.log(M.INFO, M.SESSION_RESUMED)
            return
        seq_n: int = seq if _is_int(seq) else (self.s.last_seq or 0)
        event_id = payload.get("id")
        d_id = d.get("id") if isinstance(d, dict) else None
        key = d_id if isinstance(d_id, str) and d_id else f"s:{seq_n}"
        # The adapter numbers no sessions: every dispatch carries session epoch 0.
        self.out.append(Deliver(Dispatch(seq_n, str(t), event_id if isinstance(event_id, str) else None, d, key, 0)))

    # -- time ---------------------------------------------------------------------------
    def tick(self, at: float) -> None:
        """Run every timer due by ``at``, each at its own scheduled time."""
        while self.s.loop is not ListenLoop.SPINNING:
            s = self.s
            hb = s.heartbeat_wake_at_s if s.heartbeat is HeartbeatTask.SLEEPING else None
            lw = s.loop_wake_at_s if s.loop in SLEEPING_LOOPS else None
            hb_due = hb is not None and hb <= at
            lw_due = lw is not None and lw <= at
            if hb_due and hb is not None and (lw is None or not lw_due or hb <= lw):
                self.heartbeat_wakes(hb)
            elif lw_due and lw is not None:
                self.loop_wakes(lw)
            else:
                return

    def heartbeat_wakes(self, at: float) -> None:
        s = self.s
        if s.ws_conn is not None and s.ws_open:
            self.out.append(SendFrame(s.ws_conn, _frame(1, s.last_seq)))
        if not s.running:
            self.set(heartbeat=HeartbeatTask.ENDED, heartbeat_wake_at_s=None)
        else:
            self.set(heartbeat_wake_at_s=at + s.heartbeat_interval_s)

    def loop_wakes(self, at: float) -> None:
        if self.s.loop is ListenLoop.RATE_LIMITED:
            self.set(loop_wake_at_s=None)
            self.begin_reconnect(at, from_close=False)
        else:
            self.reconnect_attempt(at)

    def stop(self) -> None:
        """``disconnect()``: cancel both tasks and close the held socket."""
        if self.s.loop_end is LoopEnd.STOPPED:
            return
        if self.s.ws_conn is not None and self.s.ws_open:
            self.out.append(CloseSocket(self.s.ws_conn, _NORMAL_CLOSE, ""))
        self.set(running=False, heartbeat=HeartbeatTask.ENDED, heartbeat_wake_at_s=None,
                 ws_conn=None, ws_open=False, pending_conn=None)
        self.give_up(LoopEnd.STOPPED)
        self.log(M.INFO, M.DISCONNECTED)
