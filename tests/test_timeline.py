"""The timeline model and its renderers, without a browser (tests/test_timeline_browser.py opens the page)."""

from __future__ import annotations

import base64
import gzip
import json
import re
import sys
from pathlib import Path

import orjson
import pytest

from qqgate.core.journal import journal_lines, read_journal
from qqgate.replay import SCENARIOS, journal_header, run_scenario
from qqgate.replay.timeline import (
    MarkKind, PictureError, render_html, timeline_data, timeline_of_journal, timeline_of_outcomes, wall_text,
    write_png,
)
from qqgate.replay.world import HeartbeatSent, HeartbeatTimedOut, SocketOpening

ROOT = Path(__file__).resolve().parent.parent
K = MarkKind


@pytest.fixture(scope="module")
def death_loop():
    s = SCENARIOS["death-loop"]
    outcomes = [(c, run_scenario(s, c)) for c in ("legacy", "core")]
    return outcomes, timeline_of_outcomes("death-loop", outcomes)


@pytest.fixture(scope="module")
def half_open():
    s = SCENARIOS["half-open"]
    outcomes = [(c, run_scenario(s, c)) for c in ("legacy", "core")]
    return outcomes, timeline_of_outcomes("half-open", outcomes)


def test_lanes_show_what_the_world_saw(death_loop):
    outcomes, tl = death_loop
    legacy, core = tl.lanes
    assert (legacy.key, core.key) == ("legacy", "core")
    for lane, (_, outcome) in zip(tl.lanes, outcomes):
        run = outcome.run
        assert lane.count(K.OPEN) == run.count(SocketOpening)
        assert lane.count(K.HEARTBEAT) == run.count(HeartbeatSent)
        assert lane.count(K.SERVER_DROP) == run.count(HeartbeatTimedOut)
        assert [m.at for m in lane.marks] == sorted(m.at for m in lane.marks)
        assert all(0 <= m.step < len(lane.steps) for m in lane.marks if m.kind is not K.SERVER_DROP)
    # the death loop: the legacy model's reconnected sockets carry no heartbeat, the server drops them
    assert [f.name for f in legacy.findings] == ["death_loop"] and legacy.findings[0].failure
    assert legacy.count(K.SERVER_DROP) >= 50
    assert core.findings == [] and core.count(K.SERVER_DROP) == 0
    assert core.count(K.ACK) >= core.count(K.HEARTBEAT) - 1
    assert [w.label for w in tl.windows] == ["ServerClose"]


def test_bands_cover_the_run_and_say_where_phases_came_from(death_loop):
    _, tl = death_loop
    legacy, core = tl.lanes
    assert legacy.phases_derived and not core.phases_derived
    for lane in tl.lanes:
        assert lane.bands[0].start == 0.0
        assert all(a.end == b.start for a, b in zip(lane.bands, lane.bands[1:]))
        assert lane.bands[-1].end == pytest.approx(tl.end_s)
    assert {b.phase for b in core.bands} >= {"READY", "RESUMING", "CONNECTING"}


def test_a_half_open_link_is_a_dead_window_until_noticed(half_open):
    _, tl = half_open
    legacy, core = tl.lanes
    [dead_legacy] = legacy.windows
    assert dead_legacy.detail == "never noticed by the client" and dead_legacy.end == pytest.approx(tl.end_s)
    [dead_core] = core.windows
    assert "noticed after" in dead_core.detail and dead_core.end - dead_core.start < 2 * 41.25 + 5
    assert core.count(K.ZOMBIE) == 1
    assert legacy.count(K.LOST) >= 1 and core.count(K.LOST) == 0


def test_a_journal_reads_to_the_same_lane_as_its_run():
    outcome = run_scenario(SCENARIOS["session-cycle"], "core", hours=1.0)
    data = b"".join(journal_lines(journal_header(outcome, "session-cycle", 1, 1.0), outcome.run.journal))
    from_journal = timeline_of_journal("j", read_journal(data)).lanes[0]
    from_run = timeline_of_outcomes("r", [("core", outcome)]).lanes[0]
    world_only = {K.SERVER_DROP, K.LOST}
    assert [(m.kind, m.label, m.step) for m in from_journal.marks] == \
        [(m.kind, m.label, m.step) for m in from_run.marks if m.kind not in world_only]
    assert from_journal.bands[:-1] == from_run.bands[:-1]  # the run goes on past its last step
    assert from_journal.bands[-1].phase == from_run.bands[-1].phase == "READY"
    assert from_journal.steps == from_run.steps


def _journal(header_extra: dict[str, object], first_at: float = 500.0) -> bytes:
    outcome = run_scenario(SCENARIOS["session-cycle"], "core", hours=0.2)
    steps = [(type(inp)(**{**{f: getattr(inp, f) for f in inp.__dataclass_fields__}, "at": inp.at + first_at}), c)
             for inp, c in outcome.run.journal]
    header = {**journal_header(outcome, "session-cycle", 1, 0.2), **header_extra}
    return b"".join(journal_lines(header, steps))


def test_wall_clock_from_the_journal_header():
    anchored = timeline_of_journal("j", read_journal(_journal({"started_at_unix_s": 1_700_000_000.0,
                                                                "started_at_monotonic_s": 499.5})))
    assert anchored.origin_unix_s == pytest.approx(1_700_000_000.5)
    assert wall_text(anchored, 0.0, date=True) == "2023-11-14 22:13:20"
    assert "anchor" in anchored.origin_note
    rough = timeline_of_journal("j", read_journal(_journal({"started_at_unix_s": 1_700_000_000.0})))
    assert rough.origin_unix_s == 1_700_000_000.0 and "≈" in rough.origin_note
    simulated = timeline_of_journal("j", read_journal(_journal({})))
    assert simulated.origin_unix_s is None and wall_text(simulated, 3725.0) == "+1:02:05"
    assert simulated.lanes[0].bands[0].start == 0.0  # times from the first step


