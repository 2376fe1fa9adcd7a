"""The document store: MongoDB through pymongo, or natively the same code on montydb (SQLite).

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
import hashlib
import json
import logging
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from labdcs.contract.models import principal_label
from labdcs.experiments.documents import (
    DEFAULT_TEAM,
    SCHEMA_VERSION,
    AuditEntry,
    Cell,
    CellIn,
    CellType,
    CellTypeIn,
    CycleStat,
    DataFile,
    Experiment,
    ExperimentIn,
    HarvestedFile,
    Limits,
    ProtocolDoc,
    Station,
    Status,
    cell_limits,
    new_experiment_id,
    now_ms,
    slug,
)
from labdcs.protocols import Protocol, Report, estimate, format_protocol, validate

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

#: Experiment columns the table can be sorted by, and their document fields.
SORTABLE = {
    "id": "_id",
    "name": "name",
    "cell": "cell",
    "station": "station",
    "protocol": "protocol",
    "status": "status",
    "technology": "technology",
    "created": "created",
    "started": "started",
    "finished": "finished",
    "cycles": "cycles",
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


def _in_teams(query: dict[str, Any], teams: list[str] | None) -> dict[str, Any]:
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


def protocol_hash(protocol: Protocol) -> str:
    """Content hash: the canonical JSON of the protocol without its version number."""
    data = protocol.to_document()
    data.pop("version", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


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


class Store:
    """All documents of the experiments manager; methods validate references and limits."""

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

    # --- cell types and cells ---------------------------------------------------------------------

    def add_cell_type(self, data: CellTypeIn) -> CellType:
        doc = CellType(id=slug(data.manufacturer, data.model), **data.model_dump())
        self._insert("cell_types", doc.to_mongo())
        return doc

    def cell_type(self, type_id: str) -> CellType:
        return CellType.from_mongo(self._get("cell_types", type_id))

    def cell_types(self, offset: int = 0, limit: int = 100) -> tuple[list[CellType], int]:
        docs, total = self._list("cell_types", {}, [("manufacturer", 1), ("model", 1)], offset, limit)
        return [CellType.from_mongo(d) for d in docs], total

    def add_cell(self, data: CellIn, team: str = DEFAULT_TEAM) -> Cell:
        cell_type = self.cell_type(data.type)
        problems = data.limits.widening(cell_type.limits)
        if problems:
            raise StoreError("cell limits may only narrow the datasheet's", problems)
        if data.parent is not None:
            self.cell(data.parent)
        fields = data.model_dump() | {"team": data.team or team}
        doc = Cell(id=slug(data.serial), technology=cell_type.technology, **fields)
        self._insert("cells", doc.to_mongo())
        return doc

    def cell(self, cell_id: str) -> Cell:
        return Cell.from_mongo(self._get("cells", cell_id))

    def cells(
        self, technology: str | None = None, offset: int = 0, limit: int = 100, teams: list[str] | None = None
    ) -> tuple[list[Cell], int]:
        query = _in_teams({"technology": technology} if technology else {}, teams)
        docs, total = self._list("cells", query, [("serial", 1)], offset, limit)
        return [Cell.from_mongo(d) for d in docs], total

    def cell_envelope(self, cell: Cell) -> tuple[Limits, float]:
        """The cell's limits (series/parallel applied) and its nominal capacity in Ah."""
        cell_type = self.cell_type(cell.type)
        return cell_limits(cell, cell_type), cell_type.nominal_capacity_ah * cell.parallel

    # --- stations ---------------------------------------------------------------------------------

    def upsert_station(self, station: Station) -> None:
        with self._guard():
            self.col("stations").replace_one({"_id": station.id}, station.to_mongo(), upsert=True)

    def set_station_online(self, station_id: str, online: bool) -> None:
        with self._guard():
            self.col("stations").update_one(
                {"_id": station_id}, {"$set": {"online": online, "seen": now_ms()}}
            )

    def station(self, station_id: str) -> Station:
        return Station.from_mongo(self._get("stations", station_id))

    def stations(self, offset: int = 0, limit: int = 100) -> tuple[list[Station], int]:
        docs, total = self._list("stations", {}, [("_id", 1)], offset, limit)
        return [Station.from_mongo(d) for d in docs], total

    # --- protocols --------------------------------------------------------------------------------

    def add_protocol(
        self, protocol: Protocol, origin: str = "native", team: str = DEFAULT_TEAM
    ) -> tuple[ProtocolDoc, bool]:
        """Store a protocol as a new immutable version of the team; the same content returns the
        team's stored version. Returns (document, created)."""
        digest = protocol_hash(protocol)
        name_slug = slug(protocol.name)
        for _ in range(5):
            with self._guard():
                same = self.col("protocols").find_one({"hash": digest, "team": team})
                if same is not None:
                    return ProtocolDoc.from_mongo(same), False
                latest = list(
                    self.col("protocols").find({"slug": name_slug}).sort([("version", -1)]).limit(1)
                )
                version = int(latest[0]["version"]) + 1 if latest else 1
                versioned = protocol.model_copy(update={"version": version})
                forecast = estimate(versioned, None)
                doc = ProtocolDoc(
                    id=f"{name_slug}-v{version}",
                    name=protocol.name,
                    version=version,
                    description=protocol.description,
                    hash=digest,
                    slug=name_slug,
                    document=versioned.to_document(),
                    text=_text_form(versioned),
                    origin=origin,
                    estimate_s=forecast.duration_s,
                    cycles=forecast.cycles,
                    team=team,
                )
                if self.col("protocols").find_one({"_id": doc.id}) is None:
                    self.col("protocols").insert_one(doc.to_mongo())
                    return doc, True
        raise Conflict(f"could not store protocol {protocol.name!r}: concurrent versions")

    def protocol(self, protocol_id: str) -> ProtocolDoc:
        return ProtocolDoc.from_mongo(self._get("protocols", protocol_id))

    def protocols(
        self, offset: int = 0, limit: int = 100, teams: list[str] | None = None
    ) -> tuple[list[ProtocolDoc], int]:
        docs, total = self._list(
            "protocols", _in_teams({}, teams), [("name", 1), ("version", -1)], offset, limit
        )
        return [ProtocolDoc.from_mongo(d) for d in docs], total

    def check_protocol(
        self, protocol: Protocol, cell: Cell, station: Station, channel: str, capacity_ah: float | None = None
    ) -> Report:
        """Validate ``protocol`` for this cell on this station channel (cell ∩ station ∩ protocol)."""
        limits, nominal = self.cell_envelope(cell)
        station_channel = station.channel(channel)
        if station_channel is None:
            raise StoreError(f"station '{station.id}' has no channel '{channel}'")
        return validate(
            protocol,
            cell=limits.envelope(),
            station=station_channel.limits.envelope(),
            capacity_ah=capacity_ah or nominal,
        )

    def compatible_protocols(
        self, cell_id: str, station_id: str, channel: str, teams: list[str] | None = None
    ) -> list[tuple[ProtocolDoc, Report]]:
        """Every stored protocol (of these teams) with its validation on this cell and station channel."""
        cell, station = self.cell(cell_id), self.station(station_id)
        protocols, _ = self.protocols(limit=0, teams=teams)
        return [
            (doc, self.check_protocol(Protocol.model_validate(doc.document), cell, station, channel))
            for doc in protocols
        ]

    # --- experiments ------------------------------------------------------------------------------

    def create_experiment(
        self,
        data: ExperimentIn,
        user: str | None = None,
        principal: str | None = None,
        team: str = DEFAULT_TEAM,
    ) -> Experiment:
        """Queue an experiment after checking the cell, the station channel and the protocol."""
        cell = self.cell(data.cell)
        station = self.station(data.station)
        protocol_doc = self.protocol(data.protocol)
        report = self.check_protocol(
            Protocol.model_validate(protocol_doc.document), cell, station, data.channel, data.capacity_ah
        )
        if not report.ok:
            raise StoreError(
                f"protocol {protocol_doc.id} cannot run on cell {cell.id} at {station.id}/{data.channel}",
                [str(p) for p in report.errors],
            )
        experiment = Experiment(
            id=new_experiment_id(),
            technology=cell.technology,
            status=Status.QUEUED,
            **(data.model_dump() | {"team": data.team or team}),
        )
        self._insert("experiments", experiment.to_mongo())
        detail = f"queued on {station.id}/{data.channel}"
        self.audit("create", experiment.id, user, detail=detail, principal=principal)
        return experiment

    def insert_experiment(self, experiment: Experiment) -> None:
        """Store an experiment as it is (imports)."""
        self._insert("experiments", experiment.to_mongo())

    def experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_mongo(self._get("experiments", experiment_id))

    def experiments(
        self,
        *,
        technology: str | None = None,
        cell: str | None = None,
        station: str | None = None,
        protocol: str | None = None,
        status: list[str] | None = None,
        q: str | None = None,
        sort: str = "created",
        order: str = "desc",
        offset: int = 0,
        limit: int = 50,
        teams: list[str] | None = None,
    ) -> tuple[list[Experiment], int]:
        """The experiments table: filters, text search in name and description, sort, page; only
        these teams' (None: every team's)."""
        query: dict[str, Any] = _in_teams({}, teams)
        for key, value in (
            ("technology", technology),
            ("cell", cell),
            ("station", station),
            ("protocol", protocol),
        ):
            if value:
                query[key] = value
        if status:
            query["status"] = {"$in": status}
        if q:
            pattern = {"$regex": re.escape(q), "$options": "i"}
            query["$or"] = [{"name": pattern}, {"description": pattern}]
        if sort not in SORTABLE:
            raise StoreError(f"cannot sort by {sort!r}; sortable: {', '.join(SORTABLE)}")
        direction = 1 if order == "asc" else -1
        keys = [(SORTABLE[sort], direction)]
        if sort != "id":
            keys.append(("_id", direction))
        docs, total = self._list("experiments", query, keys, offset, limit)
        return [Experiment.from_mongo(d) for d in docs], total

    def update_experiment(
        self, experiment_id: str, changes: dict[str, Any], expect: list[Status] | None = None
    ) -> bool:
        """``$set`` the changes; with ``expect``, only while the status is one of those."""
        query: dict[str, Any] = {"_id": experiment_id}
        if expect is not None:
            query["status"] = {"$in": [s.value for s in expect]}
        with self._guard():
            result = self.col("experiments").update_one(query, {"$set": changes})
        return bool(result.matched_count)

    def claim_next(self, station: str, channel: str) -> Experiment | None:
        """Atomically take the oldest queued experiment of a station channel for starting."""
        with self._guard():
            doc = self.col("experiments").find_one_and_update(
                {"station": station, "channel": channel, "status": Status.QUEUED.value, "claimed": None},
                {"$set": {"claimed": now_ms()}},
                sort=[("created", 1)],
            )
        return Experiment.from_mongo(doc) if doc is not None else None

    def queued_channels(self) -> set[tuple[str, str]]:
        """The station channels that have a queued experiment waiting to be claimed (one query)."""
        with self._guard():
            docs = self.col("experiments").find(
                {"status": Status.QUEUED.value, "claimed": None}, {"station": 1, "channel": 1}
            )
            return {(str(d["station"]), str(d["channel"])) for d in docs}

    def dequeue(self, experiment_id: str, user: str | None = None, principal: str | None = None) -> bool:
        """Take a queued experiment (not yet being started) out of the queue: ABORTED."""
        who = principal_label(principal, user) if principal else user or "an operator"
        changed = self.update_experiment_if(
            {"_id": experiment_id, "status": Status.QUEUED.value, "claimed": None},
            {
                "status": Status.ABORTED.value,
                "end_reason": f"removed from the queue by {who}",
                "finished": now_ms(),
            },
        )
        if changed:
            self.audit("dequeue", experiment_id, user, principal=principal)
        return changed

    def update_experiment_if(self, query: dict[str, Any], changes: dict[str, Any]) -> bool:
        with self._guard():
            return bool(self.col("experiments").update_one(query, {"$set": changes}).matched_count)

    def release_claim(self, experiment_id: str) -> None:
        with self._guard():
            self.col("experiments").update_one({"_id": experiment_id}, {"$set": {"claimed": None}})

    def active_experiment(self, station: str, channel: str) -> Experiment | None:
        """The experiment running, paused or being started on a station channel."""
        with self._guard():
            doc = self.col("experiments").find_one(
                {
                    "station": station,
                    "channel": channel,
                    "$or": [
                        {"status": {"$in": [Status.RUNNING.value, Status.PAUSED.value]}},
                        {"status": Status.QUEUED.value, "claimed": {"$ne": None}},
                    ],
                }
            )
        return Experiment.from_mongo(doc) if doc is not None else None

    def delete_experiment(self, experiment_id: str) -> None:
        """Remove an experiment and its statistics (a failed import's rollback, or an operator)."""
        with self._guard():
            self.col("cycle_stats").delete_many({"experiment": experiment_id})
            self.col("experiments").delete_many({"_id": experiment_id})

    # --- cycle statistics ------------------------------------------------------------------------

    def put_cycle(self, stat: CycleStat) -> None:
        with self._guard():
            self.col("cycle_stats").replace_one({"_id": stat.id}, stat.to_mongo(), upsert=True)
            count = int(self.col("cycle_stats").count_documents({"experiment": stat.experiment}))
            self.col("experiments").update_one({"_id": stat.experiment}, {"$set": {"cycles": count}})

    def put_cycles(self, experiment_id: str, stats: list[CycleStat]) -> None:
        with self._guard():
            if stats:
                self.col("cycle_stats").insert_many([s.to_mongo() for s in stats])
            self.col("experiments").update_one({"_id": experiment_id}, {"$set": {"cycles": len(stats)}})

    def cycles(self, experiment_id: str) -> list[CycleStat]:
        with self._guard():
            docs = list(
                self.col("cycle_stats").find({"experiment": experiment_id}).sort([("cycle_index", 1)])
            )
        return [CycleStat.model_validate(d) for d in docs]

    # --- data files -------------------------------------------------------------------------------

    def data_file(self, digest: str) -> DataFile | None:
        with self._guard():
            doc = self.col("data_files").find_one({"_id": digest})
        return DataFile.from_mongo(doc) if doc is not None else None

    def put_data_file(self, data_file: DataFile) -> None:
        with self._guard():
            self.col("data_files").replace_one({"_id": data_file.id}, data_file.to_mongo(), upsert=True)

    def data_files(
        self, status: str | None = None, path: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[DataFile], int]:
        query: dict[str, Any] = {}
        if status:
            query["status"] = status
        if path:
            query["path"] = path
        docs, total = self._list("data_files", query, [("created", -1)], offset, limit)
        return [DataFile.from_mongo(d) for d in docs], total

    # --- the harvester's account of every file it saw -------------------------------------------------

    def harvested_file(self, file_id: str) -> HarvestedFile | None:
        with self._guard():
            doc = self.col("harvested_files").find_one({"_id": file_id})
        return HarvestedFile.from_mongo(doc) if doc is not None else None

    def put_harvested_file(self, record: HarvestedFile) -> None:
        with self._guard():
            self.col("harvested_files").replace_one({"_id": record.id}, record.to_mongo(), upsert=True)

    def harvested_files(
        self, status: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[HarvestedFile], int]:
        query: dict[str, Any] = {"status": status} if status else {}
        docs, total = self._list("harvested_files", query, [("path", 1)], offset, limit)
        return [HarvestedFile.from_mongo(d) for d in docs], total

    def counts(self) -> dict[str, int]:
        with self._guard():
            return {name: int(self.col(name).count_documents({})) for name in COLLECTIONS}


def _text_form(protocol: Protocol) -> str:
    try:
        return format_protocol(protocol)
    except Exception:  # the text form cannot express every protocol: the document is what counts
        return ""
