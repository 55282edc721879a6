"""The eventsourcing journal on SQLite: record real simulated sessions, read them back, replay them.

Covers: exact round trip against ``core.journal.step_record``; JSON-lines export that
``core.journal.read_journal`` reads and ``replay.replay_journal`` replays with no divergence;
sessions kept apart; secrets absent from every byte of the store and the export; a writer
killed with SIGKILL leaves a store whose every session replays up to its last commit;
``record()`` never blocks (or yields to the gevent hub); ``qqgate export``.
"""

from __future__ import annotations

import functools
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from qqgate import core
from qqgate.cli import main
from qqgate.core import journal
from qqgate.io_shell.journal import (
    JournalStoreError, JournalWriteError, export_jsonl, journal_bytes, list_sessions, looks_like_store,
    open_recorder, read_session,
)
from qqgate.replay import replay_journal
from qqgate.replay.world import CoreClient, Simulation, WorldSpec

ROOT = Path(__file__).resolve().parents[1]
CLIENT_SECRET = "client-secret-6b1f0e9a"
FAKE_TOKEN = "fake-access-token-93c2d7"
Steps = list[tuple[core.Input, tuple[core.Command, ...]]]


@functools.lru_cache(maxsize=None)
def simulated(seed: int, horizon_s: float = 3600.0) -> tuple[dict[str, Any], Steps]:
    """(header fields, steps) of a real simulated core session."""
    model = CoreClient(core.Config(seed=seed))
    run = Simulation(WorldSpec(), model, seed=seed, horizon_s=horizon_s).run()
    return journal.journal_header(model.describe(), seed=seed), list(run.journal)


def expected_records(steps: Steps, secrets: list[tuple[str, str]]) -> list[dict[str, Any]]:
    redactor = journal.Redactor(secrets)
    return [journal.step_record(i, inp, commands, redactor) for i, (inp, commands) in enumerate(steps, start=1)]


def record_session(target: str, seed: int, mode: str = "thread", **kw: Any) -> tuple[str, Steps]:
    header, steps = simulated(seed)
    with open_recorder(target, header, [(CLIENT_SECRET, "client-secret")], mode=mode, **kw) as rec:  # type: ignore[arg-type]
        for inp, commands in steps:
            rec.record(inp, commands)
    assert rec.committed == len(steps)
    return rec.session_id, steps


def replay_export(target: str, session: str | None) -> tuple[int, Any]:
    buf = io.BytesIO()
    n = export_jsonl(target, session, buf)
    result = replay_journal(journal.read_journal(buf.getvalue()))
    return n, result


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "journal.db")


@pytest.mark.parametrize("mode", ["thread", "gevent"])
def test_round_trip_equals_step_records(db: str, mode: str) -> None:
    session, steps = record_session(db, seed=1, mode=mode)
    assert len(steps) >= 300, len(steps)
    header, records = read_session(db, session)
    assert records == expected_records(steps, [(CLIENT_SECRET, "client-secret")])
    assert header["type"] == "header" and header["format"] == journal.FORMAT
    assert header["client"]["client"] == "core" and header["seed"] == 1
    assert header["session_id"] == session
    assert header["versions"]["qqgate"] == core.__version__ and "eventsourcing" in header["versions"]


def test_export_replays_with_no_divergence(db: str) -> None:
    session, steps = record_session(db, seed=1)
    n, result = replay_export(db, session)
    assert n == len(steps)
    assert result.divergence is None and result.steps == len(steps) and not result.truncated_tail
    buf = io.BytesIO()
    export_jsonl(db, None, buf)
    data = buf.getvalue()
    assert data == journal_bytes(db, session) and data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert orjson.loads(lines[0])["type"] == "header" and len(lines) == len(steps) + 1
    assert [orjson.loads(line) for line in lines[1:]] == read_session(db, session)[1]


