"""The readers of Python clients: hermes-agent, botpy (and AstrBot on it), NoneBot, QQ-official-guild-bot.

Each table is the client's own log statements (format strings read from its source; research
notes formats.md, with file:line and version) as ``pattern → event``. Wordings seen only in
real reports are marked with where they were seen. ``paraphrase=True`` rules read a reporter's
paraphrase of a line (an annotated timeline), and the reading report says so.
"""

from __future__ import annotations

from ._events import EventKind as K
from ._rules import NUM, Rule, rule

# -- hermes-agent, gateway/platforms/qqbot/adapter.py (PyPI 0.13.0 = 0.14.0, 0.19.0) ----------
_H = "hermes"
HERMES: tuple[Rule, ...] = (
    rule(_H, K.CLOSED, r"WebSocket closed: code=(?P<code>\S*)(?: reason=(?P<reason>.*))?$"),
    # reporters' shortening of "WebSocket error: WebSocket closed" (#20531: "WARNING: WebSocket closed")
    rule(_H, K.WS_ERROR, r"WebSocket closed\s*$", reason="WebSocket closed"),
    rule(_H, K.WS_ERROR, r"WebSocket error:?\s*(?P<reason>.*)$"),
    rule(_H, K.CONNECTED, r"WebSocket connected(?: to (?P<url>\S+))?\s*$"),
    rule(_H, K.RECONNECTED, r"Reconnected\s*$"),
    rule(_H, K.SEND_WAITING, r"Reconnected after (?P<lived_s>" + NUM + r")s"),
    rule(_H, K.RECONNECTING, r"Reconnecting in (?P<delay_s>" + NUM + r")\s*s\b(?:\s*\(attempt (?P<attempt>\d+)\))?"),
    rule(_H, K.RECONNECT_FAILED, r"Reconnect failed\b:?\s*(?P<reason>.*)$"),
    rule(_H, K.RECONNECT_FAILED, r"QQ startup failed:?\s*(?P<reason>.*)$", head="QQ startup failed"),
    rule(_H, K.GAVE_UP, r"Max reconnect attempts reached(?: \(QQCloseError\))?\s*$"),
    rule(_H, K.GAVE_UP, r"Too many quick disconnects\. Check", reason="too many quick disconnects"),
    rule(_H, K.RESUME_SENT, r"Resume sent \(session_id=(?P<session_id>[^,)]*),\s*seq=(?P<seq>[^)]*)\)"),
    rule(_H, K.RESUMED, r"Session resumed(?: \(seq=(?P<seq>\d+)\))?"),
    rule(_H, K.IDENTIFY_SENT, r"Identify sent\b"),
    rule(_H, K.READY, r"Ready, ?session_id=(?P<session_id>\S*)"),
    rule(_H, K.HELLO, r"Hello received, heartbeat_interval=(?P<interval_ms>\d+)ms"),
    rule(_H, K.QUICK_DISCONNECT, r"Quick disconnect \((?P<lived_s>" + NUM + r")s\)(?:, count: (?P<count>\d+))?"),
    rule(_H, K.SESSION_CLEARED, r"Session error \((?P<code>\d+)\), clearing session"),
    rule(_H, K.RATE_LIMITED, r"Rate limited \((?P<code>\d+)\)(?:, waiting (?P<delay_s>" + NUM + r")s)?"),
    rule(_H, K.TOKEN_INVALID, r"Invalid token \((?P<code>\d+)\)"),
    rule(_H, K.FATAL_CLOSE, r"Bot is banned\b", code=4915, reason="banned"),
    rule(_H, K.FATAL_CLOSE, r"Bot is offline/sandbox-only\b", code=4914, reason="offline/sandbox-only"),
    rule(_H, K.FATAL_CLOSE, r"Bot is (?P<reason>invalid opcode|invalid payload|invalid shard|sharding required|"
                            r"invalid API version|invalid intent|intent not authorized)\b"),  # 0.19.0
    rule(_H, K.RECONNECT_REQUESTED, r"Server requested reconnect \(op 7\)"),          # 0.19.0
    rule(_H, K.INVALID_SESSION, r"Invalid session \(op 9"),                          # 0.19.0
    rule(_H, K.SEND_WAITING, r"Not connected\s*(?:—|–|-{1,2})\s*waiting for reconnection"),
    rule(_H, K.SEND_WAITING, r"Still not connected after\b"),
    rule(_H, K.CONNECTING, r"Gateway URL: (?P<url>\S+)"),
    rule(_H, K.STOPPED, r"Disconnected\s*$"),
    rule(_H, K.ACTIVITY, r"Access token refreshed(?:, expires in (?P<delay_s>" + NUM + r")s)?"),
    rule(_H, K.MESSAGE, r"Sending response\b"),
    rule(_H, K.MESSAGE, r"Sent response\b"),                                        # #20531, shortened
    rule(_H, K.ACTIVITY, r"Session expiry\b"),                                       # gateway.run, #25505
    rule(_H, K.ACTIVITY, r"Connected\s*$"),
    # an annotated timeline (#19821): the reporter's words for a resume, a session start, a message
    rule(_H, K.RESUMED, r"Last successful WebSocket resume(?: \(seq=(?P<seq>\d+)\))?", paraphrase=True),
    rule(_H, K.READY, r"session (?P<session_id>[0-9a-f]{4,64}) created\s*$", head="session ", paraphrase=True),
    rule(_H, K.MESSAGE, r"Last C2C message received", paraphrase=True),
)

