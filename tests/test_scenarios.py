"""Every named scenario: the legacy model shows its incident, the core survives the same world."""

from __future__ import annotations

import pytest

from qqgate import core
from qqgate.replay import SCENARIOS, detection_delay, half_open_cuts, last_inbound, run_scenario
from qqgate.replay.world import (
    DnsOutage, FatalNoted, HeartbeatTimedOut, IdentifySent, ResumeSent, SessionEstablished, SocketOpening,
)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_legacy_model_reproduces_the_incident(name: str) -> None:
    scenario = SCENARIOS[name]
    outcome = run_scenario(scenario, "legacy", seed=1)
    assert scenario.legacy_expect, "every scenario names the incident it reproduces"
    assert not outcome.missing, f"legacy did not show {sorted(outcome.missing)}; found {sorted(outcome.names)}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_core_survives_the_same_world(name: str, seed: int) -> None:
    scenario = SCENARIOS[name]
    outcome = run_scenario(scenario, "core", seed=seed)
    assert outcome.run.invariant_breaks == []
    assert not outcome.unexpected, f"core showed {sorted(outcome.unexpected)}"
    assert not outcome.missing, f"core did not report {sorted(outcome.missing)}"
    assert outcome.run.spin is None
    delivered = outcome.run.delivered_ids
    assert len(delivered) == len(set(delivered)), "a message was delivered twice"
    assert outcome.run.missing_ids() == [], "a pushed message was never delivered"


def test_death_loop_legacy_closes_60s_after_each_reconnect_core_never() -> None:
    scenario = SCENARIOS["death-loop"]
    legacy = run_scenario(scenario, "legacy", seed=1)
    loop = next(f for f in legacy.findings if f.name == "death_loop")
    assert loop.count >= 3
    core_run = run_scenario(scenario, "core", seed=1, hours=2.0)
    assert "death_loop" not in core_run.names
    assert core_run.run.count(HeartbeatTimedOut) == 0


def test_busy_spin_legacy_stops_with_spin_core_is_bounded_and_recovers() -> None:
    scenario = SCENARIOS["busy-spin"]
    legacy = run_scenario(scenario, "legacy", seed=1)
    assert legacy.run.spin is not None and legacy.run.ended_at < scenario.hours * 3600
    outcome = run_scenario(scenario, "core", seed=1)
    floor = core.Config().open_floor_s
    opens = [e.at for e in outcome.run.events(SocketOpening)]
    assert all(b - a >= floor - 1e-9 for a, b in zip(opens, opens[1:]))
    outage = next(f for f in scenario.world.faults if isinstance(f, DnsOutage))
    assert outage.end_s is not None
    during = [t for t in opens if outage.active_at(t)]
    # Capped exponential backoff: an hour of outage costs at most ~hour/ (cap/2) attempts, not thousands.
    assert len(during) < 3600 / 20
    ready_after = [e.at for e in outcome.run.events(SessionEstablished) if e.at >= outage.end_s]
    assert ready_after and ready_after[0] - outage.end_s <= core.Config().backoff_cap_s + 5


def test_half_open_core_detects_within_two_intervals() -> None:
    scenario = SCENARIOS["half-open"]
    interval = scenario.world.heartbeat_interval_ms / 1000
    for seed in range(1, 6):
        outcome = run_scenario(scenario, "core", seed=seed)
        cuts = half_open_cuts(outcome.run)
        assert cuts
        for conn, cut_at in cuts:
            delay = detection_delay(outcome.run, conn, cut_at)
            assert delay is not None and delay <= 2 * interval, (seed, delay)
            assert last_inbound(outcome.run, conn, cut_at) > 0
        resumed = [e for e in outcome.run.events(ResumeSent) if e.at > cuts[0][1]]
        assert resumed, "the core resumes after detecting the dead link"
    legacy = run_scenario(scenario, "legacy", seed=1)
    conn, cut_at = half_open_cuts(legacy.run)[0]
    assert detection_delay(legacy.run, conn, cut_at) is None


def test_session_cycle_core_resumes_every_cycle() -> None:
    outcome = run_scenario(SCENARIOS["session-cycle"], "core", seed=1, record_journal=False)
    identifies = outcome.run.count(IdentifySent)
    resumes = outcome.run.count(ResumeSent)
    assert identifies <= 1 + 24 * 3600 / core.Config().session_max_age_s
    assert resumes >= 40
    assert outcome.run.missing_ids() == []


def test_fatal_codes_stop_the_core_with_a_final_fatal() -> None:
    for name, code in (("banned", 4915), ("lost-close-code", 4914)):
        outcome = run_scenario(SCENARIOS[name], "core", seed=1)
        fatals = outcome.run.events(FatalNoted)
        assert len(fatals) == 1 and fatals[0].retryable is False
        assert fatals[0].close_code == code
        assert outcome.run.final_state.phase is core.Phase.FAILED
