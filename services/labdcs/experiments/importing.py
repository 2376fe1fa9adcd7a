"""Importing a finished experiment from a file, atomically, with progress.

The file is read once, as a stream: each verified sample becomes an InfluxDB point (measurement
``cycler``, policy ``experiments``, tag ``experiment``) written in batches while the cycle
statistics accumulate. The documents (experiment, cycle statistics, data file) are written only
when the whole file was good and every point stored; on any failure the points already written are
deleted and nothing of the experiment stays behind. A file is identified by its content (sha256):
the same content is never imported twice, wherever it lies and whatever its name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from labdcs.experiments.documents import (
    DEFAULT_TEAM,
    DataFile,
    Experiment,
    FileStatus,
    Limits,
    Status,
    new_experiment_id,
)
from labdcs.experiments.importers import ImportFailed, open_file
from labdcs.experiments.readers.derive import Derived, blocks, cycle_stats, derive
from labdcs.experiments.readers.table import RowWarning, Table
from labdcs.experiments.series import MEASUREMENT, ExperimentSeries
from labdcs.experiments.store import Store, StoreError
from labdcs.ingest.influx import InfluxError
from labdcs.ingest.lineprotocol import Point

log = logging.getLogger(__name__)

BATCH = 20_000


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def imported_experiment(store: Store, cell: str | None, **fields: Any) -> Experiment:
    """An experiment read from a file, not run here: no station channel or protocol of ours
    (``import``/``file``/``none``), and the cell's technology when the cell is known."""
    cell_doc = store.cell(cell) if cell else None
    return Experiment(
        cell=cell or "unknown",
        station="import",
        channel="file",
        protocol="none",
        source="import",
        technology=cell_doc.technology if cell_doc else None,
        **fields,
    )


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ImportRequest:
    path: Path
    name: str
    format: str | None = None
    mapping: str | dict[str, str] | None = None
    cell: str | None = None
    experiment_name: str | None = None
    delete_after: bool = False
    record_failure: bool = False
    """Keep a failed DataFile document (the harvester does, to retry only when the file changes)."""
    source: str | None = None
    """Where the file lives for people (the harvester's path); default: ``name``."""
    user: str | None = None
    """The person the import names (the experiment's operator)."""
    principal: str | None = None
    """Who is authenticated as importing: the web login of an upload, or ``harvester``."""
    team: str = DEFAULT_TEAM
    """The team the imported experiment belongs to."""


@dataclass
class ImportJob:
    request: ImportRequest
    id: str = field(default_factory=lambda: f"imp-{secrets.token_hex(6)}")
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    rows: int = 0
    format: str | None = None
    experiment: str | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.request.name,
            "state": self.state,
            "progress": round(self.progress, 4),
            "rows": self.rows,
            "format": self.format,
            "experiment": self.experiment,
            "error": self.error,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def _mapping(value: str | dict[str, str] | None) -> dict[str, str] | None:
    if value is None or isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImportFailed([f"column mapping is not JSON: {exc}"]) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ImportFailed(['column mapping must be a JSON object {"column": "quantity/unit"}'])
    return data


