"""InfluxQL for the dashboards, with every name taken from the time-series mapping.

The dashboards never spell a measurement, tag, field or retention policy themselves: they ask this
module, which looks the name up in :data:`labdcs.ingest.mapping.MAPPINGS` and
:mod:`labdcs.ingest.retention` and raises when it is not there. Queries are InfluxQL for InfluxDB
1.x (1.6 and newer: subqueries, regular expressions on measurements and fields), no Flux.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labdcs.contract.models import ChannelKind
from labdcs.ingest import retention
from labdcs.ingest.mapping import MAPPINGS, STATE_TAG_KEYS, Mapping_

# Grafana's macros of the InfluxQL data source.
TIME_FILTER = "$timeFilter"
INTERVAL = "$__interval"

#: The dashboard variable choosing full-resolution data or the downsampled trend.
RESOLUTION = "resolution"
#: Prefix the trend's continuous query (``SELECT mean(*) ...``) gives every field it writes.
TREND_FIELD_PREFIX = "mean_"


def _mapping(name: str) -> Mapping_:
    for mapping in MAPPINGS:
        if mapping.name == name:
            return mapping
    raise LookupError(f"the time-series mapping has no {name!r} family")


STATE = _mapping("state")
ONLINE = _mapping("online")
ALARM = _mapping("alarm")
COMMAND = _mapping("command")
STATS = _mapping("cycler_stats")


def ident(name: str) -> str:
    """A quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """A quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def exact_regex(names: list[str] | tuple[str, ...]) -> str:
    """``/^(a|b)$/``: matches exactly these names (measurements, fields)."""
    return "/^(" + "|".join(re.escape(name) for name in names) + ")$/"


def variable_regex(variable: str) -> str:
    """``/^$var$/``: Grafana turns a multi-value or All selection into ``(a|b)`` here."""
    return f"/^${variable}$/"


def tag(mapping: Mapping_, name: str) -> str:
    """A tag of ``mapping``'s points, quoted; raises if the mapping has no such tag."""
    names = set(mapping.topic_tags.values()) | {spec.name for spec in mapping.tags}
    if name not in names:
        raise LookupError(f"{mapping.name} points have no tag {name!r} (tags: {sorted(names)})")
    return ident(name)


def field_name(mapping: Mapping_, name: str) -> str:
    """A fixed field of ``mapping``'s points (unquoted); raises if there is none of that name."""
    names = {spec.field for spec in mapping.fields}
    if name not in names:
        raise LookupError(f"{mapping.name} points have no field {name!r} (fields: {sorted(names)})")
    return name


def field(mapping: Mapping_, name: str) -> str:
    return ident(field_name(mapping, name))


# --- names ------------------------------------------------------------------------------------------

DEVICE = STATE.topic_tags[2]
CHANNEL = STATE.topic_tags[3]
KIND = STATE_TAG_KEYS["device_kind"]
POWER = ChannelKind.POWER.value
SENSOR = ChannelKind.SENSOR.value
CYCLER = ChannelKind.CYCLER.value
RULE = ChannelKind.RULE.value
EXPERIMENT = STATE_TAG_KEYS["experiment"]
STATE_MEASUREMENTS = tuple(retention.state_measurements())


def _check_names() -> None:
    """The dashboards filter every family by one device tag and read power and sensor states."""
    for mapping in MAPPINGS:
        if mapping.topic_tags.get(2) != DEVICE:
            raise LookupError(f"{mapping.name}: the device tag is not {DEVICE!r}")
    tag(STATE, KIND)
    tag(STATE, EXPERIMENT)
    tag(STATS, EXPERIMENT)
    for measurement in (POWER, SENSOR, CYCLER, RULE):
        if measurement not in STATE_MEASUREMENTS:
            raise LookupError(f"no state measurement {measurement!r} in {STATE_MEASUREMENTS}")


_check_names()

#: State fields that are bookkeeping, not a measured quantity.
STATE_BOOKKEEPING = tuple(field_name(STATE, name) for name in ("seq", "boot", "status", "fault"))

RAW = retention.RAW
TREND = retention.TREND


def measurement_of(mapping: Mapping_) -> str:
    """The one measurement of an event mapping (states have one per kind)."""
    if mapping.measurement is None:
        raise LookupError(f"{mapping.name} has no fixed measurement")
    return mapping.measurement


DEVICE_ONLINE = measurement_of(ONLINE)
ALARMS = measurement_of(ALARM)
COMMANDS = measurement_of(COMMAND)
CYCLER_STATS = measurement_of(STATS)


def source(measurement: str, policy: str | None = None) -> str:
    """``"policy"."measurement"``; the policy defaults to where the ingester writes it."""
    return f"{ident(policy or retention.retention_policy_of(measurement))}.{ident(measurement)}"


def state_source(measurement: str) -> str:
    """A state measurement in the retention policy the dashboard's resolution variable selects
    (``raw`` or its downsampled ``trend``: only states kept in ``raw`` have a trend)."""
    if measurement not in STATE_MEASUREMENTS:
        raise LookupError(f"{measurement!r} is not a state measurement")
    if retention.retention_policy_of(measurement) != RAW:
        raise LookupError(
            f"{measurement!r} is kept whole in {retention.retention_policy_of(measurement)!r}: no trend, "
            "read it with source()"
        )
    return f'"${RESOLUTION}".{ident(measurement)}'


def all_states() -> str:
    """Every state measurement, each from the retention policy the ingester writes it to
    (``"raw"./^(power|...)$/, "experiments"./^(cycler)$/``): a new state kind is included without
    an edit."""
    by_policy: dict[str, list[str]] = {}
    for measurement in STATE_MEASUREMENTS:
        by_policy.setdefault(retention.retention_policy_of(measurement), []).append(measurement)
    return ", ".join(f"{ident(policy)}.{exact_regex(names)}" for policy, names in by_policy.items())


def mean(name: str, *, resolution: bool) -> str:
    """``mean`` of a numeric state field; with ``resolution`` it also reads the trend's ``mean_<name>``
    (the field selector is a regular expression matching either spelling)."""
    if not resolution:
        return f"mean({ident(name)})"
    return f"mean(/^({re.escape(TREND_FIELD_PREFIX)})?{re.escape(name)}$/)"


def mean_matching(pattern: str) -> str:
    """``mean`` of every field matching ``pattern`` (a regex body), raw or trend spelling."""
    return f"mean(/^({re.escape(TREND_FIELD_PREFIX)})?{pattern}$/)"


@dataclass(frozen=True)
class Select:
    """One InfluxQL SELECT, written the same way in every panel."""

    columns: tuple[str, ...]
    source: str
    where: tuple[str, ...] = ()
    time_filter: bool = True
    by_interval: bool = True
    group_by: tuple[str, ...] = ()
    fill: str | None = "none"
    order_desc: bool = False
    limit: int | None = None

    def text(self) -> str:
        conditions = [*self.where, *([TIME_FILTER] if self.time_filter else [])]
        groups = [*([f"time({INTERVAL})"] if self.by_interval else []), *self.group_by]
        parts = [f"SELECT {', '.join(self.columns)} FROM {self.source}"]
        if conditions:
            parts.append("WHERE " + " AND ".join(conditions))
        if groups:
            parts.append("GROUP BY " + ", ".join(groups))
        if self.by_interval and self.fill is not None:
            parts.append(f"fill({self.fill})")
        if self.order_desc:
            parts.append("ORDER BY time DESC")
        if self.limit is not None:
            parts.append(f"LIMIT {self.limit}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.text()