def test_two_sessions_are_listed_apart(db: str) -> None:
    first, steps1 = record_session(db, seed=1)
    second, steps2 = record_session(db, seed=2)
    sessions = list_sessions(db)
    assert [s.session_id for s in sessions] == [first, second]
    assert [s.steps for s in sessions] == [len(steps1), len(steps2)]
    assert [s.header["seed"] for s in sessions] == [1, 2]
    assert read_session(db)[0]["session_id"] == second  # None: the latest
    header, records = read_session(db, first[:8])  # a unique prefix
    assert header["seed"] == 1 and len(records) == len(steps1)
    for s in sessions:
        n, result = replay_export(db, s.session_id)
        assert n == s.steps and result.divergence is None


def secret_steps() -> Steps:
    """A real core session whose token is FAKE_TOKEN (it reaches Identify), plus a log line
    carrying the client secret."""
    state = core.initial_state(core.Config(seed=3))
    inputs: list[core.Input] = [
        core.Start(0.0), core.TokenIssued(0.1, FAKE_TOKEN, 7200.0),
        core.GatewayResolved(0.2, "wss://api.sgroup.qq.com/websocket", None), core.SocketOpened(0.3, 1),
        core.FrameReceived(0.4, 1, '{"op":10,"d":{"heartbeat_interval":41250}}'),
    ]
    steps: Steps = []
    for inp in inputs:
        state, commands = core.step(state, inp)
        steps.append((inp, commands))
    assert FAKE_TOKEN in repr(steps[-1][1])  # the Identify frame carries the token
    steps.append((core.Tick(1.0), (core.Log("info", "oops", {"detail": f"secret={CLIENT_SECRET}"}),)))
    return steps


def test_secrets_never_reach_the_store_or_the_export(tmp_path: Path, db: str) -> None:
    header = {"client": CoreClient(core.Config(seed=3)).describe(), "seed": 3,
              "note": f"configured with {CLIENT_SECRET}"}
    with open_recorder(db, header, [(CLIENT_SECRET, "client-secret")]) as rec:
        for inp, commands in secret_steps():
            rec.record(inp, commands)
        rec.flush()
        live = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    buf = io.BytesIO()
    export_jsonl(db, rec.session_id, buf)
    for blob in (live, stored, buf.getvalue()):
        assert FAKE_TOKEN.encode() not in blob and CLIENT_SECRET.encode() not in blob
    assert "«token-1»".encode() in buf.getvalue() and "«client-secret»".encode() in buf.getvalue()
    assert FAKE_TOKEN not in repr(rec) and CLIENT_SECRET not in repr(rec)


def test_the_one_encoder_rewrites_every_sample_journal_byte_for_byte() -> None:
    """Decoding every step of every logs_samples journal and encoding it again gives its line back."""
    samples = sorted((ROOT / "logs_samples").glob("*.jsonl"))
    assert samples
    for path in samples:  # core and legacy journals of every incident: every input and command type
        data = path.read_bytes()
        lines = data.split(b"\n")
        parsed = journal.read_journal(data)
        redactor = journal.Redactor()
        for i, (line, inp, recorded) in enumerate(parsed.steps, start=1):
            commands = tuple(journal.decode_command(c) for c in recorded)
            assert journal.step_line(i, inp, commands, redactor) == lines[line - 1], (path.name, line)
        assert journal.header_line({k: v for k, v in parsed.header.items()
                                    if k not in ("type", "format", "format_version")}) == lines[0]


def test_record_only_queues(db: str) -> None:
    header, steps = simulated(1)
    with open_recorder(db, header, batch_size=1_000_000, flush_interval_s=60.0) as rec:
        for k in range(10_000):
            inp, commands = steps[k % len(steps)]
            rec.record(inp, commands)
        assert rec.recorded == 10_000 and rec.committed == 0
        rec.flush()
        assert rec.committed == 10_000
    assert list_sessions(db)[0].steps == 10_000


