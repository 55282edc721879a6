"""The readers of Node, Rust and Zig clients: OpenClaw's qqbot plugin and openclaw-qqbot (1.x, and
2.x on qqbot-nodejs), bot-node-sdk, an unknown Node client (bot-node-sdk#94), happyclaw,
Koishi/satori adapter-qq, zeroclaw, nullclaw.

As in ``_clients_py``: each table is the client's own log statements (research notes
formats.md) as ``pattern → event``; wordings seen only in a real report say where.
"""

from __future__ import annotations

from ._events import EventKind as K
from ._rules import NUM, Rule, rule

# -- OpenClaw (extensions/qqbot, 2026.x) and tencent-connect/openclaw-qqbot (src/gateway.ts) ----
_O = "openclaw"
OPENCLAW: tuple[Rule, ...] = (
    rule(_O, K.STARTING, r"Starting gateway"),
    rule(_O, K.CONNECTING, r"Connecting to (?P<url>\S+)"),
    rule(_O, K.CONNECTED, r"WebSocket connected\s*$"),
    rule(_O, K.HELLO, r"Hello received"),
    rule(_O, K.IDENTIFY_SENT, r"Sending identify with intents"),
    rule(_O, K.RESUME_SENT, r"Attempting to resume session (?P<session_id>\S+)"),
    rule(_O, K.READY, r"Ready(?: with [^,]*)?, session: (?P<session_id>\S+)"),
    rule(_O, K.READY, r"Gateway ready\b"),                               # 2.x (openclaw-qqbot#313)
    rule(_O, K.READY, r"Dispatch event: t=READY\b"),
    rule(_O, K.RESUMED, r"Dispatch event: t=RESUMED\b"),
    rule(_O, K.RESUMED, r"Session resumed\b"),
    rule(_O, K.RECONNECT_REQUESTED, r"Server requested reconnect"),
    rule(_O, K.INVALID_SESSION, r"Invalid session(?: \([^)]*\))?, can resume: (?P<reason>\w+)"),
    rule(_O, K.CLOSED, r"WebSocket closed: (?P<code>\d+)(?: (?P<reason>.*))?$"),
    rule(_O, K.SESSION_CLEARED, r"Session error \((?P<code>\d+)\), will refresh token"),
    rule(_O, K.SESSION_CLEARED, r"Error (?P<code>\d+)(?: \([^)]*\))?, will re-identify"),
    rule(_O, K.SESSION_CLEARED, r"Internal error \((?P<code>\d+)\), will re-identify"),
    rule(_O, K.SESSION_CLEARED, r"Will refresh token and retry with full intents"),
    rule(_O, K.SESSION_CLEARED, r"Too many quick disconnects, clearing session"),
    rule(_O, K.RATE_LIMITED, r"Too many quick disconnects\. This may indicate a permission issue", delay_s=60.0),
    rule(_O, K.QUICK_DISCONNECT, r"Quick disconnect detected \((?P<lived_ms>\d+)ms\)(?:, count: (?P<count>\d+))?"),
    rule(_O, K.RECONNECTING, r"Reconnecting(?: \S+)? in (?P<delay_ms>\d+)ms \(attempt (?P<attempt>\d+)"
                             r"(?:/(?P<max_attempts>\d+))?\)", head="Reconnecting"),
    rule(_O, K.RECONNECT_FAILED, r"Connection failed: (?P<reason>.*)$"),
    rule(_O, K.WS_ERROR, r"WebSocket error: (?P<reason>.*)$"),
    rule(_O, K.WS_ERROR, r"Gateway error: (?P<reason>.*)$"),             # 2.x
    rule(_O, K.GAVE_UP, r"Max reconnect attempts reached or abort"),
    rule(_O, K.FATAL_CLOSE, r"Bot is offline/sandbox-only\. Please contact", code=4914, reason="offline/sandbox-only"),
    rule(_O, K.FATAL_CLOSE, r"Bot is banned\. Please contact", code=4915, reason="banned"),
    rule(_O, K.TOKEN_INVALID, r"Invalid token \((?P<code>4004)\)"),
    rule(_O, K.RATE_LIMITED, r"Rate limited(?: \((?P<code>4008)\))?, waiting (?P<delay_ms>\d+)ms"),
    rule(_O, K.HEARTBEAT_SENT, r"Heartbeat sent"),
    rule(_O, K.HEARTBEAT_ACK, r"Heartbeat ACK"),
    rule(_O, K.ACTIVITY, r"Received op=(?P<count>\d+)"),
    rule(_O, K.ACTIVITY, r"✅ Access token obtained successfully"),
    rule(_O, K.ACTIVITY, r"Refreshing token\.\.\."),
    rule(_O, K.ACTIVITY, r"Background refresh already running"),
    rule(_O, K.ACTIVITY, r"Restored session: "),
    rule(_O, K.ACTIVITY, r"Already connecting, skip"),
    # openclaw#55631, partly paraphrased by its reporter
    rule(_O, K.READY, r"Re-identified, new session established", paraphrase=True),
    rule(_O, K.SESSION_CLEARED, r"Cleared session for (?P<session_id>\S+)", paraphrase=True),
)

