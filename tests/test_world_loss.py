"""Loss as the world judges it, and the long-session loss it once let through.

The regression: op 7 arrives, the core opens a new connection, a dispatch still arriving on the
old one is dropped as stale, and at Hello the core used to drop the session for its age and
identify, so the server never replayed that dispatch (`qqgate replay` of a 441-hour world
printed "79395 of 79396 delivered, 1 missing" and still "core: survives"). The minimal world
below triggers it in 15 simulated minutes: messages every 20 ms and one op 7 at 700 s, with a
session-age cap of 600 s.
"""

from __future__ import annotations

from typing import Any

from qqgate import core
from qqgate.replay import make_model, run_world
from qqgate.replay.checks import run_seed
from qqgate.replay.world import (
    CoreClient, ExpireSessions, IdentifySent, InvalidateSessions, ResumeRejected, ResumeSent, ServerClose,
    ServerReconnect, SessionDropped, SessionEnded, Simulation, WorldSpec,
)

AGE_CAP_S = 600.0
LONG_SESSION_WORLD = WorldSpec(message_interval_s=0.02, session_cycle_s=None, faults=(ServerReconnect(700.0),))


class DropsOldSessionsAtHello(CoreClient):
    """The core as it was: at Hello, a session older than the age cap is dropped and identified
    anew, even though the server would still have resumed it."""

    def __init__(self, cap_s: float) -> None:
        super().__init__(core.Config(seed=1, session_max_age_s=cap_s))
        self.cap_s = cap_s

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        session = state.session
        if (isinstance(inp, core.FrameReceived) and isinstance(inp.text, str) and '"op":10' in inp.text
                and session is not None and inp.at - session.started_at > self.cap_s):
            state = state._replace(session=None)
        return super().step(state, inp)


def test_the_judge_calls_a_session_dropped_while_resumable_a_loss() -> None:
    outcome = run_world(DropsOldSessionsAtHello(AGE_CAP_S), LONG_SESSION_WORLD, seed=1, hours=0.25)
    run = outcome.run
    assert run.events(SessionDropped), "the server saw the client identify while its session was resumable"
    lost = run.lost_ids()
    assert lost, "a dispatch left on the old socket is lost with the session"
    assert set(lost) <= set(run.missing_ids())
    assert "lost_messages" in outcome.names and "lost_messages" in outcome.unexpected
    assert not outcome.ok, "the verdict fails on any lost message"


def test_the_core_resumes_an_old_session_after_op7_and_loses_nothing() -> None:
    config = core.Config(seed=1, session_max_age_s=AGE_CAP_S)
    outcome = run_world(make_model("core", 1, config=config), LONG_SESSION_WORLD, seed=1, hours=0.25)
    run = outcome.run
    resumed_after_op7 = [e for e in run.events(ResumeSent) if e.at > 700.0]
    assert resumed_after_op7 and not [e for e in run.events(IdentifySent) if e.at > 700.0]
    assert run.lost_ids() == [] and run.missing_ids() == []
    assert outcome.ok, outcome.findings


def test_messages_of_a_session_the_server_ended_are_abandoned_not_lost() -> None:
    world = WorldSpec(message_interval_s=0.02, session_cycle_s=None,
                      faults=(ServerClose(300.0, 4900, "internal error"), InvalidateSessions(600.0)))
    sim = Simulation(world, CoreClient(core.Config(seed=2)), seed=2, horizon_s=900.0)
    run = sim.run()
    assert len(run.events(SessionEnded)) >= 2
    assert run.lost_ids() == []
    assert run.fates.abandoned or not run.missing_ids()


def test_a_resume_of_an_expired_session_is_refused_with_4902_and_the_core_identifies() -> None:
    world = WorldSpec(message_interval_s=1.0, session_cycle_s=None, faults=(ExpireSessions(300.0),))
    run = Simulation(world, CoreClient(core.Config(seed=3)), seed=3, horizon_s=600.0).run()
    assert run.events(ResumeRejected)
    closes = [e.code for e in run.trace if type(e).__name__ == "ServerClosed"]
    assert 4902 in closes
    assert [e for e in run.events(IdentifySent) if e.at > 300.0], "the core identifies after 4902"
    assert run.lost_ids() == []


def test_the_server_resume_window_is_a_world_parameter() -> None:
    """A drop, then connects refused for 200 s: a 600 s window resumes, a 100 s window refuses."""
    from qqgate.replay.world import RefuseConnects

    def resumed(window_s: float) -> tuple[bool, Any]:
        world = WorldSpec(message_interval_s=None, session_cycle_s=None, server_resume_window_s=window_s,
                          faults=(ServerClose(100.0, None), RefuseConnects(100.0, 200.0)))
        run = Simulation(world, CoreClient(core.Config(seed=4)), seed=4, horizon_s=900.0).run()
        return run.resumes_accepted > 0, run

    ok, run = resumed(600.0)
    assert ok and not run.events(ResumeRejected)
    refused, run = resumed(100.0)
    assert not refused and run.events(ResumeRejected)


def test_a_soak_seed_counts_messages_by_their_fate() -> None:
    report = run_seed(5, 2.0)
    assert report.ok, report.problems()
    assert report.pushed > 0 and report.delivered + report.abandoned + report.pending + len(report.lost) >= report.pushed
