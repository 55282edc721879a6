"""Hypothesis stateful test: server actions, network faults and time, against the core in the simulator.

Rules are what the world can do to a client (close with any code class, op 7, forget
sessions, black-hole the link, DNS/refuse/stall outages, reject resumes, lost ACKs) and
time passing. After every rule: no invariant broke, no spin. At the end the faults stop
and the core must hold a server-established connection (or have stopped on a fatal code)
within the soak's liveness bound. Failures shrink to a minimal sequence of rules.
"""

from __future__ import annotations

import dataclasses

from qqgate import core
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from qqgate.replay import established_intervals
from qqgate.replay.checks import LIVENESS_BOUND_S
from qqgate.replay.world import (
    Ban, CoreClient, DnsOutage, FatalNoted, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes,
    ServerClose, ServerReconnect, Simulation, StallConnects, WorldSpec, schedule_end_s,
)

CODES = st.sampled_from([None, 1000, 1001, 1006, 4004, 4006, 4007, 4008, 4009, 4900, 4906, 4913, 4999])
FATAL = st.sampled_from([4001, 4002, 4010, 4013, 4014])
DURATION = st.floats(min_value=1.0, max_value=1800.0)


class GatewayWorld(RuleBasedStateMachine):
    """The world as a state machine; the core is the system under test."""

    def __init__(self) -> None:
        super().__init__()
        self.sim: Simulation | None = None
        self.fatal_code = False

    @initialize(seed=st.integers(0, 2**32 - 1), ack_loss=st.sampled_from([0.0, 0.0, 0.2]),
                messages=st.sampled_from([None, 5.0, 30.0]))
    def start(self, seed: int, ack_loss: float, messages: float | None) -> None:
        world = WorldSpec(session_cycle_s=None, message_interval_s=messages, ack_loss_probability=ack_loss,
                          duplicate_probability=0.1)
        self.sim = Simulation(world, CoreClient(core.Config(seed=seed)), seed=seed, horizon_s=10**9,
                              record_journal=True)
        self.sim.begin()
        self.sim.run_until(5.0)

    @property
    def s(self) -> Simulation:
        assert self.sim is not None
        return self.sim

    @rule(seconds=st.floats(min_value=0.0, max_value=600.0))
    def time_passes(self, seconds: float) -> None:
        self.s.run_until(self.s.now + seconds)

    @rule(code=CODES)
    def server_closes(self, code: int | None) -> None:
        self.s.inject(ServerClose(0.0, code, "stateful"))

    @rule()
    def server_asks_reconnect(self) -> None:
        self.s.inject(ServerReconnect(0.0))

    @rule()
    def server_forgets_sessions(self) -> None:
        self.s.inject(InvalidateSessions(0.0))

    @rule()
    def link_goes_half_open(self) -> None:
        self.s.inject(HalfOpen(0.0))

    @rule(duration=DURATION)
    def dns_fails(self, duration: float) -> None:
        self.s.inject(DnsOutage(0.0, duration))

    @rule(duration=DURATION)
    def connects_refused(self, duration: float) -> None:
        self.s.inject(RefuseConnects(0.0, duration))

    @rule(duration=DURATION)
    def connects_stall(self, duration: float) -> None:
        self.s.inject(StallConnects(0.0, duration))

    @rule(duration=DURATION, code=st.sampled_from([None, 4006, 4902]))
    def resumes_rejected(self, duration: float, code: int | None) -> None:
        self.s.inject(RejectResumes(0.0, duration, code))

    @rule(code=FATAL)
    def fatal_close(self, code: int) -> None:
        self.fatal_code = True
        self.s.inject(ServerClose(0.0, code, "config error"))

    @rule()
    def banned(self) -> None:
        self.fatal_code = True
        self.s.inject(Ban(0.0, 4915, "banned"))

    @invariant()
    def no_invariant_broke(self) -> None:
        if self.sim is not None:
            assert self.sim.invariant_breaks == [], self.sim.invariant_breaks[:3]
            assert self.sim.spin is None

    def teardown(self) -> None:
        if self.sim is None:
            return
        sim = self.sim
        # The calm: window faults run out, and lost ACKs (a property of the world) stop too.
        calm_world = dataclasses.replace(sim.world, ack_loss_probability=0.0)
        sim.world = sim.server.world = calm_world
        calm_from = max(sim.now, schedule_end_s(sim.network.windows))
        sim.run_until(calm_from + LIVENESS_BOUND_S + 300.0)
        assert sim.invariant_breaks == [], sim.invariant_breaks[:3]
        run = sim.result()
        fatals = [e for e in run.events(FatalNoted) if not e.retryable]
        if fatals:
            assert self.fatal_code, f"stopped on a fatal nobody caused: {fatals[0]}"
            assert run.final_state.phase is core.Phase.FAILED
            return
        up = [start for start, end in established_intervals(run) if end >= run.ended_at]
        assert up, "no connection held at the end, after the faults stopped"
        assert up[0] - calm_from <= LIVENESS_BOUND_S + 120.0, f"READY {up[0] - calm_from:.0f} s after the calm"
        delivered = run.delivered_ids
        assert len(delivered) == len(set(delivered)), "a message was delivered twice"


GatewayWorld.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestGatewayWorld = GatewayWorld.TestCase
