"""The document store's engine: MongoDB through pymongo, or natively the same code on montydb (SQLite).

The connection URL chooses the engine:

- ``mongodb://host:27017/labdcs`` (or ``mongodb+srv://``): a MongoDB server through pymongo;
- ``montydb:///absolute/folder`` or ``montydb://relative/folder``: montydb's SQLite storage in that
  folder, no server (the default of ``labdcs up`` and of a developer's machine);
- ``montydb://:memory:``: montydb in memory (tests).

The store uses only what both engines do: ``find`` with sort/skip/limit, ``count_documents``,
``insert_one``, ``replace_one``/``update_one`` with ``$set`` and upsert, ``find_one_and_update``
(the queue's atomic claim), ``delete_many``, ``create_index``. montydb ignores indexes (it scans;
fine for a lab's thousands of documents) and has no aggregation pipeline, so nothing here uses
one. montydb is not safe for concurrent writers across processes: one process (``labdcs
experiments serve``) owns an embedded database, and a lock serialises its threads.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from labdcs.experiments.documents import DEFAULT_TEAM, SCHEMA_VERSION, AuditEntry, now_ms

log = logging.getLogger(__name__)

COLLECTIONS = (
    "cell_types",
    "cells",
    "stations",
    "protocols",
    "experiments",
    "cycle_stats",
    "data_files",
    "harvested_files",
    "audit",
)

#: The indexes the UI's and the queue's queries use (montydb ignores them).
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "cells": [[("type", 1)], [("serial", 1)], [("technology", 1)]],
    "protocols": [[("slug", 1), ("version", -1)], [("hash", 1)]],
    "experiments": [
        [("status", 1), ("created", -1)],
        [("station", 1), ("channel", 1), ("status", 1), ("created", 1)],
        [("cell", 1), ("created", -1)],
        [("protocol", 1), ("created", -1)],
        [("technology", 1), ("created", -1)],
        [("created", -1)],
        [("name", 1)],
    ],
    "cycle_stats": [[("experiment", 1), ("cycle_index", 1)]],
    "data_files": [[("path", 1)], [("status", 1), ("created", -1)]],
    "harvested_files": [[("status", 1), ("path", 1)], [("path", 1)]],
    "audit": [[("ts", -1)], [("target", 1), ("ts", -1)]],
}


Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Documents written before schema versions: statuses were upper case (as in WattRex)."""
    if isinstance(doc.get("status"), str):
        doc["status"] = doc["status"].lower()
    return doc


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 changed only the documents a team owns (below)."""
    return doc


def _owned_by_lab(doc: dict[str, Any]) -> dict[str, Any]:
    """Teams own lab data: what was stored before belongs to the whole lab's team."""
    doc.setdefault("team", DEFAULT_TEAM)
    return doc


#: Collections whose documents belong to a team (``team``).
OWNED = ("cells", "protocols", "experiments")

#: collection -> {from_version: function returning the document at from_version + 1}
MIGRATIONS: dict[str, dict[int, Migration]] = {
    name: {0: _v0_to_v1, 1: _owned_by_lab if name in OWNED else _v1_to_v2} for name in COLLECTIONS
}


def in_teams(query: dict[str, Any], teams: list[str] | None) -> dict[str, Any]:
    """The query narrowed to documents of these teams (None: every team)."""
    return query if teams is None else {**query, "team": {"$in": teams}}


class StoreError(ValueError):
    """The request cannot be done as asked (bad reference, limits, invalid protocol): a 4xx."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    pass


def _open_database(
    url: str, username: str | None = None, password: str | None = None
) -> tuple[Any, Any, str]:
    """(client, database, engine name) for a connection URL; credentials apart from the URL, so the
    password can come from a secret file and never shows in a process listing or a log."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("mongodb", "mongodb+srv"):
        import pymongo

        login: dict[str, Any] = {}
        if username is not None:
            login = {"username": username, "password": password, "authSource": "admin"}
        client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000, tz_aware=False, **login)
        name = parsed.path.lstrip("/") or "labdcs"
        return client, client[name], "mongodb"
    if parsed.scheme == "montydb":
        from montydb import MontyClient, set_storage

        # montydb's BSON choice is process-wide and recorded in each database folder: always pymongo's
        # bson (exact types), so every database of every process agrees.
        location = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
        if location in (":memory:", "/:memory:", "memory"):
            set_storage(":memory:", storage="memory", use_bson=True)
            client = MontyClient(":memory:")
        else:
            folder = Path(location)
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / "monty.storage.cfg").exists():
                set_storage(str(folder), storage="sqlite", use_bson=True)
            client = MontyClient(str(folder))
        return client, client["labdcs"], "montydb"
    raise ValueError(f"unsupported database URL {url!r}: use mongodb://host/db or montydb:///folder")


