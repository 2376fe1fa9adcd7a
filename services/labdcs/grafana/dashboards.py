"""The three labdcs dashboards: DCS overview, device detail, stack health.

Queries are built from :mod:`labdcs.grafana.queries` (names from the time-series mapping), units
from the quantities the services publish in their ``meta``. What the data can tell is found at run
time, not listed here: devices and channels are template variables filled from the tags, the
device detail's sensor values are every sensor field but bookkeeping, and the overview's power
panels select by the device-kind tag, so a new device, channel or sensor quantity needs no edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from labdcs.contract.models import DeviceKind, PowerStatus, SensorStatus, Severity
from labdcs.devices.service import _POWER_QUANTITIES as POWER_QUANTITIES
from labdcs.drivers.envmon import QUANTITIES as ENV_QUANTITIES
from labdcs.grafana import queries as q
from labdcs.grafana.panels import (
    GRID_WIDTH,
    Board,
    DataSource,
    Query,
    boolean_mapping,
    color_mapping,
    dashed,
    datasource,
    grafana_unit,
    stat_panel,
    state_timeline_panel,
    table_panel,
    thresholds,
    timeseries_panel,
    unit_override,
)
from labdcs.ingest.mapping import Mapping_
from labdcs.ingest.retention import RetentionSettings
from labdcs.ingest.service import _QUANTITIES as INGEST_QUANTITIES
from labdcs.ingest.service import STATS_CHANNEL, IngestSettings

OVERVIEW_UID = "labdcs-overview"
DEVICE_UID = "labdcs-device"
STACK_UID = "labdcs-stack"

#: Power sections of the overview, one per device kind with power channels.
POWER_KINDS = ((DeviceKind.HV, "HV"), (DeviceKind.LV, "LV"))

_POWER_UNITS = {quantity.name: grafana_unit(quantity.unit) for quantity in POWER_QUANTITIES}
_INGEST_UNITS = {name: grafana_unit(unit) for name, unit, _ in INGEST_QUANTITIES}

_STATUS_COLORS = {
    PowerStatus.ON.value: ("on", "green"),
    PowerStatus.OFF.value: ("off", "text"),
    PowerStatus.RAMPING.value: ("ramping", "blue"),
    PowerStatus.FAULT.value: ("FAULT", "red"),
    SensorStatus.OK.value: ("ok", "green"),
}
if SensorStatus.FAULT.value != PowerStatus.FAULT.value:
    _STATUS_COLORS[SensorStatus.FAULT.value] = ("FAULT", "red")
_SEVERITY_COLORS = {
    Severity.INFO.value: ("info", "blue"),
    Severity.WARNING.value: ("warning", "orange"),
    Severity.ERROR.value: ("error", "red"),
    Severity.CRITICAL.value: ("CRITICAL", "dark-red"),
}

_TELEGRAF = DataSource(
    requires="telegraf",
    reason="Telegraf's inputs.internal writes internal_* only in the compose stack; "
    "labdcs up runs the native ingester instead",
)


# --- shared pieces ----------------------------------------------------------------------------------


def _device_is(variable: str) -> str:
    return f"{q.tag(q.STATE, q.DEVICE)} =~ {q.variable_regex(variable)}"


def _channel_is(variable: str) -> str:
    return f"{q.tag(q.STATE, q.CHANNEL)} =~ {q.variable_regex(variable)}"


def _resolution_variable() -> dashboard_builders.CustomVariable:
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


def _query_variable(
    name: str, label: str, description: str, query: str, *, multi: bool, regex: str = ""
) -> dashboard_builders.QueryVariable:
    variable = (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(datasource())
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable = variable.current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    if regex:
        variable = variable.regex(regex)
    return variable


def _unit_overrides(
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


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


# --- DCS overview -------------------------------------------------------------------------------------


def overview() -> Board:
    board = Board(
        OVERVIEW_UID,
        "labdcs overview",
        "Every device online or offline, active alarms, HV/LV channel readbacks and the environment.",
        time_from="now-1h",
    ).variable(_resolution_variable())
    device = q.tag(q.STATE, q.DEVICE)
    channel = q.tag(q.STATE, q.CHANNEL)
    kind = q.tag(q.STATE, q.KIND)

    board.row("Devices")
    online = q.Select(
        (f'last({q.field(q.ONLINE, "online")}) AS "online"',),
        q.source(q.DEVICE_ONLINE),
        time_filter=False,
        by_interval=False,
        group_by=(q.tag(q.ONLINE, q.DEVICE),),
    )
    board.add(
        stat_panel(
            "Devices",
            "The last availability message of every device that ever reported (the broker's last will "
            "turns it to OFFLINE when a service dies). Not limited to the time range. Click a device "
            "for its detail dashboard.",
            [Query(online, alias=f"$tag_{q.DEVICE}")],
            span=12,
            # Booleans are not numeric: every field but the time column.
            fields="/^(?!Time$).*/",
        )
        .mappings(boolean_mapping(true=("online", "green"), false=("OFFLINE", "red")))
        .data_links(
            [
                dashboard_builders.DashboardLink("Device detail")
                .type(model.DashboardLinkType.LINK)
                .url(f"/d/{DEVICE_UID}?var-device=${{__field.labels.{q.DEVICE}}}&${{__url_time_range}}")
                .target_blank(False)
                .include_vars(False)
                .keep_time(False)
                .as_dropdown(False)
                .icon("")
                .tooltip("")
                .tags([])
            ]
        )
    )
    last_state = q.Select(
        (f'last({q.field(q.STATE, "seq")}) AS "seq"',),
        q.all_states(),
        by_interval=False,
        group_by=(device,),
    )
    board.add(
        table_panel(
            "Last state received",
            "When each device last published a channel state (within the time range). A connected "
            "service whose age keeps growing is stuck.",
            [Query(last_state, table=True)],
            span=6,
            height=5,
        )
        .override_by_name("Time", [unit_override("dateTimeFromNow"), _display_name("last state")])
        .override_by_name("seq", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .sort_by([_sort("Time", descending=False)])
    )
    active = _active_alarms(("active",))
    board.add(
        stat_panel(
            "Active alarms",
            "Alarms whose last transition is active (raised and not cleared), over all time.",
            [
                Query(
                    q.Select(
                        ('count("active")',),
                        f"({active})",
                        time_filter=False,
                        by_interval=False,
                        where=('"active" = true',),
                    )
                )
            ],
            span=6,
        )
        .no_value("0")
        .thresholds(thresholds((None, "green"), (1, "red")))
        .text_mode(common.BigValueTextMode.VALUE)
    )
    columns = ("active", "severity", "message", "channel", "raised")
    board.add(
        table_panel(
            "Active alarms",
            "Alarms whose last transition is active, newest first; the time is that of the last "
            "transition (re-raised or acknowledged), 'raised' when it was first raised.",
            [
                Query(
                    q.Select(
                        tuple(f'"{name}"' for name in columns),
                        f"({_active_alarms(columns)})",
                        where=('"active" = true',),
                        time_filter=False,
                        by_interval=False,
                        group_by=(q.tag(q.ALARM, q.DEVICE), q.tag(q.ALARM, "alarm")),
                    ),
                    table=True,
                )
            ],
            span=GRID_WIDTH,
            height=6,
        )
        .override_by_name("raised", [unit_override("dateTimeAsIso")])
        .override_by_name("active", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .override_by_name(
            "severity",
            [
                model.DynamicConfigValue(id_val="mappings", value=[color_mapping(_SEVERITY_COLORS)]),
                model.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ],
        )
        .sort_by([_sort("Time", descending=True)])
    )

    for device_kind, label in POWER_KINDS:
        board.row(f"{label} channels")
        where = (f"{kind} = {q.literal(device_kind.value)}",)
        for name, what in (("v_mon", "voltage"), ("i_mon", "current")):
            select = q.Select(
                (q.mean(q.field_name(q.STATE, name), resolution=True),),
                q.state_source(q.POWER),
                where=where,
                group_by=(device, channel),
            )
            board.add(
                timeseries_panel(
                    f"{label} {what} (measured)",
                    f"Measured {what} of every {label} channel (devices of kind '{device_kind.value}').",
                    [Query(select, alias=f"$tag_{q.DEVICE} $tag_{q.CHANNEL}")],
                    _POWER_UNITS[name],
                )
            )

    board.row("Environment")
    env = (f"{kind} = {q.literal(DeviceKind.ENV.value)}",)
    span = max(GRID_WIDTH // max(len(ENV_QUANTITIES), 1), 6)
    for quantity in ENV_QUANTITIES:
        select = q.Select(
            (q.mean(quantity.name, resolution=True),),
            q.state_source(q.SENSOR),
            where=env,
            group_by=(device, channel),
        )
        board.add(
            timeseries_panel(
                _title(quantity.name),
                f"{quantity.description.capitalize()} of every environment sensor.",
                [Query(select, alias=f"$tag_{q.DEVICE} $tag_{q.CHANNEL}")],
                grafana_unit(quantity.unit),
                span=span,
            )
        )
    return board


def _active_alarms(columns: tuple[str, ...]) -> str:
    """Subquery: each alarm's last transition (all time), with ``columns`` from the same point."""
    selected = [f'last({q.field(q.ALARM, "active")}) AS "active"']
    for name in columns:
        if name == "active":
            continue
        if name == "severity":
            selected.append(q.tag(q.ALARM, name))
        else:
            selected.append(q.field(q.ALARM, name))
    return str(
        q.Select(
            tuple(selected),
            q.source(q.ALARMS),
            time_filter=False,
            by_interval=False,
            group_by=(q.tag(q.ALARM, q.DEVICE), q.tag(q.ALARM, "alarm")),
        )
    )


