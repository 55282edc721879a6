"""Time in the core: heartbeats and zombies, timeouts, backoff, the open floor, pacing, tokens."""

from __future__ import annotations

import dataclasses

import pytest

from qqgate.core import (
    CloseSocket, ConnectFailed, Deliver, Fatal, FetchToken, FrameReceived, GatewayFailed, Log,
    OpenSocket, Phase, ResolveGateway, SendFrame, SessionStartLimit, Stop, Tick, TokenFailed,
)
from conftest import INTERVAL_MS, SESSION, Driver, dispatch_text, has, of_type, ops


def last_inbound_at(d: Driver) -> float:
    return max(inp.at for inp, _ in d.history if isinstance(inp, FrameReceived))


# ---------------------------------------------------------------------------------------
# Zombie connections


@pytest.mark.parametrize("interval_ms", [1_000, 5_000, 30_000, 41_250, 60_000])
@pytest.mark.parametrize("seed", [0, 1, 7, 42, 1234])
@pytest.mark.parametrize("alive_for", [0, 3])
def test_zombie_is_closed_within_two_intervals_of_last_inbound_frame(
        interval_ms: int, seed: int, alive_for: int) -> None:
    interval = interval_ms / 1000.0
    d = Driver(seed=seed)
    d.connect_ready(at=10.0, interval_ms=interval_ms)
    d.keep_alive(until=10.0 + alive_for * interval + 0.37 * interval)
    conn = d.conn
    silent_from = last_inbound_at(d)
    # The link goes dead: no more frames. Ticks exactly at every deadline.
    cmds = d.tick_until(lambda c: has(c, CloseSocket), answer=False)
    (close,) = of_type(cmds, CloseSocket)
    assert close.conn == conn and close.code not in (1000, 1001)
    assert d.now - silent_from <= 2 * interval + 1e-9
    assert d.counters.zombies_detected == 1
    assert d.session_id == SESSION            # a zombie is resumed, not re-identified
    assert d.phase in (Phase.BACKING_OFF, Phase.CONNECTING)


@pytest.mark.parametrize("seed", [0, 5, 99])
def test_acks_in_time_keep_the_connection(seed: int) -> None:
    d = Driver(seed=seed)
    d.connect_ready(at=0.0)
    d.keep_alive(until=20 * INTERVAL_MS / 1000.0)
    assert d.counters.heartbeats_sent >= 19
    assert d.counters.heartbeat_acks == d.counters.heartbeats_sent
    assert d.counters.zombies_detected == 0
    assert not d.times_of(CloseSocket)
    assert d.phase is Phase.READY and d.conn == 1


def test_a_missed_ack_closes_at_the_next_beat() -> None:
    d = Driver(first_heartbeat_jitter=False)
    d.connect_ready(at=0.0, interval_ms=10_000)
    assert ops(d.tick()) == [1] and d.now == pytest.approx(10.0)
    d.ack(10.5)
    assert ops(d.tick()) == [1] and d.now == pytest.approx(20.0)
    # no ACK for the beat at 20 s: the beat due at 30 s closes instead
    cmds = d.tick()
    assert d.now == pytest.approx(30.0)
    assert not ops(cmds)
    (close,) = of_type(cmds, CloseSocket)
    assert close.code != 1000


def test_any_inbound_frame_proves_the_link_alive() -> None:
    d = Driver(first_heartbeat_jitter=False)
    d.connect_ready(at=0.0, interval_ms=10_000)
    for i in range(1, 8):
        assert ops(d.tick()) == [1]
        d.dispatch(d.now + 1.0, i + 1, f"m{i}")   # a dispatch, never an ACK
    assert d.counters.zombies_detected == 0
    assert not d.times_of(CloseSocket)


# ---------------------------------------------------------------------------------------
# Hello / ready / connect / request timeouts


def test_hello_timeout_closes_and_retries() -> None:
    d = Driver(hello_timeout_s=15.0)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    d.opened(0.5)
    assert d.tick(15.4) == ()
    cmds = d.tick()
    assert d.now == pytest.approx(15.5)
    (close,) = of_type(cmds, CloseSocket)
    assert close.conn == 1 and close.code != 1000
    assert d.state.consecutive_failures == 1
    opened = d.until_open()
    assert opened.conn == 2


