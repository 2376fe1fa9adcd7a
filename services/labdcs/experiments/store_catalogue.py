"""What experiments are made of: cell types, cells, stations and protocols, checked against each
other (a cell's limits narrow its datasheet's; a protocol is validated on cell ∩ station channel)."""

from __future__ import annotations

import hashlib
import json

from labdcs.experiments.documents import (
    DEFAULT_TEAM,
    Cell,
    CellIn,
    CellType,
    CellTypeIn,
    Limits,
    ProtocolDoc,
    Station,
    cell_limits,
    now_ms,
    slug,
)
from labdcs.experiments.store_base import Conflict, StoreBase, StoreError, in_teams
from labdcs.protocols import Protocol, Report, estimate, format_protocol, validate


def protocol_hash(protocol: Protocol) -> str:
    """Content hash: the canonical JSON of the protocol without its version number."""
    data = protocol.to_document()
    data.pop("version", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CatalogueStore(StoreBase):
    """Cell types, cells, stations and protocols; the experiments on them are :class:`Store`'s."""

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
        query = in_teams({"technology": technology} if technology else {}, teams)
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
            "protocols", in_teams({}, teams), [("name", 1), ("version", -1)], offset, limit
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


def _text_form(protocol: Protocol) -> str:
    try:
        return format_protocol(protocol)
    except Exception:  # the text form cannot express every protocol: the document is what counts
        return ""
