"""Running a scenario (or a derived world) against the core or the legacy model, and judging it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qqgate import core
from qqgate.core import journal

from ._detectors import FAILURE_NAMES, Finding, detect
from ._scenarios import Scenario
from .world import ClientModel, CoreClient, RunResult, Simulation, WorldSpec


@dataclass
class Outcome:
    """A finished run with its findings and the verdict against the scenario's expectations."""

    model: ClientModel
    world: WorldSpec
    run: RunResult
    findings: list[Finding]
    expected: frozenset[str]
    missing: frozenset[str]
    unexpected: frozenset[str]

    @property
    def ok(self) -> bool:
        """Expected detectors fired, no unexpected failure detector fired, no invariant broke."""
        return not self.missing and not self.unexpected and not self.run.invariant_breaks

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.findings)


def make_model(client: str, seed: int, legacy_version: str = "0.13", close_codes_visible: bool = True,
               heartbeat_task_alive: bool = True, config: core.Config | None = None) -> ClientModel:
    """``client`` is ``"core"`` or ``"legacy"``; raises ValueError otherwise."""
    if client == "core":
        return CoreClient(config or core.Config(seed=seed))
    if client == "legacy":
        from .legacy import LegacyConfig, LegacyModel
        return LegacyModel(LegacyConfig(version=legacy_version, close_codes_visible=close_codes_visible,
                                        heartbeat_task_alive=heartbeat_task_alive))
    raise ValueError(f"unknown client {client!r}: use 'core' or 'legacy'")


def run_world(model: ClientModel, world: WorldSpec, *, seed: int, hours: float,
              expected: frozenset[str] = frozenset(), record_journal: bool = True) -> Outcome:
    """Simulate ``hours`` hours of ``world`` with ``model`` and judge the run.

    For the core, every failure detector that fires is unexpected (``expected`` lists the
    ones that must fire, e.g. ``fatal_reported``). For the legacy model only missing
    expectations count: it exists to fail.
    """
    run = Simulation(world, model, seed=seed, horizon_s=hours * 3600.0, record_journal=record_journal).run()
    findings = detect(run, world)
    names = frozenset(f.name for f in findings)
    unexpected = (names & FAILURE_NAMES) - expected if model.name == "core" else frozenset()
    return Outcome(model, world, run, findings, expected, expected - names, unexpected)


def run_scenario(scenario: Scenario, client: str, *, seed: int = 1, hours: float | None = None,
                 legacy_version: str | None = None, record_journal: bool = True) -> Outcome:
    """Run a named scenario for ``client`` (``"core"`` or ``"legacy"``)."""
    version = legacy_version or scenario.legacy_version
    model = make_model(client, seed, version, scenario.legacy_close_codes_visible)
    if client == "legacy":
        expected = scenario.legacy_expect if version == scenario.legacy_version else frozenset()
    else:
        expected = scenario.core_expect
    return run_world(model, scenario.world, seed=seed, hours=hours if hours is not None else scenario.hours,
                     expected=expected, record_journal=record_journal)


def journal_header(outcome: Outcome, scenario: str, seed: int, hours: float) -> dict[str, Any]:
    """The header fields of a simulated run's journal (``core.journal.journal_header``)."""
    return journal.journal_header(outcome.model.describe(), scenario=scenario, seed=seed, hours=hours)