# -- botpy 1.x (tencent-connect/botpy: gateway.py, client.py, connection.py, robot.py) -----------
_B = "botpy"
BOTPY: tuple[Rule, ...] = (
    rule(_B, K.CLOSED, r"关闭, 返回码: (?P<code>\d+), 返回信息: (?P<reason>.*)$"),
    rule(_B, K.CLOSED, r"WebSocket关闭，代码: (?P<code>\d+)"),   # a patched botpy (botpy#239)
    rule(_B, K.WS_ERROR, r"websocket连接: (?P<session_id>.*?), 异常信息 ?: ?(?P<reason>.*)$"),
    rule(_B, K.TOKEN_INVALID, r"鉴权失败，重置token", code=4004),
    rule(_B, K.SESSION_CLEARED, r"无法重连，创建新连接"),
    rule(_B, K.CONNECTING, r"会话启动中"),
    rule(_B, K.ACTIVITY, r"启动中\.\.\."),
    rule(_B, K.ACTIVITY, r"最大并发连接数: (?P<count>\d+)"),
    rule(_B, K.IDENTIFY_SENT, r"鉴权中"),
    rule(_B, K.RESUME_SENT, r"重连启动"),
    rule(_B, K.READY, r"机器人「(?P<session_id>.*)」启动成功"),
    rule(_B, K.RESUMED, r"机器人重连成功"),
    rule(_B, K.ACTIVITY, r"心跳维持启动"),
    rule(_B, K.ACTIVITY, r"ws关闭, 停止接收消息"),
    rule(_B, K.HEARTBEAT_SENT, r"发送消息: \{['\"]op['\"]: 1\b"),
    rule(_B, K.STOPPED, r"服务(?:意外|强行)停止"),
    rule(_B, K.STARTING, r"程序启动"),
    rule(_B, K.ACTIVITY, r"登录机器人账号中"),
    rule(_B, K.ACTIVITY, r"access_token expires_in"),
    rule(_B, K.RECONNECT_FAILED, r"获取token失败(?P<reason>.*)$"),
    rule(_B, K.RECONNECT_FAILED, r"access_token TimeoutError:?(?P<reason>.*)$"),
)

