"""The log readers (qqgate.replay.logs): formats, the readers' tables, notes, timing, the taxonomy.

Lines here are real ones (logs_samples/real, incidents.md) or the clients' own format strings
filled in; each test names what it reads.
"""

from __future__ import annotations

import datetime
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qqgate.replay.logs import (
    TAXONOMY, EventKind, FailKind, LineReader, TimeBasis, Until, read_log, read_prefix, unwrap,
)
from qqgate.replay.world import Ban, DnsOutage, HalfOpen, RefuseConnects, ServerClose

K = EventKind


def events(text: str) -> list[tuple[str, EventKind]]:
    """(client, kind) of every event the reader finds in ``text``."""
    reader = LineReader()
    out = []
    for n, line in enumerate(text.split("\n"), start=1):
        out += [(e.client, e.kind) for e in reader.read(n, line).events]
    return out


def kind_of(line: str) -> tuple[str, EventKind] | None:
    got = events(line)
    return got[0] if got else None


# --- formats and envelopes ----------------------------------------------------------------------

@pytest.mark.parametrize("line, fmt, client, level, clock", [
    ("2026-05-14 01:03:20,762 INFO gateway.platforms.qqbot.adapter: [QQBot:1903424243] Session resumed",
     "hermes logging", "hermes", "INFO", 3800.762),
    ("[INFO]\t(gateway.py:56)on_closed\t[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out",
     "botpy", "botpy", "INFO", None),
    ("\x1b[1;33m[INFO]\t(gateway.py:56)on_closed\t\x1b[0m[botpy] 关闭, 返回码: 1006, 返回信息: None",
     "botpy", "botpy", "INFO", None),
    ("[2026-04-21 17:42:25.836] [Core] [INFO] [qqofficial.qqofficial_platform_adapter:131]: [QQOfficial] x",
     "astrbot", "astrbot", "INFO", 63745.836),
    ("06-01 20:54:32 [WARNING] nonebot | QQ | Received reconnect event from server. Try to reconnect...",
     "nonebot", "nonebot", "WARNING", 75272.0),
    ("2025-06-24 17:02:49 [W] adapter disallowed intents, will retry in 5s...", "koishi", "satori", "WARNING", 61369.0),
    ("2026-03-26T08:24:29.632449Z WARN zeroclaw::channels::qq: QQ: heartbeat timeout", "tracing", "zeroclaw",
     "WARNING", 30269.632449),
    ("info(qq): Gateway read failed: error.ConnectionClosed", "zig std.log", "nullclaw", "INFO", None),
    ("06:23:21 [qqbot] [qqbot:default] WebSocket connected", "openclaw", "openclaw", None, 23001.0),
    ("[2022-03-23 03:05:08][WARNING] 连接断开, 尝试重连", "bracketed", None, "WARNING", 11108.0),
    ("INFO:uvicorn.error:connection open", "python basic", None, "INFO", None),
    ("16:00:45  WARNING  WebSocket error: WebSocket closed", "time/level prefix", None, "WARNING", 57645.0),
    ("Reconnected", "bare", None, None, None),
])
def test_line_formats(line: str, fmt: str, client: str | None, level: str | None, clock: float | None) -> None:
    p = read_prefix(line)
    assert (p.fmt, p.client, p.level) == (fmt, client, level)
    if clock is None:
        assert p.time.clock_s is None or fmt in ("bare",)
    else:
        assert p.time.clock_s == pytest.approx(clock)


def test_lower_case_levels_are_levels() -> None:
    p = read_prefix("2026-05-08 09:17:42,717 warning gateway.platforms.qqbot.adapter: [QQBot:1] Reconnected")
    assert (p.fmt, p.client, p.level, p.message) == ("hermes logging", "hermes", "WARNING", "Reconnected")
    assert kind_of("16:00:45  info     Session resumed") == ("hermes", K.RESUMED)


def test_envelopes_docker_json_journald_compose() -> None:
    d = unwrap('{"log":"[2025-01-20 11:29:50 +0000] [1] [INFO] GET /api\\n","stream":"stdout",'
               '"time":"2025-01-20T11:29:50.572524897Z"}')
    assert d.envelope == "docker json" and d.inner.startswith("[2025-01-20") and d.time.clock_s is not None
    j = unwrap("May 08 09:17:42 host hermes[1234]: 2026-05-08 09:17:42,717 INFO x.y: Reconnected")
    assert j.envelope == "journald" and j.inner.startswith("2026-05-08")
    c = unwrap("hermes-1  | INFO     Reconnected")
    assert c.envelope == "compose" and c.inner == "INFO     Reconnected"
    got = events("hermes-1  | WARNING gateway.platforms.qqbot.adapter: [QQBot:1] WebSocket error: WebSocket closed")
    assert got == [("hermes", K.WS_ERROR)]