def test_gevent_record_never_yields_and_commit_runs_off_the_hub(db: str) -> None:
    import gevent  # type: ignore[import-untyped]
    header, steps = simulated(1)
    ticks = [0]

    def ticker() -> None:
        while True:
            ticks[0] += 1
            gevent.sleep(0.001)

    rec = open_recorder(db, header, batch_size=1_000_000, flush_interval_s=60.0, mode="gevent")
    other = gevent.spawn(ticker)
    try:
        for k in range(20_000):
            inp, commands = steps[k % len(steps)]
            rec.record(inp, commands)
        assert ticks[0] == 0, "record() let the hub run another greenlet"
        assert rec.committed == 0
        rec.flush()  # one 20k-step commit, in the threadpool: the ticker keeps running meanwhile
        assert rec.committed == 20_000
        assert ticks[0] > 0
    finally:
        other.kill()
        rec.close()


def test_partial_batch_is_committed_after_the_flush_interval(db: str) -> None:
    header, steps = simulated(1)
    with open_recorder(db, header, batch_size=1000, flush_interval_s=0.02) as rec:
        for inp, commands in steps[:3]:
            rec.record(inp, commands)
        deadline = time.monotonic() + 10.0
        while rec.committed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.committed == 3


def test_a_failing_store_stops_the_recorder_and_keeps_a_prefix(db: str) -> None:
    header, steps = simulated(1)
    rec = open_recorder(db, header, batch_size=10, flush_interval_s=60.0)
    for inp, commands in steps[:10]:
        rec.record(inp, commands)
    rec.flush()
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE qqgate_steps RENAME TO broken")
    conn.commit()
    for inp, commands in steps[10:25]:
        rec.record(inp, commands)
    with pytest.raises(JournalWriteError, match="only 10 of 25"):
        rec.flush()
    assert isinstance(rec.error, Exception) and rec.committed == 10
    rec.record(*steps[25])  # dropped, not raised
    assert rec.dropped >= 1
    with pytest.raises(JournalWriteError):
        rec.close()
    conn.execute("ALTER TABLE broken RENAME TO qqgate_steps")
    conn.commit()
    conn.close()
    n, result = replay_export(db, rec.session_id)
    assert n == 10 and result.divergence is None


