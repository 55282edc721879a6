"""The real-log importer (replay.logs): parsing, the timeline, the diagnosis and its world.

The log lines are the real production output quoted in incidents.md; each sample in
logs_samples/ names its expected diagnosis in a ``# expected diagnosis: NAME`` comment.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qqgate.replay.world import (
    Ban, DnsOutage, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes, ServerClose,
    ServerReconnect,
)
from qqgate.replay.logs import (
    DEATH_LOOP_TRIGGER_AT_S, LEAD_IN_S, TITLES, EventKind, FailKind, LogEvent, TimeBasis,
    import_log, parse_elision, parse_line,
)

SAMPLES = Path(__file__).resolve().parent.parent / "logs_samples"

# The excerpts exactly as incidents.md quotes them.
INCIDENT_1 = [
    "INFO: [QQBot:xxx] Reconnected",
    "... (exactly ~60s later)",
    "WARNING: [QQBot:xxx] WebSocket closed: code=None reason=",
    "INFO: [QQBot:xxx] Reconnecting in 2s (attempt 1)...",
    "INFO: [QQBot:xxx] Reconnected",
    "... (cycle repeats indefinitely)",
]
INCIDENT_3 = [
    "WARNING: WebSocket closed: code=4009 reason=Session timed out",
    "WARNING: WebSocket closed: code=4009 reason=Session timed out",
    "... (then silence for 93+ minutes)",
]
INCIDENT_4 = ["2026-05-08 09:17:42,717 INFO gateway.platforms.base: [QQBot] Sending response (73 chars) to ..."]
INCIDENT_7 = [
    "INFO     WebSocket connected to wss://api.sgroup.qq.com/websocket",
    "INFO     Reconnected",
    "WARNING  Reconnect failed: Failed to get QQ Bot gateway URL: Server disconnected without sending a response.",
]
FORMAT_EXAMPLE = ("2026-05-08 09:17:42,717 WARNING gateway.platforms.qqbot.adapter: [QQBot:1903424243] "
                  "WebSocket error: WebSocket closed")

EXPECTED = {
    "death-loop.log": "death-loop",
    "busy-spin.log": "busy-spin",
    "exhaustion-zombie.log": "exhaustion-zombie",
    "half-open.log": "half-open",
    "stale-resume.log": "reconnect-storm",
    "format-example.log": "lost-close-code",
    "banned.log": "banned",
}


def _body(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text()


# --- the samples -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.log")), ids=lambda p: p.name)
def test_each_sample_is_diagnosed_as_its_incident(path: Path) -> None:
    text = path.read_text()
    marks = [line.split(":", 1)[1].strip() for line in text.splitlines()
             if line.startswith("# expected diagnosis:")]
    assert len(marks) == 1, "each sample names its expected diagnosis once"
    assert EXPECTED.get(path.name, marks[0]) == marks[0]
    imp = import_log(text)
    assert imp.diagnosis.incident == marks[0], "\n".join(imp.summary_lines())
    assert imp.parsed.unreadable == []
    assert imp.parsed.comments >= 1
    assert imp.diagnosis.evidence
    assert all(f.at >= 0 for f in imp.diagnosis.world.faults)


def test_required_samples_exist() -> None:
    assert set(EXPECTED) <= {p.name for p in SAMPLES.glob("*.log")}


def test_samples_quote_incidents_md_verbatim() -> None:
    assert _body(SAMPLES / "death-loop.log") == INCIDENT_1
    assert _body(SAMPLES / "exhaustion-zombie.log") == INCIDENT_3
    assert _body(SAMPLES / "half-open.log") == INCIDENT_4
    assert _body(SAMPLES / "stale-resume.log") == INCIDENT_7
    assert _body(SAMPLES / "format-example.log") == [FORMAT_EXAMPLE]
    for name in ("busy-spin.log", "banned.log"):
        assert "RECONSTRUCTED" in _sample(name)


def test_death_loop_sample() -> None:
    imp = import_log(_sample("death-loop.log"))
    d = imp.diagnosis
    assert d.title == TITLES["death-loop"]
    assert d.legacy_version == "0.13"
    assert d.legacy_heartbeat_alive is False
    assert d.legacy_close_codes_visible is True
    assert d.world.faults == (ServerClose(at=DEATH_LOOP_TRIGGER_AT_S, code=None),)
    assert d.world.heartbeat_timeout_s == 60.0
    assert [round(te.t_s, 3) for te in imp.timeline.events] == [0.0, 60.0, 60.1, 62.1]
    assert [te.basis for te in imp.timeline.events] == [
        TimeBasis.ORIGIN, TimeBasis.GAP_HINT, TimeBasis.STEP, TimeBasis.RECONNECT_DELAY]
    assert imp.timeline.repeats and not imp.timeline.ends_in_silence
    assert any("line 6" in s and "60s after the Reconnected of line 4" in s for s in d.evidence)


def test_busy_spin_sample() -> None:
    imp = import_log(_sample("busy-spin.log"))
    d = imp.diagnosis
    assert d.legacy_version == "0.14"
    assert [te.t_s for te in imp.timeline.events] == [0.0, 2.0, 4.0]
    assert not any(te.inferred for te in imp.timeline.events)
    close, dns = d.world.faults
    assert close == ServerClose(at=LEAD_IN_S, code=4009, reason="Session timed out")
    assert isinstance(dns, DnsOutage)
    assert close.at < dns.at < close.at + 2.0, "DNS is down before the first redial, 2 s after the close"
    assert dns.duration_s is not None and dns.duration_s >= 3 * 3600
    assert imp.timeline.events[2].event.fail_kind is FailKind.DNS
    assert "+0.000s  CLOSED code=4009 reason=Session timed out  (line 10)" in imp.summary_lines()


def test_exhaustion_zombie_sample() -> None:
    imp = import_log(_sample("exhaustion-zombie.log"))
    d = imp.diagnosis
    assert d.legacy_version == "0.14"
    assert imp.timeline.ends_in_silence and imp.timeline.silence_s == 93 * 60
    close, refuse = d.world.faults
    assert isinstance(close, ServerClose) and close.code == 4009
    assert isinstance(refuse, RefuseConnects)
    assert refuse.duration_s is not None and refuse.duration_s >= 6000
    assert close.at < refuse.at < close.at + 2.0


def test_half_open_sample() -> None:
    imp = import_log(_sample("half-open.log"))
    d = imp.diagnosis
    assert d.title == TITLES["half-open"]
    assert d.world.faults == (HalfOpen(at=LEAD_IN_S),)
    (te,) = imp.timeline.events
    assert te.kind is EventKind.SENDING_RESPONSE and te.event.count == 73
    assert imp.timeline.ends_in_silence


def test_stale_resume_sample() -> None:
    d = import_log(_sample("stale-resume.log")).diagnosis
    assert d.title == "the stale-session resume loop (incident 7)"
    assert d.legacy_version == "0.13"
    close, reject = d.world.faults
    assert close == ServerClose(at=LEAD_IN_S, code=None)
    assert isinstance(reject, RejectResumes) and reject.code is None
    assert reject.duration_s is not None and reject.duration_s >= 3600


def test_format_example_sample_loses_the_close_code() -> None:
    d = import_log(_sample("format-example.log")).diagnosis
    assert d.legacy_close_codes_visible is False
    assert d.world.faults == (ServerClose(at=LEAD_IN_S, code=4009, reason="Session timed out"),)


def test_banned_sample() -> None:
    d = import_log(_sample("banned.log")).diagnosis
    assert len(d.world.faults) == 1 and isinstance(d.world.faults[0], Ban)
    assert d.world.faults[0].code == 4915


# --- every line form in incidents.md ---------------------------------------------------------------

def test_full_format_line() -> None:
    e = parse_line(1, FORMAT_EXAMPLE)
    assert e is not None
    assert (e.kind, e.reason) == (EventKind.WS_ERROR, "WebSocket closed")
    assert (e.level, e.logger, e.tag, e.session_tag) == (
        "WARNING", "gateway.platforms.qqbot.adapter", "QQBot:1903424243", None)
    assert e.date_ordinal == datetime.date(2026, 5, 8).toordinal()
    assert e.clock_s == pytest.approx(9 * 3600 + 17 * 60 + 42.717)


def test_full_format_line_with_session_tag() -> None:
    # %(levelname)s%(session_tag)s: session_tag is " [<sid>]" inside a conversation
    e = parse_line(1, "2026-05-08 09:17:42,717 INFO [c2c:E4F4AEA3] gateway.platforms.base: [QQBot] "
                      "Sending response (73 chars) to ...")
    assert e is not None
    assert (e.kind, e.session_tag, e.logger, e.tag, e.count) == (
        EventKind.SENDING_RESPONSE, "c2c:E4F4AEA3", "gateway.platforms.base", "QQBot", 73)


def test_host_logger_line() -> None:
    e = parse_line(1, "2026-05-08 09:17:43,001 INFO gateway.run: a message from the host")
    assert e is not None and e.kind is EventKind.OTHER and e.logger == "gateway.run"


@pytest.mark.parametrize("line, kind, level, tag", [
    (INCIDENT_1[0], EventKind.RECONNECTED, "INFO", "QQBot:xxx"),
    (INCIDENT_1[2], EventKind.CLOSED, "WARNING", "QQBot:xxx"),
    (INCIDENT_1[3], EventKind.RECONNECTING, "INFO", "QQBot:xxx"),
    (INCIDENT_3[0], EventKind.CLOSED, "WARNING", None),
    (INCIDENT_4[0], EventKind.SENDING_RESPONSE, "INFO", "QQBot"),
    (INCIDENT_7[0], EventKind.CONNECTED, "INFO", None),
    (INCIDENT_7[1], EventKind.RECONNECTED, "INFO", None),
    (INCIDENT_7[2], EventKind.RECONNECT_FAILED, "WARNING", None),
])
def test_report_line_forms(line: str, kind: EventKind, level: str, tag: str | None) -> None:
    e = parse_line(1, line)
    assert e is not None
    assert (e.kind, e.level, e.tag) == (kind, level, tag)
    assert (e.clock_s is not None) == line[:1].isdigit()


def test_report_line_fields() -> None:
    closed = parse_line(1, INCIDENT_1[2])
    assert closed is not None and (closed.code, closed.reason) == (None, "")
    again = parse_line(1, INCIDENT_1[3])
    assert again is not None and (again.delay_s, again.attempt) == (2.0, 1)
    timed_out = parse_line(1, INCIDENT_3[0])
    assert timed_out is not None and (timed_out.code, timed_out.reason) == (4009, "Session timed out")
    connected = parse_line(1, INCIDENT_7[0])
    assert connected is not None and connected.url == "wss://api.sgroup.qq.com/websocket"
    failed = parse_line(1, INCIDENT_7[2])
    assert failed is not None and failed.fail_kind is FailKind.GATEWAY_URL


@pytest.mark.parametrize("line, clock_s", [
    ("14:13:26.980 INFO     Reconnected", 14 * 3600 + 13 * 60 + 26.98),
    ("16:00:45 WARNING WebSocket error: WebSocket closed", 16 * 3600 + 45.0),
    ("16:00:45 Reconnected", 16 * 3600 + 45.0),
    ("14:13:26.980 WARNING: [QQBot:xxx] WebSocket closed: code=None reason=", 14 * 3600 + 13 * 60 + 26.98),
])
def test_bare_times(line: str, clock_s: float) -> None:
    e = parse_line(1, line)
    assert e is not None and e.date_ordinal is None
    assert e.clock_s == pytest.approx(clock_s)
    assert e.kind is not EventKind.OTHER


@pytest.mark.parametrize("message, kind", [
    ("WebSocket connected to wss://api.sgroup.qq.com/websocket", EventKind.CONNECTED),
    ("WebSocket connected", EventKind.CONNECTED),
    ("Reconnected", EventKind.RECONNECTED),
    ("Resume sent (session_id=…, seq=N)", EventKind.RESUME_SENT),
    ("Session resumed", EventKind.RESUMED),
    ("WebSocket closed: code=4009 reason=Session timed out", EventKind.CLOSED),
    ("WebSocket closed: code=None reason=", EventKind.CLOSED),
    ("WebSocket error: WebSocket closed", EventKind.WS_ERROR),
    ("Reconnecting in 2s (attempt 1)...", EventKind.RECONNECTING),
    ("Reconnect failed: DNS resolution error [Errno -3] Temporary failure in name resolution",
     EventKind.RECONNECT_FAILED),
    ("Reconnect failed: Failed to get QQ Bot gateway URL: …", EventKind.RECONNECT_FAILED),
    ("Reconnect failed: Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]",
     EventKind.RECONNECT_FAILED),
    ("Max reconnect attempts reached", EventKind.MAX_ATTEMPTS),
    ("Max reconnect attempts reached (QQCloseError)", EventKind.MAX_ATTEMPTS),
    ("Access token refreshed, expires in 7200s", EventKind.TOKEN_REFRESHED),
    ("Identify sent", EventKind.IDENTIFY_SENT),
    ("Ready, session_id=…", EventKind.READY),
    ("Quick disconnect (1.2s), count: 1", EventKind.QUICK_DISCONNECT),
    ("Session error (4009), clearing session for re-identify", EventKind.SESSION_ERROR),
    ("Rate limited (4008), waiting 60s", EventKind.RATE_LIMITED),
    ("Invalid token (4004), will refresh and reconnect", EventKind.INVALID_TOKEN),
    ("Bot is banned. Check QQ Open Platform.", EventKind.BANNED),
    ("Not connected — waiting for reconnection (up to 15s)", EventKind.NOT_CONNECTED_WAIT),
    ("Still not connected after 15s", EventKind.STILL_NOT_CONNECTED),
    ("[QQBot] Sending response (73 chars) to …", EventKind.SENDING_RESPONSE),
])
def test_every_adapter_message_text(message: str, kind: EventKind) -> None:
    tag = "" if message.startswith("[QQBot]") else "[QQBot:1903424243] "  # base logger lines carry their own tag
    for line in (message, f"INFO: {tag}{message}", f"14:13:26.980 WARNING  {message}",
                 f"2026-05-08 09:17:42,717 INFO gateway.platforms.qqbot.adapter: {tag}{message}"):
        e = parse_line(7, line)
        assert e is not None and e.kind is kind, line
        assert e.lineno == 7 and e.text == line


def test_message_fields() -> None:
    def ev(message: str) -> LogEvent:
        e = parse_line(1, message)
        assert e is not None
        return e
    assert ev("Resume sent (session_id=abc-1, seq=198)").session_id == "abc-1"
    assert ev("Resume sent (session_id=abc-1, seq=198)").seq == 198
    assert ev("Resume sent (session_id=…, seq=N)").seq is None
    assert ev("Ready, session_id=abc-2").session_id == "abc-2"
    assert (ev("Quick disconnect (1.2s), count: 1").delay_s, ev("Quick disconnect (1.2s), count: 1").count) == (1.2, 1)
    assert ev("Session error (4009), clearing session for re-identify").code == 4009
    assert (ev("Rate limited (4008), waiting 60s").code, ev("Rate limited (4008), waiting 60s").delay_s) == (4008, 60.0)
    assert ev("Invalid token (4004), will refresh and reconnect").code == 4004
    assert ev("Access token refreshed, expires in 7200s").delay_s == 7200.0
    dns = "Reconnect failed: DNS resolution error [Errno -3] Temporary failure in name resolution"
    assert ev(dns).fail_kind is FailKind.DNS
    unreachable = "Reconnect failed: Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"
    assert ev(unreachable).fail_kind is FailKind.NETWORK_UNREACHABLE
    assert ev("Reconnect failed: something else").fail_kind is FailKind.OTHER


# --- unreadable lines, comments, elisions -------------------------------------------------------------

def test_unreadable_lines_are_counted_kept_and_shown() -> None:
    text = "\n".join([
        "# a comment",
        INCIDENT_3[0],
        "| T+2 s | reconnect attempt 1 scheduled |",
        "",
        "25:61:00 Reconnected",      # no such time of day
        "2026-13-45 09:17:42,717 INFO gateway.run: hello",  # no such date
        INCIDENT_3[1],
    ])
    imp = import_log(text)
    assert imp.parsed.comments == 1 and imp.parsed.blank == 1
    assert imp.parsed.unreadable == [
        (3, "| T+2 s | reconnect attempt 1 scheduled |"),
        (5, "25:61:00 Reconnected"),
        (6, "2026-13-45 09:17:42,717 INFO gateway.run: hello"),
    ]
    assert [e.lineno for e in imp.parsed.events] == [2, 7]
    lines = imp.summary_lines()
    assert "unreadable lines (3):" in lines
    assert "  line 3: | T+2 s | reconnect attempt 1 scheduled |" in lines


@pytest.mark.parametrize("line, gap_s, repeats, silence", [
    ("... (exactly ~60s later)", 60.0, False, False),
    ("... (cycle repeats indefinitely)", None, True, False),
    ("... (then silence for 93+ minutes)", 93 * 60.0, False, True),
    ("(then silence for 93+ minutes)", 93 * 60.0, False, True),
    ("… (18+ hours: no log line except the token refresher)", 18 * 3600.0, False, True),
    ("[...] 250ms later", 0.25, False, False),
    ("... (then silence for 3+ hours: no QQ log line at all, 100% CPU)", 3 * 3600.0, False, True),
])
def test_elisions(line: str, gap_s: float | None, repeats: bool, silence: bool) -> None:
    e = parse_elision(4, line)
    assert e is not None
    assert (e.gap_s, e.repeats, e.silence) == (gap_s, repeats, silence)


def test_a_log_line_is_no_elision() -> None:
    assert parse_elision(1, INCIDENT_1[0]) is None


# --- the timeline ----------------------------------------------------------------------------------

def test_bare_times_wrap_at_midnight() -> None:
    imp = import_log("23:59:58.500 WebSocket closed: code=4009 reason=Session timed out\n"
                     "23:59:59 Reconnecting in 2s (attempt 1)...\n"
                     "00:00:01.000 Reconnected\n")
    assert [te.t_s for te in imp.timeline.events] == [0.0, 0.5, 2.5]
    assert imp.timeline.has_timestamps


def test_bare_times_follow_a_multi_day_gap_hint() -> None:
    imp = import_log("10:00:00 Reconnected\n... (2 days later)\n10:05:00 Reconnected\n")
    assert imp.timeline.events[1].t_s == 2 * 86400 + 300


def test_dated_lines_across_midnight() -> None:
    imp = import_log("2026-05-08 23:59:59,000 INFO Reconnected\n2026-05-09 00:00:59,000 WARNING "
                     "WebSocket closed: code=None reason=\n")
    assert [te.t_s for te in imp.timeline.events] == [0.0, 60.0]


def test_inferred_times_never_pass_the_next_timestamp() -> None:
    imp = import_log("10:00:00 Reconnecting in 60s (attempt 5)...\nReconnected\n10:00:05 Identify sent\n")
    times = [te.t_s for te in imp.timeline.events]
    assert times == [0.0, 5.0, 5.0]
    assert [te.inferred for te in imp.timeline.events] == [False, True, False]


def test_summary_marks_inferred_times() -> None:
    lines = import_log(_sample("death-loop.log")).summary_lines()
    assert "~+60.000s  CLOSED code=None reason=  (line 6)" in lines
    assert "+0.000s  RECONNECTED  (line 4)" in lines
    assert any("[gap 60s]" in line and "(line 5)" in line for line in lines)


# --- the rules on other logs -----------------------------------------------------------------------

def test_death_loop_from_timestamps() -> None:
    lines = []
    for k in range(3):
        t0 = 100 * k
        lines += [f"10:{t0 // 60:02d}:{t0 % 60:02d} INFO Reconnected",
                  f"10:{(t0 + 60) // 60:02d}:{(t0 + 60) % 60:02d} WARNING WebSocket error: WebSocket closed",
                  f"10:{(t0 + 60) // 60:02d}:{(t0 + 60) % 60:02d} INFO Reconnecting in 2s (attempt 1)..."]
    d = import_log("\n".join(lines)).diagnosis
    assert d.incident == "death-loop" and d.legacy_heartbeat_alive is False
    assert d.legacy_close_codes_visible is False  # only code-less "WebSocket error" closes


def test_a_60s_gap_made_of_default_steps_is_no_evidence() -> None:
    text = "Reconnected\n" + "Access token refreshed\n" * 599 + "WebSocket closed: code=None reason=\n"
    d = import_log(text).diagnosis
    assert d.legacy_heartbeat_alive is True and d.incident != "death-loop"


def test_repeated_stale_resume_is_the_resume_loop() -> None:
    text = "\n".join(f"12:00:{2 * k:02d} INFO Resume sent (session_id=s-1, seq={198 + k})\n"
                     f"12:00:{2 * k:02d} WARNING WebSocket error: WebSocket closed" for k in range(4))
    d = import_log(text).diagnosis
    assert d.incident == "reconnect-storm" and d.title == "the stale-session resume loop (incident 7)"
    assert any(isinstance(f, RejectResumes) for f in d.world.faults)


def test_session_conflict_sets_the_world_conflict_window() -> None:
    d = import_log("INFO Reconnected\nWARNING Reconnect failed: session conflict, try later\n"
                   "INFO Reconnecting in 2s (attempt 1)...").diagnosis
    assert d.incident == "reconnect-storm" and d.world.session_conflict_s > 0


def test_max_attempts_is_the_v014_zombie() -> None:
    d = import_log("WARNING Reconnect failed: Cannot connect to host api.sgroup.qq.com:443 "
                   "[Network is unreachable]\nERROR Max reconnect attempts reached\n").diagnosis
    assert d.incident == "exhaustion-zombie" and d.legacy_version == "0.14"


def test_silence_after_resume_is_the_long_silence() -> None:
    text = "\n".join(["INFO Resume sent (session_id=s-9, seq=1752)", "INFO Session resumed",
                      "... (then silence for 18+ hours)"])
    d = import_log(text).diagnosis
    assert d.incident == "half-open" and "incident 8" in d.title
    assert d.world.faults == (HalfOpen(at=LEAD_IN_S + 0.1),)


def test_routine_cycle_and_invalid_session() -> None:
    cycle = import_log("WARNING WebSocket closed: code=4009 reason=Session timed out\n"
                       "INFO Reconnecting in 2s (attempt 1)...\nINFO Reconnected\nINFO Session resumed").diagnosis
    assert cycle.incident == "session-cycle"
    assert cycle.world.faults == (ServerReconnect(at=LEAD_IN_S),)
    invalid = import_log("WARNING WebSocket closed: code=4006 reason=invalid session\n"
                         "INFO Reconnecting in 2s (attempt 1)...\nINFO Reconnected\nINFO Identify sent\n"
                         "INFO Ready, session_id=s-2").diagnosis
    assert invalid.incident == "invalid-session"
    assert any(isinstance(f, InvalidateSessions) for f in invalid.world.faults)


def test_a_coded_close_means_codes_are_visible() -> None:
    d = import_log(f"{FORMAT_EXAMPLE}\nWARNING WebSocket closed: code=4009 reason=Session timed out\n"
                   "INFO Reconnected\nINFO Session resumed").diagnosis
    assert d.legacy_close_codes_visible is True and d.incident == "session-cycle"


def test_healthy_log_is_unknown() -> None:
    d = import_log("INFO WebSocket connected\nINFO Identify sent\nINFO Ready, session_id=s-1").diagnosis
    assert d.incident == "unknown" and d.title == TITLES["unknown"]


# --- never raises ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "", "\n", "\n\n\n", "#", "...", "()", "\x00\x01\x02\xff\ufffd\x0b\x0c\x1c\x1d\x1e\x85\u2028",
    "\r\n\r\n", "INFO", "INFO:", "[QQBot:", "[QQBot:xxx]", "WebSocket closed: code=",
    "WebSocket closed: code=99999999999999999999999999 reason=x", "Reconnecting in 1e309s",
    "99:99:99", "0000-00-00 00:00:00,000 INFO a.b: x", "9999-12-31 23:59:59,999 INFO Reconnected\n"
    "00:00:00 Reconnected", "Resume sent (session_id=, seq=)", "... " + "9" * 100_000,
    "INFO " + "[" * 100_000, "x" * 1_000_000, ("a." * 50_000) + ": Reconnected",
    "12:00:00 " * 20_000, "(" + "1" * 200_000 + " hours)",
])
def test_odd_inputs_never_raise(text: str) -> None:
    imp = import_log(text)
    assert imp.diagnosis.incident in set(TITLES)
    assert isinstance(imp.summary_lines(), list)


def test_bytes_are_decoded() -> None:
    imp = import_log(_sample("death-loop.log").encode() + b"\xff\xfe garbage\n")
    assert imp.diagnosis.incident == "death-loop"
    assert len(imp.parsed.unreadable) == 1


_FRAGMENTS = INCIDENT_1 + INCIDENT_3 + INCIDENT_4 + INCIDENT_7 + [
    FORMAT_EXAMPLE, "14:13:26.980", "16:00:45", "INFO     ", "WARNING: ", "[QQBot:xxx] ", "# c",
    "Resume sent (session_id=s, seq=1)", "Session resumed", "Max reconnect attempts reached",
    "Bot is banned. Check QQ Open Platform.", "WebSocket closed: code=4915 reason=", "\n", "\r",
]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    imp = import_log(text)
    assert imp.diagnosis.incident in set(TITLES)
    imp.summary_lines()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=20)), max_size=40))
def test_shuffled_real_lines_never_raise(parts: list[str]) -> None:
    imp = import_log("".join(p if k % 3 else p + "\n" for k, p in enumerate(parts)))
    assert imp.diagnosis.incident in set(TITLES)
    assert all(math.isfinite(te.t_s) for te in imp.timeline.events)
    assert all(math.isfinite(f.at) for f in imp.diagnosis.world.faults)
    imp.summary_lines()