def test_a_docker_log_interleaving_services_is_read_line_by_line() -> None:
    text = "\n".join([
        '{"log":"[2025-01-20 11:29:50 +0000] [1] [INFO] 1.2.3.4:1 GET /api/v1/logs 1.1 200 76 1564\\n","time":"x"}',
        "[INFO]\t(gateway.py:56)on_closed\t[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out",
        "2025-06-24 17:02:49 [W] adapter disallowed intents, will retry in 5s...",
        "06-01 20:54:32 [INFO] nonebot | QQ | Bot 1904095310 connected",
    ])
    assert [c for c, _ in events(text)] == ["botpy", "satori", "satori", "nonebot"]


def test_other_components_never_read_as_the_link() -> None:
    # another platform adapter of the same hermes process says "WebSocket closed" too
    line = "2026-05-14 01:03:20,762 WARNING gateway.platforms.discord: WebSocket closed: code=1000 reason="
    reader = LineReader()
    got = reader.read(1, line)
    assert got.category == "other" and not got.events
    host = reader.read(2, "2026-05-14 04:01:47,620 INFO gateway.run: Session expiry: 3 sessions to finalize")
    assert host.category == "activity" and host.events[0].kind is K.ACTIVITY


# --- the readers' tables: one wording per client ----------------------------------------------

@pytest.mark.parametrize("line, client, kind", [
    ("WebSocket closed: code=4009 reason=Session timed out", "hermes", K.CLOSED),
    ("WebSocket error: WebSocket closed", "hermes", K.WS_ERROR),
    ("Reconnecting in 2s (attempt 1)...", "hermes", K.RECONNECTING),
    ("Reconnect failed: DNS resolution error [Errno -3] Temporary failure in name resolution", "hermes",
     K.RECONNECT_FAILED),
    ("Max reconnect attempts reached", "hermes", K.GAVE_UP),
    ("Session error (4009), clearing session for re-identify", "hermes", K.SESSION_CLEARED),
    ("Server requested reconnect (op 7)", "hermes", K.RECONNECT_REQUESTED),
    ("Bot is banned. Check QQ Open Platform.", "hermes", K.FATAL_CLOSE),
    ("[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out", "botpy", K.CLOSED),
    ("[botpy] 重连启动...", "botpy", K.RESUME_SENT),
    ("[botpy] 机器人重连成功! ", "botpy", K.RESUMED),
    ("[qqbot:default] WebSocket closed: 4903 create session error", "openclaw", K.CLOSED),
    ("[qqbot:default] Error 4009 (session timed out), will re-identify", "openclaw", K.SESSION_CLEARED),
    ("[qqbot:default] Reconnecting in 5000ms (attempt 1)", "openclaw", K.RECONNECTING),
    ("[qqbot:default] Max reconnect attempts reached or aborted", "openclaw", K.GAVE_UP),
    ("[CLIENT] 连接关闭 4009", "bot-node-sdk", K.CLOSED),
    ("[CLIENT] 超过重试次数，连接终止", "bot-node-sdk", K.GAVE_UP),
    ("QQ scheduling reconnect (attempt 2)", "happyclaw", K.RECONNECTING),
    ("Max reconnect attempts reached, giving up", "node (bot-node-sdk#94)", K.GAVE_UP),
    ("06-01 20:54:36 [INFO] nonebot | QQ | Bot 1904095310 connected", "nonebot", K.READY),
    ("2025-06-24 17:02:49 [W] qq offline: invalid session", "satori", K.INVALID_SESSION),
    ("2026-03-26T08:24:29.632449Z WARN zeroclaw::channels::qq: QQ: heartbeat ACK not received within "
     "interval (41250ms); connection appears zombie", "zeroclaw", K.ACK_TIMEOUT),
    ("info(qq): QQ Gateway HELLO: heartbeat_interval=41250ms", "nullclaw", K.HELLO),
])
def test_each_client_table(line: str, client: str, kind: EventKind) -> None:
    assert kind_of(line) == (client, kind)


