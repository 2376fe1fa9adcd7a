"""``labdcs harvest --watch DIR``: import the files cyclers leave in folders, and account for each.

Every ``interval`` seconds each watched folder is scanned (polling works on every file system,
network shares included, where change notifications often do not). A file is imported once it has
stopped growing: the same size and modification time for ``stable_s`` seconds. The content hash
decides what is new: a file already imported (here or under another name) is skipped; a failed
one is recorded with its reason and retried only when its content changes; one that could not be
imported because InfluxDB or the document store was away is retried every ``retry_s`` seconds,
never marked failed for it.

**Every file is accounted for**: each file in a watched folder has one :class:`HarvestedFile`
document (``harvested_files``: ``GET /api/harvested-files``, the ``/harvest`` page) saying
``imported`` (with the experiment), ``failed`` (with the reason), ``skipped`` (with the reason: a
name none of the patterns matches, a hidden or lock file, content imported already), ``waiting``
(still being written, a service away) or ``live``; every change of it is one log line.

**Growing files are imported live**: a file seen to grow between two scans is handed to
:class:`~labdcs.experiments.live_import.LiveImport`: its new rows are imported at each scan that finds it
grown, the experiment runs, and it is finished once the file has not changed for ``stable_s``. The
checkpoint lives in the file's ``harvested_files`` document, so a restarted harvester resumes.

one is recorded with its reason and retried only when its content changes.

It imports into the database itself, or, given a ``manager`` (``labdcs harvest --manager URL``),
uploads each file to the experiments manager with a token (scope ``import``) of a harvester
account: the harvesting PC then needs neither the database nor InfluxDB, only its token, and the
audit names the harvester account. The manager skips content it has imported already.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from labdcs.experiments.documents import FileStatus, HarvestedFile, HarvestStatus
from labdcs.experiments.importers import ImportFailed
from labdcs.experiments.importing import ImportDeferred, ImportRequest, file_hash, import_file, transient
from labdcs.experiments.live_import import LiveImport, Rewritten
from labdcs.experiments.manager_client import Manager, ManagerError
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store

log = logging.getLogger(__name__)

DEFAULT_PATTERNS = (
    "*.csv", "*.txt", "*.mpt", "*.tsv", "*.0[0-9][0-9]", "*.mpr", "*.res", "*.nda", "*.ndax",
)  # fmt: skip
"""File names the harvester imports; every other file is accounted for as skipped, with this list."""


def file_id(path: Path) -> str:
    """The ``harvested_files`` id of a path (document ids are short and plain; paths are neither)."""
    return "f-" + hashlib.sha256(str(path).encode()).hexdigest()[:40]


def ignored(path: Path) -> str | None:
    """Why a file is never a data file, or None: hidden, office lock and partial-download files."""
    name = path.name
    if name.startswith("."):
        return "a hidden file"
    if name.startswith(("~$", ".~lock")) or name.endswith(("~", ".tmp", ".part", ".crdownload")):
        return "a temporary or lock file (an editor's or a copy in progress)"
    return None


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float
    digest: str | None = None
    """Content hash of the last attempt: a file is tried again only with another content."""
    retry_at: float = 0.0
    """Monotonic time before which a deferred import is not tried again."""


@dataclass
class Harvester:
    store: Store | None
    series: ExperimentSeries | None
    folders: list[Path]
    stable_s: float = 10.0
    interval: float = 2.0
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    cell: str | None = None
    manager: Manager | None = None
    retry_s: float = 10.0
    live: bool = True
    """Import a file that grows while watched as it grows (the experiment running); else wait."""
    imported: int = 0
    failed: int = 0
    skipped: int = 0
    _seen: dict[Path, _Seen] = field(default_factory=dict)
    _accounts: dict[Path, tuple[HarvestStatus, str]] = field(default_factory=dict)
    _live: dict[Path, LiveImport] = field(default_factory=dict)
    _checked: set[Path] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        for folder in self.folders:
            log.info(
                "harvesting %s (files stable for %g s; %s)", folder, self.stable_s, ", ".join(self.patterns)
            )
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # a folder that vanished, a store that hiccuped: the next scan tries again
                log.exception("harvest scan failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()

    def _files(self) -> list[tuple[Path, Path]]:
        found = []
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    found.append((folder, path))
        return found

    def account(
        self,
        folder: Path,
        path: Path,
        status: HarvestStatus,
        reason: str = "",
        *,
        experiment: str | None = None,
        format: str | None = None,
        size: int = 0,
        mtime: float | None = None,
        rows: int = 0,
    ) -> None:
        """Say what became of ``path``: one log line and one document per change, not per scan."""
        if self._accounts.get(path) == (status, reason):
            return
        level = logging.WARNING if status is HarvestStatus.FAILED else logging.INFO
        log.log(level, "harvest %s: %s%s", path, status.value, f" ({reason})" if reason else "")
        record = HarvestedFile(
            id=file_id(path), path=str(path), folder=str(folder), status=status, reason=reason,
            experiment=experiment, format=format, size=size, mtime=mtime, rows=rows,
        )  # fmt: skip
        if self.store is None:  # uploading to the manager: its log is the account
            self._accounts[path] = (status, reason)
            return
        try:
            self.store.put_harvested_file(record)
        except Exception as exc:  # the store away: said in the log, written again at the next change
            log.warning("harvest %s: cannot record its status in the store: %s", path, exc)
            return
        self._accounts[path] = (status, reason)

    def scan(self) -> None:
        """One pass: account for every file, note sizes, import what has been stable long enough."""
        now = time.monotonic()
        for folder, path in self._files():
            try:
                self._scan_one(folder, path, now)
            except Exception as exc:  # one file never stops the others (recorded when it could be)
                self.failed += 1
                log.error(
                    "harvest %s failed: %s",
                    path,
                    exc,
                    exc_info=not isinstance(exc, ImportFailed | ManagerError),
                )

    def _scan_one(self, folder: Path, path: Path, now: float) -> None:
        why_not = ignored(path)
        if why_not is None and not any(fnmatch.fnmatch(path.name, p) for p in self.patterns):
            why_not = f"its name matches none of the harvest patterns ({', '.join(self.patterns)})"
        if why_not is not None:
            if path not in self._accounts:
                self.skipped += 1
            self.account(folder, path, HarvestStatus.SKIPPED, why_not)
            return
        try:
            stat = path.stat()
        except OSError:
            return  # gone between the listing and now
        seen = self._seen.get(path)
        live = self._live.get(path) or self._resume(path)
        if seen is None or (seen.size, seen.mtime) != (stat.st_size, stat.st_mtime):
            self._seen[path] = _Seen(stat.st_size, stat.st_mtime, now, seen.digest if seen else None)
            if self.live and self.manager is None and (live is not None or seen is not None):  # grew
                self._grow(folder, path, live or self._reopen(path))
                return
            self.account(
                folder, path, HarvestStatus.WAITING,
                f"being written: imported once unchanged for {self.stable_s:g} s",
                size=stat.st_size, mtime=stat.st_mtime,
            )  # fmt: skip
            return
        if now - seen.since < self.stable_s or now < seen.retry_at:
            return
        if path in self._live:
            self._finish(folder, path, self._live[path], seen)
            return
        self._consider(folder, path, seen, stat.st_size, stat.st_mtime)

    # --- files imported while they grow (labdcs.experiments.live_import) --------------------------

    @property
    def _db(self) -> Store:
        assert self.store is not None, "live import writes the database (not through a manager)"
        return self.store

    @property
    def _ts(self) -> ExperimentSeries:
        assert self.series is not None, "live import writes InfluxDB (not through a manager)"
        return self.series

    def _resume(self, path: Path) -> LiveImport | None:
        """A live import this harvester (or one before a restart) left a checkpoint for."""
        if path in self._checked or self.manager is not None:
            return None
        self._checked.add(path)
        point = self._db.harvested_file(file_id(path))
        if point is None or point.status is not HarvestStatus.LIVE or point.experiment is None:
            return None
        live = LiveImport(self._db, self._ts, point, self.cell)
        log.info("harvest %s: live import resumed at row %d (%s)", path, point.rows, point.experiment)
        self._live[path] = live
        self._accounts[path] = (point.status, point.reason)
        return live

    def _reopen(self, path: Path) -> LiveImport | None:
        """A file imported live and finished that grows again: its experiment goes on (from its
        checkpoint) rather than a second experiment with the same rows."""
        point = self._db.harvested_file(file_id(path))
        if point is None or point.status is not HarvestStatus.IMPORTED or point.experiment is None:
            return None
        if not point.read_hash or not point.offset:
            return None  # imported whole: new content is a new import
        return LiveImport(self._db, self._ts, point, self.cell)

    def _grow(self, folder: Path, path: Path, live: LiveImport | None) -> None:
        """Rows were appended: import them now, the experiment running."""
        if live is None:
            point = HarvestedFile(
                id=file_id(path), path=str(path), folder=str(folder), status=HarvestStatus.LIVE
            )
            live = LiveImport(self._db, self._ts, point, self.cell)
        try:
            written = live.update()
        except Rewritten as exc:
            self._restart(folder, path, live, str(exc))
            return
        except ImportFailed as exc:  # not readable yet (a partial block, a header being written)
            self.account(folder, path, HarvestStatus.WAITING, f"being written; not readable yet: {exc}")
            return
        except Exception as exc:
            if not transient(exc):
                raise
            self.account(folder, path, HarvestStatus.WAITING, f"a service is not reachable ({exc})")
            return
        if live.experiment is not None:
            self._live[path] = live
            self._accounts[path] = (HarvestStatus.LIVE, live.checkpoint.reason)
            if written:
                log.info("harvest %s: live, %d new rows (%s)", path, written, live.experiment)

    def _restart(self, folder: Path, path: Path, live: LiveImport, why: str) -> None:
        old = live.experiment
        live.abandon(f"the file was rewritten while imported live: {why}")
        self._live.pop(path, None)
        log.warning("harvest %s: %s; live experiment %s aborted, imported anew", path, why, old)
        self._grow(folder, path, None)

    def _finish(self, folder: Path, path: Path, live: LiveImport, seen: _Seen) -> None:
        """The file stopped growing: the live experiment is finished."""
        try:
            live.finish(self.stable_s)
        except Rewritten as exc:
            self._restart(folder, path, live, str(exc))
            return
        except ImportFailed as exc:
            self._live.pop(path, None)
            if live.experiment is not None:
                self._db.update_experiment(
                    live.experiment, {"status": "error", "end_reason": f"the file's rows: {exc}"}
                )
            self.failed += 1
            self.account(folder, path, HarvestStatus.FAILED, str(exc), experiment=live.experiment)
            return
        except Exception as exc:
            if not transient(exc):
                raise
            self.account(folder, path, HarvestStatus.WAITING, f"a service is not reachable ({exc})")
            return
        self._live.pop(path, None)
        seen.digest = live.checkpoint.read_hash
        self.imported += 1
        point = live.checkpoint
        self._accounts[path] = (HarvestStatus.IMPORTED, "")
        log.info("harvest %s: imported (live; %s, %d rows)", path, point.experiment, point.rows)

    def _consider(self, folder: Path, path: Path, seen: _Seen, size: int, mtime: float) -> None:
        """Import one stable file if its content is new, and say what became of it."""
        try:
            digest = file_hash(path)
        except OSError as exc:
            self.account(folder, path, HarvestStatus.WAITING, f"cannot be read now: {exc}", size=size)
            return
        if digest == seen.digest:
            return  # tried already with this content
        if self.manager is not None:  # the manager decides what it has imported already
            seen.digest = digest
            try:
                self._upload(self.manager, path)
            except ImportFailed as exc:
                self.failed += 1
                self.account(folder, path, HarvestStatus.FAILED, str(exc), size=size, mtime=mtime)
                return
            self.account(folder, path, HarvestStatus.IMPORTED, size=size, mtime=mtime)
            return
        assert self.store is not None and self.series is not None
        try:
            known = self.store.data_file(digest)
        except Exception as exc:
            if not transient(exc):
                raise
            self._defer(folder, path, seen, f"the document store is not reachable ({exc})", size, mtime)
            return
        seen.digest = digest
        if known is not None and known.status is FileStatus.IMPORTED:
            if known.path == str(path):
                self.account(folder, path, HarvestStatus.IMPORTED, experiment=known.experiment,
                             format=known.format, rows=known.rows or 0, size=size, mtime=mtime)  # fmt: skip
                return
            self.skipped += 1
            self.account(
                folder, path, HarvestStatus.SKIPPED,
                f"the same content as {known.path}, imported already as {known.experiment}",
                experiment=known.experiment, format=known.format, size=size, mtime=mtime,
            )  # fmt: skip
            return
        if known is not None and known.path == str(path):
            self.account(folder, path, HarvestStatus.FAILED, known.error or "failed", format=known.format,
                         size=size, mtime=mtime)  # fmt: skip
            return  # failed with this very content (before a restart): retried when it changes
        request = ImportRequest(
            path=path,
            name=path.name,
            source=str(path),
            cell=self.cell,
            record_failure=True,
            user="harvester",
            principal="harvester",
        )
        try:
            record = import_file(self.store, self.series, request)
        except ImportDeferred as exc:
            self._defer(folder, path, seen, str(exc), size, mtime)
            return
        except ImportFailed as exc:
            self.failed += 1
            self.account(folder, path, HarvestStatus.FAILED, str(exc), size=size, mtime=mtime)
            return
        self.imported += 1
        self.account(folder, path, HarvestStatus.IMPORTED, experiment=record.experiment,
                     format=record.format, rows=record.rows or 0, size=size, mtime=mtime)  # fmt: skip

    def _defer(self, folder: Path, path: Path, seen: _Seen, why: str, size: int, mtime: float) -> None:
        """A service was away: not a failure of the file; tried again after ``retry_s``."""
        seen.digest = None
        seen.retry_at = time.monotonic() + self.retry_s
        self.account(
            folder, path, HarvestStatus.WAITING, f"{why}; tried again in {self.retry_s:g} s",
            size=size, mtime=mtime,
        )  # fmt: skip

    def _upload(self, manager: Manager, path: Path) -> None:
        """The file to the manager's import (waiting for its end); ImportFailed with its problems."""
        from labdcs.manager_api.api.data import create_import_api_imports_post as create_import
        from labdcs.manager_api.models import BodyCreateImportApiImportsPost, ImportJobOut
        from labdcs.manager_api.types import UNSET, File

        with path.open("rb") as data:  # streamed by httpx, not read whole: cycler files are megabytes
            body = BodyCreateImportApiImportsPost(
                file=File(payload=data, file_name=path.name, mime_type="application/octet-stream"),
                cell=self.cell or UNSET,
            )
            job = manager.one(ImportJobOut, create_import.sync_detailed, body=body, wait=True)
        if job.state.value != "done":
            raise ImportFailed([str(p) for p in (job.problems or [])] or [str(job.error or job.state)])
        self.imported += 1
        log.info("harvested %s -> %s (%s rows) through %s", path, job.experiment, job.rows, manager.url)