def test_a_store_far_too_slow_stops_the_recorder(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import qqgate.io_shell.journal._recorder as recorder_module
    monkeypatch.setattr(recorder_module, "MAX_PENDING", 100)
    header, steps = simulated(1)
    rec = open_recorder(db, header, batch_size=1000, flush_interval_s=60.0)
    for inp, commands in steps[:150]:
        rec.record(inp, commands)
    with pytest.raises(JournalWriteError, match="too slow"):
        rec.flush()
    with pytest.raises(JournalWriteError):
        rec.close()
    assert rec.committed == 0 and rec.dropped == 150
    assert list_sessions(db)[0].steps == 0
    assert read_session(db, rec.session_id)[1] == []


CHILD = textwrap.dedent("""
    import sys, time
    from qqgate import core
    from qqgate.replay.world import CoreClient, Simulation, WorldSpec
    from qqgate.io_shell.journal import open_recorder
    db, seed = sys.argv[1], int(sys.argv[2])
    model = CoreClient(core.Config(seed=seed))
    steps = Simulation(WorldSpec(), model, seed=seed, horizon_s=12 * 3600).run().journal
    rec = open_recorder(db, {"client": model.describe(), "seed": seed}, [("s3cret", "client-secret")],
                        batch_size=16, flush_interval_s=0.005)
    print("ready", rec.session_id, flush=True)
    for n, (inp, commands) in enumerate(steps, start=1):
        rec.record(inp, commands)
        if n % 25 == 0:
            rec.flush()
            time.sleep(0.002)
    rec.close()
    print("done", flush=True)
""")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def test_sigkill_leaves_a_store_that_replays_to_its_last_commit(db: str) -> None:
    rng = random.Random()
    delays = []
    for run in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, db, str(run + 1)], cwd=ROOT, env=_child_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.startswith("ready"), (line, child.stderr.read() if child.stderr else "")
            delay = rng.uniform(0.05, 0.6)
            delays.append(round(delay, 3))
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
            for pipe in (child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()
        assert child.returncode == -signal.SIGKILL, (delays, child.returncode)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sessions = list_sessions(db)
    assert len(sessions) == 3, delays
    assert any(s.steps > 0 for s in sessions), delays
    for s in sessions:
        n, result = replay_export(db, s.session_id)
        assert n == s.steps and result.steps == s.steps, delays
        assert result.divergence is None, (delays, s.session_id, result.divergence)


def test_monkey_patched_process_uses_the_gevent_writer(db: str) -> None:
    code = textwrap.dedent("""
        from gevent import monkey; monkey.patch_all()
        import sys
        from qqgate import core
        from qqgate.replay.world import CoreClient, Simulation, WorldSpec
        from qqgate.io_shell.journal import open_recorder
        model = CoreClient(core.Config(seed=1))
        steps = Simulation(WorldSpec(), model, seed=1, horizon_s=1800).run().journal
        with open_recorder(sys.argv[1], {"client": model.describe(), "seed": 1}) as rec:
            for inp, commands in steps:
                rec.record(inp, commands)
        print(rec.mode, rec.committed, len(steps))
    """)
    out = subprocess.run([sys.executable, "-c", code, db], cwd=ROOT, env=_child_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    mode, committed, total = out.stdout.split()
    assert mode == "gevent" and committed == total
    n, result = replay_export(db, None)
    assert n == int(total) and result.divergence is None


def test_bad_arguments_and_targets(tmp_path: Path, db: str) -> None:
    with pytest.raises(ValueError):
        open_recorder(db, {}, batch_size=0)
    with pytest.raises(ValueError):
        open_recorder(db, {}, flush_interval_s=0)
    with pytest.raises(JournalStoreError, match="needs user, host and database"):
        open_recorder("postgresql://localhost", {})
    with pytest.raises(JournalStoreError, match="no directory"):
        open_recorder(str(tmp_path / "missing" / "j.db"), {})
    with pytest.raises(JournalStoreError, match="no such journal store"):
        list_sessions(str(tmp_path / "nothing.db"))
    assert not (tmp_path / "nothing.db").exists()  # reading never creates a store
    record_session(db, seed=1)
    with pytest.raises(JournalStoreError, match="no session"):
        read_session(db, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(JournalStoreError, match="not a session id"):
        read_session(db, "not-a-session!")
    assert looks_like_store(db) and looks_like_store("postgresql://u:p@h/db")
    assert not looks_like_store(ROOT / "logs_samples" / "death-loop.core.jsonl")


# -- qqgate export -------------------------------------------------------------------------

def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_export_help_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["export", "--help"], capsys)
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("TARGET", "--session", "--out", "--list", "postgresql://", "SQLite", "qqgate replay"):
        assert word in text, word


def test_export_lists_and_writes_a_replayable_file(tmp_path: Path, db: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = record_session(db, seed=1)
    second, steps2 = record_session(db, seed=2)
    status, out, _ = run_cli(["export", db, "--list"], capsys)
    assert status == 0 and first in out and second in out and "2 session(s)" in out
    target = tmp_path / "last.jsonl"
    status, _, err = run_cli(["export", db, "--out", str(target)], capsys)
    assert status == 0 and f"{len(steps2)} steps" in err
    exported = journal.read_journal(target.read_bytes())
    assert exported.header["session_id"] == second and replay_journal(exported).divergence is None
    status, _, _ = run_cli(["export", db, "--session", first, "--out", str(target)], capsys)
    assert status == 0 and journal.read_journal(target.read_bytes()).header["session_id"] == first


def test_export_of_an_unreadable_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database, just some text that is long enough to be read\n" * 4)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    cases = [(str(tmp_path / "missing.db"), "no such journal store"),
             (str(text_file), "not a SQLite journal store"),
             (str(empty), "not a qqgate journal store")]
    for target, message in cases:
        status, out, err = run_cli(["export", target], capsys)
        assert status == 2 and message in err and err.startswith("qqgate export: "), (target, err)
        assert out == ""
    db = str(tmp_path / "journal.db")
    record_session(db, seed=1)
    status, _, err = run_cli(["export", db, "--session", "ffffffff"], capsys)
    assert status == 2 and "no session" in err
