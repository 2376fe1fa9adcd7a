"""The experiments manager's documents, as stored in MongoDB (one collection per class).

Every document carries ``schema`` (its schema version, :data:`SCHEMA_VERSION`) so that
:func:`labdcs.experiments.store.Store.migrate` can bring old documents forward. Times are integer
milliseconds since the Unix epoch (as in the MQTT contract); ids are short strings chosen by the
store (readable: ``nmc-18650-lg-mj1``, ``exp-20250102-101500-3f2a``), stored as ``_id``.

Units are SI with the unit in the field name; limits follow the protocol envelope's conventions
(currents as magnitudes: ``i_charge_max``, ``i_discharge_max``).
"""

from __future__ import annotations

import re
import secrets
import time
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, model_validator

from labdcs.protocols.validate import Envelope

#: Version of every document layout below; bump it and add a migration in store_base.MIGRATIONS.
SCHEMA_VERSION = 2
#: The team that owns what was stored before teams existed (schema 1), and new accounts' default.
DEFAULT_TEAM = "lab"

DocId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")]
Text = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=5000)]


def _field_name(name: str) -> str:
    if name.startswith("$") or "." in name or "\x00" in name:
        raise ValueError(f"field name {name!r} may not start with '$' or contain '.' (database field names)")
    return name


#: A key of a free-form field map, stored as a MongoDB field name.
FieldName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_field_name)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def now_ms() -> int:
    return int(time.time() * 1000)


def slug(*parts: str) -> str:
    """A readable id from names: lower case, runs of other characters become one dash."""
    text = "-".join(p for p in parts if p)
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:48] or secrets.token_hex(4)


def new_experiment_id(at_ms: int | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime((at_ms or now_ms()) / 1000))
    return f"exp-{stamp}-{secrets.token_hex(2)}"


def _to_mongo(model: BaseModel) -> dict[str, Any]:
    """The stored form: ``id`` becomes MongoDB's ``_id``, ``schema_version`` the ``schema`` field."""
    data = model.model_dump(mode="json")
    data["_id"] = data.pop("id")
    data["schema"] = data.pop("schema_version")
    return data


