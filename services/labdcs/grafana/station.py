"""The battery station: where each channel's protocol is, the cell over time, per cycle the fade,
efficiencies, CV time and DC resistance of whole experiments, and every step's statistics. The
experiments page links here with ``?var-station=<device>&var-experiment=<id>``."""

from __future__ import annotations

from collections.abc import Iterable

from grafana_foundation_sdk.builders import xychart
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from labdcs.contract.models import CyclerRunState, DeviceKind, StatsScope
from labdcs.devices.cycler.channel import QUANTITIES as CYCLER_QUANTITIES
from labdcs.grafana import queries as q
from labdcs.grafana.events import alarm_log, command_log
from labdcs.grafana.panels import (
    GRID_WIDTH,
    Board,
    Query,
    color_mapping,
    grafana_unit,
    stat_panel,
    state_timeline_panel,
    table_panel,
    thresholds,
    timeseries_panel,
    unit_override,
    xy_panel,
)
from labdcs.grafana.shared import (
    STATION_UID,
    display_name,
    query_variable,
    state_mean,
    unit_overrides,
)
from labdcs.ingest.mapping import Mapping_

_RUN_STATE_COLORS = {
    CyclerRunState.IDLE.value: ("idle", "text"),
    CyclerRunState.RUNNING.value: ("running", "green"),
    CyclerRunState.PAUSED.value: ("paused", "orange"),
    CyclerRunState.FINISHED.value: ("finished", "blue"),
    CyclerRunState.ABORTED.value: ("ABORTED", "red"),
    CyclerRunState.ERROR.value: ("ERROR", "dark-red"),
}
if set(_RUN_STATE_COLORS) != {state.value for state in CyclerRunState}:
    raise LookupError("every cycler run state needs its colour on the station dashboard")

_CYCLER_UNITS = {
    **{quantity.name: grafana_unit(quantity.unit) for quantity in CYCLER_QUANTITIES},
    "test_time": "s",
    "step_time": "s",
}
#: Units of the step and cycle statistics (CyclerStats): the state's where the names are shared.
_STATS_UNITS = {
    **{
        name: _CYCLER_UNITS[name]
        for name in ("charge_capacity", "discharge_capacity", "charge_energy", "discharge_energy")
    },
    "duration": "s",
    "cv_time": "s",
    "cv_capacity": _CYCLER_UNITS["charge_capacity"],
    "dc_resistance": grafana_unit("Ohm"),
    "coulombic_efficiency": "percentunit",
    "energy_efficiency": "percentunit",
    "v_min": _CYCLER_UNITS["voltage"],
    "v_max": _CYCLER_UNITS["voltage"],
    "t_max": _CYCLER_UNITS["temperature"],
}

#: Display names of state and statistics fields on the station dashboard.
_LABELS = {
    "run_state": "run state",
    "step_index": "step",
    "step_type": "step type",
    "cycle_index": "cycle",
    "step_end_reason": "end reason",
    "test_time": "test time",
    "step_time": "step time",
    "charge_capacity": "charge capacity",
    "discharge_capacity": "discharge capacity",
    "charge_energy": "charge energy",
    "discharge_energy": "discharge energy",
    "end_reason": "end reason",
    "cv_time": "CV time",
    "dc_resistance": "DC resistance",
    "coulombic_efficiency": "coulombic",
    "energy_efficiency": "energy",
    "v_min": "V min",
    "v_max": "V max",
    "t_max": "T max",
}


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _as(mapping: Mapping_, name: str) -> str:
    """A field of ``mapping`` under its display name."""
    label = _label(name)
    return q.field(mapping, name) if label == name else f"{q.field(mapping, name)} AS {q.ident(label)}"


def _station_filter(mapping: Mapping_) -> tuple[str, ...]:
    return (
        f"{q.tag(mapping, q.DEVICE)} =~ {q.variable_regex('station')}",
        f"{q.tag(mapping, q.EXPERIMENT)} =~ {q.variable_regex('experiment')}",
    )