# -- tencent-connect/bot-node-sdk 2.9.x (src/client/*.ts): ``[CLIENT] ...`` ----------------------
_S = "bot-node-sdk"
BOT_NODE_SDK: tuple[Rule, ...] = (
    rule(_S, K.CONNECTED, r"开启"),
    rule(_S, K.READY, r"鉴权通过"),
    rule(_S, K.HEARTBEAT_SENT, r"发送第一次心跳"),
    rule(_S, K.HEARTBEAT_ACK, r"心跳校验"),
    rule(_S, K.CLOSED, r"连接关闭\s*(?P<code>\d+)?"),
    rule(_S, K.WS_ERROR, r"连接错误"),
    rule(_S, K.RECONNECT_REQUESTED, r"等待断线重连中"),
    rule(_S, K.CONNECTING, r"重新连接中，尝试次数：\s*(?P<attempt>\d+)"),
    rule(_S, K.GAVE_UP, r"超过重试次数，连接终止", max_attempts=10),
    rule(_S, K.RESUMED, r"连接成功"),
)

# -- an unknown Node client (filed at bot-node-sdk#94; not bot-node-sdk's wording) ---------------
_U = "node (bot-node-sdk#94)"
NODE_UNKNOWN: tuple[Rule, ...] = (
    rule(_U, K.CLOSED, r"WebSocket closed before READY: (?P<code>\d+)", reason="closed before READY"),
    rule(_U, K.CLOSED, r"WebSocket closed: (?P<code>\d+)(?: (?P<reason>.*))?$"),
    rule(_U, K.RECONNECT_FAILED, r"Reconnect failed: (?P<reason>.*)$"),
    rule(_U, K.GAVE_UP, r"Max reconnect attempts reached, giving up"),
    rule(_U, K.ACTIVITY, r"resume_attempted: true"),
)

# -- riba2534/happyclaw src/qq.ts (as its PR #538 quotes it, abbreviated) -----------------------
_Y = "happyclaw"
HAPPYCLAW: tuple[Rule, ...] = (
    rule(_Y, K.CLOSED, r"QQ WebSocket closed\s*$"),
    rule(_Y, K.WS_ERROR, r"QQ WebSocket error\s+(?P<reason>.*)$"),
    rule(_Y, K.RECONNECTING, r"QQ scheduling reconnect \(attempt (?P<attempt>\d+)\)"),
    rule(_Y, K.GAVE_UP, r"QQ max reconnect attempts reached, giving up", max_attempts=10),
)

# -- Koishi / satori adapter-qq (adapters/qq/src/ws.ts; core WsClient in packages/core/src/adapter.ts)
_K = "satori"
SATORI: tuple[Rule, ...] = (
    rule(_K, K.CONNECTED, r"connect to server: (?P<url>\S+)"),
    rule(_K, K.INVALID_SESSION, r"(?:qq )?offline: invalid session", head=""),
    rule(_K, K.RECONNECT_REQUESTED, r"(?:qq )?offline: server request reconnect", head=""),
    rule(_K, K.ACK_TIMEOUT, r"(?:qq )?zombied connection", head=""),
    rule(_K, K.RECONNECT_FAILED, r"(?:qq )?GET /gateway response", head=""),
    rule(_K, K.CLOSED, r"websocket closed(?: with|, code) (?P<code>\d+)(?:, reason: (?P<reason>.*))?$"),
    rule(_K, K.RECONNECT_FAILED, r"(?:adapter )?failed to connect to (?P<url>\S+), code: (?P<code>\d+)",
         head="", then=K.RECONNECTING),
    # "<close reason>, will retry in 5s...": the socket closed with that reason, a retry is scheduled
    rule(_K, K.CLOSED, r"(?:adapter )?(?P<reason>.{1,200}?), will retry in (?P<delay>" + NUM + r"\s*(?:ms|s|m|h))",
         head="", then=K.RECONNECTING),
)