def test_ready_timeout_closes_and_retries() -> None:
    d = Driver(ready_timeout_s=30.0)
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0)
    assert ops(d.hello(1.0)) == [2]
    cmds = d.tick_until(lambda c: has(c, CloseSocket), answer=False, ack=True)
    assert d.now == pytest.approx(31.0)
    assert of_type(cmds, CloseSocket)[0].code != 1000
    assert d.state.consecutive_failures == 1
    assert d.until_open().conn == 2


def test_resume_timeout_closes_but_is_no_refused_resume() -> None:
    d = Driver(ready_timeout_s=30.0)
    d.connect_ready(at=0.0)
    d.closed(10.0, 1006)
    d.until_open()
    assert ops(d.reconnect()) == [6]
    resumed_at = d.now
    cmds = d.tick_until(lambda c: has(c, CloseSocket), answer=False, ack=True)
    assert d.now == pytest.approx(resumed_at + 30.0)
    assert of_type(cmds, CloseSocket)[0].code != 1000
    assert d.state.session is not None and d.state.session.resume_failures == 0


def test_connect_timeout_abandons_the_socket_and_retries() -> None:
    d = Driver(connect_timeout_s=15.0)
    d.start(0.0); d.token(0.0)
    (opened,) = of_type(d.gateway(2.0), OpenSocket)
    assert d.tick(16.9) == ()
    cmds = d.tick()
    assert d.now == pytest.approx(17.0)
    assert [c.conn for c in of_type(cmds, CloseSocket)] == [opened.conn]
    assert d.phase is Phase.BACKING_OFF
    assert d.until_open().conn == opened.conn + 1


def test_token_request_timeout_retries_the_request() -> None:
    d = Driver(request_timeout_s=15.0)
    assert of_type(d.start(0.0), FetchToken) == [FetchToken(force=False)]
    assert d.tick(14.0) == ()
    cmds = d.tick()
    assert d.now == pytest.approx(15.0)
    assert d.state.consecutive_failures == 1
    assert not has(cmds, OpenSocket)
    cmds = d.tick_until(lambda c: has(c, FetchToken), answer=False)
    assert 15.0 < d.now <= 17.0
    assert of_type(cmds, FetchToken) == [FetchToken(force=False)]


def test_gateway_request_timeout_retries_the_request() -> None:
    d = Driver(request_timeout_s=15.0)
    d.start(0.0)
    assert has(d.token(1.0), ResolveGateway)
    cmds = d.tick()
    assert d.now == pytest.approx(16.0)
    assert d.state.consecutive_failures == 1
    cmds = d.tick_until(lambda c: has(c, ResolveGateway), answer=False)
    assert has(cmds, ResolveGateway)


def test_late_gateway_answer_after_timeout_is_stale() -> None:
    d = Driver(request_timeout_s=15.0)
    d.start(0.0); d.token(0.0)
    d.tick()
    assert d.phase is Phase.BACKING_OFF
    cmds = d.gateway(16.0)
    assert not has(cmds, OpenSocket)
    assert d.counters.stale_inputs == 1


def test_gateway_request_keeps_its_timeout_when_a_second_token_arrives() -> None:
    d = Driver(request_timeout_s=15.0)
    d.start(0.0)
    assert has(d.token(1.0), ResolveGateway)
    d.token(2.0, token="late-answer")          # e.g. the answer to an earlier, timed-out request
    # The gateway request is lost. Token refreshes keep being answered; within a day the core
    # must have given up on the lost request and asked again.
    while d.deadline is not None and d.now < 86_400.0 and not d.times_of(ResolveGateway)[1:]:
        cmds = d.tick()
        for c in of_type(cmds, FetchToken):
            d.token(d.now)
    assert len(d.times_of(ResolveGateway)) >= 2, f"still {d.phase.value} at {d.now:.0f} s"
    assert d.times_of(ResolveGateway)[1] <= 1.0 + 15.0 + 60.0


