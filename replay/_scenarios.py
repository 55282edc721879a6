"""Named scenarios: the production incidents of incidents.md as worlds, plus routine churn.

Each scenario is data: a WorldSpec, how long to run it, which legacy-adapter version and
settings reproduce the incident, and which detectors must fire for the legacy model and
must stay silent for the core. ``qqgate simulate NAME`` runs one; ``qqgate incidents``
runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .world import (
    Ban, DnsOutage, HalfOpen, InvalidateSessions, RefuseConnects, RejectResumes, ServerClose,
    WorldSpec,
)


@dataclass(frozen=True)
class Scenario:
    """One named world. ``hours`` is the default simulated duration (hours).

    ``title`` says what it shows, ``reference`` which incident of incidents.md (or which
    protocol.md fact) in a few words, ``source`` the full citation.
    """

    name: str
    title: str
    reference: str
    source: str
    story: str
    world: WorldSpec
    hours: float
    legacy_version: str = "0.13"
    legacy_close_codes_visible: bool = True
    legacy_expect: frozenset[str] = field(default_factory=frozenset)
    """Detectors that must fire when the legacy model runs this world."""
    core_expect: frozenset[str] = field(default_factory=frozenset)
    """Detectors that must fire for the core (e.g. ``fatal_reported``); any other failure detector is a defect."""

    @property
    def cited_title(self) -> str:
        """``title (reference)``: how a log diagnosis names the incident."""
        return f"{self.title} ({self.reference})"


SCENARIOS: dict[str, Scenario] = {}


def _add(s: Scenario) -> None:
    SCENARIOS[s.name] = s


_add(Scenario(
    name="death-loop",
    title="the 60-second death loop",
    reference="incident 1",
    source="incident 1 (PR #19414 'bug 5')",
    story="A 4008 close at 10 min makes the adapter wait 60 s with running=false; its only "
          "heartbeat task wakes inside that window and ends. Every reconnected socket is then "
          "silent and the server drops it ~60 s later, for ever.",
    world=WorldSpec(faults=(ServerClose(600.0, 4008, "sending too fast"),)),
    hours=2.0, legacy_version="0.13", legacy_expect=frozenset({"death_loop"})))

_add(Scenario(
    name="busy-spin",
    title="the busy spin at 100% CPU",
    reference="incident 2",
    source="incident 2 (busy-spin report, hermes 0.14.0)",
    story="A routine 4009 at 15 min, then DNS fails for an hour. The v0.14 adapter's reconnect "
          "fails while fetching the gateway URL; the old closed socket stays, reading it ends at "
          "once, and the loop goes round with no await.",
    world=WorldSpec(faults=(ServerClose(900.0, 4009, "Session timed out"),
                            DnsOutage(901.0, 3600.0))),
    hours=2.0, legacy_version="0.14", legacy_expect=frozenset({"spin"})))

_add(Scenario(
    name="exhaustion-zombie",
    title="the zombie after reconnect exhaustion",
    reference="incident 3",
    source="incident 3 (PR #19414 'P0', PR #17814, issue #14539)",
    story="A 4009 at 15 min, then WebSocket connects are refused for two hours. The v0.14 "
          "adapter makes 100 attempts (~97 min of sleeps), logs 'Max reconnect attempts "
          "reached' and returns without telling the host; it never comes back.",
    world=WorldSpec(faults=(ServerClose(900.0, 4009, "Session timed out"),
                            RefuseConnects(901.0, 7200.0))),
    hours=3.0, legacy_version="0.14", legacy_expect=frozenset({"silent_stop"}),
    core_expect=frozenset({"fatal_reported"})))

_add(Scenario(
    name="half-open",
    title="the silent death on a half-open link",
    reference="incident 4",
    source="incident 4 (silent-death report); incident 8 (issue #19821)",
    story="At 20 min a NAT drops the flow: no close, no error, frames vanish both ways. Nobody "
          "checks heartbeat ACKs, so the adapter waits on receive() for ever.",
    world=WorldSpec(faults=(HalfOpen(1200.0),)),
    hours=2.0, legacy_version="0.13", legacy_expect=frozenset({"dead_link_unnoticed"})))

_add(Scenario(
    name="lost-close-code",
    title="the lost close code",
    reference="incident 5",
    source="incident 5 (PR #19414 'P1')",
    story="At 15 min the sandbox bot is taken down (4914). The adapter sees only "
          "RuntimeError('WebSocket closed'), cannot recognise the fatal code, and redials for "
          "ever; each socket upgrade resets its attempt counter.",
    world=WorldSpec(faults=(Ban(900.0, 4914, "bot taken down"),)),
    hours=2.0, legacy_version="0.13", legacy_close_codes_visible=False,
    legacy_expect=frozenset({"fatal_ignored"}), core_expect=frozenset({"fatal_reported"})))

_add(Scenario(
    name="reconnect-storm",
    title="the reconnect storm and the stale-session resume loop",
    reference="incidents 6 and 7",
    source="incidents 6 and 7 (PR #19414 'P1', issue #22179, AstrBot)",
    story="At 15 min the link drops; for two hours the server closes every Resume of the old "
          "session at once, and refuses any session start within 5 s of the last drop. The "
          "adapter counts success at the upgrade, redials every 2 s and never falls back to "
          "Identify.",
    world=WorldSpec(session_conflict_s=5.0,
                    faults=(ServerClose(900.0, None), RejectResumes(900.0, 7200.0))),
    hours=2.0, legacy_version="0.13", legacy_expect=frozenset({"reconnect_storm"})))

_add(Scenario(
    name="session-cycle",
    title="op 7 + 4009 every 30 minutes for a day",
    reference="close 4009, protocol.md",
    source="protocol.md 'Timing facts' (openclaw#78890, botpy#141, bot-docs#191)",
    story="The routine cycle: every ~1800 s the server sends op 7 and closes with 4009. A "
          "client must resume each time; v0.13 drops the session and spends a session start "
          "on every cycle.",
    world=WorldSpec(),
    hours=24.0, legacy_version="0.13", legacy_expect=frozenset({"reidentify_on_4009"})))

_add(Scenario(
    name="invalid-session",
    title="op 9, 4006 and 4900s",
    reference="close 4006/4007/4900-4913, protocol.md",
    source="protocol.md 'Close codes'; incidents 5 and 7",
    story="At 15 min the server restarts and forgets every session: a Resume gets op 9 then "
          "4006. At 45 min an internal error (4900), at 75 min 4906. With close codes lost "
          "(incident 5), v0.13 ignores op 9 and resumes the dead session for ever.",
    world=WorldSpec(faults=(InvalidateSessions(900.0), ServerClose(2700.0, 4900, "internal error"),
                            ServerClose(4500.0, 4906, "internal error"))),
    hours=2.0, legacy_version="0.13", legacy_close_codes_visible=False,
    legacy_expect=frozenset({"long_outage"})))

_add(Scenario(
    name="banned",
    title="the bot is banned",
    reference="close 4914/4915",
    source="protocol.md 'Close codes' (4914/4915); incidents.md legacy behaviour",
    story="At 15 min the bot is banned (4915). The adapter logs 'Bot is banned', sets a fatal "
          "error and returns without telling the host: the process lives on, silent.",
    world=WorldSpec(faults=(Ban(900.0, 4915, "bot banned"),)),
    hours=2.0, legacy_version="0.14", legacy_expect=frozenset({"silent_stop"}),
    core_expect=frozenset({"fatal_reported"})))
