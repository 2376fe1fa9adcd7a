"""The REST API (FastAPI; OpenAPI at ``/openapi.json``, interactive docs at ``/docs``).

Every list is paginated (``offset``, ``limit``; the answer carries ``total``); the experiments list
filters by technology, cell, station, protocol and status, searches name and description (``q``)
and sorts by any column. Bad requests get 4xx with a ``detail`` and, where several things are
wrong (a protocol, an import), a ``problems`` list naming each.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from labdcs.experiments.access import check_read, check_write, readable_teams, require_admin, writing_team
from labdcs.experiments.documents import (
    TECHNOLOGY_FIELDS,
    AuditEntry,
    Cell,
    CellIn,
    CellType,
    CellTypeIn,
    CycleStat,
    Experiment,
    ExperimentIn,
    ProtocolDoc,
    Station,
    Status,
    Technology,
)
from labdcs.experiments.importing import ImportJobs, JobState
from labdcs.experiments.live import MonitorHub
from labdcs.experiments.queue import CommandRefused, QueueWorker
from labdcs.experiments.series import ExperimentSeries, Window
from labdcs.experiments.store import SORTABLE, Conflict, NotFound, Store, StoreError
from labdcs.experiments.uploads import DEFAULT_UPLOAD_MAX_BYTES
from labdcs.ingest.influx import InfluxError
from labdcs.protocols import Problem, Protocol, ProtocolError, load, parse_wattrex

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the API and the UI work with; ``series`` and ``queue`` may be absent (no InfluxDB/broker)."""

    store: Store
    series: ExperimentSeries | None = None
    queue: QueueWorker | None = None
    grafana_url: str | None = None  # no Grafana: no dashboard links
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "labdcs-imports")
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES
    imports: ImportJobs | None = None
    monitor: MonitorHub | None = None  # the live monitor (needs the queue's broker connection)
    station_environment: dict[str, list[str]] = field(default_factory=dict)  # see labcontext

    def need_series(self) -> ExperimentSeries:
        if self.series is None:
            raise HTTPException(503, "no InfluxDB configured: time series are not available")
        return self.series

    def need_imports(self) -> ImportJobs:
        if self.imports is None:
            self.imports = ImportJobs(self.store, self.need_series())
        return self.imports


def services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result


def login(request: Request) -> str | None:
    """The web login of a request: the principal the audit names (the person a request names is
    kept next to it as a claim, ``admin (claims alice)``)."""
    user: str | None = getattr(request.state, "user", None)
    return user


# --- response models --------------------------------------------------------------------------


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Matching items in all pages")
    offset: int
    limit: int


class ErrorBody(BaseModel):
    detail: str
    problems: list[str] = Field(default_factory=list)


class ProtocolIn(BaseModel):
    """A protocol to store: its document (YAML/JSON as an object), its text form, or WattRex lines."""

    text: str | None = Field(default=None, max_length=200_000, description="Text form, YAML or JSON")
    document: dict[str, Any] | None = None
    wattrex: str | None = Field(default=None, max_length=200_000, description="WattRex profile lines")
    name: str | None = Field(default=None, max_length=100, description="Name for WattRex profiles")
    team: str | None = Field(default=None, max_length=64, description="Owning team; default: the writer's")


class CheckIn(ProtocolIn):
    cell: str | None = Field(default=None, max_length=64)
    station: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="ch1", max_length=63)
    protocol: str | None = Field(default=None, max_length=64, description="A stored protocol instead")


class CheckOut(BaseModel):
    ok: bool
    problems: list[Problem]
    estimate_s: float | None = None
    cycles: int | None = None


class Compatible(BaseModel):
    protocol: ProtocolDoc
    ok: bool
    problems: list[str]


class StationView(BaseModel):
    station: Station
    active: list[Experiment]
    queued: list[Experiment]


class ProtocolStored(BaseModel):
    protocol: ProtocolDoc
    created: bool


class CommandOut(BaseModel):
    experiment: Experiment
    result: str
    reason: str | None = None


class SeriesOut(BaseModel):
    t: list[int] = Field(description="ms since the epoch")
    voltage: list[float | None]
    current: list[float | None]
    temperature: list[float | None]


class ImportJobOut(BaseModel):
    id: str
    name: str
    state: JobState
    progress: float = Field(description="0..1 of the file read")
    rows: int = 0
    format: str | None = None
    experiment: str | None = None
    error: str | None = None
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list,
        description="What the import changed or noticed (duplicates dropped, ties, resets, the current's "
        "sign, the file's own capacities compared), each naming its rows",
    )