def import_file(
    store: Store, series: ExperimentSeries, request: ImportRequest, job: ImportJob | None = None
) -> DataFile:
    """Import one file; ImportFailed (problems naming rows and columns) leaves the store as it was."""
    job = job or ImportJob(request)
    path = request.path
    digest = file_hash(path)
    known = store.data_file(digest)
    if known is not None and known.status is FileStatus.IMPORTED:
        job.experiment, job.rows, job.format, job.progress = (
            known.experiment,
            known.rows or 0,
            known.format,
            1.0,
        )
        return known
    stat = path.stat()
    record = DataFile(
        id=digest,
        path=request.source or request.name,
        name=request.name,
        size=stat.st_size,
        mtime=stat.st_mtime,
        status=FileStatus.FAILED,
    )
    experiment_id = new_experiment_id()
    written = documents = False
    try:
        limits: Limits | None = None
        if request.cell is not None:
            limits, _ = store.cell_envelope(store.cell(request.cell))
        reader = open_file(
            path, request.format, _mapping(request.mapping), limits, lambda f: setattr(job, "progress", f / 2)
        )
        record.format = job.format = reader.layout.format
        table = reader.read()
        start_ns = _start(table, request.name, int(stat.st_mtime * 1000) * 1_000_000)
        warnings = [w.text() for w in table.warnings]
        job.warnings = warnings
        derived = derive(table)
        ts_ms = (start_ns + table.time_ns) // 1_000_000
        stats = cycle_stats(experiment_id, table, derived, ts_ms)
        written = True
        _write(series, table, derived, experiment_id, start_ns, job)
        first_ms, last_ms = int(ts_ms[0]), int(ts_ms[-1])
        experiment = imported_experiment(
            store,
            request.cell,
            id=experiment_id,
            name=request.experiment_name or Path(request.name).stem,
            description=f"imported from {request.source or request.name} ({reader.layout.format})",
            status=Status.FINISHED,
            started=first_ms,
            finished=last_ms,
            end_reason="imported",
            data_files=[digest],
            rows=len(table),
            operator=request.user or request.principal or "",
            team=request.team,
        )
        documents = True
        store.insert_experiment(experiment)
        store.put_cycles(experiment_id, stats)
        detail = f"{request.name}: {len(table)} rows"
        store.audit("import", experiment_id, request.user, detail=detail, principal=request.principal)
        record.status, record.experiment, record.rows = FileStatus.IMPORTED, experiment_id, len(table)
        record.error, record.problems, record.warnings = None, [], warnings
        store.put_data_file(record)  # the last write: the import counts once this is stored
    except BaseException as exc:  # whatever went wrong, nothing of the experiment stays behind
        _roll_back(store, series, experiment_id, request.name, points=written, documents=documents)
        if not isinstance(exc, Exception):
            raise
        problems = _problems(exc, request.name)
        deferred = transient(exc)
        if request.record_failure and not deferred:
            record.status, record.error, record.problems = FileStatus.FAILED, problems[0], problems
            try:
                store.put_data_file(record)
            except Exception as unrecorded:
                log.error("import of %s: cannot record its failure: %s", request.name, unrecorded)
        if deferred:
            raise ImportDeferred(problems) from exc
        if isinstance(exc, ImportFailed):
            raise
        raise ImportFailed(problems) from exc
    job.experiment, job.rows, job.progress = experiment_id, len(table), 1.0
    log.info("imported %s as %s: %d rows, %d cycles", request.name, experiment_id, len(table), len(stats))
    return record