def test_the_page_is_self_contained_and_carries_every_step_redacted(death_loop):
    _, tl = death_loop
    page = render_html(tl)
    assert page == render_html(tl)  # deterministic
    assert not re.search(r"""(src|href)\s*=\s*["']""", page)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in page and "url(http" not in page
    data = json.loads(re.search(r'id="timeline-data">(.*?)</script>', page, re.S).group(1))
    assert [lane["key"] for lane in data["lanes"]] == ["legacy", "core"]
    assert data == json.loads(orjson.dumps(timeline_data(tl)))
    for i, lane in enumerate(tl.lanes):
        blob = re.search(rf'id="steps-{i}">(.*?)</script>', page, re.S).group(1)
        steps = json.loads(gzip.decompress(base64.b64decode(blob)))
        assert len(steps) == len(lane.steps) > 100
        assert json.loads(steps[0])["input"]["type"] == "Start"
        assert not any(re.search(r"sim-token-\d", s) for s in steps)
        assert any("«token-1»" in s for s in steps)
    assert not re.search(r"sim-token-\d", page)


def test_the_page_folds_marks_by_time_not_by_dropping_them(death_loop):
    _, tl = death_loop
    data = timeline_data(tl)
    for lane, encoded in zip(tl.lanes, data["lanes"]):
        for kinds in encoded["marks"]:
            times = []
            total = 0
            for d in kinds["t"]:
                total += d
                times.append(total / 1000)
            expected = [m.at for m in lane.marks if m.kind.value == kinds["k"]]
            assert times == pytest.approx(expected, abs=0.001)


def test_png_is_a_picture(death_loop, tmp_path):
    pytest.importorskip("matplotlib")
    _, tl = death_loop
    size = write_png(tl, tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and size == len(data) > 20_000


def test_png_without_matplotlib_says_what_to_install(death_loop, tmp_path, monkeypatch):
    _, tl = death_loop
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PictureError, match=r"pip install 'qqgate\[png\]'"):
        write_png(tl, tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()


def test_cli_writes_both_pictures(tmp_path, capsys):
    from qqgate.cli import main
    pytest.importorskip("matplotlib")
    status = main(["replay", str(ROOT / "logs_samples" / "death-loop.log"), "--html", str(tmp_path / "r.html"),
                   "--png", str(tmp_path / "r.png")])
    out = capsys.readouterr().out
    assert status == 0
    assert f"html      timeline written to {tmp_path / 'r.html'}" in out
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv", [["simulate", "half-open"], ["replay", "logs_samples/death-loop.log"]])
def test_cli_refuses_an_unwritable_picture_before_any_work(argv, tmp_path, capsys):
    from qqgate.cli import main
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--html", str(tmp_path / "missing" / "r.html")])
    assert exc.value.code == 2
    err = capsys.readouterr()
    assert err.out == "" and f"no such folder: {tmp_path / 'missing'}" in err.err


def test_terminal_timeline_folds_the_routine_and_calls_out_a_missing_ack(capsys):
    from qqgate.cli import main
    assert main(["timeline", str(ROOT / "logs_samples" / "half-open.core.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # no colours when not on a terminal
    lines = out.splitlines()
    assert lines[0].endswith("half-open.core.jsonl") and "times: the journal has no wall-clock start" in out
    assert "+0:00:00.349  READY on connection 1, s=1" in lines
    fold = next(line for line in lines if line.startswith("  … 30 heartbeats"))
    assert fold == "  … 30 heartbeats, 29 ACKs, 67 dispatches delivered (until +0:20:19.894); the last heartbeat got no ACK"
    zombie = lines.index(fold) + 1
    assert lines[zombie].startswith("+0:21:01.144  zombie connection 1 noticed")
    assert len(lines) < 200  # 1103 steps


def test_terminal_timeline_of_a_store_has_wall_clock_times(tmp_path, capsys):
    import datetime
    import time

    from qqgate.cli import main
    from qqgate.io_shell.journal import open_recorder
    outcome = run_scenario(SCENARIOS["session-cycle"], "core", hours=0.5)
    mono = time.monotonic()
    recorder = open_recorder(tmp_path / "j.sqlite", journal_header(outcome, "session-cycle", 1, 0.5), mode="thread")
    for inp, commands in outcome.run.journal:
        recorder.record(type(inp)(**{**{f: getattr(inp, f) for f in inp.__dataclass_fields__}, "at": inp.at + mono}),
                        commands)
    recorder.close()
    assert main(["timeline", str(tmp_path / "j.sqlite"), "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "times: UTC; wall clock from the journal header's anchor" in out
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    first = next(line for line in out.splitlines() if "phase RESOLVING" in line)
    assert first.startswith(today) or first[:10] < today  # a run that crossed midnight UTC
    assert re.search(r"^… \d+ more lines \(--limit 0 prints them all\)$", out, re.M)


def test_terminal_timeline_refuses_what_is_not_a_journal(tmp_path, capsys):
    from qqgate.cli import main
    (tmp_path / "x.jsonl").write_text("not json\n")
    assert main(["timeline", str(tmp_path / "x.jsonl")]) == 2
    assert main(["timeline", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("qqgate timeline: ") and "not JSON" in err[0]
    assert err[1] == f"qqgate timeline: cannot read {tmp_path / 'missing.jsonl'}: No such file or directory"