class StoreBase:
    """One database and its conventions: the lock, indexes and migrations, the audit log and the
    generic get/insert/list the document kinds build on (:mod:`labdcs.experiments.store`)."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None) -> None:
        self.url = url
        self.client, self.db, self.engine = _open_database(url, username, password)
        # montydb's SQLite storage serialises badly under concurrent writers: one lock per store.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.engine == "montydb" else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            yield

    def col(self, name: str) -> Any:
        return self.db[name]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # --- setup ------------------------------------------------------------------------------------

    def prepare(self) -> int:
        """Indexes and migrations; returns the number of documents migrated."""
        with self._guard():
            for collection, indexes in INDEXES.items():
                for keys in indexes:
                    self.col(collection).create_index(keys)
        return self.migrate()

    def migrate(self) -> int:
        """Bring every document to SCHEMA_VERSION, one version step at a time."""
        migrated = 0
        with self._guard():
            for collection in COLLECTIONS:
                old = list(
                    self.col(collection).find(
                        {"$or": [{"schema": {"$lt": SCHEMA_VERSION}}, {"schema": {"$exists": False}}]}
                    )
                )
                for doc in old:
                    version = int(doc.get("schema", 0))
                    while version < SCHEMA_VERSION:
                        step = MIGRATIONS.get(collection, {}).get(version)
                        if step is None:
                            raise RuntimeError(f"no migration for {collection} from schema {version}")
                        doc = step(doc)
                        version += 1
                    doc["schema"] = SCHEMA_VERSION
                    self.col(collection).replace_one({"_id": doc["_id"]}, doc)
                    migrated += 1
        if migrated:
            log.info("migrated %d documents to schema %d", migrated, SCHEMA_VERSION)
        return migrated

    # --- audit ------------------------------------------------------------------------------------

    def audit(
        self,
        action: str,
        target: str,
        user: str | None = None,
        result: str = "ok",
        detail: str | None = None,
        *,
        principal: str | None = None,
    ) -> None:
        """One audit entry: ``principal`` is who is authenticated as acting (the web login, or the
        manager itself), ``user`` the person the request named, a claim kept next to it."""
        entry = AuditEntry(
            id=f"{now_ms()}-{secrets.token_hex(4)}",
            action=action,
            target=target,
            principal=principal,
            user=user,
            result=result,
            detail=detail,
        )
        with self._guard():
            self.col("audit").insert_one(entry.to_mongo())

    def audit_entries(self, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
        query = {"target": target} if target else {}
        with self._guard():
            docs = list(self.col("audit").find(query).sort([("ts", -1)]).limit(limit))
        return [AuditEntry.model_validate(d) for d in docs]

    # --- generic ------------------------------------------------------------------------------------

    def _get(self, collection: str, doc_id: str) -> dict[str, Any]:
        with self._guard():
            doc = self.col(collection).find_one({"_id": doc_id})
        if doc is None:
            raise NotFound(f"no {collection.rstrip('s').replace('_', ' ')} '{doc_id}'")
        return dict(doc)

    def _insert(self, collection: str, doc: dict[str, Any]) -> None:
        with self._guard():
            if self.col(collection).find_one({"_id": doc["_id"]}) is not None:
                raise Conflict(f"{collection.rstrip('s').replace('_', ' ')} '{doc['_id']}' exists already")
            self.col(collection).insert_one(doc)

    def _list(
        self,
        collection: str,
        query: dict[str, Any],
        sort: list[tuple[str, int]],
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], int]:
        with self._guard():
            total = int(self.col(collection).count_documents(query))
            cursor = self.col(collection).find(query).sort(sort).skip(offset)
            if limit:
                cursor = cursor.limit(limit)
            return [dict(d) for d in cursor], total

    def counts(self) -> dict[str, int]:
        with self._guard():
            return {name: int(self.col(name).count_documents({})) for name in COLLECTIONS}