class ImportDeferred(ImportFailed):
    """The import could not finish for a reason that passes (InfluxDB or the document store not
    reachable): nothing was kept, no failure was recorded, and the file is to be tried again."""


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` says a service was briefly away rather than something about the file."""
    if isinstance(exc, InfluxError):
        return True
    try:
        from pymongo.errors import ConnectionFailure
    except ImportError:  # pragma: no cover - pymongo is a dependency
        return False
    if isinstance(exc, ConnectionFailure):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


_EXPECTED = (ImportFailed, StoreError, InfluxError, OSError, ValueError)
"""Failures with a message meant for people; anything else is a bug, logged with its traceback."""


def _problems(exc: Exception, name: str) -> list[str]:
    if isinstance(exc, ImportFailed):
        return list(exc.problems)
    if isinstance(exc, _EXPECTED):
        return [str(exc) or type(exc).__name__]
    log.error("import of %s failed on an internal error", name, exc_info=exc)
    return [f"internal error ({type(exc).__name__}: {exc}); the file was not imported"]


def _roll_back(
    store: Store, series: ExperimentSeries, experiment_id: str, name: str, *, points: bool, documents: bool
) -> None:
    """Delete what a failed import may have written: its points, its experiment and statistics."""
    if points:
        try:
            series.delete(experiment_id)
        except Exception as cleanup:  # nothing more can be done: say so loudly
            log.error(
                "import of %s: cannot delete its points (experiment %s): %s", name, experiment_id, cleanup
            )
    if not documents:
        return
    try:
        store.delete_experiment(experiment_id)
    except Exception as cleanup:
        log.error(
            "import of %s: cannot delete its documents (experiment %s): %s", name, experiment_id, cleanup
        )


_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def _start(table: Table, name: str, upload_ns: int) -> int:
    """Unix ns of test time 0: the file's own (header, clock column), else the date in its name (the
    BDF's naming convention puts it there), else the upload time; the last two with a warning."""
    if table.meta.start_ns is not None:
        return table.meta.start_ns
    match = _NAME_DATE.search(name)
    if match is not None:
        try:
            year, month, date = (int(g) for g in match.groups())
            day = datetime(year, month, date, tzinfo=UTC)
        except ValueError:
            day = None
        if day is not None:
            table.warnings.append(
                RowWarning(
                    "start_time",
                    f"the file does not say when the test started: "
                    f"midnight UTC of the date in its name ({day:%Y-%m-%d}) is used",
                )
            )
            table.meta.start_source = "file name"
            return int(day.timestamp()) * 1_000_000_000 - int(table.time_ns[0])
    table.warnings.append(
        RowWarning("start_time", "the file does not say when the test started: the upload time is used")
    )
    table.meta.start_source = "upload time"
    return upload_ns - int(table.time_ns[0])


def _write(
    series: ExperimentSeries,
    table: Table,
    derived: Derived,
    experiment_id: str,
    start_ns: int,
    job: ImportJob,
) -> None:
    """Every row as a point (ns timestamps), in blocks formatted from the columns while the block
    before is being written (a thread: InfluxDB works while Python formats)."""
    tags = {"device": "import", "channel": "file", "kind": MEASUREMENT, "experiment": experiment_id}
    # The series key is the one Point.line() gives, checked by the tests against the live mapping.
    prefix = Point(MEASUREMENT, tags, {"x": 0.0}, 0).line().split(" ", 1)[0] + " "
    pending: queue.Queue[tuple[str, int] | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []
    done = [0]

    def writer() -> None:
        while (item := pending.get()) is not None:
            if failed:
                continue
            try:
                series.write_imported_block(*item)
                done[0] += item[1]
                job.rows, job.progress = done[0], 0.5 + 0.5 * done[0] / max(1, len(table))
            except BaseException as exc:  # handed to the importing thread, which rolls back
                failed.append(exc)

    thread = threading.Thread(target=writer, name=f"import-write-{experiment_id}", daemon=True)
    thread.start()
    try:
        for block in blocks(prefix, table, derived, start_ns, BATCH):
            if failed:
                break
            pending.put(block)
    finally:
        pending.put(None)
        thread.join()
    if failed:
        raise failed[0]


class ImportJobs:
    """Imports running in background threads (one at a time), with their progress for the UI."""

    def __init__(self, store: Store, series: ExperimentSeries, keep: int = 200) -> None:
        self.store = store
        self.series = series
        self.keep = keep
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def submit(self, request: ImportRequest) -> ImportJob:
        job = ImportJob(request)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                del self._jobs[next(iter(self._jobs))]
        threading.Thread(target=self._run, args=(job,), name=f"import-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> ImportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: ImportJob) -> None:
        with self._one_at_a_time:
            job.state = JobState.RUNNING
            try:
                import_file(self.store, self.series, job.request, job)
                job.state = JobState.DONE
            except ImportFailed as exc:
                job.state, job.error, job.problems = JobState.FAILED, str(exc), exc.problems
            except Exception as exc:
                log.exception("import %s failed", job.id)
                job.state, job.error, job.problems = JobState.FAILED, f"internal error: {exc}", [str(exc)]
            finally:
                if job.request.delete_after:
                    job.request.path.unlink(missing_ok=True)
                job.done.set()