class TechnologyField(BaseModel):
    name: str
    label: str


class FormatCatalog(BaseModel):
    """What the import and the forms offer: file formats, technologies, sort keys, statuses."""

    formats: dict[str, str]
    technologies: dict[str, list[TechnologyField]]
    sortable: list[str]
    statuses: list[str]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request body"},
    403: {"model": ErrorBody, "description": "The login's role, team or token scopes do not allow it"},
    404: {"model": ErrorBody, "description": "Not found"},
    409: {"model": ErrorBody, "description": "Conflict with what is stored or running"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    503: {"model": ErrorBody, "description": "InfluxDB or the broker is not available"},
}

Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]


def parse_protocol(body: ProtocolIn) -> tuple[Protocol, str]:
    """(protocol, origin) from whichever form was sent; StoreError with step-named problems."""
    given = [x for x in (body.text, body.document, body.wattrex) if x is not None]
    if len(given) != 1:
        raise StoreError("send exactly one of text, document or wattrex")
    try:
        if body.wattrex is not None:
            return parse_wattrex(body.wattrex, name=body.name or "wattrex profile"), "wattrex"
        if body.document is not None:
            return load(body.document), "native"
        assert body.text is not None
        return load(body.text), "text"
    except ProtocolError as exc:
        raise StoreError("invalid protocol", exc.problems) from None
    except ValueError as exc:
        raise StoreError(f"invalid protocol: {exc}") from None


