"""The legacy model (hermes-agent's QQ adapter, v0.13 and v0.14) reproduces incidents.md.

Every test drives the pure reducer by hand, or through ``World`` below: a few lines that
answer its REST and socket commands on a virtual clock, with optional fault windows. No
sockets, no real time.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qqgate import core
from qqgate.core import (
    CloseSocket, Command, ConnectFailed, Deliver, Fatal, FetchToken, FrameReceived,
    GatewayFailed, GatewayResolved, Input, Log, OpenSocket, ResolveGateway, SendFrame,
    SocketClosed, SocketOpened, Start, Stop, Tick, TokenFailed, TokenIssued,
)
from qqgate.replay.legacy import (
    HeartbeatTask, LegacyConfig, LegacyModel, LegacyState, ListenLoop, LoopEnd,
)

URL = "wss://api.sgroup.qq.com/websocket"
DNS = "DNS resolution error [Errno -3] Temporary failure in name resolution"
REFUSED = "Cannot connect to host api.sgroup.qq.com:443 [Network is unreachable]"
LAT = 0.05
INF = math.inf


def hello(interval_ms: int = 41250) -> str:
    return json.dumps({"op": 10, "d": {"heartbeat_interval": interval_ms}})


def ready(session_id: str, seq: int = 1) -> str:
    return json.dumps({"op": 0, "s": seq, "t": "READY", "d": {"version": 1, "session_id": session_id}})


def c2c(seq: int, msg_id: str) -> str:
    return json.dumps({"op": 0, "s": seq, "t": "C2C_MESSAGE_CREATE", "id": f"C2C_MESSAGE_CREATE:{msg_id}",
                       "d": {"id": msg_id, "content": "hello"}})


def messages(cmds: tuple[Command, ...] | list[Command]) -> list[str]:
    return [c.fields["message"] for c in cmds if isinstance(c, Log)]


def sent(cmds: tuple[Command, ...] | list[Command]) -> list[tuple[int, dict[str, Any]]]:
    return [(c.conn, json.loads(c.text)) for c in cmds if isinstance(c, SendFrame)]


@dataclass
class World:
    """A scripted world: answers commands after ``LAT`` s, fires timers, records everything.

    Fault windows are ``(from_s, until_s)``. The server answers Hello on open, READY
    (``sess-N``) on Identify and RESUMED on Resume; everything else is pushed by the test.
    """

    cfg: LegacyConfig = field(default_factory=LegacyConfig)
    token_expires_in_s: float = 7200.0
    dns_down: tuple[float, float] | None = None
    refuse: tuple[float, float] | None = None
    token_down: tuple[float, float] | None = None
    auto_hello: bool = True

    def __post_init__(self) -> None:
        self.model = LegacyModel(self.cfg)
        self.state: LegacyState = self.model.initial_state()
        self.now = 0.0
        self.queue: list[tuple[float, int, Input]] = []
        self.order = 0
        self.trace: list[tuple[Input, tuple[Command, ...]]] = []
        self.sessions = 0
        self.tokens = 0

    # -- plumbing ------------------------------------------------------------------------
    def push(self, inp: Input) -> None:
        self.order += 1
        heapq.heappush(self.queue, (inp.at, self.order, inp))

    def feed(self, inp: Input) -> tuple[Command, ...]:
        self.state, cmds = self.model.step(self.state, inp)
        self.trace.append((inp, cmds))
        for c in cmds:
            self.respond(c)
        return cmds

    def run_until(self, t: float) -> None:
        for _ in range(100_000):
            if self.state.loop is ListenLoop.SPINNING:
                return
            deadline = self.model.next_deadline(self.state)
            nxt = self.queue[0][0] if self.queue else INF
            if deadline is not None and deadline <= nxt and deadline <= t:
                self.now = max(self.now, deadline)
                self.feed(Tick(self.now))
            elif nxt <= t:
                at, _, inp = heapq.heappop(self.queue)
                self.now = at
                self.feed(inp)
            else:
                self.now = t
                return
        raise AssertionError("World.run_until did not settle")

    def down(self, window: tuple[float, float] | None) -> bool:
        return window is not None and window[0] <= self.now < window[1]

    def respond(self, c: Command) -> None:
        at = self.now + LAT
        if isinstance(c, FetchToken):
            if self.down(self.token_down) or self.down(self.dns_down):
                self.push(TokenFailed(at, DNS))
            else:
                self.tokens += 1
                self.push(TokenIssued(at, f"tok-{self.tokens}", self.token_expires_in_s))
        elif isinstance(c, ResolveGateway):
            self.push(GatewayFailed(at, DNS) if self.down(self.dns_down) else GatewayResolved(at, URL))
        elif isinstance(c, OpenSocket):
            if self.down(self.refuse):
                self.push(ConnectFailed(at, c.conn, REFUSED))
            else:
                self.push(SocketOpened(at, c.conn))
                if self.auto_hello:
                    self.push(FrameReceived(at + LAT, c.conn, hello()))
        elif isinstance(c, SendFrame):
            frame = json.loads(c.text)
            if frame["op"] == 2:
                self.sessions += 1
                self.push(FrameReceived(at, c.conn, ready(f"sess-{self.sessions}")))
            elif frame["op"] == 6:
                resumed = {"op": 0, "s": frame["d"]["seq"], "t": "RESUMED", "d": ""}
                self.push(FrameReceived(at, c.conn, json.dumps(resumed)))

    # -- views ---------------------------------------------------------------------------
    def commands(self, since: int = 0) -> list[Command]:
        return [c for _, cmds in self.trace[since:] for c in cmds]

    def logs(self, since: int = 0) -> list[str]:
        return messages(self.commands(since))

    def heartbeats(self, conn: int) -> list[int | None]:
        return [f["d"] for k, f in sent(self.commands()) if k == conn and f["op"] == 1]

    def mark(self) -> int:
        return len(self.trace)


def connected(**cfg: Any) -> World:
    """A world whose client is READY on conn 1 (opened at 0.15, Hello at 0.2, READY at 0.25)."""
    w = World(LegacyConfig(**cfg))
    w.push(Start(0.0))
    w.run_until(1.0)
    assert w.state.loop is ListenLoop.READING and w.state.session_id == "sess-1"
    return w


# -- startup, Hello, heartbeats -----------------------------------------------------------

def test_startup_identifies_and_logs_the_real_texts() -> None:
    w = connected()
    assert w.logs() == [
        "Access token refreshed, expires in 7200s",
        f"WebSocket connected to {URL}",
        "Identify sent",
        "Ready, session_id=sess-1",
    ]
    (conn, identify), = sent(w.commands())
    assert conn == 1 and identify["op"] == 2
    assert identify["d"]["token"] == "QQBot tok-1"
    assert identify["d"]["intents"] == (1 << 25) | (1 << 30)
    log = next(c for c in w.commands() if isinstance(c, Log))
    assert log.level == "INFO" and log.event == "hermes"
    assert log.fields["logger"] == "gateway.platforms.qqbot.adapter"
    assert log.fields["tag"] == "[QQBot:1903424243]"


def test_heartbeat_sleeps_30s_before_hello_then_hello_interval_times_0_8() -> None:
    w = connected()
    opened_at = 0.15
    assert w.state.heartbeat_interval_s == pytest.approx(33.0)  # 41250 ms × 0.8
    assert w.model.next_deadline(w.state) == pytest.approx(opened_at + 30.0)
    w.run_until(opened_at + 30.0)
    assert w.heartbeats(1) == [1]
    assert w.model.next_deadline(w.state) == pytest.approx(opened_at + 30.0 + 33.0)
    w.run_until(opened_at + 63.0)
    assert w.heartbeats(1) == [1, 1]
    assert any(c.text == '{"op":1,"d":1}' for c in w.commands() if isinstance(c, SendFrame))
    assert "Heartbeat" not in " ".join(w.logs())  # successful heartbeats are not logged


def test_acks_are_ignored_and_dispatches_delivered_without_dedupe() -> None:
    w = connected()
    ack = w.feed(FrameReceived(2.0, 1, json.dumps({"op": 11})))
    assert ack == ()
    first = w.feed(FrameReceived(3.0, 1, c2c(2, "ROBOT1.0_a")))
    again = w.feed(FrameReceived(3.1, 1, c2c(3, "ROBOT1.0_a")))
    delivered = [c.dispatch for c in first + again if isinstance(c, Deliver)]
    assert [d.seq for d in delivered] == [2, 3]
    assert {d.dedupe_key for d in delivered} == {"ROBOT1.0_a"}
    assert delivered[0].event_type == "C2C_MESSAGE_CREATE"
    assert delivered[0].event_id == "C2C_MESSAGE_CREATE:ROBOT1.0_a"
    assert w.state.last_seq == 3


# -- incident 1: the v0.13 death loop -------------------------------------------------------

def test_v013_death_loop_heartbeat_dies_in_the_reconnect_window() -> None:
    w = connected(version="0.13")
    w.run_until(40.0)  # one heartbeat at 30.15; the next is due at 63.15
    w.push(SocketClosed(62.0, 1, 4009, "Session timed out"))
    w.run_until(62.0)
    assert w.logs(w.mark() - 1) == [
        "WebSocket closed: code=4009 reason=Session timed out",
        "Session error (4009), clearing session for re-identify",
        "Reconnecting in 2s (attempt 1)...",
    ]
    assert w.state.running is False  # v0.13: false during the whole reconnect window
    w.run_until(63.5)  # the heartbeat task wakes inside the window and ends for good
    assert w.state.heartbeat is HeartbeatTask.ENDED
    w.run_until(70.0)
    assert w.state.ws_conn == 2 and w.state.running is True
    assert "Reconnected" in w.logs() and w.state.session_id == "sess-2"
    assert w.model.next_deadline(w.state) is None  # no heartbeat task, no timer at all
    # ~60 s later the server drops the silent connection, with no close code.
    w.push(SocketClosed(124.1, 2, None, ""))
    mark = w.mark()
    w.run_until(200.0)
    assert w.logs(mark)[:3] == [
        "WebSocket closed: code=None reason=",
        "Reconnecting in 2s (attempt 1)...",
        f"WebSocket connected to {URL}",
    ]
    assert "Reconnected" in w.logs(mark)
    assert "Resume sent (session_id=sess-2, seq=1)" in w.logs(mark)
    assert "Session resumed" in w.logs(mark)
    w.run_until(600.0)
    assert w.heartbeats(2) == [] and w.heartbeats(3) == []  # never again
    assert not any(isinstance(c, Fatal) for c in w.commands())


def test_v013_heartbeat_survives_when_it_does_not_wake_inside_the_window() -> None:
    w = connected(version="0.13")
    w.push(SocketClosed(40.0, 1, 4009, "Session timed out"))  # window 40..42.1; wake at 63.15
    w.run_until(100.0)
    assert w.state.heartbeat is HeartbeatTask.SLEEPING
    assert w.heartbeats(2) == [1, 1]  # at 63.15 and 96.15; sess-2 READY has s=1


def test_v014_heartbeat_task_survives_the_same_drop() -> None:
    w = connected(version="0.14")
    w.run_until(40.0)
    w.push(SocketClosed(62.0, 1, 4009, "Session timed out"))
    w.run_until(63.5)
    assert w.state.running is True and w.state.heartbeat is HeartbeatTask.SLEEPING
    w.run_until(100.0)
    assert w.heartbeats(2) == [1]


def test_heartbeat_task_already_ended_by_config() -> None:
    w = connected(heartbeat_task_alive=False)
    assert w.state.heartbeat is HeartbeatTask.ENDED
    assert w.model.next_deadline(w.state) is None
    w.run_until(300.0)
    assert w.heartbeats(1) == []


# -- incident 2: the v0.14 busy spin; #13074: the v0.13 silent end ----------------------------

def test_v014_busy_spin_after_gateway_dns_failure() -> None:
    w = connected(version="0.14")
    w.dns_down = (63.0, INF)
    w.push(SocketClosed(62.0, 1, 4009, "Session timed out"))
    w.run_until(100.0)
    assert w.state.loop is ListenLoop.SPINNING
    assert w.logs()[-1] == f"Reconnect failed: {DNS}"
    at = w.state.now_s
    assert at == pytest.approx(64.05)
    assert w.model.next_deadline(w.state) == at  # the clock stands still
    state = w.state
    for _ in range(1000):
        state2, cmds = w.model.step(state, Tick(at))
        assert cmds == () and state2 == state
    # Nothing else can run either: the event loop is starved.
    for inp in (Stop(at), FrameReceived(at, 1, hello()), SocketClosed(at, 1, None, "")):
        assert w.model.step(state, inp) == (state, ())


@pytest.mark.parametrize("fault", ["gateway", "token"])
def test_v013_reconnect_failing_before_the_socket_ends_the_listen_task_silently(fault: str) -> None:
    w = World(LegacyConfig(version="0.13"), token_expires_in_s=100.0 if fault == "token" else 7200.0)
    if fault == "gateway":
        w.dns_down = (63.0, INF)
    else:
        w.token_down = (63.0, INF)
    w.push(Start(0.0))
    w.run_until(40.0)
    w.push(SocketClosed(62.0, 1, 4009, "Session timed out"))
    w.run_until(100.0)
    cmds = w.commands()
    assert any(isinstance(c, FetchToken) for c in cmds[4:]) == (fault == "token")
    assert w.logs()[-1] == f"Reconnect failed: {DNS}"
    assert w.state.loop is ListenLoop.RETURNED
    assert w.state.loop_end is LoopEnd.LOOP_CONDITION_FALSE
    assert w.state.fatal_error is None and w.state.running is False
    assert w.state.heartbeat is HeartbeatTask.ENDED  # it woke at 63.15 inside the window
    assert w.model.next_deadline(w.state) is None  # idle CPU, log silence
    mark = w.mark()
    w.run_until(10_000.0)
    assert w.commands(mark) == []


def test_v013_silent_end_leaves_a_late_heartbeat_wakeup_that_ends_the_task() -> None:
    w = connected(version="0.13")
    w.dns_down = (41.0, INF)
    w.push(SocketClosed(40.0, 1, 4009, "Session timed out"))  # reconnect fails at 42.05
    w.run_until(50.0)
    assert w.state.loop_end is LoopEnd.LOOP_CONDITION_FALSE
    assert w.model.next_deadline(w.state) == pytest.approx(63.15)  # only the heartbeat
    w.run_until(64.0)
    assert w.state.heartbeat is HeartbeatTask.ENDED and w.model.next_deadline(w.state) is None


# -- incident 3: the v0.14 zombie after 100 refused opens --------------------------------------

def test_v014_gives_up_after_100_refused_opens_without_telling_the_host() -> None:
    w = connected(version="0.14")
    w.refuse = (10.0, INF)
    w.push(SocketClosed(62.0, 1, 4009, "Session timed out"))
    w.run_until(20_000.0)
    logs = w.logs()
    delays = [int(m.split()[2][:-1]) for m in logs if m.startswith("Reconnecting in ")]
    assert len(delays) == 100
    assert delays[:6] == [2, 5, 10, 30, 60, 60]
    assert sum(delays) == 5807  # ≈ 97 minutes of sleeps
    assert logs.count(f"Reconnect failed: {REFUSED}") == 100
    assert logs.count("WebSocket error: WebSocket not connected") == 100
    assert "Reconnecting in 5s (attempt 2)..." in logs
    assert logs[-1] == "Max reconnect attempts reached"
    assert w.state.loop is ListenLoop.RETURNED and w.state.loop_end is LoopEnd.MAX_ATTEMPTS
    assert w.state.running is True  # is_connected still reads true
    assert not any(isinstance(c, Fatal) for c in w.commands())
    # Only the heartbeat task is left: it keeps waking, finds no socket, sends nothing.
    deadline = w.model.next_deadline(w.state)
    assert deadline == w.state.heartbeat_wake_at_s
    mark = w.mark()
    w.run_until(30_000.0)
    assert w.commands(mark) == []


def test_v014_attempt_counter_resets_at_the_upgrade_before_hello() -> None:
    w = World(LegacyConfig(version="0.14"), auto_hello=False)
    w.push(Start(0.0))
    w.run_until(0.5)
    w.feed(FrameReceived(0.5, 1, hello()))
    w.refuse = (10.0, 70.0)
    w.push(SocketClosed(62.0, 1, None, ""))
    w.run_until(75.0)  # attempt 1 (64) and attempt 2 (69.1) refused; attempt 3 sleeps 10 s
    assert w.state.attempts == 2
    assert "Reconnecting in 10s (attempt 3)..." in w.logs()
    w.run_until(79.3)  # attempt 3 at 79.2 succeeds (opened at 79.25); no Hello has come
    assert w.state.attempts == 0 and w.state.loop is ListenLoop.READING
    assert w.logs()[-2:] == [f"WebSocket connected to {URL}", "Reconnected"]
    conn = w.state.ws_conn
    assert conn is not None
    # The server accepts and drops at once: the next try is again 2 s away, never backing off.
    cmds = w.feed(SocketClosed(w.state.read_started_at_s + 0.1, conn, None, ""))
    assert messages(cmds) == [
        "WebSocket closed: code=None reason=",
        "Quick disconnect (0.1s), count: 1",
        "Reconnecting in 2s (attempt 1)...",
    ]


# -- close codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["0.13", "0.14"])
@pytest.mark.parametrize(("code", "text"), [
    (4914, "Bot is offline/sandbox-only. Check QQ Open Platform."),
    (4915, "Bot is banned. Check QQ Open Platform."),
])
def test_fatal_codes_return_without_fatal_command(version: str, code: int, text: str) -> None:
    w = connected(version=version)
    cmds = w.feed(SocketClosed(100.0, 1, code, "bot banned"))
    assert messages(cmds) == [f"WebSocket closed: code={code} reason=bot banned", text]
    assert w.state.loop is ListenLoop.RETURNED and w.state.loop_end is LoopEnd.FATAL_CLOSE
    assert w.state.fatal_error is not None
    assert w.state.running is (version == "0.14")
    w.run_until(1000.0)
    assert not any(isinstance(c, (Fatal, OpenSocket)) for c in w.commands()[5:])
    assert "Reconnecting" not in " ".join(w.logs())


def test_4008_waits_60s_before_the_reconnect_delay() -> None:
    w = connected(version="0.13")
    cmds = w.feed(SocketClosed(100.0, 1, 4008, "rate limited"))
    assert messages(cmds)[-1] == "Rate limited (4008), waiting 60s"
    assert w.state.loop is ListenLoop.RATE_LIMITED and w.state.loop_wake_at_s == 160.0
    w.run_until(160.0)
    assert w.logs()[-1] == "Reconnecting in 2s (attempt 1)..."
    assert w.state.loop_wake_at_s == 162.0
    assert w.state.heartbeat is HeartbeatTask.ENDED  # every 4008 starts the v0.13 death loop


def test_4004_drops_the_token_and_forces_a_fetch() -> None:
    w = connected()
    cmds = w.feed(SocketClosed(100.0, 1, 4004, "authentication failed"))
    assert "Invalid token (4004), will refresh and reconnect" in messages(cmds)
    assert w.state.token is None and w.state.session_id == "sess-1"
    mark = w.mark()
    w.run_until(103.0)
    assert FetchToken(force=True) in w.commands(mark)
    assert "Access token refreshed, expires in 7200s" in w.logs(mark)


def test_token_refreshed_on_reconnect_when_under_60s_left() -> None:
    w = World(LegacyConfig(), token_expires_in_s=120.0)  # issued at 0.05: expires at 120.05
    w.push(Start(0.0))
    w.run_until(1.0)
    w.push(SocketClosed(50.0, 1, 4009, "Session timed out"))
    mark = w.mark()
    w.run_until(60.0)  # reconnect at 52: 68 s left, no refresh
    assert not any(isinstance(c, FetchToken) for c in w.commands(mark))
    w.push(SocketClosed(70.0, 2, 4009, "Session timed out"))
    mark = w.mark()
    w.run_until(80.0)  # reconnect at 72: 48 s left, refresh first
    assert FetchToken(force=False) in w.commands(mark)
    assert "Access token refreshed, expires in 120s" in w.logs(mark)


def test_close_codes_invisible_take_the_exception_path() -> None:
    w = connected(close_codes_visible=False)
    cmds = w.feed(SocketClosed(100.0, 1, 4009, "Session timed out"))
    assert messages(cmds) == ["WebSocket error: WebSocket closed", "Reconnecting in 2s (attempt 1)..."]
    assert w.state.session_id == "sess-1" and w.state.last_seq == 1  # no session drop
    mark = w.mark()
    w.run_until(110.0)
    assert "Resume sent (session_id=sess-1, seq=1)" in w.logs(mark)
    # A fatal code cannot be recognised either: 4915 just reconnects.
    cmds = w.feed(SocketClosed(120.0, 2, 4915, "bot banned"))
    assert messages(cmds) == ["WebSocket error: WebSocket closed", "Reconnecting in 2s (attempt 1)..."]


def test_transport_error_without_a_close_frame_is_the_exception_path() -> None:
    w = connected()
    cmds = w.feed(SocketClosed(100.0, 1, None, "Connection reset by peer"))
    assert messages(cmds) == ["WebSocket error: WebSocket closed", "Reconnecting in 2s (attempt 1)..."]


def test_quick_disconnect_is_counted_and_reset_by_the_reconnect() -> None:
    w = connected()
    cmds = w.feed(SocketClosed(1.35, 1, 4009, "Session timed out"))  # opened at 0.15
    assert "Quick disconnect (1.2s), count: 1" in messages(cmds)
    w.run_until(10.0)
    assert "Reconnected" in w.logs() and w.state.quick_disconnects == 0


def test_third_quick_disconnect_in_a_row_gives_up_silently() -> None:
    w = connected(version="0.13")
    w.state = replace(w.state, quick_disconnects=2)  # unreachable by inputs: see the model docs
    cmds = w.feed(SocketClosed(1.25, 1, 4009, "Session timed out"))
    assert messages(cmds)[1] == "Quick disconnect (1.1s), count: 3"
    assert w.state.loop_end is LoopEnd.QUICK_DISCONNECTS and w.state.fatal_error
    assert w.state.running is True  # returned before `running` was touched
    assert not any(isinstance(c, (Fatal, OpenSocket)) for c in cmds)


def test_op7_and_op9_are_ignored_before_the_fixes() -> None:
    # the PyPI 0.13.0 and 0.14.0 adapters are byte-identical: neither handles op 7 or op 9
    for version in ("0.12", "0.13", "0.14"):
        w = connected(version=version)
        assert w.feed(FrameReceived(5.0, 1, json.dumps({"op": 7}))) == ()
        assert w.feed(FrameReceived(6.0, 1, json.dumps({"op": 9, "d": False}))) == ()
        assert w.state.session_id == "sess-1"


def test_inputs_for_a_replaced_socket_are_ignored() -> None:
    w = connected()
    w.push(SocketClosed(50.0, 1, None, ""))
    w.run_until(60.0)
    assert w.state.ws_conn == 2
    before = w.state
    for inp in (SocketClosed(61.0, 1, 4009, "late"), FrameReceived(61.0, 1, hello()),
                SocketOpened(61.0, 1), ConnectFailed(61.0, 1, REFUSED)):
        state, cmds = w.model.step(before, inp)
        assert cmds == () and state == replace(before, now_s=61.0)


def test_stop_closes_the_socket_and_cancels_both_tasks() -> None:
    w = connected()
    cmds = w.feed(Stop(10.0))
    assert CloseSocket(1, 1000, "") in cmds
    assert w.state.loop_end is LoopEnd.STOPPED and w.state.running is False
    assert w.model.next_deadline(w.state) is None
    assert w.feed(SocketClosed(10.1, 1, 1000, "")) == ()


def test_startup_failure_records_a_fatal_error_but_emits_no_fatal() -> None:
    w = World(LegacyConfig(), dns_down=(0.0, INF))
    w.push(Start(0.0))
    w.run_until(100.0)
    assert w.logs() == [f"QQ startup failed: {DNS}"]
    assert w.state.loop_end is LoopEnd.STARTUP_FAILED and w.model.next_deadline(w.state) is None
    assert not any(isinstance(c, Fatal) for c in w.commands())


# -- config, describe, determinism --------------------------------------------------------------

def test_config_rejects_unknown_versions() -> None:
    with pytest.raises(ValueError):
        LegacyConfig(version="0.15")


def test_describe_is_json_ready() -> None:
    d = LegacyModel(LegacyConfig(version="0.14")).describe()
    assert d["client"] == "legacy" and d["version"] == "0.14"
    assert json.loads(json.dumps(d)) == d
    assert LegacyModel.name == "legacy"


def _script() -> list[Input]:
    return [
        Start(0.0), TokenIssued(0.1, "t", 7200.0), GatewayResolved(0.2, URL), SocketOpened(0.3, 1),
        FrameReceived(0.4, 1, hello()), FrameReceived(0.5, 1, ready("s")), Tick(30.3),
        FrameReceived(31.0, 1, c2c(2, "m")), SocketClosed(62.0, 1, 4009, "Session timed out"),
        Tick(63.3), Tick(64.0), GatewayResolved(64.1, URL), SocketOpened(64.2, 2),
        FrameReceived(64.3, 2, hello()), SocketClosed(124.3, 2, None, ""), Tick(126.3),
        GatewayFailed(126.4, DNS), Tick(126.4),
    ]


@pytest.mark.parametrize("version", ["0.13", "0.14"])
def test_same_inputs_give_the_same_outputs(version: str) -> None:
    def run() -> tuple[list[tuple[LegacyState, tuple[Command, ...]]], float | None]:
        model = LegacyModel(LegacyConfig(version=version))
        state = model.initial_state()
        out = []
        for inp in _script():
            state, cmds = model.step(state, inp)
            out.append((state, cmds))
        return out, model.next_deadline(state)

    assert run() == run()


_conns = st.integers(min_value=1, max_value=4)
_times = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)
_frames = st.sampled_from([hello(), ready("s"), c2c(5, "m"), '{"op":11}', '{"op":7}',
                           '{"op":9,"d":false}', "not json", '{"op":0,"t":"RESUMED","d":""}'])
_inputs = st.one_of(
    st.builds(Start, _times), st.builds(Stop, _times), st.builds(Tick, _times),
    st.builds(TokenIssued, _times, st.just("t"), st.sampled_from([30.0, 7200.0])),
    st.builds(TokenFailed, _times, st.just(DNS)), st.builds(GatewayResolved, _times, st.just(URL)),
    st.builds(GatewayFailed, _times, st.just(DNS)), st.builds(SocketOpened, _times, _conns),
    st.builds(ConnectFailed, _times, _conns, st.just(REFUSED)),
    st.builds(FrameReceived, _times, _conns, _frames),
    st.builds(SocketClosed, _times, _conns, st.sampled_from([None, 4004, 4008, 4009, 4915]),
              st.sampled_from(["", "Session timed out"])),
    st.builds(core.DispatchSettled, _times, st.integers(0, 10)),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["0.13", "0.14"]), st.booleans(), st.lists(_inputs, max_size=40))
def test_any_input_sequence_is_deterministic_and_never_fatal(
        version: str, visible: bool, inputs: list[Input]) -> None:
    model = LegacyModel(LegacyConfig(version=version, close_codes_visible=visible))
    a = b = model.initial_state()
    for inp in sorted(inputs, key=lambda i: i.at):
        a, ca = model.step(a, inp)
        b, cb = model.step(b, inp)
        assert (a, ca) == (b, cb)
        assert not any(isinstance(c, Fatal) for c in ca)
        deadline = model.next_deadline(a)
        assert deadline is None or deadline >= a.now_s or a.loop is not ListenLoop.SPINNING
