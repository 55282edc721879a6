"""The qqgate command line: determinism, journals, divergence, errors."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import orjson
import pytest

from qqgate.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*argv: str) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(list(argv))
    return code, buf.getvalue()


def test_same_seed_gives_byte_identical_output(tmp_path: Path) -> None:
    a = run_cli("simulate", "half-open", "--client", "core", "--seed", "7", "--journal", str(tmp_path / "a.jsonl"))
    b = run_cli("simulate", "half-open", "--client", "core", "--seed", "7", "--journal", str(tmp_path / "b.jsonl"))
    assert a[0] == 0
    assert a[1].replace("a.jsonl", "") == b[1].replace("b.jsonl", "")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    c = run_cli("simulate", "half-open", "--client", "core", "--seed", "8")
    assert c[1] != a[1].split("journal ")[0]


@pytest.mark.parametrize("client", ["core", "legacy"])
def test_journal_replays_identically(tmp_path: Path, client: str) -> None:
    path = tmp_path / "run.jsonl"
    run_cli("simulate", "reconnect-storm", "--client", client, "--hours", "1", "--journal", str(path))
    code, out = run_cli("replay", str(path))
    assert code == 0, out
    assert "identical" in out


def test_hand_edited_journal_diverges_and_names_the_step(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run_cli("simulate", "half-open", "--client", "core", "--hours", "0.5", "--journal", str(path))
    lines = path.read_bytes().splitlines()
    # Change the recorded heartbeat interval of the first Hello the core received.
    for i, line in enumerate(lines):
        if b'heartbeat_interval\\":41250' in line and b"FrameReceived" in line:
            lines[i] = line.replace(b'heartbeat_interval\\":41250', b'heartbeat_interval\\":30000')
            edited_step = orjson.loads(lines[i])["i"]
            break
    else:
        pytest.fail("no Hello in the journal")
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out = run_cli("replay", str(path))
    assert code == 1
    assert f"DIVERGED at step {edited_step}" in out


def test_truncated_last_line_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run_cli("simulate", "death-loop", "--client", "core", "--hours", "0.2", "--journal", str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    code, out = run_cli("replay", str(path))
    assert code == 0 and "cut short" in out


def test_corrupt_middle_line_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.jsonl"
    run_cli("simulate", "death-loop", "--client", "core", "--hours", "0.2", "--journal", str(path))
    lines = path.read_bytes().splitlines()
    lines[3] = b"{not json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, _ = run_cli("replay", str(path))
    assert code == 2
    assert "line 4" in capsys.readouterr().err


def test_missing_file_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_cli("replay", "/nonexistent/file.jsonl")
    assert code == 2
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "no-such-scenario"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["simulate", "half-open", "--hours", "-1"])
    assert "must be > 0" in capsys.readouterr().err


def test_journal_header_and_no_secret_in_journal(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run_cli("simulate", "half-open", "--client", "core", "--hours", "0.3", "--journal", str(path))
    data = path.read_bytes()
    header = orjson.loads(data.splitlines()[0])
    assert header["format"] == "qqgate-journal" and header["seed"] == 1
    assert header["client"]["config"]["seed"] == 1
    assert b"sim-token-" not in data and "«token-1»".encode() in data


def test_logs_samples_journals_replay() -> None:
    journals = sorted((ROOT / "logs_samples").glob("*.jsonl"))
    assert journals, "logs_samples/ holds scenario journals"
    for path in journals:
        code, out = run_cli("replay", str(path))
        assert code == 0, f"{path.name}: {out}"


def test_incidents_list_and_run() -> None:
    code, out = run_cli("incidents")
    assert code == 0 and "death-loop" in out and "banned" in out
    code, out = run_cli("incidents", "--run", "--hours", "2.5")
    assert code == 0, out
    assert out.count("reproduced + survived") == 9


def test_replay_reads_a_sqlite_journal_store(tmp_path: Path) -> None:
    from qqgate.io_shell.journal import list_sessions, open_recorder
    from qqgate.replay import SCENARIOS, run_scenario

    outcome = run_scenario(SCENARIOS["half-open"], "core", seed=3, hours=0.5)
    store = tmp_path / "journal.sqlite"
    recorder = open_recorder(str(store), {"client": outcome.model.describe(), "seed": 3}, mode="thread")
    for inp, commands in outcome.run.journal:
        recorder.record(inp, commands)
    recorder.close()
    session = list_sessions(str(store))[0].session_id
    code, out = run_cli("replay", str(store), "--session", session[:8])
    assert code == 0, out
    assert f"all {len(outcome.run.journal)} steps replay" in out
    code, _ = run_cli("replay", str(store), "--session", "no-such-session")
    assert code == 2
    code, _ = run_cli("replay", str(ROOT / "logs_samples" / "death-loop.log"), "--session", "x")
    assert code == 2


SUBCOMMANDS = ("simulate", "replay", "incidents", "soak", "fuzz", "crash-test", "gateway", "run", "export")


def test_one_command_line_assembles_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in SUBCOMMANDS)
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0, name
        text = capsys.readouterr().out
        assert text.startswith(f"usage: qqgate {name}") and len(text.splitlines()) > 5, name


def test_python_m_qqgate_is_the_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "qqgate", "incidents"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == run_cli("incidents")[1]


@pytest.mark.parametrize("argv, message", [
    (["simulate", "half-open", "--seed", "x"], "seed must be an integer, got 'x'"),
    (["simulate", "half-open", "--hours", "9000"], "must be > 0 and at most a year of hours, got 9000"),
    (["soak", "--seeds", "0"], "must be at least 1, got 0"),
    (["soak", "--hours", "721"], "must be > 0 and at most 720 hours, got 721"),
    (["fuzz", "--frames", "lots"], "not an integer: 'lots'"),
    (["crash-test", "--runs", "10001"], "must be between 1 and 10000, got 10001"),
    (["gateway", "--port", "65536"], "port must be 0..65535, got 65536"),
    (["gateway", "--time-scale", "inf"], "must be > 0, got inf"),
    (["gateway", "--session-cycle", "-1"], "must be > 0, got -1"),
    (["gateway", "--duplicate-probability", "1.5"], "must be between 0 and 1, got 1.5"),
    (["run", "--intents", "many"], "unknown intent 'many' (names: GUILDS, "),
    (["run", "--intents", "GROUP_AND_C2C_EVENT|-1"], "intents must be >= 0 and < 2**31, got -1"),
    (["run", "--duration", "0"], "must be > 0 seconds"),
])
def test_a_wrong_argument_is_a_clear_usage_error(argv: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: qqgate {argv[0]}" in err and message in err and "Traceback" not in err