def test_token_refresh_overlapping_gateway_request_keeps_a_deadline() -> None:
    d = Driver(backoff_base_s=0.001, backoff_cap_s=0.001, request_timeout_s=15.0)
    d.start(0.0)
    d.token(0.0, expires_in_s=100.0)            # refresh due at 50 s
    # The gateway request keeps timing out until the refresh falls due in the middle of one.
    cmds = d.tick_until(lambda c: has(c, FetchToken), answer=False)
    assert d.phase is Phase.RESOLVING and d.state.gateway_pending and d.state.token_pending
    d.gateway(d.now + 1.0)                     # the gateway answers, the token request hangs
    assert d.deadline is not None              # check_step fails here too (invariant 4)


# ---------------------------------------------------------------------------------------
# Backoff


def fail_connects(d: Driver, n: int) -> list[float]:
    """Make ``n`` consecutive connect attempts fail; return each scheduled retry delay."""
    delays = []
    if d.phase is not Phase.CONNECTING:
        d.until_open()
    for _ in range(n):
        d.feed(ConnectFailed(d.now, d.conn, "connection refused"))
        if d.phase is Phase.BACKING_OFF:
            delays.append(d.state.retry_at - d.now)
        else:
            delays.append(0.0)
        d.until_open()
    return delays


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("base,cap", [(1.0, 60.0), (0.5, 8.0), (2.0, 30.0)])
def test_backoff_is_capped_exponential_with_full_jitter(seed: int, base: float, cap: float) -> None:
    d = Driver(seed=seed, backoff_base_s=base, backoff_cap_s=cap, fatal_after_failures=1000)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    delays = fail_connects(d, 14)
    for n, delay in enumerate(delays, start=1):
        assert 0.0 <= delay <= min(cap, base * 2 ** n) + 1e-9, (n, delay)
        assert delay <= cap + 1e-9


def test_backoff_jitter_uses_the_whole_range() -> None:
    late = []
    for seed in range(40):
        d = Driver(seed=seed, backoff_base_s=1.0, backoff_cap_s=8.0, fatal_after_failures=1000)
        d.start(0.0); d.token(0.0); d.gateway(0.0)
        late += fail_connects(d, 8)[4:]          # ceilings at the cap
    assert max(late) > 0.9 * 8.0
    assert min(late) < 0.1 * 8.0
    assert 0.35 * 8.0 < sum(late) / len(late) < 0.65 * 8.0


def test_backoff_is_not_reset_by_socket_open_only_by_ready() -> None:
    d = Driver(seed=11, backoff_base_s=1.0, backoff_cap_s=60.0, fatal_after_failures=1000)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    fail_connects(d, 6)
    assert d.state.consecutive_failures == 6
    # The socket opens and says Hello, then drops: still the same outage.
    d.opened(d.now)
    d.hello(d.now)
    d.closed(d.now + 1.0, 1006)
    assert d.state.consecutive_failures == 7
    d.until_open()
    d.opened(d.now)
    d.closed(d.now + 0.5, None)
    assert d.state.consecutive_failures == 8
    # READY ends the outage: the next failure waits at most base * 2.
    d.until_open()
    d.reconnect()
    d.ready(d.now + 0.1)
    assert d.state.consecutive_failures == 0
    d.closed(d.now + 100.0, 1006)
    assert d.state.consecutive_failures == 1
    assert d.state.retry_at - d.now <= 2.0


# ---------------------------------------------------------------------------------------
# The OpenSocket floor


@pytest.mark.parametrize("seed", range(5))
def test_open_floor_holds_under_a_barrage_of_connect_failures(seed: int) -> None:
    d = Driver(seed=seed, backoff_base_s=0.001, backoff_cap_s=0.002, open_floor_s=1.0,
               fatal_after_failures=1000)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    for _ in range(30):
        d.feed(ConnectFailed(d.now, d.conn, "refused"))
        for dt in (0.0, 0.001, 0.2, 0.5):
            cmds = d.tick(d.now + dt)
            cmds += tuple(d.answer_requests(cmds))
            if d.phase is Phase.CONNECTING:
                break
        else:
            d.until_open()
    opens = d.times_of(OpenSocket)
    gaps = [b - a for a, b in zip(opens, opens[1:])]
    assert len(opens) == 31
    assert min(gaps) >= 1.0 - 1e-9
    assert min(gaps) == pytest.approx(1.0)      # the floor, not the backoff, was binding


