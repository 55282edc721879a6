"""The end-of-suite secrets scan (conftest.no_secret_in_any_written_file) finds what it must."""

from __future__ import annotations

from pathlib import Path

from conftest import files_with_secrets


def test_scan_finds_a_planted_secret_and_token(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "journal.jsonl").write_text('{"token":"QQBot «token-1»","secret":"«client-secret»"}\n')
    assert files_with_secrets(clean) == []
    dirty = tmp_path / "dirty"
    dirty.mkdir()
    (dirty / "a.log").write_bytes(b"... QQBot chaos-3-0123456789abcdef ...")
    (dirty / "b.sqlite-wal").write_bytes(b"\x00live-secret-QWERTY\x00")
    hits = files_with_secrets(dirty)
    assert len(hits) == 2
    assert any("a.log" in h and "chaos-" in h for h in hits)
    assert any("b.sqlite-wal" in h and "live-secret-QWERTY" in h for h in hits)
    for path in dirty.iterdir():
        path.unlink()
