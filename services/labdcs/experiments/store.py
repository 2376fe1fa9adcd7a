"""The document store of the experiments manager: :class:`Store` is every document kind on one
database (MongoDB through pymongo, or natively montydb on SQLite; :mod:`labdcs.experiments.store_base`
says how the URL chooses and what both engines share).

- :mod:`~labdcs.experiments.store_base`: the engine, its lock, indexes, migrations, the audit log;
- :mod:`~labdcs.experiments.store_catalogue`: cell types, cells, stations, protocols;
- here: experiments and what they produce (the queue's claims, cycle statistics, imported data
  files, the harvester's account of the files it saw).
"""

from __future__ import annotations

import re
from typing import Any

from labdcs.contract.models import principal_label
from labdcs.experiments.documents import (
    DEFAULT_TEAM,
    CycleStat,
    DataFile,
    Experiment,
    ExperimentIn,
    HarvestedFile,
    Status,
    new_experiment_id,
    now_ms,
)
from labdcs.experiments.store_base import Conflict, NotFound, StoreError, in_teams
from labdcs.experiments.store_catalogue import CatalogueStore
from labdcs.protocols import Protocol

# The errors are part of the store's interface: most callers import them from here.
__all__ = ["SORTABLE", "Conflict", "NotFound", "Store", "StoreError"]

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


class Store(CatalogueStore):
    """All documents of the experiments manager; methods validate references and limits."""

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
        query: dict[str, Any] = in_teams({}, teams)
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
