"""A model of botpy 1.2.1 (tencent-connect/botpy, PyPI ``qq-botpy``), the official Python SDK.

A pure reducer with the core's signature, like the hermes model, written from botpy's source
(research notes clients-behaviour.md §1, botpy 1.2.1 = tag v1.2.1 = master for gateway.py):

- Start: token (``robot.py``), then ``GET /gateway/bot`` **once**: its URL is reused for every
  later connection (client.py 204-211). A token or gateway failure at start ends the client.
- One connection at a time; each starts at once in the first round and **5 s after the previous
  socket loop ended** in every later round (connection.py 69-72: ``_connect`` then
  ``sleep(session_interval)``, 5 s for ``max_concurrency`` 1), for ever: no backoff, no limit.
  A failed connect (DNS, refused) goes through ``on_error`` and waits the same 5 s.
- Hello: Resume if a session is held, else Identify (gateway.py 101-107); the Hello interval is
  ignored. The token is refreshed first if it expired (``check_token``).
- READY / RESUMED: the heartbeat task starts: a beat at once, then every **30 s** (gateway.py
  218-238), ``d`` = the last ``s``; no heartbeat before READY/RESUMED. op 11 ignored: no ACK
  tracking, so a half-open link is never noticed.
- op 7 only sets ``_can_reconnect``; op 9 clears it, and the session is then dropped at the next
  close. Close codes (gateway.py 55-65): 4004 drops the token; 9001/9005 (or after op 9) drop the
  session; **every other code keeps the session and resumes**: 4006/4007 resume a dead session
  for ever, 4008 gets no cooldown, 4013/4014/4914/4915 are retried every 5 s for ever.
- Dispatches are delivered with no dedupe; ``last_seq`` takes every ``s`` > 0.

Log lines are botpy's own (``[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out``) as
``Log(level, "botpy", {"logger", "source", "message"})``, so a replay renders them in botpy's
console format. Not modelled: TLS (botpy does not verify certificates), sharding, the REST API.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, replace
from typing import Any, assert_never

from qqgate.core import (
    CloseSocket, Command, ConnectFailed, Deliver, Dispatch, DispatchSettled, FetchToken, FrameReceived,
    GatewayFailed, GatewayResolved, Input, Log, OpenSocket, ResolveGateway, SendFailed, SendFrame,
    SocketClosed, SocketOpened, Start, Stop, Tick, TokenFailed, TokenIssued,
)

RECONNECT_AFTER_S = 5.0
"""Seconds between the end of one socket loop and the next connect (``session_interval``)."""
HEARTBEAT_S = 30.0
"""botpy's fixed heartbeat period (seconds), whatever Hello says."""
SESSION_DROPPING_CODES = frozenset({9001, 9005})
"""botpy's ``_INVALID_RECONNECT_CODE``: not QQ close codes; the session is dropped after them."""
TOKEN_CODE = 4004
EVENT = "botpy"
LOGGER = "botpy"


class Phase(str, enum.Enum):
    """Where the client is."""

    IDLE = "IDLE"
    TOKEN = "TOKEN"                # start: awaiting the access token
    GATEWAY = "GATEWAY"            # start: awaiting GET /gateway/bot
    CONNECTING = "CONNECTING"      # ws_connect: awaiting the upgrade of ``conn``
    HELLO = "HELLO"                # open: awaiting Hello
    HANDSHAKE_TOKEN = "HANDSHAKE_TOKEN"  # Hello came, the token had expired: refreshing it
    HANDSHAKE = "HANDSHAKE"        # Identify or Resume sent: awaiting READY / RESUMED
    RUNNING = "RUNNING"            # READY/RESUMED: the heartbeat task beats every 30 s
    SLEEPING = "SLEEPING"          # the socket loop ended: 5 s until the next connect
    STOPPED = "STOPPED"            # a start failure, or Stop


@dataclass(frozen=True, slots=True)
class BotpyConfig:
    """``app_id`` (informational), ``intents`` (sent in Identify), ``bot_name`` (READY's log line)."""

    app_id: str = "102000001"
    intents: int = 1 << 25
    bot_name: str = "qqgate-sim-bot"


@dataclass(frozen=True, slots=True)
class BotpyState:
    """Everything the client holds (times in the caller's seconds).

    ``conn``/``conn_open``: the connection of this round; ``next_conn``; ``url``: the gateway URL
    fetched at start; ``token``/``token_expires_at_s``; ``session_id``/``last_seq``;
    ``can_reconnect``: cleared by op 9; ``heartbeat_at_s``: the next beat; ``wake_at_s``: the end
    of the 5 s sleep; ``now_s``: the latest input's time.
    """

    phase: Phase = Phase.IDLE
    now_s: float = 0.0
    conn: int | None = None
    conn_open: bool = False
    next_conn: int = 1
    url: str | None = None
    token: str | None = None
    token_expires_at_s: float = 0.0
    session_id: str | None = None
    last_seq: int = 0
    can_reconnect: bool = True
    heartbeat_at_s: float | None = None
    wake_at_s: float | None = None