def test_a_shared_wording_goes_to_the_client_the_file_is_from() -> None:
    openclaw = events("WebSocket closed: 4009 Session timed out\nWebSocket connected\nSession resumed")
    assert openclaw == [("openclaw", K.CLOSED), ("openclaw", K.CONNECTED), ("openclaw", K.RESUMED)]
    hermes = events("WebSocket error: WebSocket closed\nWebSocket connected\nSession resumed")
    assert [c for c, _ in hermes] == ["hermes"] * 3


def test_fields_read_from_the_wording() -> None:
    reader = LineReader()
    e = reader.read(1, "2025-06-24 17:02:49 [W] adapter disallowed intents, will retry in 5s...").events
    assert [x.kind for x in e] == [K.CLOSED, K.RECONNECTING]
    assert e[0].code == 4014 and e[1].delay_s == 5.0  # the reason names the code (satori#363)
    r = reader.read(2, "[qqbot:default] Quick disconnect detected (101ms), count: 1").events[0]
    assert r.lived_s == pytest.approx(0.101) and r.count == 1
    f = reader.read(3, "Reconnect failed: Error: WebSocket closed before READY: 4902").events[0]
    assert f.fail_kind is FailKind.REJECTED and f.code == 4902
    g = reader.read(4, "Reconnect failed: Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]")
    assert g.events[0].fail_kind is FailKind.NETWORK_UNREACHABLE


def test_tracebacks_and_continuations_belong_to_their_record() -> None:
    text = "\n".join([
        "07-24 23:55:24 [ERROR] nonebot | QQ | WebSocket Closed",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "nonebot.exception.WebSocketClosed: WebSocketClosed(code=4009, reason='Session timed out')",
        "11:34:41  Connection failed: Network error [/gateway]: fetch failed",
        "           Client network socket disconnected before secure TLS connection was established",
    ])
    reader = LineReader()
    lines = [reader.read(n, line) for n, line in enumerate(text.split("\n"), start=1)]
    assert [x.category for x in lines] == ["understood", "continuation", "continuation", "understood",
                                          "understood", "continuation"]
    assert lines[3].events[0].code == 4009


# --- notes, unreadable lines, the reading report ------------------------------------------------

@pytest.mark.parametrize("line, gap, attempts, silence", [
    ("# ... ~60 seconds later ...", 60.0, None, False),
    ("            (silent for 17 minutes)", 1020.0, None, True),
    ("... exactly 100 failed connection attempts ...", None, 100, False),
    ("  ...（该序列每 5-15 秒重复约 10 次）...", None, 10, False),
    ("08:12:55 ~ 08:51:59  ← ZERO logs — completely silent for ~39 minutes", 2340.0, None, True),
])
def test_reporters_notes(line: str, gap: float | None, attempts: int | None, silence: bool) -> None:
    n = LineReader().read(1, line)
    assert n.category == "note" and n.elision is not None
    assert (n.elision.gap_s, n.elision.attempts, n.elision.silence) == (gap, attempts, silence)


def test_an_arrow_note_is_taken_off_a_real_line() -> None:
    line = LineReader().read(1, "05:40:47  QQ WebSocket closed                       ← 服务端 30min 滚动断开")
    assert line.events[0].kind is K.CLOSED and line.note == "服务端 30min 滚动断开"


def test_the_reading_report_counts_every_line_in_one_category() -> None:
    text = "\n".join([
        "2026-05-14 01:03:20,762 INFO  [QQBot:1] Session resumed (seq=197)",   # understood
        "2026-05-14 04:01:47,620 INFO  Session expiry: 3 sessions",            # activity
        "2026-05-14 04:02:00,000 INFO  something else entirely",               # recognised
        "| T+2 s | a table row |",                                             # unreadable
        "", "# a comment",
    ])
    r = read_log(text.split("\n"))
    assert dict(r.report.totals) == {"understood": 1, "activity": 1, "recognised": 1, "unreadable": 1,
                                     "blank": 1, "note": 1}
    row = r.report.formats["no known format"]
    assert row.examples["unreadable"] == [(4, "| T+2 s | a table row |")]
    assert r.report.formats["time/level prefix"].examples["recognised"][0][0] == 3


# --- timing ---------------------------------------------------------------------------------------

