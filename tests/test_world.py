"""The world's own rules: fault windows, the server model applying faults, frames decoded once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qqgate import core
from qqgate.replay.world import (
    Ban, ClientFrame, CoreClient, DnsOutage, FaultApplied, FlowBlackHoled, HalfOpen, HeartbeatSent,
    IdentifySent, Network, RefuseConnects, RejectResumes, ResumeSent, ServerClose, ServerClosed,
    ServerClosedUnseen, Simulation, StallConnects, WorldSpec, decode_client_frame, fault_from_json,
    schedule_end_s, sent_event,
)

CALM = WorldSpec(session_cycle_s=None, message_interval_s=None)


def test_a_timed_fault_is_in_force_from_its_start_until_its_end() -> None:
    dns = DnsOutage(100.0, 50.0)
    assert dns.end_s == 150.0
    assert [dns.active_at(t) for t in (99.999, 100.0, 149.999, 150.0)] == [False, True, True, False]
    forever = RefuseConnects(10.0, None)
    assert forever.end_s is None and forever.active_at(1e9) and not forever.active_at(9.0)
    assert Ban(5.0).active_at(1e9) and not Ban(5.0).active_at(4.9)


def test_the_schedule_ends_with_its_last_start_or_bounded_window() -> None:
    assert schedule_end_s([]) == 0.0
    assert schedule_end_s([ServerClose(30.0, 4009), StallConnects(10.0, 5.0)]) == 30.0
    assert schedule_end_s([ServerClose(30.0, 4009), RejectResumes(10.0, 100.0)]) == 110.0
    assert schedule_end_s([DnsOutage(40.0, None), ServerClose(30.0, 4009)]) == 40.0


def test_network_answers_the_first_timed_fault_in_force() -> None:
    net = Network([ServerClose(1.0, None), RefuseConnects(10.0, 10.0, "first"),
                   RefuseConnects(15.0, 10.0, "second")])
    assert net.active(RefuseConnects, 9.0) is None
    found = net.active(RefuseConnects, 16.0)
    assert found is not None and found.error == "first"
    found = net.active(RefuseConnects, 21.0)
    assert found is not None and found.error == "second"
    assert net.active(DnsOutage, 16.0) is None
    net.add_window(DnsOutage(16.0, 1.0))
    assert net.active(DnsOutage, 16.5) is not None and len(net.windows) == 3


def test_fault_from_json_fills_the_defaults_and_rejects_unknown_faults() -> None:
    assert fault_from_json({"fault": "RefuseConnects"}) == RefuseConnects(0.0, None)
    assert fault_from_json({"fault": "ServerClose", "code": 4009}) == ServerClose(0.0, 4009)
    with pytest.raises(ValueError):
        fault_from_json({"fault": "Meteor"})
    assert fault_from_json({"fault": "Ban", "at": 3, "colour": "red"}) == Ban(3.0)


@pytest.mark.parametrize("text,expected", [
    ('{"op":1,"d":5}', HeartbeatSent(2.0, 7)),
    ('{ "d" : null ,\n "op" : 1 }', HeartbeatSent(2.0, 7)),
    ('{"d": {"shard": [0, 1], "intents": 513, "token": "QQBot x"}, "op": 2}', IdentifySent(2.0, 7, 513, [0, 1])),
    ('{"op":6,"d":{"session_id":"s","seq":4}}', ResumeSent(2.0, 7, "s", 4)),
    ('{"op":6,"d":"not an object"}', ResumeSent(2.0, 7, None, None)),
    ('{"op":11}', None), ('[1, 2]', None), ('not json', None),
])
def test_a_client_frame_is_named_by_its_opcode_not_its_bytes(text: str, expected: object) -> None:
    assert sent_event(2.0, 7, decode_client_frame(text)) == expected


def test_undecodable_frames_are_told_apart_from_non_objects() -> None:
    assert decode_client_frame("{") == ClientFrame(is_json=False)
    assert decode_client_frame("[]") == ClientFrame(is_json=True)
    assert decode_client_frame('{"op": 2, "d": 3}') == ClientFrame(True, 2, 3)


class SpacedCore(CoreClient):
    """The core, with every frame it sends re-encoded with spaces and its keys in reverse order."""

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        state, commands = super().step(state, inp)
        return state, tuple(self._respace(c) for c in commands)

    @staticmethod
    def _respace(cmd: core.Command) -> core.Command:
        if not isinstance(cmd, core.SendFrame):
            return cmd
        obj: dict[str, Any] = json.loads(cmd.text)
        return core.SendFrame(cmd.conn, json.dumps(dict(reversed(list(obj.items()))), indent=1))


def test_the_simulator_reads_frames_whatever_their_layout() -> None:
    def run(client: CoreClient) -> tuple[int, int, int]:
        result = Simulation(CALM, client, seed=3, horizon_s=600.0, check_invariants=False).run()
        return result.count(HeartbeatSent), result.count(IdentifySent), result.identifies

    plain = run(CoreClient(core.Config(seed=3)))
    spaced = run(SpacedCore(core.Config(seed=3)))
    assert plain == spaced
    heartbeats, identifies, accepted = spaced
    assert heartbeats >= 10 and identifies == 1 and accepted == 1


def test_half_open_applied_once_black_holes_the_flow_and_hides_the_server_close() -> None:
    sim = Simulation(WorldSpec(session_cycle_s=None, message_interval_s=None, heartbeat_timeout_s=60.0),
                     CoreClient(core.Config(seed=5)), seed=5, horizon_s=3600.0)
    sim.begin()
    sim.run_until(100.0)
    conn = sim.server.open_conns()[0]
    sim.inject(HalfOpen(0.0))
    sim.run_until(400.0)
    result = sim.result()
    applied = result.events(FaultApplied)
    assert len(applied) == 1 and applied[0].fault == HalfOpen(100.0) and applied[0].conns == (conn,)
    assert applied[0].to_fields() == {"fault": "HalfOpen", "conns": [conn]}
    assert [e.conn for e in result.events(FlowBlackHoled)] == [conn]
    assert [e.conn for e in result.events(ServerClosedUnseen)] == [conn]
    assert conn not in [e.conn for e in result.events(ServerClosed)]
    assert sim.server.open_conns() and sim.server.open_conns()[0] > conn  # the core came back


def test_a_triggered_timed_fault_starts_now_and_refuses_connects() -> None:
    sim = Simulation(CALM, CoreClient(core.Config(seed=2)), seed=2, horizon_s=3600.0)
    sim.begin()
    sim.run_until(50.0)
    sim.inject(RefuseConnects(0.0, 300.0))
    sim.inject(ServerClose(0.0, 4009, "Session timed out"))
    sim.run_until(340.0)
    assert sim.network.active(RefuseConnects, 349.0) is not None
    assert not sim.server.open_conns()
    sim.run_until(600.0)
    assert sim.network.active(RefuseConnects, 350.0) is None
    assert sim.server.open_conns()
    fault = sim.result().events(FaultApplied)[0]
    assert fault.to_fields() == {"fault": "RefuseConnects", "duration_s": 300.0} and fault.at == 50.0