#: Documents read from the database name these ``_id`` and ``schema``; the API says ``id``.
ID_FIELD = Field(validation_alias=AliasChoices("id", "_id"))
SCHEMA_FIELD = Field(default=SCHEMA_VERSION, validation_alias=AliasChoices("schema_version", "schema"))


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: DocId = ID_FIELD
    schema_version: int = SCHEMA_FIELD

    def to_mongo(self) -> dict[str, Any]:
        return _to_mongo(self)

    @classmethod
    def from_mongo(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


# --- cells ------------------------------------------------------------------------------------


class Technology(StrEnum):
    LI_ION = "li-ion"
    NA_ION = "na-ion"
    LEAD_ACID = "lead-acid"
    REDOX_FLOW = "redox-flow"
    OTHER = "other"


#: Extra datasheet fields each technology asks for (the UI shows them; they land in ``extra``).
TECHNOLOGY_FIELDS: dict[Technology, list[tuple[str, str]]] = {
    Technology.LI_ION: [
        ("cathode", "cathode (NMC, NCA, LFP, LCO, LMO, ...)"),
        ("anode", "anode (graphite, Si, LTO)"),
    ],
    Technology.NA_ION: [("cathode", "cathode"), ("anode", "anode")],
    Technology.LEAD_ACID: [("electrolyte", "electrolyte (liquid, gel, AGM)")],
    Technology.REDOX_FLOW: [
        ("electrolyte", "electrolyte"),
        ("membrane", "membrane type"),
        ("electrode_area_cm2", "electrode area / cm2"),
    ],
    Technology.OTHER: [],
}


class Limits(BaseModel):
    """Operating limits; None: no limit from this side."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    v_min: Finite | None = Field(default=None, description="V; discharge cut-off")
    v_max: Finite | None = Field(default=None, description="V; charge cut-off")
    i_charge_max: PositiveFloat | None = Field(default=None, description="A")
    i_discharge_max: PositiveFloat | None = Field(default=None, description="A (a magnitude)")
    t_min_c: Finite | None = Field(default=None, description="degC")
    t_max_c: Finite | None = Field(default=None, description="degC")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.v_min is not None and self.v_max is not None and self.v_min >= self.v_max:
            raise ValueError("v_min must be below v_max")
        if self.t_min_c is not None and self.t_max_c is not None and self.t_min_c >= self.t_max_c:
            raise ValueError("t_min_c must be below t_max_c")
        return self

    def envelope(self) -> Envelope:
        return Envelope(
            v_min=self.v_min,
            v_max=self.v_max,
            i_min=-self.i_discharge_max if self.i_discharge_max is not None else None,
            i_max=self.i_charge_max,
            t_max_c=self.t_max_c,
        )

    def widening(self, outer: Limits) -> list[str]:
        """Where these limits are wider than ``outer`` (they may only narrow it)."""
        problems = []
        for name, lower_is_tighter in (
            ("v_max", True),
            ("i_charge_max", True),
            ("i_discharge_max", True),
            ("t_max_c", True),
            ("v_min", False),
            ("t_min_c", False),
        ):
            mine, theirs = getattr(self, name), getattr(outer, name)
            if mine is None or theirs is None:
                continue
            if (mine > theirs) if lower_is_tighter else (mine < theirs):
                problems.append(f"{name} {mine:g} is outside the datasheet's {theirs:g}")
        return problems


class CellTypeIn(BaseModel):
    """A datasheet: what every cell of this type is."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    manufacturer: Text = Field(min_length=1)
    model: Text = Field(min_length=1)
    technology: Technology
    chemistry: Text = Field(default="", description="e.g. NMC/graphite, LFP, AGM")
    form_factor: Text = Field(default="", description="cylindrical 18650, pouch, prismatic, ...")
    nominal_capacity_ah: PositiveFloat
    nominal_voltage_v: PositiveFloat
    limits: Limits = Field(description="Datasheet limits of one cell")
    extra: dict[FieldName, str | float] = Field(
        default_factory=dict, max_length=100, description="Technology-specific fields"
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [
            n
            for n in ("v_min", "v_max", "i_charge_max", "i_discharge_max")
            if getattr(self.limits, n) is None
        ]
        if missing:
            raise ValueError(f"a datasheet needs {', '.join(missing)}")
        return self


class CellType(CellTypeIn, _Document):
    created: int = Field(default_factory=now_ms)


class CellIn(BaseModel):
    """A specimen (cell, module or pack) of a type: ``series`` x ``parallel`` cells of that type."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    serial: Text = Field(min_length=1)
    type: DocId = Field(description="Cell type id")
    series: int = Field(default=1, ge=1, le=1000)
    parallel: int = Field(default=1, ge=1, le=1000)
    parent: DocId | None = Field(default=None, description="Module or pack this cell belongs to")
    limits: Limits = Field(
        default_factory=Limits, description="Per cell; may only narrow the datasheet's (None: datasheet)"
    )
    notes: LongText = ""
    team: DocId | None = Field(default=None, description="Owning team; default: the writer's first team")


class Cell(CellIn, _Document):
    team: DocId = DEFAULT_TEAM
    technology: Technology = Field(description="Copied from the type, for filtering")
    created: int = Field(default_factory=now_ms)


def cell_limits(cell: CellIn, cell_type: CellTypeIn) -> Limits:
    """The specimen's limits: per-cell limits (narrowed datasheet) scaled by series and parallel."""
    sheet, own = cell_type.limits, cell.limits

    def pick(name: str) -> float | None:
        mine: float | None = getattr(own, name)
        theirs: float | None = getattr(sheet, name)
        return mine if mine is not None else theirs

    def scaled(name: str, factor: int) -> float | None:
        value = pick(name)
        return value * factor if value is not None else None

    return Limits(
        v_min=scaled("v_min", cell.series),
        v_max=scaled("v_max", cell.series),
        i_charge_max=scaled("i_charge_max", cell.parallel),
        i_discharge_max=scaled("i_discharge_max", cell.parallel),
        t_min_c=pick("t_min_c"),
        t_max_c=pick("t_max_c"),
    )


# --- stations ---------------------------------------------------------------------------------


class StationChannel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str
    label: str = ""
    limits: Limits = Field(default_factory=Limits, description="What the station can do on this channel")
    capacity_ah: float | None = Field(default=None, description="Of the cell the station is configured for")


class Station(_Document):
    """A battery station (a cycler device of the contract): known from its retained meta."""

    model: str = ""
    description: str = ""
    driver: str = ""
    devices: list[str] = Field(default_factory=list, description="Instruments (identity strings)")
    channels: list[StationChannel] = Field(default_factory=list)
    online: bool = False
    seen: int = Field(default_factory=now_ms, description="Last meta or online message")

    def channel(self, channel_id: str) -> StationChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)


# --- protocols ----------------------------------------------------------------------------------


class ProtocolDoc(_Document):
    """An immutable protocol version; the id is ``<name-slug>-v<version>``, ``hash`` its content."""

    name: str
    version: int = Field(ge=1)
    description: str = ""
    slug: str = Field(description="The name as an id: versions of one protocol share it")
    hash: str = Field(description="sha256 of the canonical JSON of the protocol without its version")
    document: dict[str, Any]
    text: str = Field(default="", description="The text form, for people")
    origin: str = Field(default="native", description="native, text, wattrex, upload")
    estimate_s: float | None = None
    cycles: int | None = None
    team: DocId = Field(default=DEFAULT_TEAM, description="Owning team")
    created: int = Field(default_factory=now_ms)


# --- experiments ------------------------------------------------------------------------------


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    ABORTED = "aborted"
    ERROR = "error"

    @property
    def active(self) -> bool:
        return self in (Status.RUNNING, Status.PAUSED)

    @property
    def ended(self) -> bool:
        return self in (Status.FINISHED, Status.ABORTED, Status.ERROR)


class ExperimentIn(BaseModel):
    """What an operator asks for: this protocol, on this cell, on this station channel."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Text = Field(min_length=1)
    description: LongText = ""
    cell: DocId
    station: DocId
    channel: str = Field(default="ch1", max_length=63)
    protocol: DocId
    capacity_ah: PositiveFloat | None = Field(default=None, description="For C-rates; default: the cell's")
    operator: Text = ""
    team: DocId | None = Field(default=None, description="Owning team; default: the writer's first team")


class Progress(BaseModel):
    """Where a run is, from the station's latest state."""

    model_config = ConfigDict(extra="forbid")

    ts: int | None = None
    cycle_index: int = 0
    step_index: int = 0
    step_type: str | None = None
    test_time: float = 0.0
    voltage: float | None = None
    current: float | None = None
    temperature: float | None = None
    charge_capacity: float = 0.0
    discharge_capacity: float = 0.0


class Experiment(ExperimentIn, _Document):
    team: DocId = DEFAULT_TEAM
    status: Status = Status.QUEUED
    source: str = Field(default="station", description="station (run here) or import (from a file)")
    technology: Technology | None = Field(default=None, description="Copied from the cell, for filtering")
    created: int = Field(default_factory=now_ms)
    started: int | None = Field(default=None, description="First running state (station clock), ms")
    finished: int | None = Field(default=None, description="Run end (station clock), ms")
    end_reason: str | None = None
    progress: Progress = Field(default_factory=Progress)
    cycles: int = Field(default=0, description="Cycle statistics recorded")
    data_files: list[str] = Field(default_factory=list, description="DataFile ids (imports)")
    rows: int | None = Field(default=None, description="Samples imported (imports)")
    claimed: int | None = Field(default=None, description="When the queue took it for starting, ms")


class CycleStat(BaseModel):
    """One cycle's statistics (from the station's ``stats`` messages or computed on import)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(validation_alias=AliasChoices("id", "_id"), description="<experiment>:<cycle>")
    schema_version: int = SCHEMA_FIELD
    experiment: str
    cycle_index: int = Field(ge=0)
    start: int
    end: int
    duration: float
    charge_capacity: float
    discharge_capacity: float
    charge_energy: float
    discharge_energy: float
    coulombic_efficiency: float | None = None
    energy_efficiency: float | None = None
    v_min: float | None = None
    v_max: float | None = None
    t_max: float | None = None
    dc_resistance: float | None = None

    def to_mongo(self) -> dict[str, Any]:
        return _to_mongo(self)


class FileStatus(StrEnum):
    IMPORTED = "imported"
    FAILED = "failed"


class DataFile(_Document):
    """A file offered for import, by content hash (``_id`` = sha256): never imported twice."""

    path: str
    name: str
    size: int
    mtime: float | None = None
    format: str | None = None
    status: FileStatus
    experiment: str | None = None
    rows: int | None = None
    error: str | None = None
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list,
        description="What the import changed or noticed (duplicate rows dropped, ties, resets, the current's "
        "sign, the file's own capacities compared), each naming its rows",
    )
    created: int = Field(default_factory=now_ms)


class HarvestStatus(StrEnum):
    IMPORTED = "imported"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING = "waiting"
    """Not imported yet, for a reason that passes (still being written, InfluxDB not reachable)."""
    LIVE = "live"
    """Being written by a cycler and imported as it grows (the experiment is running)."""


class HarvestedFile(_Document):
    """Every file the harvester saw in a watched folder (``_id``: a hash of its path), with what became
    of it and why; and, for a file imported while it grows, the checkpoint it resumes from."""

    path: str
    folder: str
    status: HarvestStatus
    reason: str = ""
    experiment: str | None = None
    format: str | None = None
    size: int = 0
    mtime: float | None = None
    rows: int = 0
    """Rows imported (of a live file: the checkpoint; the next update writes from here)."""
    offset: int = 0
    """Bytes of the file read so far (live: up to the last complete line)."""
    read_hash: str | None = None
    """sha256 of the file's first ``offset`` bytes: a file rewritten from the start is detected."""
    last_row: int = 0
    last_time_ns: int | None = None
    """The last row written (its line or record number, and its test time): the rows read again at
    the next update must still end so, or what was written no longer matches the file."""
    updated: int = Field(default_factory=now_ms)


class AuditEntry(BaseModel):
    """Every command the manager sent or refused, and every change operators made."""

    model_config = ConfigDict(extra="forbid")

    id: str = ID_FIELD
    schema_version: int = SCHEMA_FIELD
    ts: int = Field(default_factory=now_ms)
    principal: str | None = Field(
        default=None,
        description="Who is authenticated as acting: the web login, or the manager itself "
        "(experiments-queue, harvester) for what it does on its own; absent in entries written before",
    )
    user: str | None = Field(
        default=None, description="The person the request named (a claim, shown next to the principal)"
    )
    action: str
    target: str
    result: str = "ok"
    detail: str | None = None

    def to_mongo(self) -> dict[str, Any]:
        return _to_mongo(self)
