"""The webhook reducer (core/webhook/): every callback answered, authenticated, deduplicated, journaled.

The reducer gets the shell's signature verdict; these tests feed verdicts directly (the
signature check itself is tested against the docs' vectors in test_webhook_receiver.py).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from qqgate import core
from qqgate.core import DispatchSettled, Phase, Start, Stop, webhook
from qqgate.core import journal
from qqgate.core.webhook import ACK, ACK_RETRY, AnswerValidation, CallbackReceived, Respond, Signature, WebhookConfig
from qqgate.replay import model_from_header

NOW_UNIX = 1_725_442_341.0


def event_body(event_id: str | None = "EV-1", n: int = 1, t: str = "C2C_MESSAGE_CREATE", msg_id: str | None = None) -> str:
    d: dict[str, Any] = {"author": {"user_openid": "E4F4AEA3"}, "content": f"message {n}"}
    if msg_id is not None:
        d["id"] = msg_id
    payload: dict[str, Any] = {"op": 0, "s": n, "t": t, "d": d}
    if event_id is not None:
        payload["id"] = event_id
    return orjson.dumps(payload).decode()


VALIDATION = '{"d":{"plain_token":"Arq0D5A61EgUu4OxUvOp","event_ts":"1725442341"},"op":13}'


class Receiver:
    """Feeds the reducer like the shell does; every step kept for the journal tests."""

    def __init__(self, config: WebhookConfig | None = None, start: bool = True) -> None:
        self.state = webhook.initial_state(config)
        self.steps: list[tuple[Any, tuple[Any, ...]]] = []
        self.at = 0.0
        self.request = 0
        if start:
            self.feed(Start(0.0))

    def feed(self, inp: Any) -> tuple[Any, ...]:
        before = self.state
        self.state, commands = webhook.step(self.state, inp)
        assert before is not self.state or commands == ()
        self.steps.append((inp, commands))
        return commands

    def post(self, body: str | bytes, signature: str = Signature.VALID, timestamp: str | None = "1725442341",
             received_unix_s: float = NOW_UNIX) -> tuple[Any, ...]:
        self.at += 0.01
        self.request += 1
        return self.feed(CallbackReceived(self.at, self.request, body, signature, timestamp, received_unix_s))

    def settle(self, seq: int) -> tuple[Any, ...]:
        self.at += 0.01
        return self.feed(DispatchSettled(self.at, seq, 0))


def answer(commands: tuple[Any, ...]) -> Any:
    found = [c for c in commands if isinstance(c, (Respond, AnswerValidation))]
    assert len(found) == 1, commands
    return found[0]


def delivered(commands: tuple[Any, ...]) -> list[core.Dispatch]:
    return [c.dispatch for c in commands if isinstance(c, core.Deliver)]


def test_an_event_is_answered_first_then_delivered_with_the_core_dispatch_shape() -> None:
    r = Receiver()
    commands = r.post(event_body("EV-1", 7, msg_id="m-7"))
    assert isinstance(commands[0], Respond) and commands[0] == Respond(1, 200, ACK)
    assert isinstance(commands[1], core.Deliver)  # answer fast, then handle
    (dispatch,) = delivered(commands)
    assert dispatch == core.Dispatch(1, "C2C_MESSAGE_CREATE", "EV-1", {
        "author": {"user_openid": "E4F4AEA3"}, "content": "message 7", "id": "m-7"}, "EV-1", 0)
    assert r.state.in_flight == {1} and r.state.counters.deliveries == 1


def test_a_redelivery_with_the_same_id_is_acknowledged_and_not_delivered_again() -> None:
    r = Receiver()
    assert delivered(r.post(event_body("EV-1", 1)))
    # QQ's retry: same top-level id, a fresh timestamp, even a different s
    again = r.post(event_body("EV-1", 2), timestamp="1725442345")
    assert answer(again) == Respond(2, 200, ACK) and delivered(again) == []
    r.settle(1)
    later = r.post(event_body("EV-1", 3))  # after the handler settled it, still a duplicate
    assert delivered(later) == [] and r.state.counters.duplicates_dropped == 2
    assert delivered(r.post(event_body("EV-2", 4)))[0].seq == 2


def test_without_a_top_level_id_the_message_id_dedupes() -> None:
    r = Receiver()
    assert delivered(r.post(event_body(None, 1, msg_id="m-1")))
    assert delivered(r.post(event_body(None, 1, msg_id="m-1"))) == []
    # neither id: delivered every time (nothing to dedupe by), with an empty key
    first, second = (delivered(r.post(event_body(None, 2))) for _ in range(2))
    assert len(first) == len(second) == 1 and first[0].dedupe_key == ""


@pytest.mark.parametrize("verdict, reason", [
    (Signature.INVALID, "signature does not verify"),
    (Signature.MISSING, "signature or timestamp header missing"),
    (Signature.MALFORMED, "signature is not 64 bytes of hex"),
    ("something else", "signature does not verify"),
])
def test_a_callback_without_a_valid_signature_is_refused_with_401(verdict: str, reason: str) -> None:
    r = Receiver()
    for body in (event_body(), VALIDATION):
        commands = r.post(body, signature=verdict)
        assert answer(commands) == Respond(r.request, 401, f'{{"code":401,"message":"{reason}"}}')
        assert delivered(commands) == []
        assert any(isinstance(c, core.Log) and c.event == "callback_rejected" for c in commands)
    assert r.state.counters.signature_rejected == 2 and r.state.delivered == 0


@pytest.mark.parametrize("skew_s", [301.0, -301.0, 86_400.0])
def test_a_timestamp_outside_the_window_is_refused_even_with_a_valid_signature(skew_s: float) -> None:
    r = Receiver()
    commands = r.post(event_body(), timestamp="1725442341", received_unix_s=NOW_UNIX + skew_s)
    assert answer(commands).status == 401 and "replay window" in answer(commands).body
    assert delivered(commands) == [] and r.state.counters.stale_rejected == 1


def test_the_window_is_configurable_and_inclusive() -> None:
    r = Receiver(WebhookConfig(timestamp_window_s=10.0))
    assert delivered(r.post(event_body("A"), received_unix_s=NOW_UNIX + 10.0))
    assert delivered(r.post(event_body("B"), received_unix_s=NOW_UNIX - 10.0))
    assert answer(r.post(event_body("C"), received_unix_s=NOW_UNIX + 10.5)).status == 401


@pytest.mark.parametrize("stamp", [None, "", "17254423.41", "-1725442341", "１７２５", "9" * 13])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(stamp: str | None) -> None:
    commands = Receiver().post(event_body(), timestamp=stamp)
    assert answer(commands).status == 401 and delivered(commands) == []


def test_a_long_run_of_rejections_is_a_fatal_once_per_run() -> None:
    r = Receiver(WebhookConfig(fatal_after_rejections=3))
    fatals: list[core.Fatal] = []
    for _ in range(5):
        fatals += [c for c in r.post(event_body(), signature=Signature.INVALID) if isinstance(c, core.Fatal)]
    assert len(fatals) == 1 and fatals[0].retryable and "3 callbacks in a row" in fatals[0].reason
    assert delivered(r.post(event_body("ok")))  # an accepted callback ends the run
    assert r.state.rejected_in_row == 0
    for _ in range(3):
        fatals += [c for c in r.post(event_body(), received_unix_s=0.0) if isinstance(c, core.Fatal)]
    assert len(fatals) == 2 and "replay window" in fatals[1].reason


def test_op13_signed_is_answered_with_what_to_sign() -> None:
    commands = Receiver().post(VALIDATION)
    assert answer(commands) == AnswerValidation(1, "Arq0D5A61EgUu4OxUvOp", "1725442341")


def test_op13_unsigned_is_refused_unless_allowed_and_then_only_when_it_cannot_be_an_event() -> None:
    assert answer(Receiver().post(VALIDATION, signature=Signature.MISSING)).status == 401
    allowed = Receiver(WebhookConfig(allow_unsigned_validation=True))
    assert isinstance(answer(allowed.post(VALIDATION, signature=Signature.MISSING)), AnswerValidation)
    # a plain_token that could end in a JSON body would make our answer a valid event signature
    oracle = '{"op":13,"d":{"plain_token":"{\\"op\\":0,\\"t\\":\\"X\\",\\"d\\":{}}","event_ts":"1725442341"}}'
    assert answer(allowed.post(oracle, signature=Signature.MISSING)).status == 401
    assert answer(allowed.post(VALIDATION, signature=Signature.INVALID)).status == 401  # only a missing one
    assert answer(allowed.post(event_body(), signature=Signature.MISSING)).status == 401  # op 13 only


@pytest.mark.parametrize("body", [
    "not json", b"\xff\xfe{}", "[1,2]", '"op"', '{"d":{}}', '{"op":"0"}', '{"op":0,"d":{}}',
    '{"op":13,"d":"x"}', '{"op":13,"d":{"plain_token":1,"event_ts":"1"}}', '{"op":7}', "",
    "[" * 2000 + "]" * 2000,
])
def test_a_malformed_body_is_a_counted_400_never_a_crash(body: str | bytes) -> None:
    r = Receiver()
    commands = r.post(body)
    assert answer(commands).status == 400 and delivered(commands) == []
    assert r.state.counters.malformed_rejected == 1


def test_op1_is_answered_with_op11_like_botgo() -> None:
    assert answer(Receiver().post('{"op":1,"d":42}')) == Respond(1, 200, '{"op":11,"d":42}')


def test_before_start_and_after_stop_events_ask_for_a_retry() -> None:
    r = Receiver(start=False)
    commands = r.post(event_body("EV-1"))
    assert answer(commands) == Respond(1, 200, ACK_RETRY) and delivered(commands) == []
    r.feed(Start(1.0))
    assert r.state.phase is Phase.READY
    assert delivered(r.post(event_body("EV-1")))  # the retry is delivered: a d:1 answer remembers nothing
    stop = r.feed(Stop(2.0))
    assert stop == (core.StatusChanged(Phase.STOPPED, "stopped by the host"),)
    assert answer(r.post(event_body("EV-2"))).body == ACK_RETRY
    assert r.state.counters.retries_requested == 2


def test_too_many_unsettled_deliveries_ask_for_a_retry_instead_of_queueing() -> None:
    r = Receiver(WebhookConfig(max_in_flight=2))
    assert delivered(r.post(event_body("A"))) and delivered(r.post(event_body("B")))
    full = r.post(event_body("C"))
    assert answer(full).body == ACK_RETRY and delivered(full) == []
    r.settle(1)
    assert delivered(r.post(event_body("C")))[0].event_id == "C"  # QQ's retry now gets through


def test_settles_free_their_delivery_and_stale_settles_are_counted() -> None:
    r = Receiver()
    r.post(event_body("A"))
    assert r.settle(1) == () and r.state.in_flight == frozenset()
    r.settle(1)
    r.settle(99)
    assert r.state.counters.settled == 1 and r.state.counters.stale_settles == 2


def test_time_going_backwards_or_not_a_number_is_counted() -> None:
    r = Receiver()
    r.feed(CallbackReceived(5.0, 1, event_body("A"), Signature.VALID, "1725442341", NOW_UNIX))
    commands = r.feed(CallbackReceived(4.0, 2, event_body("B"), Signature.VALID, "1725442341", NOW_UNIX))
    assert delivered(commands) and r.state.now == 5.0 and r.state.counters.clock_regressions == 1
    bad = r.feed(CallbackReceived(float("nan"), 3, event_body("C"), Signature.VALID, "1725442341", NOW_UNIX))
    assert len(bad) == 1 and isinstance(bad[0], core.Log) and r.state.counters.inputs_ignored == 1
    nan_clock = r.feed(CallbackReceived(6.0, 4, event_body("D"), Signature.VALID, "1725442341", float("nan")))
    assert answer(nan_clock).status == 401


def test_random_callbacks_never_raise_and_every_one_gets_exactly_one_answer() -> None:
    rng = random.Random(16)
    r = Receiver(WebhookConfig(max_in_flight=5, dedupe_window=8))
    verdicts = sorted(Signature.ALL) + ["?"]
    for i in range(3000):
        choice = rng.random()
        if choice < 0.1:
            r.settle(rng.randint(0, r.state.delivered + 1))
            continue
        if choice < 0.6:
            body: str | bytes = event_body(f"E{rng.randint(0, 30)}", i)
        elif choice < 0.7:
            body = VALIDATION
        else:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        commands = r.post(body, signature=rng.choice(verdicts),
                          timestamp=rng.choice(["1725442341", None, "x", "1725440000"]),
                          received_unix_s=NOW_UNIX + rng.uniform(-400, 400))
        answer(commands)
        for dispatch in delivered(commands):
            assert dispatch.dedupe_key not in [k for k in r.state.dedupe.keys()[:-1]]
    assert len(r.state.in_flight) <= 5


def test_the_reducer_is_deterministic_and_leaves_its_input_state_alone() -> None:
    def run() -> Receiver:
        r = Receiver()
        r.post(event_body("A"))
        r.post(event_body("A"))
        r.post(VALIDATION, signature=Signature.INVALID)
        r.settle(1)
        return r
    a, b = run(), run()
    assert a.steps == b.steps and a.state == b.state
    snapshots = [(before, repr(before)) for before in [webhook.initial_state()]]
    webhook.step(snapshots[0][0], Start(0.0))
    assert repr(snapshots[0][0]) == snapshots[0][1]


def test_config_is_checked_and_round_trips() -> None:
    for bad in ({"timestamp_window_s": 0}, {"dedupe_window": 0}, {"max_in_flight": True},
                {"fatal_after_rejections": -1}, {"allow_unsigned_validation": 1}):
        with pytest.raises(core.ConfigError):
            webhook.initial_state(WebhookConfig(**bad))
    config = WebhookConfig(timestamp_window_s=60.0, dedupe_window=100)
    assert WebhookConfig.from_dict(config.to_dict()) == config
    with pytest.raises(core.ConfigError, match="unknown"):
        WebhookConfig.from_dict({"window": 1})


# -- a restart: what the journal kept -----------------------------------------------------------------
def test_a_restore_before_start_dedupes_the_handled_and_delivers_the_unhandled_again() -> None:
    old = core.Dispatch(7, "C2C_MESSAGE_CREATE", "EV-7", {"content": "seven"}, "EV-7", 0)
    r = Receiver(start=False)
    commands = r.feed(webhook.CallbacksRestored(0.0, ("EV-1", "EV-2"), (old,)))
    assert delivered(commands) == [core.Dispatch(1, "C2C_MESSAGE_CREATE", "EV-7", {"content": "seven"}, "EV-7", 0)]
    r.feed(Start(0.5))
    for key in ("EV-1", "EV-2", "EV-7"):
        assert delivered(r.post(event_body(key))) == []  # redeliveries of what the process before took
    assert delivered(r.post(event_body("EV-8")))[0].seq == 2
    assert r.state.counters.restored_deliveries == 1
    late = r.feed(webhook.CallbacksRestored(9.0, ("EV-9",)))  # once, before Start only
    assert [c.event for c in late if isinstance(c, core.Log)] == ["restore_ignored"]


def test_rehydration_folds_a_session_into_what_a_new_receiver_must_remember() -> None:
    r = Receiver()
    for n in range(1, 5):
        r.post(event_body(f"EV-{n}", n))
    r.settle(1)
    r.settle(3)
    r.post(event_body("EV-1", 1))  # a redelivery: nothing new to remember
    folded = webhook.WebhookRehydration()
    for inp, commands in r.steps:
        assert folded.apply(inp) == commands  # the fold is the run, step for step
    restored = folded.restored(42.0)
    assert restored is not None and restored.at == 42.0
    assert restored.dedupe_keys == ("EV-1", "EV-3")
    assert [d.event_id for d in restored.unhandled] == ["EV-2", "EV-4"]
    # a second restart before those two were handled remembers them again
    r2 = Receiver(start=False)
    r2.feed(restored)
    r2.feed(Start(43.0))
    again = webhook.WebhookRehydration()
    for inp, _ in r2.steps:
        again.apply(inp)
    second = again.restored(50.0)
    assert second is not None and [d.event_id for d in second.unhandled] == ["EV-2", "EV-4"]
    assert webhook.WebhookRehydration().restored(1.0) is None  # an empty journal leaves nothing


# -- the journal: the same format, a webhook session replays to identical commands -------------------
def session() -> Receiver:
    r = Receiver(start=False)
    r.feed(webhook.CallbacksRestored(0.0, ("EV-0",), (core.Dispatch(3, "C2C_MESSAGE_CREATE", "EV-00", {"a": [1]},
                                                                    "EV-00", 0),)))
    r.feed(Start(0.0))
    r.post(VALIDATION)
    for n in range(1, 6):
        r.post(event_body(f"EV-{n}", n))
    r.post(event_body("EV-2", 2))  # a redelivery
    r.post(event_body("EV-6", 6), received_unix_s=NOW_UNIX + 100)  # host clocks 100 s apart
    r.post(event_body("EV-9"), signature=Signature.INVALID)
    r.post(event_body("EV-8"), received_unix_s=NOW_UNIX + 900)
    r.post(b"\xff not utf-8")
    for n in range(1, 8):
        r.settle(n)
    r.feed(Stop(10.0))
    return r


def test_every_webhook_input_and_command_round_trips_through_the_codec() -> None:
    for inp, commands in session().steps:
        record = journal.encode_input(inp)
        assert journal.decode_input(orjson.loads(orjson.dumps(record))) == inp
        for command in commands:
            encoded = orjson.loads(orjson.dumps(journal.encode_command(command)))
            assert journal.decode_command(encoded) == command


def test_a_webhook_journal_replays_to_identical_commands_and_a_changed_one_diverges() -> None:
    config = WebhookConfig(timestamp_window_s=300.0)
    r = session()
    header = journal.journal_header(journal.describe_webhook(config), seed=0, app_id="102000000")
    data = b"".join(journal.journal_lines(header, r.steps))
    parsed = journal.read_journal(data)
    assert parsed.header["client"]["client"] == "webhook"
    model = model_from_header(parsed.header)
    result = journal.verify(parsed, model)
    assert result.divergence is None and result.steps == len(r.steps) == len(parsed.steps)
    # the same journal recorded under a narrower window no longer replays identically
    narrow = journal.journal_header(journal.describe_webhook(WebhookConfig(timestamp_window_s=0.5)), seed=0)
    tampered = journal.read_journal(b"".join(journal.journal_lines(narrow, r.steps)))
    diverged = journal.verify(tampered, model_from_header(tampered.header)).divergence
    assert diverged is not None and diverged.input["type"] == "CallbackReceived"
