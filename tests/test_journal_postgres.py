"""The eventsourcing journal on a real PostgreSQL server (``QQGATE_TEST_POSTGRES_URL``).

The same round trip, export/replay and secrets checks as tests/test_journal_store.py, against
the server CI starts with ``.ci/postgres.sh``. Every test module run gets its own schema
(``?schema=...``), dropped at the end. Skipped when the variable is not set.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from qqgate.io_shell.journal import JournalStoreError, export_jsonl, list_sessions, open_recorder, read_session
from qqgate.core.journal import read_journal
from qqgate.replay import replay_journal

from test_journal_store import (
    CHILD, CLIENT_SECRET, FAKE_TOKEN, ROOT, _child_env, expected_records, record_session, replay_export,
    run_cli, secret_steps, simulated,
)

URL = os.environ.get("QQGATE_TEST_POSTGRES_URL", "")

pytestmark = pytest.mark.skipif(
    not URL, reason="QQGATE_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
                    "(CI sets it; locally: source .ci/postgres.sh)")


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    import psycopg
    name = f"qqgate_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def target(schema: str) -> Iterator[str]:
    """A store of its own for each test: a fresh schema inside the module's database."""
    import psycopg
    name = f"{schema}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in URL else "?"
    try:
        yield f"{URL}{sep}schema={name}"
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def stored_bytes(target: str) -> bytes:
    """Every column of every row of both journal tables, as raw bytes."""
    import psycopg
    schema = target.rsplit("schema=", 1)[1]
    out = []
    with psycopg.connect(URL) as conn:
        for table in ("qqgate_sessions", "qqgate_steps"):
            for originator_id, version, topic, state in conn.execute(
                    f'SELECT originator_id, originator_version, topic, state FROM "{schema}"."{table}"'):
                out.append(f"{originator_id} {version} {topic} ".encode() + bytes(state))
    return b"\n".join(out)


@pytest.mark.parametrize("mode", ["thread", "gevent"])
def test_round_trip_equals_step_records(target: str, mode: str) -> None:
    session, steps = record_session(target, seed=1, mode=mode)
    header, records = read_session(target, session)
    assert records == expected_records(steps, [(CLIENT_SECRET, "client-secret")])
    assert header["type"] == "header" and header["seed"] == 1 and header["session_id"] == session


def test_export_replays_with_no_divergence_and_sessions_stay_apart(target: str) -> None:
    first, steps1 = record_session(target, seed=1)
    second, steps2 = record_session(target, seed=2)
    sessions = list_sessions(target)
    assert [(s.session_id, s.steps) for s in sessions] == [(first, len(steps1)), (second, len(steps2))]
    for s in sessions:
        n, result = replay_export(target, s.session_id)
        assert n == s.steps and result.divergence is None and result.steps == s.steps
    assert read_session(target)[0]["session_id"] == second


def test_secrets_never_reach_the_database_or_the_export(target: str) -> None:
    header: dict[str, Any] = {"client": simulated(1)[0]["client"], "seed": 3,
                              "note": f"configured with {CLIENT_SECRET}"}
    with open_recorder(target, header, [(CLIENT_SECRET, "client-secret")]) as rec:
        for inp, commands in secret_steps():
            rec.record(inp, commands)
    buf = io.BytesIO()
    export_jsonl(target, rec.session_id, buf)
    stored = stored_bytes(target)
    assert rec.session_id.encode() in stored or uuid.UUID(rec.session_id).hex.encode() in stored
    for blob in (stored, buf.getvalue()):
        assert FAKE_TOKEN.encode() not in blob and CLIENT_SECRET.encode() not in blob
    assert "«token-1»".encode() in buf.getvalue() and "«client-secret»".encode() in buf.getvalue()


def test_sigkill_leaves_a_readable_prefix(target: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, target, "1"], cwd=ROOT, env=_child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("ready"), (line, child.stderr.read() if child.stderr else "")
        time.sleep(0.3)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    (session,) = list_sessions(target)
    n, result = replay_export(target, session.session_id)
    assert n == session.steps and result.divergence is None


def test_export_cli_reads_postgres_and_fails_cleanly(target: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    session, steps = record_session(target, seed=2)
    out_file = tmp_path / "pg.jsonl"
    status, _, err = run_cli(["export", target, "--out", str(out_file)], capsys)
    assert status == 0, err
    journal = read_journal(out_file.read_bytes())
    assert journal.header["session_id"] == session and replay_journal(journal).divergence is None
    assert len(journal.steps) == len(steps)
    dead = "postgresql://qqgate:hunter2-pw@127.0.0.1:1/qqgate?connect_timeout=1"
    status, out, err = run_cli(["export", dead, "--list"], capsys)
    assert status == 2 and err.startswith("qqgate export: postgresql://qqgate:***@127.0.0.1:1/qqgate")
    assert "hunter2-pw" not in err and out == ""
    with pytest.raises(JournalStoreError, match="unknown URL parameter"):
        list_sessions(f"{URL}{'&' if '?' in URL else '?'}sslmode=disable")
