"""Targets, panels and dashboards in one house style, built with grafana-foundation-sdk.

The SDK has builders for Grafana's panels and dashboards but no InfluxDB query type, so
:class:`InfluxQLQuery` supplies one: the JSON Grafana's InfluxQL data source stores for a query
written in its raw editor. Everything else is the SDK's, so the JSON follows the schema of the
Grafana release the SDK is generated for (the pinned ``grafana-foundation-sdk`` 11.6 build).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries, xychart
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import xychart as xymodel

from labdcs.grafana.queries import Select

DATASOURCE_UID = "labdcs-influxdb"
DATASOURCE_TYPE = "influxdb"
DATASOURCE_NAME = "labdcs InfluxDB"
#: Tag of every labdcs dashboard (their links to each other list dashboards with it).
TAG = "labdcs"
#: Grafana's grid is 24 columns wide.
GRID_WIDTH = 24


def datasource() -> model.DataSourceRef:
    return model.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


# --- targets ----------------------------------------------------------------------------------------


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL target of Grafana's InfluxDB data source."""

    def __init__(
        self,
        query: str,
        ref_id: str,
        alias: str | None = None,
        result_format: Literal["time_series", "table"] = "time_series",
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.alias = alias
        self.result_format = result_format

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": datasource(),
            "refId": self.ref_id,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        return payload


@dataclass(frozen=True)
class Query:
    """What a panel asks: the SELECT, the legend (Grafana alias: ``$tag_<tag>``, ``$col``) and
    whether Grafana should return a table instead of time series."""

    select: Select | str
    alias: str | None = None
    table: bool = False


class _Target(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, query: Query, ref_id: str) -> None:
        self._query = query
        self._ref_id = ref_id

    def build(self) -> InfluxQLQuery:
        return InfluxQLQuery(
            str(self._query.select),
            self._ref_id,
            self._query.alias,
            "table" if self._query.table else "time_series",
        )


def targets(queries: Sequence[Query]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    """Targets with refIds A, B, C ... in order."""
    if len(queries) > 26:
        raise ValueError("a panel takes at most 26 queries")
    return [_Target(query, chr(ord("A") + index)) for index, query in enumerate(queries)]


# --- field configuration ----------------------------------------------------------------------------

#: The contract's unit symbols (QuantityMeta.unit) as Grafana unit ids.
_UNITS = {
    "V": "volt",
    "A": "amp",
    "°C": "celsius",
    "degC": "celsius",
    "W": "watt",
    "Ah": "amph",
    "Wh": "watth",
    "Ohm": "ohm",
    "%": "percent",
    "s": "s",
    "B": "bytes",
    "1/s": "suffix: /s",
    "": "short",
}


def grafana_unit(symbol: str) -> str:
    """Grafana's unit for a contract unit symbol; others are shown as a suffix."""
    return _UNITS.get(symbol, f"suffix: {symbol}")


def color_mapping(colors: dict[str, tuple[str, str]]) -> model.ValueMap:
    """Value -> (display text, colour)."""
    return model.ValueMap(
        options={
            value: model.ValueMappingResult(text=text, color=color, index=index)
            for index, (value, (text, color)) in enumerate(colors.items())
        }
    )


def boolean_mapping(true: tuple[str, str], false: tuple[str, str]) -> list[model.ValueMapping]:
    """Booleans shown as words: (text, colour) for true and for false."""
    return [
        model.SpecialValueMap(
            options=model.DashboardSpecialValueMapOptions(
                match=match, result=model.ValueMappingResult(text=text, color=color, index=index)
            )
        )
        for index, (match, (text, color)) in enumerate(
            ((model.SpecialValueMatch.TRUE, true), (model.SpecialValueMatch.FALSE, false))
        )
    ]


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builders.ThresholdsConfig:
    """Absolute thresholds: (from value, colour); the first step's value is None (base)."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def dashed() -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]})


def unit_override(unit: str) -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val="unit", value=unit)


# --- panels -------------------------------------------------------------------------------------------


_Panel = TypeVar("_Panel", timeseries.Panel, stat.Panel, table.Panel, statetimeline.Panel, xychart.Panel)


def _panel(
    panel: _Panel, title: str, description: str, queries: Sequence[Query], span: int, height: int
) -> _Panel:
    """What every panel has: title, description for the (i) tooltip, data source, queries, size."""
    return (
        panel.title(title)
        .description(description)
        .datasource(datasource())
        .targets(targets(queries))
        .span(span)
        .height(height)
    )


def _legend() -> common_builders.VizLegendOptions:
    return (
        common_builders.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )


def _tooltip(mode: common.TooltipDisplayMode) -> common_builders.VizTooltipOptions:
    return common_builders.VizTooltipOptions().mode(mode).sort(common.SortOrder.NONE)


def timeseries_panel(
    title: str, description: str, queries: Sequence[Query], unit: str, *, span: int = 12, height: int = 8
) -> timeseries.Panel:
    return (
        _panel(timeseries.Panel(), title, description, queries, span, height)
        .unit(unit)
        .line_width(1)
        .fill_opacity(0)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(_legend())
        .tooltip(_tooltip(common.TooltipDisplayMode.MULTI))
    )


def xy_panel(
    title: str, description: str, queries: Sequence[Query], unit: str, *, span: int = 12, height: int = 8
) -> xychart.Panel:
    """Y against X instead of time: in each frame the first numeric column is X, the others are
    plotted against it (Grafana's automatic series mapping), as points joined by lines."""
    return (
        _panel(xychart.Panel(), title, description, queries, span, height)
        .unit(unit)
        .mapping(xymodel.SeriesMapping.AUTO)
        .show(xymodel.XYShowMode.POINTS_AND_LINES)
        .point_size(xychart.XychartFieldConfigPointSize().fixed(4))
        .line_width(1)
        .legend(_legend())
        .tooltip(_tooltip(common.TooltipDisplayMode.SINGLE))
    )


def stat_panel(
    title: str, description: str, queries: Sequence[Query], *, span: int, height: int = 5, fields: str = ""
) -> stat.Panel:
    """A stat panel showing the last value of each series; ``fields`` is Grafana's field regex
    (empty: numeric fields only)."""
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
    if fields:
        reduce = reduce.fields(fields)
    return (
        _panel(stat.Panel(), title, description, queries, span, height)
        .reduce_options(reduce)
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
    )


def table_panel(
    title: str, description: str, queries: Sequence[Query], *, span: int, height: int = 8
) -> table.Panel:
    return _panel(table.Panel(), title, description, queries, span, height).show_header(True).filterable(True)


def state_timeline_panel(
    title: str, description: str, queries: Sequence[Query], *, span: int = GRID_WIDTH, height: int = 6
) -> statetimeline.Panel:
    return (
        _panel(statetimeline.Panel(), title, description, queries, span, height)
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
        .row_height(0.9)
        .fill_opacity(80)
        .line_width(0)
    )


# --- dashboards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSource:
    """A panel whose data only a part of the stack outside ``labdcs up`` writes (Telegraf in the
    compose stack). Recorded in the panel's JSON as ``labdcs.requires`` so the data test can skip
    it by name and say why, instead of the panel silently having no data."""

    requires: str
    reason: str


class Board:
    """One dashboard: panels laid out left to right in rows, ids numbered from 1 in order."""

    def __init__(self, uid: str, title: str, description: str, *, time_from: str = "now-1h") -> None:
        self.uid = uid
        self.title = title
        self._builder = (
            dashboard_builders.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags([TAG])
            .readonly()
            .time(time_from, "now")
            .refresh("10s")
            .timezone("browser")
            .tooltip(model.DashboardCursorSync.CROSSHAIR)
            # An empty list, not a missing one: Grafana adds its built-in annotation to it.
            .annotations([])
            .link(
                dashboard_builders.DashboardLink("labdcs")
                .type(model.DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(False)
                .include_vars(False)
                .keep_time(True)
                .target_blank(False)
                .icon("external link")
                .tooltip("")
                .url("")
            )
        )
        self._panels = 0
        self._sources: dict[int, DataSource] = {}

    def variable(self, variable: cogbuilder.Builder[model.VariableModel]) -> Board:
        self._builder.with_variable(variable)
        return self

    def row(self, title: str) -> Board:
        self._builder.with_row(dashboard_builders.Row(title))
        self._panels += 1
        return self

    def add(self, panel: cogbuilder.Builder[model.Panel], source: DataSource | None = None) -> Board:
        if source is not None:
            self._sources[self._panels] = source
        self._builder.with_panel(panel)
        self._panels += 1
        return self

    def to_json(self) -> dict[str, Any]:
        dashboard = self._builder.build()
        _layout(dashboard.panels or [])
        for number, panel in enumerate(dashboard.panels or [], start=1):
            panel.id_val = number
        data: dict[str, Any] = json.loads(json.dumps(dashboard, cls=JSONEncoder))
        for index, source in self._sources.items():
            data["panels"][index]["labdcs"] = {"requires": source.requires, "reason": source.reason}
        return data

    def render(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _layout(panels: list[model.Panel | model.RowPanel]) -> None:
    """Left to right, wrapping to a new line when a panel does not fit; a row starts a new line.
    (The SDK's own placement lets a panel run past the grid's right edge.)"""
    x = y = line_height = 0
    for panel in panels:
        position = panel.grid_pos or model.GridPos()
        if isinstance(panel, model.RowPanel):
            y, x, line_height = y + line_height, 0, 0
            panel.grid_pos = model.GridPos(h=1, w=GRID_WIDTH, x=0, y=y)
            y += 1
            continue
        if position.w > GRID_WIDTH:
            raise ValueError(f"panel {panel.title!r} is wider than the grid")
        if x + position.w > GRID_WIDTH:
            y, x, line_height = y + line_height, 0, 0
        panel.grid_pos = model.GridPos(h=position.h, w=position.w, x=x, y=y)
        x += position.w
        line_height = max(line_height, position.h)