def test_times_are_read_or_inferred_with_a_reason_never_invented() -> None:
    text = "WebSocket error: WebSocket closed\nReconnecting in 2s (attempt 1)...\n" \
           "Reconnect failed: Failed to get QQ Bot gateway URL: x\nsomething\nIdentify sent"
    r = read_log(text.split("\n"))
    rows = r.timeline.rows()
    assert "+     0.000s  WS_ERROR" in rows[0]
    assert rows[1].startswith("~") and "handler of the close on line 1" in rows[1]
    assert rows[2].startswith("~+     2.000s") and "2 s" in rows[2]
    assert "·" in rows[3] and "IDENTIFY_SENT" in rows[3]  # no time: order only, no made-up step


def test_botpy_reconnect_time_is_its_known_five_seconds() -> None:
    text = "[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out\n[botpy] 会话启动中..."
    rows = read_log(text.split("\n")).timeline.rows()
    assert rows[1].startswith("~+     5.000s") and "connection.py" not in rows[0]


def test_an_inferred_time_is_pulled_back_to_the_next_stamp() -> None:
    text = "10:00:00 Reconnecting in 60s (attempt 5)...\nReconnected\n10:00:05 Identify sent"
    rows = read_log(text.split("\n")).timeline.rows()
    assert "~+     5.000s  RECONNECTED" in rows[1] and "pulled back" in rows[1]


def test_bare_times_wrap_at_midnight_and_follow_day_long_notes() -> None:
    r = read_log("23:59:58.500 WebSocket closed: code=4009 reason=x\n00:00:01.000 Reconnected".split("\n"))
    assert "+     2.500s" in r.timeline.rows()[1]
    r2 = read_log("10:00:00 Reconnected\n... (2 days later)\n10:05:00 Reconnected".split("\n"))
    assert f"+{2 * 86400 + 300:>10.3f}s" in r2.timeline.rows()[2]


# --- the taxonomy ------------------------------------------------------------------------------------

def test_a_silence_is_evidence_only_when_the_log_shows_time_passing() -> None:
    ended = "2026-05-14 01:03:20,762 INFO [QQBot:1] Session resumed"
    assert read_log([ended]).incident == "no_incident"
    later = [ended, "2026-05-14 04:01:47,620 INFO gateway.run: Session expiry: 3 sessions to finalize"]
    assert read_log(later).incident == "dead_link_unnoticed"
    assert read_log([ended], until=Until(after_s=3 * 3600)).incident == "dead_link_unnoticed"
    short = [ended, "2026-05-14 01:20:00,000 INFO gateway.run: Session expiry: 1 session"]
    assert read_log(short).incident == "no_incident"  # 17 min: a live link may well be quiet that long


def test_a_failed_reconnect_then_time_passing_is_a_stop_whose_kind_the_version_decides() -> None:
    lines = ["WebSocket error: WebSocket closed", "Reconnecting in 2s (attempt 1)...",
             "Reconnect failed: Failed to get QQ Bot gateway URL: x"]
    assert read_log(lines).incident == "lost_close_code"  # nothing shows time passing: only what is seen
    unknown = read_log(lines, until=Until(after_s=3600))
    assert (unknown.incident, unknown.named.alternatives) == ("silent_stop", ("busy_spin",))
    assert read_log(lines, until=Until(after_s=3600), date=datetime.date(2026, 4, 30)).incident == "silent_stop"
    assert read_log(lines, until=Until(after_s=3600), date=datetime.date(2026, 5, 20)).incident == "busy_spin"
    refused = lines[:2] + ["Reconnect failed: Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"]
    assert read_log(refused, until=Until(after_s=3600)).named.alternatives == ()  # v0.14 would have retried


def test_hermes_version_from_wording_and_dates() -> None:
    fixed = read_log(["2026-03-01 10:00:00,000 INFO [QQBot:1] Server requested reconnect (op 7)"])
    assert fixed.version is not None and fixed.version.candidates == ("fixed",)
    dated = read_log(["2026-05-20 10:00:00,000 INFO [QQBot:1] Session resumed"])
    assert dated.version is not None and dated.version.candidates == ("0.14",)
    bare = read_log(["10:00:00 Session resumed"])
    assert bare.version is not None and len(bare.version.candidates) == 4 and "nothing" in bare.version.why


def test_death_loop_rule_needs_measured_minutes() -> None:
    cycle = ["16:00:49  INFO     Reconnected", "16:00:50  INFO     Session resumed",
             "16:01:48  WARNING  WebSocket error: WebSocket closed"]
    assert read_log(cycle).incident == "death_loop"
    to_the_minute = ["04-27 20:22  Reconnected", "04-27 20:23  WebSocket error: WebSocket closed"]
    assert read_log(to_the_minute).incident != "death_loop"


