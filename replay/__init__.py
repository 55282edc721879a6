"""qqgate.replay: the world the core is tested in, and what is built on it.

Parts, each a package or a small module, with one-way dependencies:

- ``world/``: WorldSpec, faults, the network, the gateway server model, the typed trace,
  and its two links (the virtual-clock simulator; the chaos gateway on real sockets,
  ``world/gateway/``). Imports core only.
- replay proper, built on the world: ``_scenarios`` (the incidents as named worlds),
  ``_detectors`` (naming what a run shows), ``_report`` (a run as text), ``_runner`` (running
  and judging a scenario), ``legacy/`` (a model of hermes-agent's adapter), ``logs/`` (the
  hermes log importer), ``_log_replay`` (a real log re-run against both clients).
- journal replay (``_journal_replay``: a journal through the reducer its header names; the
  format itself is ``qqgate.core.journal``).
- ``checks/``: the reliability checks (soak, fuzz, crash-test), with a face of their own.
- what the subcommands do, given their arguments as values: ``_subcommands`` (simulate,
  replay, incidents), ``_gateway_command`` (gateway). The command line that parses them is
  ``qqgate.cli``.

This face re-exports replay proper; the world has its own (``qqgate.replay.world``).
"""

from ._detectors import (
    DETECTORS, FAILURE_NAMES, Finding, detect, detection_delay, established_intervals,
    half_open_cuts, last_inbound,
)
from ._journal_replay import model_from_header, replay_journal
from ._report import clock, describe_world, excerpt, figures, log_lines, render_findings, stamp
from ._runner import Outcome, journal_header, make_model, run_scenario, run_world
from ._scenarios import SCENARIOS, Scenario

__all__ = [
    "DETECTORS", "FAILURE_NAMES", "Finding", "detect", "detection_delay", "established_intervals",
    "half_open_cuts", "last_inbound",
    "clock", "describe_world", "excerpt", "figures", "log_lines", "render_findings", "stamp",
    "Outcome", "journal_header", "make_model", "run_scenario", "run_world",
    "SCENARIOS", "Scenario",
    "model_from_header", "replay_journal",
]
