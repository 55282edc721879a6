"""The swarm soak: it passes on the core, it is deterministic, and it catches a faulty client."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import replace
from typing import Any

from qqgate import core
from qqgate.replay.checks import LIVENESS_BOUND_S, draw_world, run_seed
from qqgate.cli import main
from qqgate.replay.world import CoreClient


def test_quick_soak_passes() -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["soak", "--seeds", "40", "--hours", "2"])
    out = buf.getvalue()
    assert code == 0, out
    assert "seeds 40: ok 40, failed 0" in out
    assert "invariant breaks 0" in out and "lost 0; delivered twice 0" in out


def test_a_seed_is_its_whole_world() -> None:
    assert draw_world(17, 3.0) == draw_world(17, 3.0)
    assert draw_world(17, 3.0) != draw_world(18, 3.0)
    a, b = run_seed(17, 3.0), run_seed(17, 3.0)
    assert (a.steps, a.liveness_s, a.abandoned, a.lost) == (b.steps, b.liveness_s, b.abandoned, b.lost)


class DropsEveryTenthMessage(CoreClient):
    """A faulty client: swallows some Deliver commands (the soak must report lost messages)."""

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        state, commands = super().step(state, inp)
        kept = tuple(c for c in commands
                     if not (isinstance(c, core.Deliver) and c.dispatch.seq % 10 == 0
                             and c.dispatch.event_type == "C2C_MESSAGE_CREATE"))
        return state, kept


class NeverNoticesDeadLinks(CoreClient):
    """A faulty client: zombie detection switched off by never letting a heartbeat fall due."""

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        state, commands = super().step(state, inp)
        conn = state.conn
        if conn is not None and conn.heartbeat_sent_at is not None:
            state = state._replace(conn=conn._replace(received_since_heartbeat=True))
        return state, commands


def _fails(client: Any, seeds: range) -> list[int]:
    return [s for s in seeds if not run_seed(s, 4.0, client=client).ok]


def test_soak_catches_lost_messages() -> None:
    failing = _fails(DropsEveryTenthMessage(core.Config(seed=1)), range(1, 6))
    assert failing, "a client that drops messages must fail the soak"
    report = run_seed(failing[0], 4.0, client=DropsEveryTenthMessage(core.Config(seed=1)))
    assert any("lost" in p for p in report.problems())


def test_soak_catches_a_client_blind_to_dead_links() -> None:
    failing = _fails(NeverNoticesDeadLinks(core.Config(seed=1)), range(1, 16))
    assert len(failing) >= 3
    report = run_seed(failing[0], 4.0, client=NeverNoticesDeadLinks(core.Config(seed=1)))
    assert not any("exception" in p for p in report.problems()), report.problems()


def test_liveness_bound_covers_the_worst_core_recovery_seen() -> None:
    worst = max((run_seed(s, 4.0).liveness_s or 0.0) for s in range(1, 31))
    assert worst <= LIVENESS_BOUND_S


def test_soak_reports_a_crashing_client_instead_of_raising() -> None:
    class Crashes(CoreClient):
        def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
            if isinstance(inp, core.SocketClosed):
                raise RuntimeError("boom")
            return super().step(state, inp)

    report = run_seed(3, 4.0, client=Crashes(replace(core.Config(), seed=3)))
    assert not report.ok and any("exception" in p for p in report.problems())


def test_the_soak_draws_every_close_code_class_of_the_core_table() -> None:
    from qqgate.replay.checks import _soak
    closes, fatal = _soak._CLOSE_CODES, _soak._FATAL_CODES
    drawn_rules = {core.close_rule(code) for code in closes}
    non_fatal = {rule for code, rule in core.CLOSE_CODES.items()
                 if rule.action is not core.CloseAction.FATAL and code != _soak.NO_STATUS}
    assert non_fatal <= drawn_rules and None in closes and _soak.UNKNOWN_CODE not in core.CLOSE_CODES
    assert not [code for code in closes if code in fatal]
    assert set(fatal) == {c for c, r in core.CLOSE_CODES.items() if r.action is core.CloseAction.FATAL}
