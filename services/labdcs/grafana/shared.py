"""What the labdcs dashboards share: their uids, units and colours, the template variables, the
mean of a state field at the chosen resolution and the overrides of panels showing many units."""

from __future__ import annotations

import re
from collections.abc import Iterable

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import dashboard as model

from labdcs.contract.models import Severity
from labdcs.devices.publishing import POWER_QUANTITIES
from labdcs.grafana import queries as q
from labdcs.grafana.panels import Query, color_mapping, datasource, grafana_unit, unit_override
from labdcs.ingest.retention import RetentionSettings, retention_policy_of
from labdcs.ingest.service import _QUANTITIES as INGEST_QUANTITIES

OVERVIEW_UID = "labdcs-overview"
DEVICE_UID = "labdcs-device"
STACK_UID = "labdcs-stack"
#: The experiments page links here with ``?var-station=<device>&var-experiment=<id>``.
STATION_UID = "labdcs-station"

POWER_UNITS = {quantity.name: grafana_unit(quantity.unit) for quantity in POWER_QUANTITIES}
INGEST_UNITS = {name: grafana_unit(unit) for name, unit, _ in INGEST_QUANTITIES}

SEVERITY_COLORS = {
    Severity.INFO.value: ("info", "blue"),
    Severity.WARNING.value: ("warning", "orange"),
    Severity.ERROR.value: ("error", "red"),
    Severity.CRITICAL.value: ("CRITICAL", "dark-red"),
}


def color_text(colors: dict[str, tuple[str, str]]) -> list[model.DynamicConfigValue]:
    """A table column whose values show as text in their colour (``colors``: value -> text, colour)."""
    return [
        model.DynamicConfigValue(id_val="mappings", value=[color_mapping(colors)]),
        model.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
    ]


def display_name(name: str) -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val="displayName", value=name)


def title_of(name: str) -> str:
    """A field name as a panel or column title: ``parse_errors`` -> ``Parse errors``."""
    return name.replace("_", " ").capitalize()


def resolution_variable() -> dashboard_builders.CustomVariable:
    interval = RetentionSettings().trend_interval
    options = [(f"{q.RAW} (full resolution)", q.RAW), (f"{q.TREND} ({interval} means)", q.TREND)]
    return (
        dashboard_builders.CustomVariable(q.RESOLUTION)
        .label("Resolution")
        .description(
            f"{q.RAW}: every point, kept for the raw retention period (30 days by default); "
            f"{q.TREND}: {interval} means of every numeric value, kept for years (use it for long ranges)"
        )
        .values(", ".join(f"{text} : {value}" for text, value in options))
        .current(model.VariableOption(selected=True, text=options[0][0], value=options[0][1]))
        .options(
            [
                model.VariableOption(selected=index == 0, text=text, value=value)
                for index, (text, value) in enumerate(options)
            ]
        )
        .multi(False)
        .include_all(False)
    )


def query_variable(
    name: str,
    label: str,
    description: str,
    query: str,
    *,
    multi: bool,
    regex: str = "",
    all_value: str = "",
    sort: model.VariableSort = model.VariableSort.ALPHABETICAL_ASC,
) -> dashboard_builders.QueryVariable:
    """A variable filled by a query; a multi-value one offers All and starts on it (``all_value``:
    what All stands for in the queries instead of every listed value)."""
    variable = (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(datasource())
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(sort)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable = variable.current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    if regex:
        variable = variable.regex(regex)
    if all_value:
        variable = variable.all_value(all_value)
    return variable


def unit_overrides(
    units: dict[str, str], default: str
) -> Iterable[tuple[str, list[model.DynamicConfigValue]]]:
    """Display-name regex -> unit, one override per unit other than the panel's ``default``, for
    panels showing many quantities (display names end in the quantity: ``box temperature``)."""
    by_unit: dict[str, list[str]] = {}
    for name, unit in units.items():
        if unit != default:
            by_unit.setdefault(unit, []).append(name)
    for unit, names in sorted(by_unit.items()):
        yield f"(^|.*[ _])({'|'.join(re.escape(n) for n in sorted(names))})$", [unit_override(unit)]


def state_mean(
    name: str, measurement: str, where: tuple[str, ...], group_by: tuple[str, ...], alias: str
) -> Query:
    """The mean per interval of a numeric state field: raw or trend as the resolution variable says
    for states kept in ``raw``, the full-resolution points for those kept whole (battery stations)."""
    downsampled = retention_policy_of(measurement) == q.RAW
    source = q.state_source(measurement) if downsampled else q.source(measurement)
    select = q.Select((q.mean(name, resolution=downsampled),), source, where=where, group_by=group_by)
    return Query(select, alias=alias)
