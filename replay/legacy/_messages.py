"""The legacy adapter's log texts, exactly as hermes-agent printed them.

Every text the legacy model logs is built here, so a log importer and the model agree on
one spelling. The texts marked "seen in real logs" are the ones incidents.md lists ("The
adapter's own message texts seen in real logs"); the few others cover paths no incident
report quotes (startup failure, ``disconnect()``, the 4914 wording, the practically
unreachable quick-disconnect give-up) and are marked as such.

A record is ``Log(level, "hermes", {"logger", "tag", "message"})`` with ``level`` one of
``DEBUG``/``INFO``/``WARNING``/``ERROR`` (Python ``logging`` level names, as in the real log
format ``%(asctime)s %(levelname)s%(session_tag)s %(name)s: %(message)s``).
"""

from __future__ import annotations

from qqgate.core import Log

LOGGER = "gateway.platforms.qqbot.adapter"
"""The adapter's logger name (incidents.md, "The log format")."""

EVENT = "hermes"
"""``Log.event`` of every record the legacy model emits."""

DEBUG = "DEBUG"
INFO = "INFO"
WARNING = "WARNING"
ERROR = "ERROR"

# -- fixed texts (seen in real logs) -----------------------------------------------------
RECONNECTED = "Reconnected"
IDENTIFY_SENT = "Identify sent"
SESSION_RESUMED = "Session resumed"
MAX_RECONNECT_ATTEMPTS = "Max reconnect attempts reached"
MAX_RECONNECT_ATTEMPTS_CLOSE = "Max reconnect attempts reached (QQCloseError)"
"""The close-path variant: exists in the code, practically unreachable (incidents.md)."""
INVALID_TOKEN = "Invalid token (4004), will refresh and reconnect"
BOT_BANNED = "Bot is banned. Check QQ Open Platform."
WS_CONNECTED_BARE = "WebSocket connected"
"""Seen in real logs (a shortened variant); the model logs ``WebSocket connected to <url>``."""
NOT_CONNECTED_WAITING = "Not connected — waiting for reconnection (up to 15s)"
"""``send()`` path; the simulator has no host sends, so the model never logs it."""
STILL_NOT_CONNECTED = "Still not connected after 15s"
"""``send()`` path; never logged by the model (no host sends)."""

# -- exception texts (``str(exc)`` as the adapter printed it) ----------------------------
ERR_WS_CLOSED = "WebSocket closed"
"""``RuntimeError("WebSocket closed")``: a CLOSED/ERROR message, code and reason lost."""
ERR_WS_NOT_CONNECTED = "WebSocket not connected"
"""``RuntimeError("WebSocket not connected")``: reading with no socket object at all."""

# -- texts not quoted by any incident report (model-only paths) ---------------------------
BOT_OFFLINE = "Bot is offline/sandbox-only. Check QQ Open Platform."
"""4914's wording (4915 logs BOT_BANNED)."""
TOO_MANY_QUICK_DISCONNECTS = (
    "Too many quick disconnects. Check: 1) AppID/Secret correct 2) Bot permissions on QQ Open Platform"
)
DISCONNECTED = "Disconnected"
"""Logged by ``disconnect()`` (the host's Stop)."""

FATAL_QUICK_DISCONNECTS = "Too many quick disconnects — check bot permissions"
"""The fatal-error text the adapter records (never shown to the host)."""
FATAL_BANNED = "Bot is banned"
"""Fatal error recorded on 4915."""
FATAL_OFFLINE = "Bot is offline/sandbox-only"
"""Fatal error recorded on 4914."""


