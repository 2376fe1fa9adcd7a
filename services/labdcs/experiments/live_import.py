"""Files a cycler is still writing, imported as they grow: the experiment runs while the file grows.

The harvester hands a growing file to :class:`LiveImport`. Each :meth:`LiveImport.update` reads the
file up to its last complete line (a binary file: as a whole, once its reader accepts it), writes
the rows not written yet as points, and moves the **checkpoint** (a ``harvested_files`` document):
``offset``, the bytes read; ``read_hash``, the sha256 of those bytes; ``rows``, the rows written. The
checkpoint moves only after the points are stored, so a harvester that stops anywhere resumes from
it and writes no row twice (a row written again before a crash lands on the same series and time
and replaces itself in InfluxDB: never a duplicate point). A file whose first ``offset`` bytes
changed was rewritten, not appended to: its live experiment ends as ``aborted`` with that reason,
and the new content is imported on its own.

The experiment is ``running`` (station ``import``, channel ``file``) from its first rows, with its
progress (cycle, voltage, current, accumulated capacities) and completed cycles updated each time
rows arrive, so its page is the live page of our own stations; it is ``finished`` once the file has
not grown for the quiet time (the harvester's ``--stable``), with the cycle statistics and the
``data_files`` record of an import, so the same content elsewhere is not imported again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labdcs.experiments.documents import (
    DataFile,
    Experiment,
    FileStatus,
    HarvestedFile,
    HarvestStatus,
    Progress,
    Status,
    new_experiment_id,
    now_ms,
)
from labdcs.experiments.importers import open_file
from labdcs.experiments.importing import file_hash, imported_experiment
from labdcs.experiments.readers import binary
from labdcs.experiments.readers.derive import blocks, cycle_stats, derive
from labdcs.experiments.readers.table import Table
from labdcs.experiments.series import MEASUREMENT, ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest.lineprotocol import Point

log = logging.getLogger(__name__)

BATCH = 20_000
_TAIL = 64 * 1024


def complete_bytes(path: Path, size: int) -> int:
    """Bytes up to and including the last line end: a line the cycler is writing is left for later."""
    with path.open("rb") as handle:
        end = size
        while end > 0:
            start = max(0, end - _TAIL)
            handle.seek(start)
            block = handle.read(end - start)
            at = block.rfind(b"\n")
            if at >= 0:
                return start + at + 1
            end = start
    return 0


def prefix_hash(path: Path, length: int) -> str:
    """sha256 of the first ``length`` bytes of ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        left = length
        while left > 0:
            block = handle.read(min(left, 1 << 20))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def read_upto(path: Path, length: int, work_dir: Path) -> Table:
    """The rows in the first ``length`` bytes of ``path`` as the importer reads them (every policy
    of :mod:`labdcs.experiments.readers.verify` applied); ImportFailed when they cannot be read
    (yet: a binary file written in blocks may not be readable between them)."""
    if binary.sniff(path) is not None:
        return open_file(path).read()
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        part = Path(folder) / path.name
        with path.open("rb") as source, part.open("wb") as target:
            left = length
            while left > 0:
                block = source.read(min(left, 1 << 20))
                if not block:
                    break
                target.write(block)
                left -= len(block)
        return open_file(part).read()


class Rewritten(Exception):
    """The file's content before the checkpoint changed: it was rewritten, not appended to."""


