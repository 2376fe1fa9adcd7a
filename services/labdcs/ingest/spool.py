"""A bounded on-disk queue of line-protocol lines between MQTT and InfluxDB.

Every message is appended here before it is acknowledged to the broker, and removed only after
InfluxDB accepted it: a crash, a restart or an InfluxDB outage loses nothing that was
acknowledged, and the size limit turns overload into backpressure (the ingester stops
acknowledging, so the broker holds the rest) instead of growing memory.

Layout: numbered segment files ``<n>.lp`` (one line per point) and a ``cursor`` file naming the
segment and byte offset up to which InfluxDB has the data. Appends are flushed to the operating
system at once (they survive a killed process) and synced to disk every second and at each segment
switch (a power cut may lose the last second).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


class SpoolInUse(RuntimeError):
    """Another ingester holds the spool folder: two writers would interleave and lose lines."""


@dataclass(frozen=True)
class Cursor:
    segment: int
    offset: int
    lines: int
    bytes: int


class Spool:
    def __init__(self, folder: Path, max_bytes: int, segment_bytes: int = 8 * 1024 * 1024) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        folder.mkdir(parents=True, exist_ok=True)
        # One ingester per spool (members of a share group each need their own): the lock goes
        # with the process, so a killed ingester's successor takes the folder over at once.
        self._owner = (folder / "lock").open("a")
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._owner.close()
            raise SpoolInUse(
                f"the spool folder {folder} is in use by another ingester: give each ingester its own "
                "(LABDCS_SPOOL_DIR)"
            ) from None
        self._lock = threading.Lock()
        self._cursor_path = folder / "cursor"
        segments = self._segments()
        self._read_segment, self._read_offset = self._load_cursor(segments)
        self._write_segment = segments[-1] if segments else self._read_segment
        self._writer = (folder / f"{self._write_segment:012d}.lp").open("ab")
        self._last_sync = time.monotonic()
        #: Lines staged for the next write (see stage), and their size.
        self._staged: list[bytes] = []
        self._staged_lines = 0
        self._staged_bytes = 0
        self.pending_lines = self._count_pending()
        self._pending_bytes = self._measure_pending()

    # --- state ------------------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.lp") if p.stem.isdigit())

    def _path(self, segment: int) -> Path:
        return self.folder / f"{segment:012d}.lp"

    def _load_cursor(self, segments: list[int]) -> tuple[int, int]:
        try:
            data = json.loads(self._cursor_path.read_text())
            segment, offset = int(data["segment"]), int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return (segments[0] if segments else 1), 0
        # Segments before the cursor are fully written: they may survive a crash during cleanup.
        for old in segments:
            if old < segment:
                self._path(old).unlink(missing_ok=True)
        return segment, offset

    def _count_pending(self) -> int:
        count = 0
        for segment in self._segments():
            if segment < self._read_segment:
                continue
            with self._path(segment).open("rb") as handle:
                if segment == self._read_segment:
                    handle.seek(self._read_offset)
                count += sum(1 for line in handle if line.endswith(b"\n"))
        return count

    def _measure_pending(self) -> int:
        total = sum(self._path(s).stat().st_size for s in self._segments() if s >= self._read_segment)
        return max(0, total - self._read_offset)

    @property
    def size_bytes(self) -> int:
        """Bytes not yet written to InfluxDB."""
        return self._pending_bytes

    # --- producer side ------------------------------------------------------------------------------

    def append(self, lines: list[str]) -> bool:
        """Store lines now; False (nothing stored) when the spool is full."""
        if not self.stage(lines):
            return False
        self.write_staged()
        return True

    def stage(self, lines: list[str]) -> bool:
        """Take lines for the next :meth:`write_staged` (they count against the size limit at
        once); False (nothing taken) when the spool is full. Nothing staged is stored until then:
        what their messages' acknowledgements wait for."""
        data = "".join(line + "\n" for line in lines).encode()
        with self._lock:
            if self._pending_bytes + self._staged_bytes + len(data) > self.max_bytes:
                return False
            self._staged.append(data)
            self._staged_lines += len(lines)
            self._staged_bytes += len(data)
        return True

    def write_staged(self) -> int:
        """Store what was staged with one write; the number of lines stored."""
        with self._lock:
            if not self._staged:
                return 0
            data, lines = b"".join(self._staged), self._staged_lines
            self._staged, self._staged_lines, self._staged_bytes = [], 0, 0
            self._writer.write(data)
            self._writer.flush()
            self.pending_lines += lines
            self._pending_bytes += len(data)
            if self._writer.tell() >= self.segment_bytes:
                self._rotate()
            elif time.monotonic() - self._last_sync > 1.0:
                os.fsync(self._writer.fileno())
                self._last_sync = time.monotonic()
        return lines

    def _rotate(self) -> None:
        os.fsync(self._writer.fileno())
        self._writer.close()
        self._write_segment += 1
        self._writer = self._path(self._write_segment).open("ab")

    # --- consumer side -------------------------------------------------------------------------------

    def read(self, max_lines: int) -> tuple[list[str], Cursor]:
        """Up to ``max_lines`` of the oldest unwritten lines and where they end."""
        with self._lock:
            segment, offset = self._read_segment, self._read_offset
            lines: list[str] = []
            consumed = 0
            while len(lines) < max_lines and segment <= self._write_segment:
                path = self._path(segment)
                if path.exists():
                    with path.open("rb") as handle:
                        handle.seek(offset)
                        while len(lines) < max_lines:
                            raw = handle.readline()
                            if not raw.endswith(b"\n"):
                                break  # end of file, or a line still being written
                            lines.append(raw[:-1].decode())
                            offset += len(raw)
                            consumed += len(raw)
                if len(lines) < max_lines and segment < self._write_segment:
                    segment, offset = segment + 1, 0
                else:
                    break
            return lines, Cursor(segment, offset, len(lines), consumed)

    def commit(self, cursor: Cursor) -> None:
        """InfluxDB has everything up to ``cursor``: forget it."""
        with self._lock:
            for old in range(self._read_segment, cursor.segment):
                self._path(old).unlink(missing_ok=True)
            self._read_segment, self._read_offset = cursor.segment, cursor.offset
            temporary = self._cursor_path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"segment": cursor.segment, "offset": cursor.offset}))
            os.replace(temporary, self._cursor_path)
            self.pending_lines = max(0, self.pending_lines - cursor.lines)
            self._pending_bytes = max(0, self._pending_bytes - cursor.bytes)

    def close(self) -> None:
        self.write_staged()
        with self._lock:
            self._writer.flush()
            os.fsync(self._writer.fileno())
            self._writer.close()
        self._owner.close()