SERVER_REQUESTED_RECONNECT = "Server requested reconnect (op 7)"
"""After the 2026-06 fixes (0.19.0 adapter.py 872)."""
INVALID_SESSION_CLEARING = "Invalid session (op 9, not resumable), clearing session"
"""After the 2026-06 fixes (0.19.0 adapter.py 882-885)."""
INVALID_SESSION_RESUMABLE = "Invalid session (op 9, resumable)"
"""After the 2026-06 fixes (0.19.0 adapter.py 889)."""
_BOT_IS = {4914: "offline/sandbox-only", 4915: "banned", 4001: "invalid opcode", 4002: "invalid payload",
           4010: "invalid shard", 4011: "sharding required", 4012: "invalid API version",
           4013: "invalid intent", 4014: "intent not authorized"}


def bot_is(code: int | None) -> str:
    """``Bot is banned. Check QQ Open Platform.`` and the other fatal-code texts of 0.19.0
    (4914 and 4915 exist in every version; the rest after the fixes)."""
    return f"Bot is {_BOT_IS.get(code or 0, 'rejected')}. Check QQ Open Platform."


def ws_connected(url: str) -> str:
    """``WebSocket connected to wss://api.sgroup.qq.com/websocket``."""
    return f"WebSocket connected to {url}"


def ws_closed(code: int | None, reason: str) -> str:
    """``WebSocket closed: code=4009 reason=Session timed out`` (``code=None reason=`` too)."""
    return f"WebSocket closed: code={code} reason={reason}"


def ws_error(error: str) -> str:
    """``WebSocket error: WebSocket closed``."""
    return f"WebSocket error: {error}"


def quick_disconnect(duration_s: float, count: int) -> str:
    """``Quick disconnect (1.2s), count: 1`` (``duration_s`` in seconds, one decimal)."""
    return f"Quick disconnect ({duration_s:.1f}s), count: {count}"


def rate_limited(wait_s: float) -> str:
    """``Rate limited (4008), waiting 60s`` (``wait_s`` in whole seconds)."""
    return f"Rate limited (4008), waiting {int(wait_s)}s"


def session_error(code: int) -> str:
    """``Session error (4009), clearing session for re-identify``."""
    return f"Session error ({code}), clearing session for re-identify"


def reconnecting(delay_s: float, attempt_index: int) -> str:
    """``Reconnecting in 2s (attempt 1)...``: ``attempt_index`` counts from 0, printed from 1."""
    return f"Reconnecting in {int(delay_s)}s (attempt {attempt_index + 1})..."


def reconnect_failed(error: str) -> str:
    """``Reconnect failed: DNS resolution error [Errno -3] Temporary failure in name resolution``."""
    return f"Reconnect failed: {error}"


def token_refreshed(expires_in_s: float) -> str:
    """``Access token refreshed, expires in 7200s`` (whole seconds, as ``%d`` prints them)."""
    return f"Access token refreshed, expires in {int(expires_in_s)}s"


def resume_sent(session_id: str, seq: int) -> str:
    """``Resume sent (session_id=…, seq=N)``."""
    return f"Resume sent (session_id={session_id}, seq={seq})"


def ready(session_id: object) -> str:
    """``Ready, session_id=…`` (``None`` printed as ``None``, like ``%s``)."""
    return f"Ready, session_id={session_id}"


def startup_failed(error: str) -> str:
    """``QQ startup failed: <error>``: the first connect failed (model-only path)."""
    return f"QQ startup failed: {error}"


def parse_failed(raw: str) -> str:
    """``Failed to parse JSON: '<raw>'`` (``%r`` of the frame text; logged with tag ``[QQBot]``)."""
    return f"Failed to parse JSON: {raw!r}"


def tag(app_id: str) -> str:
    """``[QQBot:<app_id>]``: the adapter's tag in front of every message."""
    return f"[QQBot:{app_id}]"


BARE_TAG = "[QQBot]"
"""The tag without an app id (JSON parse failures, ``gateway.platforms.base``)."""


def record(level: str, message: str, tag_text: str) -> Log:
    """One hermes log line as a ``Log`` command."""
    return Log(level, EVENT, {"logger": LOGGER, "tag": tag_text, "message": message})