def test_open_floor_holds_under_a_barrage_of_server_reconnects() -> None:
    d = Driver(open_floor_s=1.0)
    d.connect_ready(at=0.0)
    for i in range(20):
        if i % 2:
            d.recv(d.now, {"op": 7})
        else:
            d.closed(d.now, 4009)
        if d.phase is not Phase.CONNECTING:
            d.until_open()
        assert ops(d.reconnect()) == [6]
        d.resumed(d.now)
    opens = d.times_of(OpenSocket)
    assert len(opens) == 21
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(opens, opens[1:]))


# ---------------------------------------------------------------------------------------
# next_deadline and early ticks


def test_next_deadline_is_set_in_every_active_phase_and_none_when_quiet() -> None:
    d = Driver()
    assert d.phase is Phase.IDLE and d.deadline is None
    d.connect_ready(at=0.0)
    d.closed(50.0, 1006)
    d.until_open()
    d.reconnect()
    d.resumed(d.now)
    d.recv(d.now + 1.0, {"op": 9, "d": False})
    d.until_open()
    d.reconnect()
    d.ready(d.now + 0.1)
    seen = set()
    replay = Driver()
    for inp, _ in d.history:
        replay.feed(inp)
        seen.add(replay.phase)
        assert replay.deadline is not None, replay.phase
    assert {Phase.RESOLVING, Phase.CONNECTING, Phase.AWAITING_HELLO, Phase.IDENTIFYING,
            Phase.READY, Phase.BACKING_OFF, Phase.RESUMING} <= seen
    d.feed(Stop(d.now + 1.0))
    assert d.phase is Phase.STOPPED and d.deadline is None


def early_tick_is_a_no_op(d: Driver) -> None:
    deadline = d.deadline
    assert deadline is not None
    at = max(d.now, deadline - 0.001)
    before = d.state
    assert d.tick(at) == ()
    assert d.state == before._replace(now=at)


def test_an_early_tick_does_nothing_in_any_phase() -> None:
    d = Driver()
    d.start(0.0)
    early_tick_is_a_no_op(d)                    # RESOLVING (token)
    d.token(1.0)
    early_tick_is_a_no_op(d)                    # RESOLVING (gateway)
    d.gateway(2.0)
    early_tick_is_a_no_op(d)                    # CONNECTING
    d.opened(3.0)
    early_tick_is_a_no_op(d)                    # AWAITING_HELLO
    d.hello(4.0)
    early_tick_is_a_no_op(d)                    # IDENTIFYING
    d.ready(5.0)
    early_tick_is_a_no_op(d)                    # READY
    d.closed(100.0, 1006)
    early_tick_is_a_no_op(d)                    # BACKING_OFF
    d.until_open()
    d.reconnect()
    early_tick_is_a_no_op(d)                    # RESUMING


def test_next_deadline_stays_none_in_idle() -> None:
    d = Driver()
    d.token(0.0, expires_in_s=100.0)           # an unsolicited answer before Start
    assert d.deadline is None
    d.tick(60.0)                                # check_step: deadline 50 not in the future


# ---------------------------------------------------------------------------------------
# Never silent: Fatal(retryable=True) once per outage; max_failures


