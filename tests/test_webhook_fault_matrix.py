"""The fault matrix's webhook rows (benchmarks/_webhook_faults.py) still run and judge: two rows, real sockets."""

from __future__ import annotations

from pathlib import Path

from benchmarks import _webhook_faults as wf


def test_webhook_rows_classify_forgeries_and_redeliveries(tmp_path: Path) -> None:
    by_name = {row.name: row for row in wf.rows()}
    forged = wf.run_row(by_name["webhook: forged signature on every event"], tmp_path, messages=8, seed=1)
    assert forged.outcome == "every event handled once", forged
    assert forged.events == forged.handled_once == 8 and forged.attacks == "8 refused, 0 accepted of 8"
    again = tmp_path / "again"
    again.mkdir()
    redelivered = wf.run_row(by_name["webhook: every event redelivered after its ack (same id)"], again,
                             messages=8, seed=2)
    assert redelivered.outcome == "every event handled once" and redelivered.dup == 0, redelivered
    text = wf.render([forged, redelivered], True)
    assert "| webhook: forged signature on every event | every event handled once | 8 | 8 | 0 | 0 |" in text