# -- zeroclaw (Rust, tracing), src/channels/qq.rs ---------------------------------------------------
_Z = "zeroclaw"
ZEROCLAW: tuple[Rule, ...] = (
    rule(_Z, K.ACTIVITY, r"QQ: authenticating"),
    rule(_Z, K.CONNECTING, r"QQ: fetching gateway URL"),
    rule(_Z, K.ACTIVITY, r"QQ: connecting to gateway WebSocket"),
    rule(_Z, K.RESUME_SENT, r"QQ: attempting session resume \(session_id=(?P<session_id>[^,]+), seq=(?P<seq>\d+)\)"),
    rule(_Z, K.IDENTIFY_SENT, r"QQ: connected and sent Identify"),
    rule(_Z, K.ACK_TIMEOUT, r"QQ: heartbeat ACK not received within interval \((?P<interval_ms>\d+)ms\)", count=1),
    rule(_Z, K.ACK_TIMEOUT, r"QQ: (?P<count>\d+) consecutive heartbeat ACKs missed", head="QQ: "),
    rule(_Z, K.ACTIVITY, r"QQ: heartbeat ACK missed \((?P<count>\d+)/(?P<max_attempts>\d+)\); tolerating"),
    rule(_Z, K.ACK_TIMEOUT, r"QQ: heartbeat timeout\b"),
    rule(_Z, K.RECONNECT_REQUESTED, r"QQ: received Reconnect \(op 7\)"),
    rule(_Z, K.INVALID_SESSION, r"QQ: received Invalid Session \(op 9\)"),
    rule(_Z, K.READY, r"QQ: session established \(session_id=(?P<session_id>[^,]+), event=READY\)"),
    rule(_Z, K.RESUMED, r"QQ: session established \(session_id=(?P<session_id>[^,]+), event=RESUMED\)"),
    rule(_Z, K.CLOSED, r"QQ: WebSocket closed with code=(?P<code>\d+), reason=\"(?P<reason>[^\"]*)\""),
    rule(_Z, K.CLOSED, r"QQ: WebSocket stream ended unexpectedly", reason="stream ended"),
    rule(_Z, K.WS_ERROR, r"QQ: WebSocket write failed", reason="write failed"),
    rule(_Z, K.RECONNECTING, r"Channel (?:qq|QQ) (?:error: (?P<reason>.*); restarting|exited unexpectedly; restarting)",
         head="Channel "),
)

# -- nullclaw (Zig, std.log scope qq) --------------------------------------------------------------
_Z2 = "nullclaw"
NULLCLAW: tuple[Rule, ...] = (
    rule(_Z2, K.WS_ERROR, r"Gateway read failed: (?P<reason>\S+)"),
    rule(_Z2, K.RECONNECTING, r"Reconnecting in (?P<delay_ms>\d+)ms \(attempt (?P<attempt>\d+)/(?P<max_attempts>\d+)\)"),
    rule(_Z2, K.CONNECTING, r"Connecting to gateway\b"),
    rule(_Z2, K.CONNECTED, r"WebSocket connected, waiting for HELLO"),
    rule(_Z2, K.ACTIVITY, r"Received (?:HELLO|READY) frame"),
    rule(_Z2, K.HELLO, r"QQ Gateway HELLO: heartbeat_interval=(?P<interval_ms>\d+)ms"),
    rule(_Z2, K.IDENTIFY_SENT, r"Sending IDENTIFY\b"),
    rule(_Z2, K.RESUME_SENT, r"Sending RESUME\b"),
    rule(_Z2, K.ACTIVITY, r"Heartbeat thread running"),
    rule(_Z2, K.READY, r"QQ Gateway READY\s*$"),
    rule(_Z2, K.ACTIVITY, r"Gateway READY — listening"),
    rule(_Z2, K.ACTIVITY, r"handleGatewayEvent: dispatch"),
    rule(_Z2, K.MESSAGE, r"sendChunk: "),
)