def test_retryable_fatal_once_per_outage_and_again_in_the_next_one() -> None:
    d = Driver(fatal_after_failures=3, backoff_cap_s=4.0)
    d.connect_ready(at=0.0)
    fatal_steps = []

    def fail_n(n: int) -> None:
        for _ in range(n):
            if d.phase is Phase.CONNECTING:
                cmds = d.feed(ConnectFailed(d.now, d.conn, "refused"))
            else:
                cmds = d.closed(d.now + 1.0, 1006)
            fatal_steps.append([f for f in of_type(cmds, Fatal)])
            d.until_open()

    fail_n(10)
    fired = [i + 1 for i, f in enumerate(fatal_steps) if f]
    assert fired == [3]
    assert all(f.retryable for fs in fatal_steps for f in fs)
    assert d.phase is Phase.CONNECTING          # still retrying
    d.reconnect()
    d.resumed(d.now + 0.1)
    assert d.state.consecutive_failures == 0
    fatal_steps.clear()
    d.keep_alive(until=d.now + 100.0)
    fail_n(6)
    assert [i + 1 for i, f in enumerate(fatal_steps) if f] == [3]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_max_failures_stops_in_failed(limit: int) -> None:
    d = Driver(max_failures=limit, fatal_after_failures=100)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    fatals = []
    for n in range(1, limit + 1):
        cmds = d.feed(ConnectFailed(d.now, d.conn, "refused"))
        fatals += of_type(cmds, Fatal)
        if n < limit:
            assert d.phase is Phase.BACKING_OFF
            assert not fatals
            d.until_open()
    assert d.phase is Phase.FAILED
    assert len(fatals) == 1
    assert fatals[0].retryable is False and fatals[0].close_code is None
    assert d.deadline is None
    for t in (d.now + 1, d.now + 1000):
        assert d.tick(t) == ()
    assert len(d.times_of(OpenSocket)) == limit


def test_gateway_and_token_failures_count_towards_the_outage() -> None:
    d = Driver(fatal_after_failures=4)
    d.start(0.0)
    fatals = []
    for i in range(4):
        cmds = list(d.feed(TokenFailed(d.now, "HTTP 503")))
        fatals += of_type(cmds, Fatal)
        d.tick_until(lambda c: has(c, FetchToken), answer=False)
    assert len(fatals) == 1
    d.token(d.now)
    cmds = d.feed(GatewayFailed(d.now, "DNS failure"))
    assert not has(cmds, Fatal)
    assert d.state.consecutive_failures == 5


# ---------------------------------------------------------------------------------------
# Resume fallback to identify


def test_failed_resumes_fall_back_to_identify() -> None:
    d = Driver(resume_failures_before_identify=3)
    d.connect_ready(at=0.0)
    d.closed(100.0, 1006)
    sent = []
    for _ in range(4):
        d.until_open()
        cmds = d.reconnect()
        sent += ops(cmds)
        if 6 in ops(cmds):
            d.closed(d.now + 0.5, 1006)
    assert sent == [6, 6, 6, 2]
    assert d.session_id is None


def test_an_old_session_is_still_resumed_first() -> None:
    """Age alone never drops a session the server may still resume: the first Resume goes out."""
    young, old = Driver(session_max_age_s=600.0), Driver(session_max_age_s=600.0)
    for d, close_at in ((young, 500.0), (old, 700.0)):
        d.connect_ready(at=0.0)
        d.keep_alive(until=close_at - 1.0)
        d.closed(close_at, 1006)
        d.until_open()
    assert ops(young.reconnect()) == [6]
    assert ops(old.reconnect()) == [6]


def test_an_old_session_is_identified_once_its_resume_failed() -> None:
    young, old = Driver(session_max_age_s=600.0), Driver(session_max_age_s=600.0)
    for d, close_at in ((young, 500.0), (old, 700.0)):
        d.connect_ready(at=0.0)
        d.keep_alive(until=close_at - 1.0)
        d.closed(close_at, 1006)
        d.until_open()
        assert ops(d.reconnect()) == [6]
        d.closed(d.now + 0.2, None)      # the Resume fails: the server drops the socket
        d.until_open()
    assert ops(young.reconnect()) == [6]  # young: retried up to resume_failures_before_identify
    assert ops(old.reconnect()) == [2]
    assert old.session_id is None