# -- AstrBot qqofficial (botpy underneath; its own lines) ---------------------------------------
_A = "astrbot"
ASTRBOT: tuple[Rule, ...] = (
    rule(_A, K.CONNECTING, r"\[QQOfficial\] Websocket session starting\.", head="[QQOfficial] Websocket"),
    rule(_A, K.INVALID_SESSION, r"\[QQOfficial\] Gateway reported invalid session", head="[QQOfficial] Gateway"),
    rule(_A, K.ACTIVITY, r"\[QQOfficial\] Ignore websocket reconnect during shutdown", head="[QQOfficial] Ignore"),
    rule(_A, K.STOPPED, r"QQ 官方机器人接口 适配器已被关闭"),
)

# -- NoneBot adapter-qq (and its predecessor adapter-qqguild), nonebot/adapters/qq/adapter.py ----
_N = "nonebot"
NONEBOT: tuple[Rule, ...] = (
    rule(_N, K.CONNECTED, r"WebSocket Connection to (?P<url>\S+) established"),
    rule(_N, K.CLOSED, r"WebSocket Closed\b"),
    rule(_N, K.WS_ERROR, r"Error while process data from websocket (?P<url>\S+?)\.? Trying to reconnect",
         then=K.RECONNECTING, delay_s=3.0),
    rule(_N, K.RECONNECT_FAILED, r"Error while setup websocket to (?P<url>\S+?)\.? Trying to reconnect",
         then=K.RECONNECTING, delay_s=3.0),
    rule(_N, K.GAVE_UP, r"Failed to get gateway info", reason="gateway info fetch failed: the listener returns"),
    rule(_N, K.GAVE_UP, r"Failed to establish connection to QQ because of session start limit",
         reason="session start limit"),
    rule(_N, K.WS_ERROR, r"Error while receiving server hello event", reason="no Hello"),
    rule(_N, K.AUTH_FAILED, r"Error while sending (?P<reason>Identify|Resume) event"),
    rule(_N, K.INVALID_SESSION, r"Received invalid session event from server", then=K.RECONNECTING, delay_s=3.0),
    rule(_N, K.AUTH_FAILED, r"Received unexpected (?:payload|event) while authenticating: (?P<reason>.*)$"),
    rule(_N, K.READY, r"Bot (?P<session_id>\S+) connected"),
    rule(_N, K.HEARTBEAT_ACK, r"Heartbeat ACK"),
    rule(_N, K.HEARTBEAT_SENT, r"Heartbeat \d+"),
    rule(_N, K.RECONNECT_REQUESTED, r"Received reconnect event from server", then=K.RECONNECTING, delay_s=3.0),
    # the RESUMED dispatch arrived (its empty data failed to parse: adapter-qq#202)
    rule(_N, K.RESUMED, r"Failed to parse event Dispatch\(.*type='RESUMED'"),
    rule(_N, K.ACTIVITY, r"Failed to parse event\b"),
)
NONEBOT_CONTINUATIONS: tuple[Rule, ...] = (
    rule(_N, K.CLOSED, r"(?:nonebot\.exception\.)?WebSocketClosed: WebSocketClosed\(code=(?P<code>\d+), "
                       r"reason='(?P<reason>[^']*)'\)", head=""),
    rule(_N, K.AUTH_FAILED, r".*\bin _authenticate\s*$", head="", reason="the error was raised while authenticating"),
    rule(_N, K.AUTH_FAILED, r"AssertionError: Received unexpected payload: (?P<reason>.*)$", head="AssertionError"),
)
"""Lines inside a NoneBot traceback that say what the error was."""

# -- chinosk6/QQ-official-guild-bot (its own Python client) ---------------------------------------
_G = "guild-bot"
GUILD_BOT: tuple[Rule, ...] = (
    rule(_G, K.CLOSED, r"连接断开, 尝试重连", then=K.RECONNECTING),
)

# -- any Python client: the reconnect code itself blew up ------------------------------------------
_ANY = "python"
CRASHES: tuple[Rule, ...] = (
    rule(_ANY, K.CRASHED, r"(?:RecursionError: )?(?P<reason>maximum recursion depth exceeded)", head=""),
)
