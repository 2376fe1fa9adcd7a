"""The device detail: one device's channel status, power readbacks and setpoints, every sensor
quantity it has, and its alarms, commands and availability."""

from __future__ import annotations

import re

from grafana_foundation_sdk.models import dashboard as model

from labdcs.contract.models import PowerStatus, SensorStatus
from labdcs.drivers.envmon import QUANTITIES as ENV_QUANTITIES
from labdcs.grafana import queries as q
from labdcs.grafana.events import alarm_log, command_log, event_log
from labdcs.grafana.panels import (
    GRID_WIDTH,
    Board,
    Query,
    boolean_mapping,
    color_mapping,
    dashed,
    grafana_unit,
    state_timeline_panel,
    timeseries_panel,
)
from labdcs.grafana.shared import (
    DEVICE_UID,
    INGEST_UNITS,
    POWER_UNITS,
    query_variable,
    resolution_variable,
    state_mean,
    unit_overrides,
)

_STATUS_COLORS = {
    PowerStatus.ON.value: ("on", "green"),
    PowerStatus.OFF.value: ("off", "text"),
    PowerStatus.RAMPING.value: ("ramping", "blue"),
    PowerStatus.FAULT.value: ("FAULT", "red"),
    SensorStatus.OK.value: ("ok", "green"),
}
if SensorStatus.FAULT.value != PowerStatus.FAULT.value:
    _STATUS_COLORS[SensorStatus.FAULT.value] = ("FAULT", "red")


def _device_is(variable: str) -> str:
    return f"{q.tag(q.STATE, q.DEVICE)} =~ {q.variable_regex(variable)}"


def _channel_is(variable: str) -> str:
    return f"{q.tag(q.STATE, q.CHANNEL)} =~ {q.variable_regex(variable)}"


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
        query_variable(
            "device",
            "Device",
            "Every device with channel states in the database.",
            f"SHOW TAG VALUES FROM {states} WITH KEY = {q.tag(q.STATE, q.DEVICE)}",
            multi=False,
        )
    )
    board.variable(
        query_variable(
            "channel",
            "Channel",
            "The device's channels.",
            f"SHOW TAG VALUES FROM {states} WITH KEY = {q.tag(q.STATE, q.CHANNEL)} "
            f"WHERE {_device_is('device')}",
            multi=True,
        )
    )
    board.variable(
        query_variable(
            "quantity",
            "Sensor values",
            "Sensor quantities (every sensor field but bookkeeping).",
            f"SHOW FIELD KEYS FROM {q.source(q.SENSOR, q.RAW)}",
            multi=True,
            regex=f"/^(?!({bookkeeping})$).*/",
        )
    )
    board.variable(resolution_variable())
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
            state_mean(q.field_name(q.STATE, name), q.POWER, where, by_channel, f"{channel_alias} {label}")
            for name, label in ((measured, "measured"), *others)
        ]
        board.add(
            timeseries_panel(
                title,
                f"{title} of the power channels: measured, and "
                + ", ".join(label for _, label in others)
                + " (dashed). Empty for a sensor device.",
                panel_queries,
                POWER_UNITS[measured],
            ).override_by_regexp(f".* ({'|'.join(label for _, label in others)})$", [dashed()])
        )

    board.row("Sensor channels")
    sensor_units = {
        **{quantity.name: grafana_unit(quantity.unit) for quantity in ENV_QUANTITIES},
        **INGEST_UNITS,
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
    for pattern, properties in unit_overrides(sensor_units, "short"):
        panel = panel.override_by_regexp(pattern, properties)
    board.add(panel)

    board.row("Events")
    board.add(alarm_log("device", span=10))
    board.add(command_log("device", span=9))
    board.add(
        event_log(
            "Availability",
            "The device's online/offline messages in the time range (offline with a reason: stopped, "
            "or the broker's last will when the connection was lost).",
            q.ONLINE,
            (q.field(q.ONLINE, "online"), q.field(q.ONLINE, "reason")),
            span=5,
        ).mappings(boolean_mapping(true=("online", "green"), false=("OFFLINE", "red")))
    )
    return board