def test_op7_on_an_old_session_resumes_so_the_dispatch_left_on_the_old_socket_is_replayed() -> None:
    """The long-session loss: op 7, a dispatch still arriving on the socket the core left, and a
    session past the age cap. The core must resume (the server replays the dispatch), not identify."""
    d = Driver(session_max_age_s=43200.0)
    d.connect_ready(at=0.0)
    d.keep_alive(until=43300.0)
    d.dispatch(43300.5, 2, "m-delivered")
    d.settle(43300.5, 2)
    old = d.conn
    cmds = d.recv(43301.0, {"op": 7})
    assert has(cmds, OpenSocket) and d.conn != old   # op 7 reconnects at once
    stale = d.recv(43301.01, dispatch_text(3, "m-on-the-old-socket"), conn=old)
    assert not of_type(stale, Deliver) and d.counters.stale_inputs >= 1
    cmds = d.reconnect(43301.05)
    (resume,) = [f for f in d.frames_sent(cmds) if f["op"] == 6]
    assert resume["d"]["session_id"] == SESSION and resume["d"]["seq"] == 2
    assert d.session_id == SESSION


def test_session_lost_longer_than_resume_window_is_resumed_once_then_identified() -> None:
    d = Driver(resume_window_s=300.0, backoff_cap_s=60.0, fatal_after_failures=1000)
    d.connect_ready(at=0.0)
    d.closed(10.0, 1006)
    while d.now < 320.0:
        d.until_open()
        d.feed(ConnectFailed(d.now, d.conn, "refused"))
    d.until_open()
    assert ops(d.reconnect()) == [6]
    d.closed(d.now + 0.2, None)
    d.until_open()
    assert ops(d.reconnect()) == [2]


def test_start_long_after_stop_resumes_first_and_identifies_when_refused() -> None:
    d = Driver(resume_window_s=300.0)
    d.connect_ready(at=0.0)
    d.feed(Stop(10.0))
    d.start(4000.0)
    d.answer_requests(d.history[-1][1])
    assert d.phase is Phase.CONNECTING
    assert ops(d.reconnect()) == [6]
    d.closed(d.now + 0.1, 4902, "reset by resume")   # the server no longer holds the session
    assert d.session_id is None
    d.until_open()
    assert ops(d.reconnect()) == [2]


# ---------------------------------------------------------------------------------------
# Identify pacing


def test_identifies_are_paced_by_max_concurrency_1() -> None:
    d = Driver()
    d.connect_ready(at=0.0, limit=SessionStartLimit(1000, 1000, 86_400_000, max_concurrency=1))
    d.recv(0.5, {"op": 9, "d": False})
    d.until_open()
    cmds = d.reconnect()
    assert d.now < 5.0
    assert ops(cmds) == []
    assert any(isinstance(c, Log) and c.event == "identify_paced" for c in cmds)
    d.tick_until(lambda c: 2 in ops(c), ack=True)
    identifies = d.times_of(SendFrame, lambda c: '"op":2' in c.text)
    assert len(identifies) == 2
    assert identifies[1] - identifies[0] >= 5.0
    assert identifies[1] == pytest.approx(5.0)
    assert d.phase is Phase.IDENTIFYING


def test_identifies_are_not_paced_within_max_concurrency() -> None:
    d = Driver()
    d.connect_ready(at=0.0, limit=SessionStartLimit(1000, 1000, 86_400_000, max_concurrency=2))
    d.recv(0.5, {"op": 9, "d": False})
    d.until_open()
    assert d.now < 5.0
    assert ops(d.reconnect()) == [2]


def test_identify_waits_for_the_daily_budget_reset() -> None:
    d = Driver(ready_timeout_s=30.0)
    d.start(0.0); d.token(0.0)
    d.gateway(0.0, limit=SessionStartLimit(1000, 0, reset_after_ms=20_000, max_concurrency=1))
    d.opened(0.0)
    assert ops(d.hello(0.0)) == []
    d.tick_until(lambda c: 2 in ops(c), ack=True)
    assert d.now == pytest.approx(20.0)


# ---------------------------------------------------------------------------------------
# Access token refresh


