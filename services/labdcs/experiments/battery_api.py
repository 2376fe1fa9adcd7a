"""The battery-api (the OpenAPI specification Galvanalyser serves, martinjrobins/battery-api 1.0.0)
under ``/battery-api``, read-only, so that tools written against it (its published Python client
``batteryclient``) read this lab's data unchanged.

Mapping: a *dataset* is an experiment (its columns the export's Battery Data Format columns, time
first), a *cell* is a cell with its datasheet, a *user* an account, *equipment* a station. The
specification wants integer ids where ours are text: each id is the first 48 bits of the sha256 of
ours (stable, no table to keep; a lab's thousands of documents never collide in practice), looked up
among what the caller may read. Logins are the manager's own: ``Authorization: Bearer <token>`` with
scope read (or a person's Basic login); teams' visibility applies as everywhere.
"""

from __future__ import annotations

import array
import datetime as dt
import hashlib
import math
import sys
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from labdcs.experiments.access import directory, principal, readable_teams
from labdcs.experiments.api import ERRORS, services, window_of
from labdcs.experiments.documents import Cell as OurCell
from labdcs.experiments.documents import Experiment
from labdcs.experiments.export import FIELDS
from labdcs.experiments.series import BDF_COLUMNS
from labdcs.experiments.store import NotFound

PREFIX = "/battery-api"
#: (name, unit, InfluxDB field) of each column, by position = column id; 0 is the time.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Unix Time", "s", ""),
    *((label.split(" / ")[0], label.split(" / ")[1], field) for label, field in BDF_COLUMNS),
)
BIG = 10**6  # more than a lab ever holds: "all"


def number(text_id: str) -> int:
    """The integer id the battery-api shows for one of ours."""
    return int.from_bytes(hashlib.sha256(text_id.encode()).digest()[:6], "big")


class Column(BaseModel):
    id: int
    name: str
    unit: str | None = None


class BatteryCell(BaseModel):
    id: int
    name: str
    manufacturer: str | None = None
    form_factor: str | None = None
    datasheet: str | None = None
    anode_chemistry: str | None = None
    cathode_chemistry: str | None = None
    nominal_capacity: float | None = Field(default=None, description="Ah")
    nominal_cell_weight: float | None = None


class User(BaseModel):
    id: int
    username: str
    email: str | None = None
    address: str | None = None


class Equipment(BaseModel):
    id: int
    name: str
    description: str | None = None


class Dataset(BaseModel):
    id: int
    name: str
    date: dt.datetime
    purpose: str | None = None
    columns: list[Column]
    column_ids: list[int]
    cell: BatteryCell | None = None
    owner: User | None = None
    equipment: list[Equipment] = Field(default_factory=list)
    json_data: dict[str, Any] | None = None


def _memo(request: Request, key: tuple[str, str], make: Callable[[], Any]) -> Any:
    """One lookup per request and key: a list of datasets names the same cells, people and stations
    many times."""
    cache: dict[tuple[str, str], Any] | None = getattr(request.state, "battery_api", None)
    if cache is None:
        cache = request.state.battery_api = {}
    if key not in cache:
        try:
            cache[key] = make()
        except NotFound as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, NotFound):
        raise found
    return found


def _cell(request: Request, cell: OurCell) -> BatteryCell:
    store = services(request).store
    try:
        kind = _memo(request, ("type", cell.type), lambda: store.cell_type(cell.type))
    except NotFound:
        return BatteryCell(id=number(cell.id), name=cell.serial)
    extra = {k.lower(): v for k, v in kind.extra.items()}
    text = {k: str(v) for k, v in extra.items()}
    return BatteryCell(
        id=number(cell.id),
        name=cell.serial,
        manufacturer=kind.manufacturer,
        form_factor=kind.form_factor or None,
        anode_chemistry=text.get("anode"),
        cathode_chemistry=text.get("cathode") or kind.chemistry or None,
        nominal_capacity=kind.nominal_capacity_ah * cell.parallel,
        nominal_cell_weight=float(extra["weight_kg"]) if isinstance(extra.get("weight_kg"), float) else None,
    )


def _user(request: Request, account_id: str) -> User | None:
    try:
        account = _memo(request, ("account", account_id), lambda: directory(request).account(account_id))
    except NotFound:
        return None
    email = account.email if principal(request).is_admin or principal(request).account == account.id else None
    return User(id=number(account.id), username=account.id, email=email)


def _equipment(request: Request, station_id: str) -> Equipment:
    try:
        station = _memo(request, ("station", station_id), lambda: services(request).store.station(station_id))
    except NotFound:
        return Equipment(id=number(station_id), name=station_id)
    text = " ".join(x for x in (station.model, station.description) if x)
    return Equipment(id=number(station.id), name=station.id, description=text or None)