def _frame(op: int, d: Any) -> str:
    return json.dumps({"op": op, "d": d}, separators=(",", ":"), ensure_ascii=False)


def _log(level: str, message: str, source: str) -> Log:
    return Log(level, EVENT, {"logger": LOGGER, "source": source, "message": message})


class BotpyModel:
    """botpy 1.2.1 as a ``replay.world.ClientModel`` (module docstring for the behaviour)."""

    name = "botpy"

    def __init__(self, config: BotpyConfig = BotpyConfig()) -> None:
        self.config = config

    def initial_state(self) -> BotpyState:
        return BotpyState()

    def next_deadline(self, state: BotpyState) -> float | None:
        """The next heartbeat or the end of the 5 s sleep (seconds)."""
        times = [t for t in (state.heartbeat_at_s, state.wake_at_s) if t is not None]
        return min(times) if times else None

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"client": "botpy", "models": "tencent-connect/botpy 1.2.1", "version": "1.2.1",
                "config": {"app_id": c.app_id, "intents": c.intents, "bot_name": c.bot_name}}

    def step(self, state: BotpyState, inp: Input) -> tuple[BotpyState, tuple[Command, ...]]:
        """Feed one input (``inp.at`` in seconds); returns the new state and the commands."""
        s = replace(state, now_s=max(state.now_s, inp.at))
        out: list[Command] = []
        if s.phase is Phase.STOPPED:
            return s, ()
        match inp:
            case Start():
                if s.phase is Phase.IDLE:
                    out += [_log("INFO", "[botpy] 登录机器人账号中...", "client.py:162 _bot_login"),
                            FetchToken(force=False)]
                    s = replace(s, phase=Phase.TOKEN)
            case TokenIssued(at=at, token=token, expires_in_s=expires):
                s = replace(s, token=token, token_expires_at_s=at + expires)
                out.append(_log("INFO", f"[botpy] access_token expires_in {int(expires)}", "robot.py:65 update_access_token"))
                if s.phase is Phase.TOKEN:
                    out.append(ResolveGateway(token))
                    s = replace(s, phase=Phase.GATEWAY)
                elif s.phase is Phase.HANDSHAKE_TOKEN:
                    s = self._handshake(s, out)
            case TokenFailed(error=error) | GatewayFailed(error=error):
                if s.phase in (Phase.TOKEN, Phase.GATEWAY):
                    out.append(_log("ERROR", f"[botpy] 获取token失败，请检查appid和secret填写是否正确！ {error}",
                                    "robot.py:63 update_access_token"))
                    s = replace(s, phase=Phase.STOPPED)
                elif s.phase is Phase.HANDSHAKE_TOKEN:
                    s = self._loop_ended(s, out, f"token refresh failed: {error}")
            case GatewayResolved(url=url):
                if s.phase is Phase.GATEWAY:
                    out.append(_log("INFO", "[botpy] 程序启动...", "client.py:181 _bot_init"))
                    s = self._connect(replace(s, url=url), out)
            case Tick(at=at):
                s = self._tick(s, out, at)
            case SocketOpened(conn=conn):
                if s.phase is Phase.CONNECTING and conn == s.conn:
                    s = replace(s, phase=Phase.HELLO, conn_open=True)
            case ConnectFailed(conn=conn, error=error):
                if s.phase is Phase.CONNECTING and conn == s.conn:
                    out.append(_log("ERROR", f"[botpy] websocket连接: None, 异常信息 : {error}", "gateway.py:51 on_error"))
                    s = self._sleep(replace(s, conn=None), out)
            case FrameReceived():
                s = self._frame(s, out, inp)
            case SocketClosed(conn=conn, code=code, reason=reason):
                if conn == s.conn and s.conn_open:
                    s = self._closed(s, out, code, reason)
            case Stop():
                if s.conn is not None and s.conn_open:
                    out.append(CloseSocket(s.conn, 1000, ""))
                out.append(_log("INFO", "[botpy] 服务强行停止!", "client.py:230 _pool_init"))
                s = replace(s, phase=Phase.STOPPED, conn_open=False, heartbeat_at_s=None, wake_at_s=None)
            case SendFailed() | DispatchSettled():
                pass
            case _:
                assert_never(inp)
        return s, tuple(out)

    # -- the rounds -----------------------------------------------------------------------------
    def _connect(self, s: BotpyState, out: list[Command]) -> BotpyState:
        """``multi_run`` → ``_runner`` → ``bot_connect`` → ``ws_connect`` with the stored URL."""
        conn = s.next_conn
        out += [_log("INFO", "[botpy] 最大并发连接数: 1, 启动会话数: 1", "connection.py:60 multi_run"),
                _log("INFO", "[botpy] 会话启动中...", "client.py:242 bot_connect"),
                _log("INFO", "[botpy] 启动中...", "gateway.py:115 ws_connect"),
                OpenSocket(conn, s.url or "")]
        return replace(s, phase=Phase.CONNECTING, conn=conn, conn_open=False, next_conn=conn + 1,
                       can_reconnect=True, heartbeat_at_s=None, wake_at_s=None)

    def _sleep(self, s: BotpyState, out: list[Command]) -> BotpyState:
        return replace(s, phase=Phase.SLEEPING, heartbeat_at_s=None, wake_at_s=s.now_s + RECONNECT_AFTER_S)

    def _loop_ended(self, s: BotpyState, out: list[Command], why: str) -> BotpyState:
        if s.conn is not None and s.conn_open:
            out.append(CloseSocket(s.conn, 1000, why))
        out.append(_log("INFO", "[botpy] ws关闭, 停止接收消息!", "gateway.py:134 ws_connect"))
        return self._sleep(replace(s, conn_open=False), out)

    def _tick(self, s: BotpyState, out: list[Command], at: float) -> BotpyState:
        if s.heartbeat_at_s is not None and s.heartbeat_at_s <= at and s.phase is Phase.RUNNING:
            s = self._beat(s, out, s.heartbeat_at_s)
        if s.wake_at_s is not None and s.wake_at_s <= at and s.phase is Phase.SLEEPING:
            s = self._connect(s, out)
        return s

    def _beat(self, s: BotpyState, out: list[Command], at: float) -> BotpyState:
        if s.conn is not None and s.conn_open:
            out.append(SendFrame(s.conn, _frame(1, s.last_seq)))
        return replace(s, heartbeat_at_s=at + HEARTBEAT_S)

    def _handshake(self, s: BotpyState, out: list[Command]) -> BotpyState:
        assert s.conn is not None
        token = f"QQBot {s.token}"
        if s.session_id:
            out.append(_log("INFO", "[botpy] 重连启动...", "gateway.py:175 ws_resume"))
            out.append(SendFrame(s.conn, _frame(6, {"token": token, "session_id": s.session_id, "seq": s.last_seq})))
        else:
            out.append(_log("INFO", "[botpy] 鉴权中...", "gateway.py:142 ws_identify"))
            out.append(SendFrame(s.conn, _frame(2, {"token": token, "intents": self.config.intents,
                                                    "shard": [0, 1], "properties": {}})))
        return replace(s, phase=Phase.HANDSHAKE)

    def _frame(self, s: BotpyState, out: list[Command], inp: FrameReceived) -> BotpyState:
        if inp.conn != s.conn or not s.conn_open or isinstance(inp.text, bytes):
            return s
        try:
            payload = json.loads(inp.text)
        except ValueError:
            return s
        if not isinstance(payload, dict):
            return s
        op, t, seq, d = payload.get("op"), payload.get("t"), payload.get("s"), payload.get("d")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
            s = replace(s, last_seq=seq)
        if op == 10 and s.phase is Phase.HELLO:
            if s.token is None or s.now_s >= s.token_expires_at_s:
                out.append(FetchToken(force=True))
                return replace(s, phase=Phase.HANDSHAKE_TOKEN)
            return self._handshake(s, out)
        if op == 7:
            return replace(s, can_reconnect=True)
        if op == 9:
            return replace(s, can_reconnect=False)
        if op != 0 or not isinstance(t, str):
            return s  # op 11 and the rest: ignored
        if t in ("READY", "RESUMED"):
            if t == "READY":
                sid = d.get("session_id") if isinstance(d, dict) else None
                s = replace(s, session_id=sid if isinstance(sid, str) else None)
                out.append(_log("INFO", f"[botpy] 机器人「{self.config.bot_name}」启动成功！", "gateway.py:85 on_message"))
            else:
                out.append(_log("INFO", "[botpy] 机器人重连成功! ", "gateway.py:90 on_message"))
            out.append(_log("INFO", "[botpy] 心跳维持启动...", "gateway.py:223 _send_heart"))
            return self._beat(replace(s, phase=Phase.RUNNING), out, s.now_s)
        key_id = d.get("id") if isinstance(d, dict) else None
        key = key_id if isinstance(key_id, str) and key_id else f"s:{seq}"
        event_id = payload.get("id")
        out.append(Deliver(Dispatch(seq if isinstance(seq, int) and not isinstance(seq, bool) else s.last_seq,
                                    t, event_id if isinstance(event_id, str) else None, d, key, 0)))
        return s

    def _closed(self, s: BotpyState, out: list[Command], code: int | None, reason: str) -> BotpyState:
        shown_code = 1006 if code is None else code
        shown_reason = reason if reason else "None"
        out.append(_log("INFO", f"[botpy] 关闭, 返回码: {shown_code}, 返回信息: {shown_reason}", "gateway.py:56 on_closed"))
        if code == TOKEN_CODE:
            out.append(_log("INFO", "[botpy] 鉴权失败，重置token...", "gateway.py:58 on_closed"))
            s = replace(s, token=None, token_expires_at_s=0.0)
        if not s.can_reconnect or code in SESSION_DROPPING_CODES:
            out.append(_log("INFO", "[botpy] 无法重连，创建新连接!", "gateway.py:62 on_closed"))
            s = replace(s, session_id=None, last_seq=0)
        out.append(_log("INFO", "[botpy] ws关闭, 停止接收消息!", "gateway.py:134 ws_connect"))
        return self._sleep(replace(s, conn_open=False), out)
