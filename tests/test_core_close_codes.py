"""Every close-code class of protocol.md ("Close codes"), parametrized over its codes."""

from __future__ import annotations

import pytest

from qqgate.core import (
    CloseSocket, Fatal, FetchToken, OpenSocket, Phase, ResolveGateway, SendFrame, Start, StatusChanged,
)
from conftest import SESSION, Driver, has, of_type, ops

FATAL_CODES = [4001, 4002, 4010, 4011, 4012, 4013, 4014, 4914, 4915]
IDENTIFY_CODES = [4006, 4007]
SERVER_ERROR_CODES = list(range(4900, 4914))
RESUME_CODES = [1000, 1001, None, 1005, 1006, 1011, 3000, 4000, 4003, 4005, 4916, 4999, 0, 65535]


def ready_then_close(code: int | None, at: float = 100.0, seed: int = 0) -> tuple[Driver, tuple]:
    d = Driver(seed=seed)
    d.connect_ready(at=0.0)
    d.dispatch(1.0, 2, "m2")
    d.settle(1.0, 2)
    return d, d.closed(at, code, "closed by the test")


# ---------------------------------------------------------------------------------------
# Fatal codes: stop for good


@pytest.mark.parametrize("code", FATAL_CODES)
def test_fatal_code_stops_in_failed(code: int) -> None:
    d, cmds = ready_then_close(code)
    (fatal,) = of_type(cmds, Fatal)
    assert fatal.retryable is False
    assert fatal.close_code == code
    assert d.phase is Phase.FAILED
    assert d.deadline is None
    assert not has(cmds, OpenSocket)
    for t in (100.5, 101.0, 160.0, 3600.0, 86_400.0, 1e7):
        assert d.tick(t) == ()
    cmds = d.feed(Start(1e7 + 1))            # FAILED is terminal: Start is ignored
    assert not has(cmds, OpenSocket) and not has(cmds, FetchToken)
    assert d.phase is Phase.FAILED
    assert not d.times_of(OpenSocket)[1:]    # only the very first OpenSocket ever


@pytest.mark.parametrize("code", FATAL_CODES)
def test_fatal_code_before_ready_is_fatal_too(code: int) -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0); d.hello(0.0)
    cmds = d.closed(0.5, code)
    assert [f.close_code for f in of_type(cmds, Fatal) if not f.retryable] == [code]
    assert d.phase is Phase.FAILED
    assert d.tick(1000.0) == ()


# ---------------------------------------------------------------------------------------
# 4004: force a fresh token, then identify; repeated 4004 is fatal


def test_4004_forces_a_token_refresh_then_identifies() -> None:
    d, cmds = ready_then_close(4004)
    assert not has(cmds, Fatal)
    assert not has(cmds, OpenSocket)
    assert d.session_id is None
    cmds = d.tick_until(lambda c: has(c, FetchToken), answer=False)
    assert of_type(cmds, FetchToken) == [FetchToken(force=True)]
    assert not has(cmds, OpenSocket)
    cmds = d.token(d.now, token="fresh-token")
    assert has(cmds, OpenSocket)
    (identify,) = [f for f in d.frames_sent(d.reconnect()) if f["op"] == 2]
    assert identify["d"]["token"] == "QQBot fresh-token"


def test_4004_twice_in_a_row_is_fatal() -> None:
    d, _ = ready_then_close(4004)
    d.until_open()
    assert ops(d.reconnect()) == [2]
    cmds = d.closed(d.now + 0.5, 4004)
    (fatal,) = of_type(cmds, Fatal)
    assert fatal.retryable is False and fatal.close_code == 4004
    assert d.phase is Phase.FAILED
    assert d.tick(d.now + 3600.0) == ()


def test_4004_after_a_ready_in_between_is_not_fatal() -> None:
    d, _ = ready_then_close(4004)
    d.until_open()
    d.reconnect()
    d.ready(d.now + 0.1, session_id="session-2")
    cmds = d.closed(d.now + 50.0, 4004)
    assert not has(cmds, Fatal)
    assert d.phase is Phase.BACKING_OFF
    cmds = d.tick_until(lambda c: has(c, FetchToken), answer=False)
    assert of_type(cmds, FetchToken) == [FetchToken(force=True)]


# ---------------------------------------------------------------------------------------
# 4006 / 4007: drop the session, identify


@pytest.mark.parametrize("code", IDENTIFY_CODES)
def test_session_codes_drop_session_and_identify(code: int) -> None:
    d, cmds = ready_then_close(code)
    assert not has(cmds, Fatal)
    assert d.session_id is None
    assert d.phase is Phase.BACKING_OFF
    d.until_open()
    cmds = d.reconnect()
    assert ops(cmds) == [2]
    assert d.phase is Phase.IDENTIFYING


# ---------------------------------------------------------------------------------------
# 4008: keep the session, wait the rate-limit cooldown, resume