def test_token_is_refreshed_before_expiry_without_disturbing_the_connection() -> None:
    d = Driver(token_refresh_margin_s=50.0)
    d.connect_ready(at=0.0)                     # token valid for 7200 s
    d.keep_alive(until=7_100.0)
    assert len(d.times_of(FetchToken)) == 1     # only the initial one
    cmds = d.tick_until(lambda c: has(c, FetchToken), answer=False, ack=True)
    assert of_type(cmds, FetchToken) == [FetchToken(force=False)]
    assert 7_100.0 < d.now < 7_200.0
    assert d.now <= 7_200.0 - 50.0 + 1e-9
    assert not has(cmds, CloseSocket)
    assert d.phase is Phase.READY and d.conn == 1
    cmds = d.token(d.now + 0.2, token="access-token-2")
    assert not has(cmds, OpenSocket) and not has(cmds, CloseSocket)
    assert d.phase is Phase.READY and d.conn == 1
    d.keep_alive(until=7_400.0)
    d.closed(7_500.0, 4009)
    (resume,) = d.frames_sent(d.reconnect())
    assert resume["d"]["token"] == "QQBot access-token-2"
    assert resume["d"]["session_id"] == SESSION


def test_failed_token_refresh_is_retried_and_keeps_the_connection() -> None:
    d = Driver(token_retry_s=30.0)
    d.connect_ready(at=0.0)
    d.keep_alive(until=7_100.0)
    d.tick_until(lambda c: has(c, FetchToken), answer=False, ack=True)
    refresh_at = d.now
    cmds = d.feed(TokenFailed(refresh_at + 1.0, "HTTP 500"))
    assert not has(cmds, CloseSocket) and d.phase is Phase.READY
    d.tick_until(lambda c: has(c, FetchToken), answer=False, ack=True)
    assert d.now == pytest.approx(refresh_at + 31.0)
    assert d.phase is Phase.READY and d.conn == 1


def test_short_lived_token_does_not_spin_on_the_token_api() -> None:
    d = Driver(token_refresh_margin_s=50.0)
    d.start(0.0)
    fetches = 0
    for _ in range(10):
        cmds = d.token(0.0, expires_in_s=30.0)   # the API keeps answering instantly
        fetches += len(of_type(cmds, FetchToken))
        if not has(cmds, FetchToken):
            break
    assert fetches <= 1, f"{fetches} token requests at the same instant"


def test_token_timeout_during_refresh_retries_later() -> None:
    d = Driver(token_retry_s=30.0, request_timeout_s=15.0)
    d.connect_ready(at=0.0)
    d.keep_alive(until=7_100.0)
    d.tick_until(lambda c: has(c, FetchToken), answer=False, ack=True)
    t0 = d.now
    d.tick_until(lambda c: has(c, FetchToken), answer=False, ack=True)
    assert d.now == pytest.approx(t0 + 15.0 + 30.0)
    assert d.phase is Phase.READY


def test_clock_regression_is_counted_and_handled_at_latest_time() -> None:
    d = Driver()
    d.connect_ready(at=100.0)
    d.feed(Tick(50.0))
    assert d.counters.clock_regressions == 1
    assert d.now == 100.0


def test_stop_in_failed_moves_to_stopped_and_stays_quiet() -> None:
    d = Driver(max_failures=1)
    d.start(0.0); d.token(0.0); d.gateway(0.0)
    d.feed(ConnectFailed(d.now, d.conn, "refused"))
    assert d.phase is Phase.FAILED
    cmds = d.feed(Stop(d.now + 1))
    assert d.phase is Phase.STOPPED
    assert not of_type(cmds, OpenSocket) and d.deadline is None


def test_an_unanswered_resume_is_retried_not_counted_as_refused() -> None:
    """A Resume the server never answers (no RESUMED, no close) is no refusal of the session: the
    core keeps resuming instead of throwing away what the server still holds for it."""
    d = Driver(resume_failures_before_identify=2, fatal_after_failures=1000)
    d.connect_ready(at=0.0)
    d.closed(100.0, 1006)
    sent = []
    for _ in range(4):
        d.until_open()
        sent += ops(d.reconnect())
        d.tick_until(lambda c: has(c, CloseSocket))   # the ready timeout closes it
    assert sent == [6, 6, 6, 6]
    assert d.session_id == SESSION