def _experiments(request: Request) -> list[Experiment]:
    items, _ = services(request).store.experiments(limit=BIG, teams=readable_teams(request))
    return items


def _dataset(request: Request, experiment: Experiment) -> Dataset:
    store = services(request).store
    try:
        cell = _memo(request, ("cell", experiment.cell), lambda: store.cell(experiment.cell))
        teams = _memo(request, ("teams", ""), lambda: readable_teams(request))
        battery_cell = _cell(request, cell) if teams is None or cell.team in teams else None
    except NotFound:
        battery_cell = None
    when = experiment.started or experiment.created
    return Dataset(
        id=number(experiment.id),
        name=experiment.name,
        date=dt.datetime.fromtimestamp(when / 1000, dt.UTC),
        purpose=experiment.description or None,
        columns=[Column(id=i, name=name, unit=unit) for i, (name, unit, _) in enumerate(COLUMNS)],
        column_ids=list(range(len(COLUMNS))),
        cell=battery_cell,
        owner=_user(request, experiment.operator) if experiment.operator else None,
        equipment=[] if experiment.source == "import" else [_equipment(request, experiment.station)],
        json_data={"labdcs_id": experiment.id, "status": experiment.status.value, "team": experiment.team},
    )


def _find(items: list[Any], wanted: int, what: str, key: Any = lambda x: x.id) -> Any:
    for item in items:
        if number(key(item)) == wanted:
            return item
    raise NotFound(f"no {what} {wanted}")


BINARY: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The column as little-endian 32- or 64-bit floats (NaN: no value)",
    }
}


def router() -> APIRouter:
    api = APIRouter(tags=["battery-api"], responses=ERRORS)

    @api.get("/dataset", response_model=list[Dataset])
    def get_datasets(request: Request) -> list[Dataset]:
        """Every experiment the caller may read, as a battery-api dataset."""
        return [_dataset(request, e) for e in _experiments(request)]

    @api.get("/dataset/{id}", response_model=Dataset)
    def get_dataset(request: Request, id: int) -> Dataset:
        return _dataset(request, _find(_experiments(request), id, "dataset"))

    @api.get("/dataset/{id}/{column_id}", response_model=None, responses=BINARY)
    def get_column(
        request: Request, id: int, column_id: int, precision: Literal["single", "double"] = "single"
    ) -> Response:
        """One column of the experiment's full-resolution data, in time order."""
        experiment = _find(_experiments(request), id, "dataset")
        if not 0 <= column_id < len(COLUMNS):
            raise NotFound(f"no column {column_id}: the columns are 0..{len(COLUMNS) - 1}")
        # Every column over the same rows as the CSV export (all fields asked: a field an import did
        # not have is NaN in each row, not an empty column of another length).
        series = services(request).need_series()
        values = array.array("f" if precision == "single" else "d")
        for row in series.rows(experiment.id, window_of(experiment), FIELDS):
            value = row[0] / 1000 if column_id == 0 else row[column_id]
            values.append(math.nan if value is None else float(value))
        if sys.byteorder != "little":
            values.byteswap()
        return Response(values.tobytes(), media_type="application/octet-stream")

    @api.get("/cell", response_model=list[BatteryCell])
    def get_cells(request: Request) -> list[BatteryCell]:
        cells, _ = services(request).store.cells(limit=0, teams=readable_teams(request))
        return [_cell(request, c) for c in cells]

    @api.get("/cell/{id}", response_model=BatteryCell)
    def get_cell(request: Request, id: int) -> BatteryCell:
        cells, _ = services(request).store.cells(limit=0, teams=readable_teams(request))
        return _cell(request, _find(cells, id, "cell"))

    @api.get("/user", response_model=list[User])
    def get_users(request: Request) -> list[User]:
        """The people (accounts) of the lab; e-mail addresses only to admins."""
        return [u for a in directory(request).accounts() if (u := _user(request, a.id)) is not None]

    @api.get("/user/{id}", response_model=User)
    def get_user(request: Request, id: int) -> User:
        account = _find(directory(request).accounts(), id, "user")
        user = _user(request, account.id)
        assert user is not None
        return user

    @api.get("/equipment", response_model=list[Equipment])
    def get_equipments(request: Request) -> list[Equipment]:
        stations, _ = services(request).store.stations(limit=0)
        return [_equipment(request, s.id) for s in stations]

    @api.get("/equipment/{id}", response_model=Equipment)
    def get_equipment(request: Request, id: int) -> Equipment:
        stations, _ = services(request).store.stations(limit=0)
        return _equipment(request, _find(stations, id, "equipment").id)

    return api