def _labelled_units(units: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    return {_label(name): units[name] for name in names}


def _run_state_mapping() -> model.ValueMap:
    return color_mapping(_RUN_STATE_COLORS)


def station() -> Board:
    board = Board(
        STATION_UID,
        "labdcs battery station",
        "One battery station: where each channel's protocol is, the cell's voltage, current, "
        "temperature, power and capacity, and per cycle the discharge capacity (fade), the "
        "efficiencies, the CV time and the DC resistance, with every step's statistics.",
        time_from="now-24h",
    )
    states = q.exact_regex(q.STATE_MEASUREMENTS)
    board.variable(
        query_variable(
            "station",
            "Station",
            f"Every battery station (devices of kind '{DeviceKind.CYCLER.value}') with channel states.",
            f"SHOW TAG VALUES FROM {states} WITH KEY = {q.tag(q.STATE, q.DEVICE)} "
            f"WHERE {q.tag(q.STATE, q.KIND)} = {q.literal(DeviceKind.CYCLER.value)}",
            multi=False,
        )
    )
    board.variable(
        query_variable(
            "experiment",
            "Experiment",
            "The station's experiments (runs started with an experiment id), newest first when ids "
            "sort by their start (as the station's own exp-YYYYMMDD-... ids and MongoDB ids do). All: "
            "everything the station did, also outside an experiment.",
            f"SHOW TAG VALUES FROM {q.exact_regex((q.CYCLER, q.CYCLER_STATS))} "
            f"WITH KEY = {q.tag(q.STATE, q.EXPERIMENT)} WHERE {q.tag(q.STATE, q.DEVICE)} =~ "
            f"{q.variable_regex('station')}",
            multi=True,
            all_value=".*",
            sort=model.VariableSort.ALPHABETICAL_DESC,
        )
    )
    where = _station_filter(q.STATE)
    by_channel = (q.tag(q.STATE, q.CHANNEL),)
    by_run = (q.tag(q.STATE, q.CHANNEL), q.tag(q.STATE, q.EXPERIMENT))
    run_alias = f"$tag_{q.CHANNEL} $tag_{q.EXPERIMENT}"
    cycler = q.source(q.CYCLER)

    board.row("Now")

    def last_state(names: tuple[str, ...]) -> Query:
        """Each channel's last state with the first of ``names``, whatever the time range; the
        other columns come from the same point."""
        first, *others = names
        return Query(
            q.Select(
                (
                    f"last({q.field(q.STATE, first)}) AS {q.ident(_label(first))}",
                    *(
                        q.tag(q.STATE, name) if name == q.EXPERIMENT else _as(q.STATE, name)
                        for name in others
                    ),
                ),
                cycler,
                where=where,
                time_filter=False,
                by_interval=False,
                group_by=by_channel,
            ),
            alias=f"$tag_{q.CHANNEL} $col",
        )

    board.add(
        stat_panel(
            "Run",
            "Each channel's last state, whatever the time range: run state, experiment, protocol, the "
            "step (position and type), the cycle and why the last step or the run ended.",
            [
                last_state(
                    (
                        "run_state",
                        "experiment",
                        "protocol",
                        "step_index",
                        "step_type",
                        "cycle_index",
                        "step_end_reason",
                    )
                )
            ],
            span=14,
            fields="/^(?!Time$).*/",
        )
        .mappings([_run_state_mapping()])
        .color_mode(common.BigValueColorMode.VALUE)
        .thresholds(thresholds((None, "text")))
    )
    now_columns = ("current", "temperature", "test_time", "charge_capacity", "discharge_capacity")
    now_panel = (
        stat_panel(
            "Cell now",
            "Each channel's last voltage with the current (+ charge, - discharge), temperature, time "
            "since the run started and the capacity charged and discharged in the run.",
            [last_state(("voltage", *now_columns))],
            span=10,
        )
        .color_mode(common.BigValueColorMode.NONE)
        .unit(_CYCLER_UNITS["voltage"])
    )
    for pattern, properties in unit_overrides(
        _labelled_units(_CYCLER_UNITS, now_columns), _CYCLER_UNITS["voltage"]
    ):
        now_panel = now_panel.override_by_regexp(pattern, properties)
    board.add(now_panel)
    board.add(
        state_timeline_panel(
            "Run state and step",
            "What each channel did over the time range: the run state and the type of the running step.",
            [
                Query(
                    q.Select((f"last({q.field(q.STATE, name)})",), cycler, where=where, group_by=by_channel),
                    alias=f"$tag_{q.CHANNEL} {label}",
                )
                for name, label in (("run_state", "run"), ("step_type", "step"))
            ],
            height=5,
        ).mappings([_run_state_mapping()])
    )

    board.row("Cell")

    def over_time(names: tuple[str, ...]) -> list[Query]:
        return [
            state_mean(
                q.field_name(q.STATE, name), q.CYCLER, where, by_run, f"{run_alias} {name.split('_')[0]}"
            )
            for name in names
        ]

    board.add(
        timeseries_panel(
            "Voltage and current",
            "Cell voltage (left axis) and current (right axis, + charge, - discharge) of each run.",
            over_time(("voltage", "current")),
            _CYCLER_UNITS["voltage"],
            span=GRID_WIDTH,
            height=9,
        ).override_by_regexp(
            ".* current$",
            [
                unit_override(_CYCLER_UNITS["current"]),
                model.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
    )
    for title, description, names, unit in (
        ("Temperature", "Cell temperature.", ("temperature",), _CYCLER_UNITS["temperature"]),
        ("Power", "Power into the cell (+ charge, - discharge).", ("power",), _CYCLER_UNITS["power"]),
        (
            "Capacity",
            "Capacity charged and discharged since the run started.",
            ("charge_capacity", "discharge_capacity"),
            _CYCLER_UNITS["charge_capacity"],
        ),
        (
            "Energy",
            "Energy charged and discharged since the run started.",
            ("charge_energy", "discharge_energy"),
            _CYCLER_UNITS["charge_energy"],
        ),
    ):
        board.add(timeseries_panel(title, description, over_time(names), unit, span=6))

    board.row("Cycles (whole experiment, not limited to the time range)")
    for title, description, names in (
        (
            "Discharge capacity per cycle",
            "Capacity discharged (and charged) in each cycle: the fade of the cell.",
            ("discharge_capacity", "charge_capacity"),
        ),
        (
            "Efficiency per cycle",
            "Coulombic (discharge / charge capacity) and energy (discharge / charge energy) efficiency "
            "of each cycle.",
            ("coulombic_efficiency", "energy_efficiency"),
        ),
        ("CV time per cycle", "Time in constant-voltage regulation in each cycle.", ("cv_time",)),
        (
            "DC resistance per cycle",
            "The cell's DC resistance in each cycle: mean dV/dI over one sample after each current step.",
            ("dc_resistance",),
        ),
    ):
        board.add(_per_cycle(title, description, names))

    board.row("Steps and events")
    step_columns = (
        "cycle_index",
        "step_index",
        "step_type",
        "duration",
        "end_reason",
        "charge_capacity",
        "discharge_capacity",
        "charge_energy",
        "discharge_energy",
        "v_min",
        "v_max",
        "t_max",
    )
    steps = table_panel(
        "Steps",
        "Statistics of every step that ended in the time range, newest first (time: the step's end).",
        [
            Query(
                q.Select(
                    (
                        q.tag(q.STATS, q.CHANNEL),
                        q.tag(q.STATS, q.EXPERIMENT),
                        *(_as(q.STATS, name) for name in step_columns),
                    ),
                    q.source(q.CYCLER_STATS),
                    where=(*_station_filter(q.STATS), _scope_is(StatsScope.STEP)),
                    by_interval=False,
                    order_desc=True,
                    limit=1000,
                ),
                table=True,
            )
        ],
        span=GRID_WIDTH,
        height=10,
    ).override_by_name("Time", [display_name("end")])
    for pattern, properties in unit_overrides(
        _labelled_units(_STATS_UNITS, [n for n in step_columns if n in _STATS_UNITS]), "short"
    ):
        steps = steps.override_by_regexp(pattern, properties)
    board.add(steps)
    board.add(alarm_log("station", span=12))
    board.add(command_log("station", span=12))
    return board


def _scope_is(scope: StatsScope) -> str:
    return f"{q.tag(q.STATS, 'scope')} = {q.literal(scope.value)}"


def _per_cycle(title: str, description: str, names: tuple[str, ...]) -> xychart.Panel:
    """One statistic (or a few of one unit) against the cycle index, one series per experiment;
    not limited to the time range, so a whole experiment shows whenever it ran."""
    units = {_STATS_UNITS[name] for name in names}
    if len(units) != 1:
        raise ValueError(f"{title}: one unit per panel, not {sorted(units)}")
    select = q.Select(
        (
            q.tag(q.STATS, q.EXPERIMENT),
            _as(q.STATS, "cycle_index"),
            *(_as(q.STATS, name) for name in names),
        ),
        q.source(q.CYCLER_STATS),
        where=(*_station_filter(q.STATS), _scope_is(StatsScope.CYCLE)),
        time_filter=False,
        by_interval=False,
    )
    return xy_panel(
        title,
        description + " X: the cycle; one series per experiment. The whole experiment, not limited "
        "to the time range.",
        [Query(select, table=True)],
        units.pop(),
    ).with_transformation(
        model.DataTransformerConfig(
            id_val="partitionByValues",
            options={"fields": [q.EXPERIMENT], "keepFields": False, "naming": {"asLabels": True}},
        )
    )