def router() -> APIRouter:
    api = APIRouter(prefix="/api", responses=ERRORS)

    # --- meta -----------------------------------------------------------------------------------

    @api.get("/formats", response_model=FormatCatalog, tags=["meta"])
    def formats() -> FormatCatalog:
        """Vocabulary for forms: import formats, technology-specific fields, sortable columns."""
        from labdcs.experiments.readers.binary import FORMATS as BINARY
        from labdcs.experiments.text_formats import FORMATS

        return FormatCatalog(
            formats={name: f.description for name, f in FORMATS.items()}
            | {name: f.label for name, f in BINARY.items()},
            technologies={
                t.value: [TechnologyField(name=n, label=label) for n, label in fields]
                for t, fields in TECHNOLOGY_FIELDS.items()
            },
            sortable=list(SORTABLE),
            statuses=[s.value for s in Status],
        )

    # --- cells ----------------------------------------------------------------------------------

    @api.get("/cell-types", response_model=Page[CellType], tags=["cells"])
    def list_cell_types(request: Request, offset: Offset = 0, limit: Limit = 100) -> Page[CellType]:
        items, total = services(request).store.cell_types(offset, limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.post("/cell-types", response_model=CellType, status_code=201, tags=["cells"])
    def create_cell_type(request: Request, body: CellTypeIn) -> CellType:
        return services(request).store.add_cell_type(body)

    @api.get("/cell-types/{type_id}", response_model=CellType, tags=["cells"])
    def get_cell_type(request: Request, type_id: str) -> CellType:
        return services(request).store.cell_type(type_id)

    @api.get("/cells", response_model=Page[Cell], tags=["cells"])
    def list_cells(
        request: Request, technology: Technology | None = None, offset: Offset = 0, limit: Limit = 100
    ) -> Page[Cell]:
        items, total = services(request).store.cells(technology, offset, limit, readable_teams(request))
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.post("/cells", response_model=Cell, status_code=201, tags=["cells"])
    def create_cell(request: Request, body: CellIn) -> Cell:
        """Register a cell for a team (default: the writer's first team)."""
        return services(request).store.add_cell(body, writing_team(request, body.team))

    @api.get("/cells/{cell_id}", response_model=Cell, tags=["cells"])
    def get_cell(request: Request, cell_id: str) -> Cell:
        return readable_cell(request, cell_id)

    # --- stations -------------------------------------------------------------------------------

    @api.get("/stations", response_model=Page[Station], tags=["stations"])
    def list_stations(request: Request, offset: Offset = 0, limit: Limit = 100) -> Page[Station]:
        items, total = services(request).store.stations(offset, limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.get("/stations/{station_id}", response_model=StationView, tags=["stations"])
    def get_station(request: Request, station_id: str) -> StationView:
        """The station, what runs on it now and what is queued, in the order it will start."""
        store = services(request).store
        station = store.station(station_id)
        teams = readable_teams(request)
        active, _ = store.experiments(
            station=station_id, status=["running", "paused"], limit=100, teams=teams
        )
        queued, _ = store.experiments(
            station=station_id, status=["queued"], sort="created", order="asc", limit=500, teams=teams
        )
        return StationView(station=station, active=active, queued=queued)

    # --- protocols ------------------------------------------------------------------------------

    @api.get("/protocols", response_model=Page[ProtocolDoc], tags=["protocols"])
    def list_protocols(request: Request, offset: Offset = 0, limit: Limit = 100) -> Page[ProtocolDoc]:
        items, total = services(request).store.protocols(offset, limit, readable_teams(request))
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.post("/protocols", response_model=ProtocolStored, status_code=201, tags=["protocols"])
    def create_protocol(request: Request, body: ProtocolIn) -> ProtocolStored:
        """Store a protocol as a new immutable version (the same content returns the stored one)."""
        protocol, origin = parse_protocol(body)
        team = writing_team(request, body.team)
        doc, created = services(request).store.add_protocol(protocol, origin, team)
        return ProtocolStored(protocol=doc, created=created)

    @api.get("/protocols/{protocol_id}", response_model=ProtocolDoc, tags=["protocols"])
    def get_protocol(request: Request, protocol_id: str) -> ProtocolDoc:
        return readable_protocol(request, protocol_id)

    @api.post("/protocols/check", response_model=CheckOut, tags=["protocols"])
    def check_protocol(request: Request, body: CheckIn) -> CheckOut:
        """Validate a protocol (sent, or stored) for a cell on a station channel, without storing it."""
        store = services(request).store
        if body.protocol is not None:
            protocol = Protocol.model_validate(readable_protocol(request, body.protocol).document)
        else:
            protocol, _ = parse_protocol(body)
        if body.cell is None or body.station is None:
            from labdcs.protocols import validate

            report = validate(protocol)
        else:
            report = store.check_protocol(
                protocol, readable_cell(request, body.cell), store.station(body.station), body.channel
            )
        forecast = report.estimate
        return CheckOut(
            ok=report.ok,
            problems=report.problems,
            estimate_s=forecast.duration_s if forecast else None,
            cycles=forecast.cycles if forecast else None,
        )

    @api.get("/compatible-protocols", response_model=list[Compatible], tags=["protocols"])
    def compatible_protocols(
        request: Request, cell: str, station: str, channel: str = "ch1"
    ) -> list[Compatible]:
        """Every stored protocol, with whether it may run on this cell and station channel, and why not."""
        readable_cell(request, cell)
        found = services(request).store.compatible_protocols(cell, station, channel, readable_teams(request))
        return [
            Compatible(protocol=doc, ok=report.ok, problems=[str(p) for p in report.errors])
            for doc, report in found
        ]

    # --- experiments ----------------------------------------------------------------------------

    @api.get("/experiments", response_model=Page[Experiment], tags=["experiments"])
    def list_experiments(
        request: Request,
        technology: Technology | None = None,
        cell: Annotated[str | None, Query(max_length=64)] = None,
        station: Annotated[str | None, Query(max_length=64)] = None,
        protocol: Annotated[str | None, Query(max_length=64)] = None,
        status: Annotated[list[Status] | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=200, description="Text in name or description")] = None,
        sort: Literal[
            "id", "name", "cell", "station", "protocol", "status", "technology", "created", "started",
            "finished", "cycles",
        ] = "created",
        order: Literal["asc", "desc"] = "desc",
        offset: Offset = 0,
        limit: Limit = 50,
    ) -> Page[Experiment]:  # fmt: skip
        items, total = services(request).store.experiments(
            technology=technology.value if technology else None,
            cell=cell,
            station=station,
            protocol=protocol,
            status=[s.value for s in status] if status else None,
            q=q,
            sort=sort,
            order=order,
            offset=offset,
            limit=limit,
            teams=readable_teams(request),
        )
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.post("/experiments", response_model=Experiment, status_code=201, tags=["experiments"])
    def create_experiment(request: Request, body: ExperimentIn) -> Experiment:
        """Queue an experiment of a team (default: the writer's first) on one of its cells; the
        protocol (readable by the writer) is validated for the cell and station channel first."""
        team = writing_team(request, body.team)
        cell = readable_cell(request, body.cell)
        check_write(request, cell.team, f"cell '{cell.id}'")
        readable_protocol(request, body.protocol)
        if not body.operator:  # the person logged in runs it (the battery-api's owner)
            body = body.model_copy(update={"operator": login(request) or ""})
        store = services(request).store
        return store.create_experiment(body, user=body.operator or None, principal=login(request), team=team)

    @api.get("/experiments/{experiment_id}", response_model=Experiment, tags=["experiments"])
    def get_experiment(request: Request, experiment_id: str) -> Experiment:
        return readable_experiment(request, experiment_id)

    @api.post("/experiments/{experiment_id}/{action}", response_model=CommandOut, tags=["experiments"])
    def control(
        request: Request,
        experiment_id: str,
        action: Literal["pause", "resume", "stop"],
        user: Annotated[
            str | None, Query(max_length=64, description="The person at a shared login, audited with it")
        ] = None,
    ) -> CommandOut:
        """Pause, resume or stop a run through the station; stop takes a queued experiment out of the
        queue."""
        svc = services(request)
        principal = login(request)
        experiment = readable_experiment(request, experiment_id)
        check_write(request, experiment.team, f"experiment '{experiment_id}'")
        if action == "stop" and svc.store.dequeue(experiment_id, user, principal):
            return CommandOut(experiment=svc.store.experiment(experiment_id), result="dequeued")
        if svc.queue is None:
            raise HTTPException(503, "the queue worker is not running: no broker")
        ack = svc.queue.command(experiment_id, action, user, principal)
        return CommandOut(
            experiment=svc.store.experiment(experiment_id),
            result=ack.result.value if ack else "dequeued",
            reason=ack.reason if ack else None,
        )

    @api.get("/experiments/{experiment_id}/cycles", response_model=list[CycleStat], tags=["experiments"])
    def cycles(request: Request, experiment_id: str) -> list[CycleStat]:
        """Per-cycle statistics: capacities, energies, coulombic and energy efficiency, ..."""
        readable_experiment(request, experiment_id)
        return services(request).store.cycles(experiment_id)

    @api.get("/experiments/{experiment_id}/series", response_model=SeriesOut, tags=["experiments"])
    def series(
        request: Request, experiment_id: str, points: Annotated[int, Query(ge=10, le=5000)] = 800
    ) -> SeriesOut:
        """Voltage, current and temperature averaged to about ``points`` samples (for plots)."""
        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        data = svc.need_series().overview(experiment_id, window_of(experiment), points=points)
        return SeriesOut(
            t=data["t"], voltage=data["voltage"], current=data["current"], temperature=data["temperature"]
        )

    @api.get("/audit", response_model=list[AuditEntry], tags=["meta"])
    def audit(
        request: Request, target: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 100
    ) -> list[AuditEntry]:
        """Commands sent to stations and changes made, newest first; of one target (an experiment one
        may read), or, for admins, of everything (logins and account changes included)."""
        if target is not None and target.startswith("exp-"):
            readable_experiment(request, target)
        else:
            require_admin(request)
        return services(request).store.audit_entries(target, limit)

    return api


def readable_cell(request: Request, cell_id: str) -> Cell:
    cell = services(request).store.cell(cell_id)
    check_read(request, cell.team, f"cell '{cell_id}'")
    return cell


def readable_protocol(request: Request, protocol_id: str) -> ProtocolDoc:
    doc = services(request).store.protocol(protocol_id)
    check_read(request, doc.team, f"protocol '{protocol_id}'")
    return doc


def readable_experiment(request: Request, experiment_id: str) -> Experiment:
    experiment = services(request).store.experiment(experiment_id)
    check_read(request, experiment.team, f"experiment '{experiment_id}'")
    return experiment


def window_of(experiment: Experiment) -> Window:
    """The run's time span on the station clock; a running experiment has no end yet."""
    return Window(experiment.started, experiment.finished, experiment.station, experiment.channel)


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


#: The status of a request the store or the queue refused; any other refusal is a 422.
REFUSALS: tuple[tuple[type[StoreError], int], ...] = ((NotFound, 404), (Conflict, 409), (CommandRefused, 409))


def install_error_handlers(app: FastAPI) -> None:
    def body(detail: str, problems: list[str]) -> dict[str, Any]:
        return {"detail": detail, "problems": problems}

    @app.exception_handler(StoreError)
    def refused(request: Request, exc: StoreError) -> Response:
        status = next((code for kind, code in REFUSALS if isinstance(exc, kind)), 422)
        return JSONResponse(body(str(exc), exc.problems), status_code=status)

    @app.exception_handler(RequestValidationError)
    def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse(body("invalid request: " + "; ".join(problems[:3]), problems), status_code=422)

    @app.exception_handler(InfluxError)
    def influx_down(request: Request, exc: InfluxError) -> Response:
        text = str(exc) if str(exc).startswith("InfluxDB") else f"InfluxDB: {exc}"
        return JSONResponse(body(text, []), status_code=503)
