"""The journal format (core.journal): header schema, one encoder with redaction, reader, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from qqgate import core
from qqgate.core import journal
from qqgate.replay import model_from_header

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "logs_samples" / "half-open.core.jsonl"


def test_bytes_lines_and_an_open_file_read_alike(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    whole = journal.read_journal(data)
    assert whole.steps and not whole.truncated_tail
    assert journal.read_journal(data.splitlines(keepends=True)) == whole
    assert journal.read_journal(data.splitlines()) == whole  # lines without their newlines
    with open(SAMPLE, "rb") as fh:
        assert journal.read_journal(fh) == whole
    cut = data[:-30]
    (tmp_path / "cut.jsonl").write_bytes(cut)
    with open(tmp_path / "cut.jsonl", "rb") as fh:
        from_file = journal.read_journal(fh)
    assert from_file == journal.read_journal(cut)
    assert from_file.truncated_tail and len(from_file.steps) == len(whole.steps) - 1


@pytest.mark.parametrize("data, message", [
    (b"", "line 1: empty journal"),
    (b"\n" + SAMPLE.read_bytes(), "line 1: empty journal"),
    (b'{"type":"step"}\n', "line 1: not a qqgate-journal header"),
    (b'{"type":"header","format":"qqgate-journal","format_version":1}\n', "line 1: format_version 1 is not 2"),
    (SAMPLE.read_bytes().replace(b'"type":"Tick"', b'"type":"Tock"', 1), "not an input record"),
    (b"\n".join(SAMPLE.read_bytes().split(b"\n")[:3] + [b"{cut", b'{"type":"step"}']), "line 4: not JSON"),
    (b"\n".join(SAMPLE.read_bytes().split(b"\n")[:3] + [b'{"type":"step","input":{"type":"Tick","at":1},'
                                                       b'"commands":{}}']), "line 4: 'commands' is not a list"),
])
def test_unreadable_journals_name_the_line(data: bytes, message: str) -> None:
    with pytest.raises(journal.JournalError, match=message):
        journal.read_journal(data)


def test_a_cut_header_is_an_error_not_a_truncated_tail() -> None:
    with pytest.raises(journal.JournalError, match="line 1: not JSON"):
        journal.read_journal(SAMPLE.read_bytes()[:20])


def test_one_exception_family() -> None:
    from qqgate.io_shell.journal import JournalStoreError, JournalWriteError
    assert issubclass(journal.CodecError, journal.JournalError)
    assert issubclass(JournalWriteError, JournalStoreError) and issubclass(JournalStoreError, journal.JournalError)
    with pytest.raises(journal.JournalError):
        journal.decode_input({"type": "Tick"})


class _Tag(str):
    """A str subclass (as a str enum would be): redacted like any string."""


def test_the_encoder_redacts_in_the_same_walk_exactly_as_redacting_afterwards() -> None:
    secret = "c0ffee"
    inp = core.FrameReceived(1.0, 1, bytes.fromhex("00c0ffee00"))  # the secret shows in the hex
    commands: tuple[Any, ...] = (
        core.Log("info", "odd", {"k": _Tag(f"tag-{secret}"), 7: (secret, [1, {"deep": secret}])}),
        core.StatusChanged(core.Phase.READY, f"session {secret}"),
        core.SendFrame(1, f'{{"op":2,"d":{{"token":"QQBot {secret}"}}}}'),
    )
    one_walk = journal.step_record(1, inp, commands, journal.Redactor([(secret, "client-secret")]))
    after = journal.Redactor([(secret, "client-secret")])
    expected = {"type": "step", "i": 1, "input": after.redact(journal.encode_input(inp)),
                "commands": [after.redact(journal.encode_command(c)) for c in commands]}
    assert one_walk == expected
    text = orjson.dumps(one_walk)
    assert "«client-secret»".encode() in text and secret.encode() not in text


def test_the_header_is_built_in_one_place_in_schema_order() -> None:
    config = core.Config(seed=3)
    simulated = journal.journal_header(journal.describe_core(config), scenario="half-open", seed=3, hours=0.5)
    assert list(simulated) == ["client", "scenario", "seed", "hours", "versions"]
    live = journal.journal_header(journal.describe_core(config), seed=3, app_id="1", api_base="https://x",
                                  versions={"gevent": "1"})
    assert list(live) == ["client", "seed", "app_id", "api_base", "versions"]
    assert list(live["versions"]) == ["qqgate", "gevent"] and live["versions"]["qqgate"] == core.__version__
    record = journal.header_record(live)
    assert list(record)[:3] == ["type", "format", "format_version"] and record["format"] == journal.FORMAT
    rebuilt = model_from_header(record)
    assert rebuilt.name == "core" and rebuilt.describe() == live["client"]
    first = SAMPLE.read_bytes().split(b"\n")[0]
    head = orjson.loads(first)
    fields = journal.journal_header(head["client"], scenario=head["scenario"], seed=head["seed"], hours=head["hours"])
    assert journal.header_line(fields) == first  # the sample journals' headers, byte for byte


class _DropsCommandsFrom:
    """The core, except that from step ``n`` on it returns no commands."""

    name = "core"

    def __init__(self, config: core.Config, n: int) -> None:
        self.config, self.n, self.calls = config, n, 0

    def initial_state(self) -> core.State:
        return core.initial_state(self.config)

    def step(self, state: core.State, inp: core.Input) -> tuple[core.State, tuple[core.Command, ...]]:
        self.calls += 1
        state, commands = core.step(state, inp)
        return state, (() if self.calls >= self.n else commands)


def test_verify_reports_the_first_divergent_step_of_the_reducer_it_is_given() -> None:
    parsed = journal.read_journal(SAMPLE.read_bytes())
    config = core.Config.from_dict(parsed.header["client"]["config"])
    assert journal.verify(parsed, model_from_header(parsed.header)).divergence is None
    n = next(i for i, (_, _, recorded) in enumerate(parsed.steps, start=1) if i >= 10 and recorded)
    result = journal.verify(parsed, _DropsCommandsFrom(config, n))
    assert result.divergence is not None and result.divergence.step == n == result.steps
    assert result.divergence.replayed == [] and result.divergence.line == parsed.steps[n - 1][0]


def test_model_from_header_refuses_what_it_cannot_rebuild() -> None:
    for header, message in (({}, "no 'client'"), ({"client": {"client": "no-such-client"}}, "unknown client"),
                            ({"client": {"client": "core", "config": {"nope": 1}}}, "client config")):
        with pytest.raises(journal.JournalError, match=message):
            model_from_header(header)