@dataclass
class LiveImport:
    """One growing file and its checkpoint; see the module docstring."""

    store: Store
    series: ExperimentSeries
    checkpoint: HarvestedFile
    cell: str | None = None
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "labdcs-live")

    @property
    def path(self) -> Path:
        return Path(self.checkpoint.path)

    @property
    def experiment(self) -> str | None:
        return self.checkpoint.experiment

    def update(self) -> int:
        """Import the rows appended since the checkpoint; returns how many. Rewritten when the file
        changed before the checkpoint; ImportFailed when its rows cannot be read (yet)."""
        path, point = self.path, self.checkpoint
        size = path.stat().st_size
        if size < point.offset or (point.offset and prefix_hash(path, point.offset) != point.read_hash):
            raise Rewritten(f"its first {point.offset} bytes changed (the file was rewritten)")
        upto = size if binary.sniff(path) is not None else complete_bytes(path, size)
        if upto <= point.offset:
            return 0
        table = read_upto(path, upto, self.work_dir)
        self._same_past(table)
        if len(table) <= point.rows:
            return 0
        if point.experiment is None:
            self._start(table)
        elif point.status is HarvestStatus.IMPORTED:  # finished, then the cycler went on: running again
            self.store.update_experiment(
                point.experiment, {"status": Status.RUNNING.value, "finished": None, "end_reason": None}
            )
        written = self._write(table, point.rows)
        point.offset, point.read_hash, point.rows = upto, prefix_hash(path, upto), len(table)
        point.last_row, point.last_time_ns = int(table.row[-1]), int(table.time_ns[-1])
        point.size, point.format, point.updated = size, table.meta.source_format, now_ms()
        point.status, point.reason = HarvestStatus.LIVE, "being written by the cycler: imported as it grows"
        self.store.put_harvested_file(point)
        return written

    def _same_past(self, table: Table) -> None:
        """The rows written so far read the same with the rows appended since (the import's policies
        look at the whole file: a time unit or a current sign decided anew would move them)."""
        point = self.checkpoint
        if point.rows == 0 or point.last_time_ns is None:
            return
        k = point.rows - 1
        now = (int(table.row[k]), int(table.time_ns[k])) if k < len(table) else None
        if now != (point.last_row, point.last_time_ns):
            raise Rewritten(
                f"the rows imported so far (to row {point.last_row}) read differently with the rows "
                "appended since"
            )

    def _start(self, table: Table) -> None:
        """The running experiment, from the first rows (its start: the file's own, else now)."""
        zero = int(table.time_ns[0])
        start_ns = table.meta.start_ns if table.meta.start_ns is not None else now_ms() * 1_000_000 - zero
        started = (start_ns + zero) // 1_000_000
        experiment_id = new_experiment_id(started)
        self.store.insert_experiment(
            imported_experiment(
                self.store,
                self.cell,
                id=experiment_id,
                name=self.path.stem,
                description=f"imported live from {self.path} ({table.meta.source_format}) while it grows",
                status=Status.RUNNING,
                started=started,
                operator="harvester",
            )
        )
        detail = f"{self.path.name}: live import started"
        self.store.audit("import", experiment_id, "harvester", detail=detail)
        self.checkpoint.experiment = experiment_id

    def _start_ns(self, table: Table, experiment: Experiment) -> int:
        """Unix ns of test time 0, the same at every update and after a restart: the file's own, else
        the experiment's start (the time the harvester first read it)."""
        if table.meta.start_ns is not None:
            return table.meta.start_ns
        return (experiment.started or 0) * 1_000_000 - int(table.time_ns[0])

    def _write(self, table: Table, first: int, *, final: bool = False) -> int:
        """Points for rows ``first:`` (the running totals are derived from every row, so they go on),
        the experiment's progress and its cycles (the open one only when ``final``)."""
        experiment_id = self.checkpoint.experiment
        assert experiment_id is not None
        experiment = self.store.experiment(experiment_id)
        start_ns = self._start_ns(table, experiment)
        tags = {"device": "import", "channel": "file", "kind": MEASUREMENT, "experiment": experiment_id}
        prefix = Point(MEASUREMENT, tags, {"x": 0.0}, 0).line().split(" ", 1)[0] + " "
        derived = derive(table)
        written = 0
        text = "".join(block for block, _ in blocks(prefix, table, derived, start_ns, BATCH))
        new: list[str] = text.splitlines()[first:]
        for at in range(0, len(new), BATCH):
            batch = new[at : at + BATCH]
            self.series.write_imported(batch, precision="ns")
            written += len(batch)
        ts_ms = (start_ns + table.time_ns) // 1_000_000
        stats = cycle_stats(experiment_id, table, derived, ts_ms)
        for stat in stats if final else stats[:-1]:  # the last cycle is open while the file grows
            self.store.put_cycle(stat)
        k = len(table) - 1
        progress = Progress(
            ts=int(ts_ms[k]), cycle_index=int(derived.cycle[k]),
            step_index=0 if table.step is None else int(table.step[k]),
            test_time=float(table.time_ns[k] - table.time_ns[0]) / 1e9, voltage=float(table.voltage[k]),
            current=float(table.current[k]),
            temperature=None if table.temperature is None or np.isnan(table.temperature[k])
            else float(table.temperature[k]),
            charge_capacity=float(derived.charge_ah[k]), discharge_capacity=float(derived.discharge_ah[k]),
        )  # fmt: skip
        self.store.update_experiment(experiment_id, {"progress": progress.model_dump(), "rows": len(table)})
        return written

    def finish(self, quiet_s: float) -> None:
        """The file stopped growing: import what is left (a last line without its line end too), then
        the experiment is finished, with its statistics and the content's ``data_files`` record."""
        path, point = self.path, self.checkpoint
        size = path.stat().st_size
        if point.offset and prefix_hash(path, point.offset) != point.read_hash:
            raise Rewritten(f"its first {point.offset} bytes changed (the file was rewritten)")
        table = read_upto(path, size, self.work_dir)
        self._same_past(table)
        if point.experiment is None:
            self._start(table)
        self._write(table, point.rows, final=True)
        experiment_id = point.experiment
        assert experiment_id is not None
        last = self.store.experiment(experiment_id).progress.ts
        self.store.update_experiment(
            experiment_id,
            {
                "status": Status.FINISHED.value,
                "finished": last,
                "end_reason": f"the file stopped growing (unchanged for {quiet_s:g} s)",
                "rows": len(table),
            },
        )
        digest = file_hash(path)
        self.store.update_experiment(experiment_id, {"data_files": [digest]})
        self.store.put_data_file(
            DataFile(
                id=digest, path=str(path), name=path.name, size=size, mtime=path.stat().st_mtime,
                format=table.meta.source_format, status=FileStatus.IMPORTED, experiment=experiment_id,
                rows=len(table), warnings=[w.text() for w in table.warnings],
            )
        )  # fmt: skip
        self.store.audit("import", experiment_id, "harvester", detail=f"{path.name}: {len(table)} rows, live")
        point.offset, point.read_hash, point.rows, point.size = size, digest, len(table), size
        point.status, point.reason, point.updated = HarvestStatus.IMPORTED, "", now_ms()
        self.store.put_harvested_file(point)
        log.info("live import of %s finished: %s, %d rows", path, experiment_id, len(table))

    def abandon(self, reason: str) -> None:
        """End the live experiment (the file was rewritten): aborted, with the reason; what it had
        imported stays, the checkpoint is dropped so the new content is imported on its own."""
        if self.checkpoint.experiment is not None:
            self.store.update_experiment(
                self.checkpoint.experiment,
                {"status": Status.ABORTED.value, "finished": now_ms(), "end_reason": reason},
            )
        self.checkpoint.experiment, self.checkpoint.offset, self.checkpoint.rows = None, 0, 0
        self.checkpoint.read_hash, self.checkpoint.last_time_ns = None, None
