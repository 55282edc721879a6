"""Every log excerpt in logs_samples/ replayed: the incident it names is the one its source gives.

The judge is independent of the reader: each excerpt's ``.meta.json`` holds the incident from its
thread's own diagnosis (``expected_incident``, with the thread's words in ``why``), written
before and apart from the reader's rules. Where the excerpt's lines cannot show that incident
(a reporter's prose carries the period, the search tool cut the lines that show it), the meta
says what the lines do show (``lines_show``) and why. Where the thread states context the lines
do not carry (the day the log was written, that the process ran on), the meta gives the
options a user would pass (``replay_args``) and why. The expected exit status follows from the
incident: 2 for nothing to diagnose, 1 for inconclusive, else 0 (named, reproduced by the
client's model where one exists, survived by the core).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from qqgate.cli import main
from qqgate.replay.logs import TAXONOMY

SAMPLES = Path(__file__).resolve().parent.parent / "logs_samples"
METAS = sorted(SAMPLES.glob("*.meta.json")) + sorted(SAMPLES.glob("real/*.meta.json"))


def _meta(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def replay(log: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["replay", str(log), *args])
    return code, out.getvalue(), err.getvalue()


def test_there_are_enough_real_excerpts_from_enough_clients() -> None:
    real = [_meta(p) for p in sorted(SAMPLES.glob("real/*.meta.json"))]
    assert len(real) >= 30
    clients = {str(m["client"]).split(" (")[0].split(",")[0] for m in real}
    assert len(clients) >= 6, clients
    assert all(str(m["source_url"]).startswith("https://github.com/") for m in real)
    for path in sorted(SAMPLES.glob("real/*.meta.json")):
        assert path.with_name(path.name.replace(".meta.json", ".log")).exists()


@pytest.mark.parametrize("meta_path", METAS, ids=lambda p: p.name.replace(".meta.json", ""))
def test_each_excerpt_names_its_expected_incident(meta_path: Path) -> None:
    meta = _meta(meta_path)
    expected = str(meta.get("lines_show") or meta["expected_incident"])
    assert expected in TAXONOMY, expected
    log = meta_path.with_name(meta_path.name.replace(".meta.json", ".log"))
    args = [str(a) for a in meta.get("replay_args", [])]  # type: ignore[union-attr]
    code, out, err = replay(log, *args)
    print(out)  # the reading report and the replay, shown with pytest -s or on failure
    named = next((line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("incident ")), None)
    if expected == "nothing_to_diagnose":
        assert code == 2 and "nothing to diagnose" in err, (out, err)
        return
    assert named == expected, out
    assert code == (1 if expected == "inconclusive" else 0), out
    assert "reading report" in out


def test_every_incident_class_but_the_unfound_is_shown_by_a_real_excerpt() -> None:
    shown = {str(_meta(p).get("lines_show") or _meta(p)["expected_incident"])
             for p in sorted(SAMPLES.glob("real/*.meta.json"))}
    unfound = {"banned", "banned_or_fatal_ignored"}  # no public thread quotes a 4914/4915 line
    assert set(TAXONOMY) - unfound <= shown | {"busy_spin"} , set(TAXONOMY) - shown
    busy = [p for p in sorted(SAMPLES.glob("real/*.meta.json")) if _meta(p)["expected_incident"] == "busy_spin"]
    assert busy, "the busy spin is shown by a real excerpt (with the date it was written)"