def _display_name(name: str) -> model.DynamicConfigValue:
    return model.DynamicConfigValue(id_val="displayName", value=name)


def _sort(name: str, *, descending: bool) -> common_builders.TableSortByFieldState:
    return common_builders.TableSortByFieldState().display_name(name).desc(descending)


# --- device detail --------------------------------------------------------------------------------------


def device_detail() -> Board:
    board = Board(
        DEVICE_UID,
        "labdcs device",
        "One device: its channels' readbacks, setpoints and status, sensor values, alarms, commands "
        "and availability.",
        time_from="now-1h",
    )
    states = q.exact_regex(q.STATE_MEASUREMENTS)
    bookkeeping = "|".join(re.escape(name) for name in q.STATE_BOOKKEEPING)
    board.variable(
        _query_variable(
            "device",
            "Device",
            "Every device with channel states in the database.",
            f"SHOW TAG VALUES FROM {states} WITH KEY = {q.tag(q.STATE, q.DEVICE)}",
            multi=False,
        )
    )
    board.variable(
        _query_variable(
            "channel",
            "Channel",
            "The device's channels.",
            f"SHOW TAG VALUES FROM {states} WITH KEY = {q.tag(q.STATE, q.CHANNEL)} "
            f"WHERE {_device_is('device')}",
            multi=True,
        )
    )
    board.variable(
        _query_variable(
            "quantity",
            "Sensor values",
            "Sensor quantities (every sensor field but bookkeeping).",
            f"SHOW FIELD KEYS FROM {q.source(q.SENSOR, q.RAW)}",
            multi=True,
            regex=f"/^(?!({bookkeeping})$).*/",
        )
    )
    board.variable(_resolution_variable())
    where = (_device_is("device"), _channel_is("channel"))
    by_channel = (q.tag(q.STATE, q.CHANNEL),)
    channel_alias = f"$tag_{q.CHANNEL}"

    board.row("Status")
    status = q.field(q.STATE, "status")
    board.add(
        state_timeline_panel(
            "Channel status",
            "Status of every selected channel (power: on, off, ramping, fault; sensors: ok, fault) "
            "and whether a power channel is in current compliance.",
            [
                Query(
                    q.Select(
                        (f"last({status})",), q.source(q.POWER, q.RAW), where=where, group_by=by_channel
                    ),
                    alias=channel_alias,
                ),
                Query(
                    q.Select(
                        (f"last({q.field(q.STATE, 'compliance')})",),
                        q.source(q.POWER, q.RAW),
                        where=where,
                        group_by=by_channel,
                    ),
                    alias=f"{channel_alias} compliance",
                ),
                Query(
                    q.Select(
                        (f"last({status})",), q.source(q.SENSOR, q.RAW), where=where, group_by=by_channel
                    ),
                    alias=channel_alias,
                ),
            ],
        ).mappings(
            [
                color_mapping(_STATUS_COLORS),
                *boolean_mapping(true=("COMPLIANCE", "red"), false=("ok", "green")),
            ]
        )
    )

    board.row("Power channels")
    for title, measured, others in (
        ("Voltage", "v_mon", (("v_set", "setpoint"), ("v_target", "target"))),
        ("Current", "i_mon", (("i_limit", "limit"),)),
    ):
        panel_queries = [
            Query(
                q.Select(
                    (q.mean(q.field_name(q.STATE, name), resolution=True),),
                    q.state_source(q.POWER),
                    where=where,
                    group_by=by_channel,
                ),
                alias=f"{channel_alias} {label}",
            )
            for name, label in ((measured, "measured"), *others)
        ]
        board.add(
            timeseries_panel(
                title,
                f"{title} of the power channels: measured, and "
                + ", ".join(label for _, label in others)
                + " (dashed). Empty for a sensor device.",
                panel_queries,
                _POWER_UNITS[measured],
            ).override_by_regexp(f".* ({'|'.join(label for _, label in others)})$", [dashed()])
        )

    board.row("Sensor channels")
    sensor_units = {
        **{quantity.name: grafana_unit(quantity.unit) for quantity in ENV_QUANTITIES},
        **_INGEST_UNITS,
    }
    panel = timeseries_panel(
        "Sensor values",
        "Every selected sensor quantity of the selected channels. Units are known for the quantities "
        "of labdcs's own drivers and services; others are shown without one.",
        [
            Query(
                q.Select(
                    (q.mean_matching("$quantity"),),
                    q.state_source(q.SENSOR),
                    where=where,
                    group_by=by_channel,
                ),
                alias=f"{channel_alias} $col",
            )
        ],
        "short",
        span=GRID_WIDTH,
    ).with_transformation(
        model.DataTransformerConfig(
            id_val="renameByRegex",
            options={
                "regex": f"^(.*){q.TREND_FIELD_PREFIX}(?:{q.TREND_FIELD_PREFIX})?(.*)$",
                "renamePattern": "$1$2",
            },
        )
    )
    for pattern, properties in _unit_overrides(sensor_units, "short"):
        panel = panel.override_by_regexp(pattern, properties)
    board.add(panel)

    board.row("Events")
    board.add(
        _event_log(
            "Alarm transitions",
            "Every alarm message of the device in the time range, newest first.",
            q.ALARM,
            (
                q.tag(q.ALARM, "alarm"),
                q.field(q.ALARM, "active"),
                q.tag(q.ALARM, "severity"),
                q.field(q.ALARM, "message"),
            ),
            span=10,
        ).override_by_name(
            "severity",
            [
                model.DynamicConfigValue(id_val="mappings", value=[color_mapping(_SEVERITY_COLORS)]),
                model.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ],
        )
    )
    board.add(
        _event_log(
            "Commands",
            "Every command the device answered in the time range, with its outcome, newest first.",
            q.COMMAND,
            (
                q.tag(q.COMMAND, q.CHANNEL),
                q.tag(q.COMMAND, "verb"),
                q.tag(q.COMMAND, "result"),
                q.field(q.COMMAND, "reason"),
                q.field(q.COMMAND, "id"),
            ),
            span=9,
        )
    )
    board.add(
        _event_log(
            "Availability",
            "The device's online/offline messages in the time range (offline with a reason: stopped, "
            "or the broker's last will when the connection was lost).",
            q.ONLINE,
            (q.field(q.ONLINE, "online"), q.field(q.ONLINE, "reason")),
            span=5,
        ).mappings(boolean_mapping(true=("online", "green"), false=("OFFLINE", "red")))
    )
    return board