def test_worlds_follow_the_evidence() -> None:
    zombie = read_log(["2026-05-20 10:00:00,000 WARNING [QQBot:1] WebSocket closed: code=4009 reason=Session timed out",
                       "2026-05-20 10:00:02,000 WARNING [QQBot:1] Reconnect failed: Cannot connect to host "
                       "api.sgroup.qq.com:443 [Network is unreachable]",
                       "2026-05-20 11:37:00,000 ERROR [QQBot:1] Max reconnect attempts reached"])
    assert zombie.incident == "exhaustion_zombie" and zombie.derived is not None
    close, refuse = zombie.derived.world.faults
    assert isinstance(close, ServerClose) and close.code == 4009
    assert isinstance(refuse, RefuseConnects) and refuse.duration_s is not None and refuse.duration_s >= 5800
    dead = read_log(["2026-05-14 01:03:20,762 INFO [QQBot:1] Session resumed",
                     "2026-05-14 04:01:47,620 INFO gateway.run: Session expiry"])
    assert dead.derived is not None and isinstance(dead.derived.world.faults[0], HalfOpen)
    spin = read_log(["WebSocket error: WebSocket closed", "Reconnect failed: DNS resolution error [Errno -3]"],
                    until=Until(after_s=7200), date=datetime.date(2026, 5, 20))
    assert spin.derived is not None and isinstance(spin.derived.world.faults[1], DnsOutage)
    fatal = read_log(["2025-06-24 17:02:49 [W] adapter disallowed intents, will retry in 5s..."])
    assert fatal.derived is not None and fatal.derived.world.faults == (Ban(10.0, 4014, "disallowed intents"),)
    assert fatal.derived.no_model == "no model of Koishi/satori adapter-qq"


def test_nothing_to_diagnose_and_inconclusive() -> None:
    assert read_log(["hello world", "INFO:uvicorn.error:connection open"]).incident == "nothing_to_diagnose"
    assert read_log(["[botpy] 关闭, 返回码: 1011, 返回信息: keepalive ping timeout"]).incident == "inconclusive"


# --- never raises, never unbounded --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "", "\n", "#", "...", "()", "\x00\x01\x02\xff\ufffd\x0b\x0c\x1c\x1d\x1e\x85\u2028", "INFO", "[QQBot:",
    "WebSocket closed: code=99999999999999999999999999 reason=x", "Reconnecting in 1e309s", "99:99:99",
    "0000-00-00 00:00:00,000 INFO a.b: x", "9999-12-31 23:59:59,999 INFO Reconnected\n00:00:00 Reconnected",
    "... " + "9" * 100_000, "INFO " + "[" * 100_000, "x" * 1_000_000, ("a." * 50_000) + ": Reconnected",
    "12:00:00 " * 20_000, "(" + "1" * 200_000 + " hours)", '{"log":' + "[" * 10_000,
    "← " * 10_000, "（" * 10_000 + "）",
])
def test_odd_inputs_never_raise(text: str) -> None:
    r = read_log(text.split("\n"))
    assert r.incident in TAXONOMY


_FRAGMENTS = [
    "16:00:45  WARNING  WebSocket error: WebSocket closed", "# ... ~60 seconds later ...", "Reconnected",
    "[botpy] 关闭, 返回码: 4009, 返回信息: Session timed out", "2025-06-24 17:02:49 [W] adapter x, will retry in 5s...",
    "[qqbot:default] Reconnecting in 5000ms (attempt 1)", "... exactly 100 failed connection attempts ...",
    "Traceback (most recent call last):", "  File \"x\", line 1", "\n", "\r", "23:59:59", "← note",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=30)), max_size=40))
def test_shuffled_real_lines_never_raise(parts: list[str]) -> None:
    r = read_log("".join(p if k % 3 else p + "\n" for k, p in enumerate(parts)).split("\n"))
    assert r.incident in TAXONOMY
    if r.derived is not None:
        assert all(math.isfinite(f.at) and f.at >= 0 for f in r.derived.world.faults)


def test_timing_bases_are_the_documented_ones() -> None:
    assert {b.value for b in TimeBasis} == {"origin", "stamp", "note", "schedule", "record", "none"}
