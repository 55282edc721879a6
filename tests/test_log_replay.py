"""``qqgate replay``: a log in, its incident re-run against the client's model and the core; inputs
that are no log refused with one line; journals checked step by step; memory bounded."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from qqgate.cli import main
from qqgate.replay import SCENARIOS, detect, make_model
from qqgate.replay._judge import Judge
from qqgate.replay._log_replay import replay_log
from qqgate.replay.logs import DEATH_LOOP_DROP_S, TimelineRows
from qqgate.replay.world import ServerClose, Simulation

SAMPLES = Path(__file__).resolve().parent.parent / "logs_samples"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_death_loop_log_reproduced_from_the_drop_its_evidence_describes() -> None:
    code, out, _ = run("replay", str(SAMPLES / "death-loop.log"))
    assert code == 0, out
    assert "incident  death_loop:" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("failures found"))
    legacy, core_ = row.split("failures found", 1)[1][:46], row.split("failures found", 1)[1][46:]
    assert "death_loop ×" in legacy and int(legacy.split("×")[1].split()[0]) >= 3, row
    assert core_.strip() == "none"
    result = replay_log("death-loop.log", (SAMPLES / "death-loop.log").read_text().split("\n"))
    derived = result.reading.derived
    assert derived is not None
    # the world starts from a drop, not from a heartbeat task that is already dead
    assert derived.world.faults == (ServerClose(at=DEATH_LOOP_DROP_S, code=None),)
    assert [m.version for m in result.models] == ["0.13"]


def test_the_result_is_data_a_renderer_can_use() -> None:
    result = replay_log("x", (SAMPLES / "real" / "26-hermes-full-format-silence-after-resume.log").read_text().split("\n"))
    assert result.incident == "dead_link_unnoticed" and result.status == 0
    assert result.core is not None and result.core.ok and not result.core.failures
    (model,) = result.models
    assert model.ok and {f.name for f in model.findings} >= {"dead_link_unnoticed"}
    assert result.reading.named.evidence[0].lineno == 1
    assert result.reading.report.totals["understood"] == 1


@pytest.mark.parametrize("content, message", [
    (b"", "an empty file (0 bytes)"),
    (b"\x00" * 4096, "binary data, not a log or a journal (a NUL byte at offset 0)"),
    ("2026-05-08 09:17:42,717 INFO 关闭".encode("gb18030"), "not UTF-8 text"),
])
def test_unreadable_inputs_exit_2_with_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bot.log"
    path.write_bytes(content)
    code, out, err = run("replay", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_a_directory_a_device_and_a_missing_file_exit_2(tmp_path: Path) -> None:
    for target, message in ((str(tmp_path), "a directory"), (os.devnull, "a character device"),
                            (str(tmp_path / "nope.log"), "no such file")):
        code, out, err = run("replay", target)
        assert (code, out) == (2, "") and err.strip().endswith(message) and err.count("\n") == 1


def test_stores_that_are_not_stores_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "j.sqlite"
    empty.write_bytes(b"")
    zeroed = tmp_path / "z.sqlite"
    zeroed.write_bytes(b"\x00" * 100 + (SAMPLES / "banned.core.jsonl").read_bytes())
    for path, message in ((empty, "an empty file (0 bytes): not a journal store"),
                          (zeroed, "not a SQLite journal store")):
        for command in ("replay", "export"):
            code, out, err = run(command, str(path))
            assert code == 2 and message in err and err.count("\n") == 1, (command, err)


def test_export_says_what_a_device_is() -> None:
    code, _, err = run("export", os.devnull)
    assert code == 2 and err == f"qqgate export: {os.devnull}: a character device\n"


def test_nothing_to_diagnose_exits_2_with_no_simulation() -> None:
    code, out, err = run("replay", str(SAMPLES / "real" / "31-langbot-botpy-docker-json-no-lifecycle-lines.log"))
    assert code == 2 and "nothing to diagnose" in err
    assert "reading report" in out and "world " not in out and "core" not in out


def test_simulate_refuses_an_unwritable_journal_before_simulating(tmp_path: Path) -> None:
    code, out, err = run("simulate", "session-cycle", "--journal", "/nonexistent/x.jsonl")
    assert (code, out) == (2, "") and err == "qqgate simulate: --journal /nonexistent/x.jsonl: no such directory: /nonexistent\n"
    code, out, err = run("simulate", "session-cycle", "--log", str(tmp_path))
    assert (code, out) == (2, "") and "a directory is in its place" in err


def test_every_deleted_journal_line_but_the_last_is_detected(tmp_path: Path) -> None:
    lines = (SAMPLES / "banned.core.jsonl").read_bytes().splitlines(keepends=True)
    caught = 0
    for k in range(len(lines)):
        path = tmp_path / f"cut{k}.jsonl"
        path.write_bytes(b"".join(lines[:k] + lines[k + 1:]))
        code, _, err = run("replay", str(path))
        if k == len(lines) - 1:
            assert code == 0  # the last step gone is a shorter run: nothing can tell
        else:
            assert code == 2 and ("missing" in err or "header" in err), (k, err)
            caught += 1
    assert caught == len(lines) - 1


def test_reordered_and_repeated_journal_steps_are_named(tmp_path: Path) -> None:
    lines = (SAMPLES / "banned.core.jsonl").read_bytes().splitlines(keepends=True)
    swapped = lines[:5] + [lines[6], lines[5]] + lines[7:]
    path = tmp_path / "swap.jsonl"
    path.write_bytes(b"".join(swapped))
    code, _, err = run("replay", str(path))
    assert code == 2 and "line 6: step 6 follows step 4: step 5 is missing" in err
    path.write_bytes(b"".join(lines[:6] + [lines[5]] + lines[6:]))
    code, _, err = run("replay", str(path))
    assert code == 2 and "out of order or repeated" in err


def test_the_printed_timeline_is_capped_with_a_count_of_what_was_left_out() -> None:
    rows = TimelineRows()
    for n in range(1000):
        rows.add(n, f"row {n}")
    shown = rows.rows()
    assert len(shown) == 81 and shown[60] == "... (920 rows left out) ..." and shown[-1] == "row 999"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("client", ["core", "legacy"])
def test_the_streaming_judge_finds_what_detect_finds(name: str, client: str) -> None:
    """The same run judged twice: from its whole trace, and as it streamed by."""
    scenario = SCENARIOS[name]
    hours = min(scenario.hours, 3.0)
    judge = Judge(scenario.world)
    model = make_model(client, 1, scenario.legacy_version, scenario.legacy_close_codes_visible)
    run_ = Simulation(scenario.world, model, seed=1, horizon_s=hours * 3600.0, observer=judge).run()
    batch = [(f.name, f.count, round(f.first_at or 0.0, 3)) for f in detect(run_, scenario.world)]
    streamed = [(f.name, f.count, round(f.first_at or 0.0, 3)) for f in judge.findings(run_.ended_at)]
    assert streamed == batch
    assert judge.missing(run_.ended_at) == len(run_.missing_ids())


def test_a_run_without_history_keeps_nothing_per_step() -> None:
    world = SCENARIOS["session-cycle"].world
    judge = Judge(world)
    sim = Simulation(world, make_model("legacy", 1), seed=1, horizon_s=48 * 3600.0, record_journal=False,
                     keep_history=False, observer=judge)
    result = sim.run()
    assert result.trace == [] and result.journal == [] and result.delivered_ids == [] and sim.server.pushed == []
    # the legacy adapter re-identifies every 30 min: the dispatch logs of the sessions it left are dropped
    assert len(sim.server.sessions) > 5 and sum(1 for s in sim.server.sessions.values() if s.log) <= 2
    assert judge.pushed_count > 8000 and {f.name for f in judge.findings(result.ended_at)} >= {"reidentify_on_4009"}


def test_replay_output_is_deterministic() -> None:
    path = str(SAMPLES / "real" / "02-hermes-drops-60-90s.log")
    assert run("replay", path)[1] == run("replay", path)[1]
