"""The one mapping from contract topics to InfluxDB measurements, tags and typed fields.

Everything time-series is derived from :data:`MAPPINGS`: the native ingester turns messages into
points with it, ``telegraf/telegraf.conf`` is generated from it, the retention and downsampling
statements and the Grafana queries name its measurements. The fields themselves are derived from
the contract's pydantic models, so a field added to a model reaches InfluxDB (and the generated
Telegraf configuration, which a test then finds out of date) without anyone writing it down twice.

InfluxDB layout (database ``labdcs``):

==================  ======================================  ===========================================
measurement         tags                                    fields
==================  ======================================  ===========================================
``power``           device, channel, kind                   every PowerChannelState field
``sensor``          device, channel, kind                   each quantity in ``values``, status, seq...
(other state kinds) device, channel, kind [, experiment...] the state model's fields
``cycler``          (batches, ``.../states``: one point per state, the same as from ``.../state``)
``device_online``   device                                  online, boot, reason
``alarm``           device, alarm, severity                 active, message, raised, cleared, ...
``command``         device, channel, verb, result           id, reason
``cycler_stats``    device, channel, scope, experiment      capacities, energies, efficiencies, ...
==================  ======================================  ===========================================
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from labdcs.contract import topics
from labdcs.contract.batch import CyclerStateBatch
from labdcs.contract.codec import ContractError, UndeclaredError, decode
from labdcs.contract.models import CHANNEL_STATE, Ack, Alarm, CyclerChannelState, CyclerStats, Online
from labdcs.contract.topics import TopicInfo, TopicKind
from labdcs.ingest.lineprotocol import FieldValue, Point

DATABASE = "labdcs"


class FieldType(StrEnum):
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"


@dataclass(frozen=True)
class FieldSpec:
    """A JSON key that becomes an InfluxDB field of one fixed type."""

    path: str
    type: FieldType
    optional: bool
    name: str = ""

    @property
    def field(self) -> str:
        return self.name or self.path


@dataclass(frozen=True)
class TagSpec:
    """A JSON key that becomes a tag (tags are always strings)."""

    path: str
    name: str
    optional: bool = True


@dataclass(frozen=True)
class Mapping_:
    """How one family of topics becomes points."""

    name: str
    description: str
    topic_kind: TopicKind
    topic_filter: str
    topic_tags: dict[int, str]
    """Topic level index -> tag name (``labdcs/v1/<device>/...``: level 2 is the device)."""
    measurement: str | None = None
    measurement_path: str | None = None
    """JSON key whose value names the measurement (state messages: ``kind``)."""
    tags: tuple[TagSpec, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    objects: tuple[str, ...] = ()
    """JSON keys holding an object of numbers: each entry becomes a float field."""
    timestamp_path: str | None = "ts"
    measurements: tuple[str, ...] = field(default=())
    """Every measurement this mapping can produce (for retention, dashboards and docs)."""
    array_path: str | None = None
    """JSON key holding an array of objects, each one point (batches); the paths above are then
    keys of those objects."""

    @property
    def is_state(self) -> bool:
        """Channel states, one by one or batched (retention keeps them apart from events)."""
        return self.topic_kind in (TopicKind.STATE, TopicKind.STATES)


# --- deriving fields from the contract models ----------------------------------------------------

#: State keys that become tags (renamed) rather than fields, where a state model has them.
STATE_TAG_KEYS = {"device_kind": "kind", "experiment": "experiment", "station": "station"}
_NOT_FIELDS = {"ts", "kind"}


def _influx_type(annotation: Any) -> tuple[FieldType | Literal["object"] | None, bool]:
    """Map a model annotation to (field type, optional)."""
    optional = False
    origin = get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) != 1:
            return None, optional  # e.g. float | bool: no stable type, not mapped
        annotation = args[0]
        origin = get_origin(annotation)
    if origin is typing.Annotated:
        annotation = get_args(annotation)[0]
        origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        return (FieldType.STRING if all(isinstance(v, str) for v in values) else None), optional
    if origin is dict:
        return "object", optional
    if annotation is bool:
        return FieldType.BOOL, optional
    if annotation is int:
        return FieldType.INT, optional
    if annotation is float:
        return FieldType.FLOAT, optional
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return FieldType.STRING, optional
    return None, optional


def _model_fields(
    model: type[BaseModel], exclude: set[str], tag_keys: Mapping[str, str]
) -> tuple[list[TagSpec], list[FieldSpec], list[str]]:
    tags: list[TagSpec] = []
    fields: list[FieldSpec] = []
    objects: list[str] = []
    for name, info in model.model_fields.items():
        if name in exclude:
            continue
        if name in tag_keys:
            tags.append(TagSpec(path=name, name=tag_keys[name], optional=not info.is_required()))
            continue
        kind, optional = _influx_type(info.annotation)
        if kind == "object":
            objects.append(name)
        elif kind is not None:
            fields.append(FieldSpec(path=name, type=kind, optional=optional or not info.is_required()))
    return tags, fields, objects


def _merge_state_models(
    models: list[type[BaseModel]],
) -> tuple[tuple[TagSpec, ...], tuple[FieldSpec, ...], tuple[str, ...]]:
    """One field set for every state kind: a key has one type across all of them (Telegraf reads
    all state topics with one parser), and is optional unless every kind always has it."""
    tags: dict[str, TagSpec] = {}
    fields: dict[str, FieldSpec] = {}
    objects: list[str] = []
    per_model: list[set[str]] = []
    for model in models:
        model_tags, model_fields, model_objects = _model_fields(model, _NOT_FIELDS, STATE_TAG_KEYS)
        for tag in model_tags:
            tags.setdefault(tag.path, tag)
        for spec in model_fields:
            known = fields.get(spec.path)
            if known is not None and known.type is not spec.type:
                raise TypeError(
                    f"state field {spec.path!r} is {known.type} in one state kind and {spec.type} in "
                    f"{model.__name__}: InfluxDB and Telegraf need one type per field name"
                )
            if known is None or (spec.optional and not known.optional):
                fields[spec.path] = spec
        objects.extend(o for o in model_objects if o not in objects)
        per_model.append({s.path for s in model_fields if not s.optional})
    always = set.intersection(*per_model) if per_model else set()
    merged = tuple(
        FieldSpec(path=s.path, type=s.type, optional=s.path not in always) for s in fields.values()
    )
    return tuple(tags.values()), merged, tuple(objects)


def _state_models() -> list[type[BaseModel]]:
    union = get_args(get_args(CHANNEL_STATE._type)[0])  # Annotated[A | B, discriminator]
    return [m for m in union if isinstance(m, type) and issubclass(m, BaseModel)]


def _state_measurements(models: list[type[BaseModel]]) -> tuple[str, ...]:
    names = []
    for model in models:
        default = model.model_fields["kind"].default
        names.append(str(default.value if isinstance(default, Enum) else default))
    return tuple(names)


def _batch_key() -> str:
    (key,) = CyclerStateBatch.model_fields
    return key


def _build() -> tuple[Mapping_, ...]:
    state_models = _state_models()
    state_tags, state_fields, state_objects = _merge_state_models(state_models)
    _, online_fields, _ = _model_fields(Online, {"ts"}, {})
    _, alarm_fields, _ = _model_fields(Alarm, {"ts", "alarm", "device", "severity"}, {})
    _, ack_fields, _ = _model_fields(Ack, {"ts", "device", "channel", "verb", "result"}, {})
    batch_tags, batch_fields, _ = _model_fields(CyclerChannelState, _NOT_FIELDS, STATE_TAG_KEYS)
    stats_tags, stats_fields, _ = _model_fields(
        CyclerStats, {"ts"}, {"scope": "scope", "experiment": "experiment"}
    )
    return (
        Mapping_(
            name="state",
            description="Channel states: one point per state message, measurement named by the state's kind",
            topic_kind=TopicKind.STATE,
            topic_filter=topics.ALL_STATE,
            topic_tags={2: "device", 3: "channel"},
            measurement_path="kind",
            tags=state_tags,
            fields=state_fields,
            objects=state_objects,
            measurements=_state_measurements(state_models),
        ),
        Mapping_(
            name="state_batch",
            description="Batched cycler states (a station faster than real time): one point per state, "
            "the same as from the state topic",
            topic_kind=TopicKind.STATES,
            topic_filter=topics.ALL_STATES,
            topic_tags={2: "device", 3: "channel"},
            measurement=_state_measurements([CyclerChannelState])[0],
            tags=tuple(batch_tags),
            fields=tuple(batch_fields),
            measurements=_state_measurements([CyclerChannelState]),
            array_path=_batch_key(),
        ),
        Mapping_(
            name="online",
            description="Availability events, including the broker's last will",
            topic_kind=TopicKind.ONLINE,
            topic_filter=topics.ALL_ONLINE,
            topic_tags={2: "device"},
            measurement="device_online",
            fields=tuple(online_fields),
            measurements=("device_online",),
        ),
        Mapping_(
            name="alarm",
            description="Alarm transitions (raised, cleared, acknowledged)",
            topic_kind=TopicKind.ALARM,
            topic_filter=topics.ALL_ALARMS,
            topic_tags={2: "device", 4: "alarm"},
            measurement="alarm",
            tags=(TagSpec(path="severity", name="severity", optional=False),),
            fields=tuple(alarm_fields),
            measurements=("alarm",),
        ),
        Mapping_(
            name="command",
            description="Command outcomes (acks), for annotations and audits",
            topic_kind=TopicKind.ACK,
            topic_filter=topics.ALL_ACKS,
            topic_tags={2: "device"},
            measurement="command",
            tags=(
                TagSpec(path="channel", name="channel", optional=False),
                TagSpec(path="verb", name="verb", optional=False),
                TagSpec(path="result", name="result", optional=False),
            ),
            fields=tuple(ack_fields),
            measurements=("command",),
        ),
        Mapping_(
            name="cycler_stats",
            description="Battery station statistics at the end of every step and cycle",
            topic_kind=TopicKind.STATS,
            topic_filter=topics.ALL_STATS,
            topic_tags={2: "device", 3: "channel"},
            measurement="cycler_stats",
            tags=tuple(stats_tags),
            fields=tuple(stats_fields),
            measurements=("cycler_stats",),
        ),
    )


MAPPINGS: tuple[Mapping_, ...] = _build()
_BY_KIND = {mapping.topic_kind: mapping for mapping in MAPPINGS}


# --- messages to points -----------------------------------------------------------------------


class EmptyPayload(ValueError):
    """An empty retained message: someone deleted a retained topic. Not data, not an error."""


def _to_string(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)


_CASTS: dict[FieldType, Callable[[Any], FieldValue]] = {
    FieldType.FLOAT: float,
    FieldType.INT: int,
    FieldType.BOOL: bool,
    FieldType.STRING: _to_string,
}

#: Per mapping and message model: (key, field name, cast) of the fields that model can carry, so a
#: message is not asked for the dozens of keys only other state kinds have.
_Plan = tuple[tuple[str, str, Callable[[Any], FieldValue]], ...]
_PLANS: dict[tuple[str, type[BaseModel]], _Plan] = {}


def _plan(mapping: Mapping_, model: type[BaseModel]) -> _Plan:
    key = (mapping.name, model)
    plan = _PLANS.get(key)
    if plan is None:
        plan = tuple(
            (spec.path, spec.field, _CASTS[spec.type])
            for spec in mapping.fields
            if spec.path in model.model_fields
        )
        _PLANS[key] = plan
    return plan


def to_points(
    topic: str,
    payload: bytes,
    received_ms: int,
    undeclared: Callable[[TopicInfo, BaseModel], str | None] | None = None,
) -> list[Point]:
    """Points for one message. Raises ContractError for anything outside the contract (its
    ``is_type_conflict`` tells a wrong value type from other breakage; OversizeError, IdentityError
    and UndeclaredError, when ``undeclared`` says why, name the other refusals) and EmptyPayload."""
    if not payload:
        raise EmptyPayload(topic)
    info, message = decode(topic, payload)
    if undeclared is not None:
        reason = undeclared(info, message)
        if reason is not None:
            raise UndeclaredError(topic, reason)
    mapping = _BY_KIND.get(info.kind)
    if mapping is None:
        return []  # meta and commands are not time series
    levels = topic.split("/")
    topic_tags = {name: levels[index] for index, name in mapping.topic_tags.items()}
    if mapping.array_path is None:
        return [_point(topic, mapping, message, topic_tags, received_ms)]
    items: list[BaseModel] = getattr(message, mapping.array_path)
    return [_point(topic, mapping, item, topic_tags, received_ms) for item in items]


def _point(
    topic: str, mapping: Mapping_, message: BaseModel, topic_tags: dict[str, str], received_ms: int
) -> Point:
    # The model's own attributes (scalars, enums, dicts of numbers): no model_dump per message.
    data = message.__dict__
    tags = dict(topic_tags)
    for tag in mapping.tags:
        value = data.get(tag.path)
        if value is not None:
            tags[tag.name] = str(value.value if isinstance(value, Enum) else value)
    fields: dict[str, FieldValue] = {}
    for path, name, cast in _plan(mapping, type(message)):
        value = data[path]
        if value is not None:
            fields[name] = cast(value)
    for key in mapping.objects:
        for name, value in (data.get(key) or {}).items():
            fields[name] = float(value)
    if not fields:
        raise ContractError(topic, "message has no field to store")
    if mapping.measurement_path is not None:
        raw = data[mapping.measurement_path]
        measurement = str(raw.value if isinstance(raw, Enum) else raw)
    else:
        assert mapping.measurement is not None
        measurement = mapping.measurement
    ts = data.get(mapping.timestamp_path) if mapping.timestamp_path else None
    return Point(measurement, tags, fields, int(ts) if ts is not None else received_ms)


def all_measurements() -> list[str]:
    """Every measurement once (a batch writes the same measurement as the single state)."""
    return list(dict.fromkeys(name for mapping in MAPPINGS for name in mapping.measurements))
