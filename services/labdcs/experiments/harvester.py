"""``labdcs harvest --watch DIR``: import the files cyclers leave in folders.

Every ``interval`` seconds each watched folder is scanned (polling works on every file system,
network shares included, where change notifications often do not). A file is imported once it has
stopped growing: the same size and modification time for ``stable_s`` seconds. The content hash
decides what is new: a file already imported (here or under another name) is skipped; a failed
one is recorded with its reason and retried only when its content changes.

It imports into the database itself, or, given a ``manager`` (``labdcs harvest --manager URL``),
uploads each file to the experiments manager with a token (scope ``import``) of a harvester
account: the harvesting PC then needs neither the database nor InfluxDB, only its token, and the
audit names the harvester account. The manager skips content it has imported already.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from labdcs.experiments.documents import FileStatus
from labdcs.experiments.importers import ImportFailed
from labdcs.experiments.importing import ImportRequest, file_hash, import_file
from labdcs.experiments.manager_client import Manager, ManagerError
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store

log = logging.getLogger(__name__)

DEFAULT_PATTERNS = ("*.csv", "*.txt", "*.mpt", "*.tsv", "*.0[0-9][0-9]")


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float
    digest: str | None = None
    """Content hash of the last attempt: a file is tried again only with another content."""


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
    imported: int = 0
    failed: int = 0
    _seen: dict[Path, _Seen] = field(default_factory=dict)
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

    def _candidates(self) -> list[Path]:
        found = []
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in self.patterns):
                    found.append(path)
        return found

    def scan(self) -> None:
        """One pass: note sizes, import what has been stable long enough."""
        now = time.monotonic()
        for path in self._candidates():
            try:
                stat = path.stat()
            except OSError:
                continue
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime) != (stat.st_size, stat.st_mtime):
                digest = seen.digest if seen else None
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime, now, digest)
                continue
            if now - seen.since < self.stable_s:
                continue
            try:
                self._consider(path, seen)
            except Exception as exc:  # one file never stops the others (recorded when it could be)
                self.failed += 1
                log.error(
                    "harvest %s failed: %s",
                    path,
                    exc,
                    exc_info=not isinstance(exc, ImportFailed | ManagerError),
                )

    def _consider(self, path: Path, seen: _Seen) -> None:
        """Import one stable file if its content is new; ImportFailed (recorded) when it is bad."""
        try:
            digest = file_hash(path)
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            return
        if digest == seen.digest:
            return  # tried already with this content
        seen.digest = digest
        if self.manager is not None:
            self._upload(self.manager, path)
            return
        assert self.store is not None and self.series is not None
        known = self.store.data_file(digest)
        if known is not None and (known.status is FileStatus.IMPORTED or known.path == str(path)):
            return  # imported already (perhaps under another name), or failed with this very content
        request = ImportRequest(
            path=path,
            name=path.name,
            source=str(path),
            cell=self.cell,
            record_failure=True,
            user="harvester",
            principal="harvester",
        )
        record = import_file(self.store, self.series, request)
        self.imported += 1
        log.info("harvested %s -> %s (%s rows)", path, record.experiment, record.rows)

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
