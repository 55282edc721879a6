"""The fault matrix (benchmarks/faults.py) still runs and classifies: 4009 and 4915, qqgate only, real sockets."""

from __future__ import annotations

from benchmarks import faults


def test_fault_matrix_classifies_recovery_and_fatal() -> None:
    names = ("4009 alone", "4915 (Ban)")
    qq, bp, problems, bounds = faults.measure(True, only=lambda r: r.name in names, botpy=False,
                                              bounds=faults.Bounds(recover_s=15.0, fatal_s=10.0))
    assert bp == []
    assert not [p for p in problems if not p.startswith("(info)")], problems
    by = {r.row: r for r in qq}
    assert set(by) == set(names)
    resumed = by["4009 alone"]
    assert resumed.outcome == f"{faults.RECOVERED} (resume)", resumed
    assert resumed.recover_s is not None and 0 <= resumed.recover_s < 15.0
    assert resumed.lost == 0 and resumed.dup == 0
    assert by["4915 (Ban)"].outcome == faults.RIGHT_FATAL, by["4915 (Ban)"]
    text = faults.render(qq, bp, True, bounds, problems)
    assert "| 4009 alone | recovered (resume) |" in text