@pytest.mark.parametrize("cooldown", [60.0, 5.0])
def test_4008_waits_the_cooldown_then_resumes(cooldown: float) -> None:
    d = Driver(ratelimit_cooldown_s=cooldown)
    d.connect_ready(at=0.0)
    cmds = d.closed(100.0, 4008, "sending too fast")
    assert not has(cmds, OpenSocket) and not has(cmds, Fatal)
    assert d.session_id == SESSION
    assert d.tick(100.0 + cooldown - 0.01) == ()
    opened = d.until_open()
    assert d.now >= 100.0 + cooldown
    assert d.now == pytest.approx(100.0 + cooldown)
    assert opened.conn == 2
    (resume,) = d.frames_sent(d.reconnect())
    assert resume["op"] == 6 and resume["d"]["session_id"] == SESSION


# ---------------------------------------------------------------------------------------
# 4009: the normal ~30-minute cycle: resume promptly, no failure


def test_4009_after_ready_reconnects_at_once_and_resumes_in_the_same_instant() -> None:
    d, cmds = ready_then_close(4009, at=1800.0)
    (opened,) = of_type(cmds, OpenSocket)
    assert opened.conn == 2
    assert d.state.consecutive_failures == 0
    assert d.session_id == SESSION
    d.opened(1800.0)
    hello = d.hello(1800.0)
    assert ops(hello) == [6]
    assert d.frames_sent(hello)[0]["d"] == {"token": "QQBot access-token-1", "session_id": SESSION, "seq": 2}
    assert d.phase is Phase.RESUMING
    d.resumed(1800.1)
    assert d.phase is Phase.READY


def test_4009_within_the_floor_waits_for_the_floor_only() -> None:
    d = Driver(open_floor_s=1.0)
    d.connect_ready(at=0.0)
    cmds = d.closed(0.4, 4009)
    assert not has(cmds, OpenSocket)
    assert d.state.retry_at == pytest.approx(1.0)
    d.until_open()
    assert d.now == pytest.approx(1.0)


def test_4009_cycles_every_30_minutes_never_identify_again() -> None:
    d = Driver()
    d.connect_ready(at=0.0)
    for cycle in range(1, 6):
        d.keep_alive(until=1800.0 * cycle - 1.0)
        cmds = d.closed(1800.0 * cycle, 4009, "Session timed out")
        assert has(cmds, OpenSocket)
        assert ops(d.reconnect()) == [6]
        d.resumed(d.now + 0.05)
    assert d.counters.identifies_sent == 1
    assert d.counters.resumes_sent == 5
    assert d.state.consecutive_failures == 0


def test_4009_before_ready_counts_as_a_failure() -> None:
    d = Driver()
    d.start(0.0); d.token(0.0); d.gateway(0.0); d.opened(0.0); d.hello(0.0)
    cmds = d.closed(10.0, 4009)
    assert not has(cmds, OpenSocket)
    assert d.state.consecutive_failures == 1
    assert d.phase is Phase.BACKING_OFF


# ---------------------------------------------------------------------------------------
# 4900-4913: internal server error: identify after backoff


@pytest.mark.parametrize("code", SERVER_ERROR_CODES)
def test_server_error_identifies_after_backoff(code: int) -> None:
    d, cmds = ready_then_close(code)
    assert not has(cmds, OpenSocket) and not has(cmds, Fatal)
    assert d.phase is Phase.BACKING_OFF
    assert d.state.consecutive_failures == 1
    assert 100.0 < d.state.retry_at <= 100.0 + 2.0   # U(0, base * 2^1)
    assert d.session_id is None
    d.until_open()
    assert ops(d.reconnect()) == [2]


# ---------------------------------------------------------------------------------------
# 1000/1001, no code, unknown codes: keep the session, resume after backoff


@pytest.mark.parametrize("code", RESUME_CODES)
def test_network_and_unknown_codes_resume_after_backoff(code: int | None) -> None:
    d, cmds = ready_then_close(code)
    assert not has(cmds, OpenSocket) and not has(cmds, Fatal)
    assert d.phase is Phase.BACKING_OFF
    assert d.state.consecutive_failures == 1
    assert d.session_id == SESSION
    d.until_open()
    (resume,) = d.frames_sent(d.reconnect())
    assert resume["op"] == 6
    assert resume["d"] == {"token": "QQBot access-token-1", "session_id": SESSION, "seq": 2}


@pytest.mark.parametrize("code", [4009, 1000, 4006, 4900, 4001])
def test_close_of_the_live_connection_is_never_answered_with_a_close(code: int) -> None:
    """The peer already closed it: the core must not send a CloseSocket or frames on it."""
    d, cmds = ready_then_close(code, at=500.0)
    assert not has(cmds, CloseSocket)
    assert not has(cmds, SendFrame)
    assert any(isinstance(c, StatusChanged) for c in cmds)


def test_close_while_resolving_is_stale() -> None:
    d = Driver()
    d.start(0.0)
    cmds = d.closed(1.0, 4009, conn=1)
    assert not has(cmds, OpenSocket) and not has(cmds, ResolveGateway)
    assert d.counters.stale_inputs == 1
    assert d.phase is Phase.RESOLVING
