"""The spool's staged writes: what the ingester's batch acknowledgement waits for."""

from __future__ import annotations

from pathlib import Path

from labdcs.ingest.spool import Spool


def test_staged_lines_are_stored_only_by_write_staged_and_count_against_the_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    try:
        assert spool.stage(["a" * 39, "b" * 39])  # 80 bytes with their newlines
        assert spool.read(10)[0] == [] and spool.pending_lines == 0, "staged is not stored yet"
        assert not spool.stage(["c" * 29]), "staged lines count against the size limit"
        assert spool.write_staged() == 2
        lines, cursor = spool.read(10)
        assert lines == ["a" * 39, "b" * 39] and spool.pending_lines == 2
        assert spool.write_staged() == 0
        spool.commit(cursor)
        assert spool.append(["é" * 10]) and spool.size_bytes == 21, "sizes are bytes, not characters"
    finally:
        spool.close()