def _event_log(
    title: str, description: str, mapping: Mapping_, columns: tuple[str, ...], *, span: int
) -> table.Panel:
    """The selected device's events of one kind in the time range, newest first."""
    select = q.Select(
        columns,
        q.source(q.measurement_of(mapping)),
        where=(f"{q.tag(mapping, q.DEVICE)} =~ {q.variable_regex('device')}",),
        by_interval=False,
        order_desc=True,
        limit=500,
    )
    return table_panel(title, description, [Query(select, table=True)], span=span)


# --- stack health ------------------------------------------------------------------------------------


def stack_health() -> Board:
    board = Board(
        STACK_UID,
        "labdcs stack health",
        "Is the data arriving? The native ingester's throughput, lag, buffer and losses, each device's "
        "publishing rate, and Telegraf's own metrics in the compose stack.",
        time_from="now-3h",
    )
    ingester = IngestSettings.model_fields["device"].default
    stats_where = (
        f"{q.tag(q.STATE, q.DEVICE)} = {q.literal(ingester)}",
        f"{q.tag(q.STATE, q.CHANNEL)} = {q.literal(STATS_CHANNEL)}",
    )
    stats = q.source(q.SENSOR, q.RAW)

    def stat_field(name: str) -> str:
        if name not in _INGEST_UNITS:
            raise LookupError(f"the ingester publishes no {name!r}")
        return q.ident(name)

    def per_second(name: str) -> str:
        return f"non_negative_derivative(last({stat_field(name)}), 1s) AS {q.ident(name)}"

    def increase(name: str) -> str:
        return f"non_negative_difference(last({stat_field(name)})) AS {q.ident(name)}"

    def mean_of(name: str) -> str:
        return f"mean({stat_field(name)}) AS {q.ident(name)}"

    board.row(f"Native ingester (device '{ingester}', channel '{STATS_CHANNEL}')")
    board.add(
        timeseries_panel(
            "Throughput",
            "Contract messages received and points written to InfluxDB per second.",
            [
                Query(
                    q.Select((per_second("received"),), stats, where=stats_where), alias="messages received"
                ),
                Query(q.Select((mean_of("rate"),), stats, where=stats_where), alias="points written"),
            ],
            "suffix: /s",
        )
    )
    board.add(
        timeseries_panel(
            "Lag",
            "Age of the oldest point of a batch when InfluxDB took it: grows while InfluxDB is slow or down.",
            [Query(q.Select((mean_of("lag"),), stats, where=stats_where), alias="lag")],
            _INGEST_UNITS["lag"],
        ).min(0)
    )
    board.add(
        timeseries_panel(
            "Spool",
            "Points waiting in the on-disk spool, and messages held unacknowledged because it is full "
            "(the broker keeps those).",
            [
                Query(q.Select((mean_of("buffered"),), stats, where=stats_where), alias="points buffered"),
                Query(q.Select((mean_of("held"),), stats, where=stats_where), alias="messages held"),
            ],
            _INGEST_UNITS["buffered"],
        ).min(0)
    )
    board.add(
        timeseries_panel(
            "Spool fill",
            "Spool size as a share of its limit: at 100 % the ingester stops acknowledging and the "
            "broker's session queue takes over.",
            [Query(q.Select((mean_of("buffer_fill"),), stats, where=stats_where), alias="fill")],
            _INGEST_UNITS["buffer_fill"],
        )
        .min(0)
        .max(100)
        .thresholds(thresholds((None, "green"), (50, "orange"), (90, "red")))
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
    )
    losses = ("parse_errors", "type_conflicts", "refused", "write_errors", "broker_dropped")
    board.add(
        timeseries_panel(
            "Losses and errors",
            "New errors per interval. Parse errors, type conflicts and refused points are kept in the "
            "spool's rejected.jsonl; write errors are retried; broker drops are Mosquitto's own count.",
            [
                Query(q.Select((increase(name),), stats, where=stats_where), alias=_title(name))
                for name in losses
            ],
            _INGEST_UNITS["parse_errors"],
            span=GRID_WIDTH,
        )
        .min(0)
        .draw_style(common.GraphDrawStyle.BARS)
        .fill_opacity(60)
    )
    board.add(
        stat_panel(
            "Counts since the ingester started",
            "Totals of the ingester's counters (they restart at 0 with the ingester).",
            [
                Query(
                    q.Select(
                        tuple(
                            f"last({stat_field(name)}) AS {q.ident(_title(name))}"
                            for name in ("received", "written", *losses)
                        ),
                        stats,
                        where=stats_where,
                        by_interval=False,
                    )
                )
            ],
            span=GRID_WIDTH,
            height=4,
        ).color_mode(common.BigValueColorMode.NONE)
    )

    board.row("Devices")
    seq = q.field(q.STATE, "seq")
    board.add(
        timeseries_panel(
            "State messages per second",
            "Channel states stored per device and second: a device that stops publishing drops to zero "
            "(gaps), one publishing on every change shows bursts.",
            [
                Query(
                    q.Select(
                        (f"count({seq}) * 1000 / $__interval_ms",),
                        q.all_states(),
                        group_by=(q.tag(q.STATE, q.DEVICE),),
                        fill="0",
                    ),
                    alias=f"$tag_{q.DEVICE}",
                )
            ],
            "suffix: /s",
            span=GRID_WIDTH,
        ).min(0)
    )

    board.row("Telegraf (compose stack)")
    output = q.ident("output")
    for title, description, select, alias, unit in (
        (
            "Telegraf metrics written",
            "Metrics per second each Telegraf output wrote.",
            f"non_negative_derivative(last({q.ident('metrics_written')}), 1s)",
            "$tag_output",
            "suffix: /s",
        ),
        (
            "Telegraf metrics dropped",
            "Metrics an output dropped per interval (its buffer overflowed while InfluxDB was unreachable).",
            f"non_negative_difference(last({q.ident('metrics_dropped')}))",
            "$tag_output",
            "short",
        ),
        (
            "Telegraf buffer",
            "Metrics waiting in each output's buffer.",
            f"mean({q.ident('buffer_size')})",
            "$tag_output",
            "short",
        ),
    ):
        board.add(
            timeseries_panel(
                title,
                description + " Compose stack only (Telegraf's inputs.internal).",
                [Query(q.Select((select,), q.ident("internal_write"), group_by=(output,)), alias=alias)],
                unit,
                span=6,
            ).min(0),
            source=_TELEGRAF,
        )
    board.add(
        timeseries_panel(
            "Telegraf gather errors",
            "Errors of Telegraf's inputs per interval (an MQTT payload its parser could not read counts "
            "here). Compose stack only (Telegraf's inputs.internal).",
            [
                Query(
                    q.Select(
                        (f"non_negative_difference(last({q.ident('gather_errors')}))",),
                        q.ident("internal_agent"),
                    ),
                    alias="gather errors",
                )
            ],
            "short",
            span=6,
        ).min(0),
        source=_TELEGRAF,
    )
    return board


def all_boards() -> list[Board]:
    return [overview(), device_detail(), stack_health()]
