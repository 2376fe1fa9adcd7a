"""The DCS overview: every device's availability and last state, active alarms, the interlock's
rules, HV/LV channel readbacks (one section per device kind with power channels) and the
environment sensors."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from labdcs.contract.models import DeviceKind, RuleStatus
from labdcs.drivers.envmon import QUANTITIES as ENV_QUANTITIES
from labdcs.grafana import queries as q
from labdcs.grafana.panels import (
    GRID_WIDTH,
    Board,
    Query,
    boolean_mapping,
    color_mapping,
    grafana_unit,
    stat_panel,
    state_timeline_panel,
    table_panel,
    thresholds,
    timeseries_panel,
    unit_override,
)
from labdcs.grafana.shared import (
    DEVICE_UID,
    OVERVIEW_UID,
    POWER_UNITS,
    SEVERITY_COLORS,
    color_text,
    display_name,
    resolution_variable,
    state_mean,
    title_of,
)

#: Power sections of the overview, one per device kind with power channels.
POWER_KINDS = ((DeviceKind.HV, "HV"), (DeviceKind.LV, "LV"))


def overview() -> Board:
    board = Board(
        OVERVIEW_UID,
        "labdcs overview",
        "Every device online or offline, active alarms, HV/LV channel readbacks and the environment.",
        time_from="now-1h",
    ).variable(resolution_variable())
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
        .override_by_name("Time", [unit_override("dateTimeFromNow"), display_name("last state")])
        .override_by_name("seq", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .sort_by([_sort("Time", descending=False)])
    )
    board.add(
        _count_active(
            "Active alarms",
            "Alarms whose last transition is active (raised and not cleared), over all time.",
            _active_alarms(("active",)),
        )
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
            color_text(SEVERITY_COLORS),
        )
        .sort_by([_sort("Time", descending=True)])
    )

    _interlock_row(board)

    for device_kind, label in POWER_KINDS:
        board.row(f"{label} channels")
        where = (f"{kind} = {q.literal(device_kind.value)}",)
        for name, what in (("v_mon", "voltage"), ("i_mon", "current")):
            mean = state_mean(
                q.field_name(q.STATE, name),
                q.POWER,
                where,
                (device, channel),
                f"$tag_{q.DEVICE} $tag_{q.CHANNEL}",
            )
            board.add(
                timeseries_panel(
                    f"{label} {what} (measured)",
                    f"Measured {what} of every {label} channel (devices of kind '{device_kind.value}').",
                    [mean],
                    POWER_UNITS[name],
                )
            )

    board.row("Environment")
    env = (f"{kind} = {q.literal(DeviceKind.ENV.value)}",)
    span = max(GRID_WIDTH // max(len(ENV_QUANTITIES), 1), 6)
    for quantity in ENV_QUANTITIES:
        mean = state_mean(
            quantity.name, q.SENSOR, env, (device, channel), f"$tag_{q.DEVICE} $tag_{q.CHANNEL}"
        )
        board.add(
            timeseries_panel(
                title_of(quantity.name),
                f"{quantity.description.capitalize()} of every environment sensor.",
                [mean],
                grafana_unit(quantity.unit),
                span=span,
            )
        )
    return board


def _count_active(title: str, description: str, last_states: str) -> stat.Panel:
    """How many rows of ``last_states`` (a subquery with a boolean ``active`` per thing) are active:
    green at 0, red from 1."""
    return (
        stat_panel(
            title,
            description,
            [
                Query(
                    q.Select(
                        ('count("active")',),
                        f"({last_states})",
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


#: Interlock rule status -> (text, colour): in force is red, latched (waiting for a reset) orange.
_RULE_COLORS = {
    RuleStatus.OK.value: ("ok", "green"),
    RuleStatus.ACTIVE.value: ("IN FORCE", "red"),
    RuleStatus.LATCHED.value: ("latched: reset needed", "orange"),
}


def _interlock_row(board: Board) -> None:
    """The interlock's rules (each is a channel of the interlock device, kind ``rule``): which are in
    force now and why, and when they were over the time range."""
    board.row("Interlock")
    rule_device, rule = q.tag(q.STATE, q.DEVICE), q.tag(q.STATE, q.CHANNEL)
    rules = q.source(q.RULE)
    last_active = q.Select(
        (f'last({q.field(q.STATE, "active")}) AS "active"',),
        rules,
        time_filter=False,
        by_interval=False,
        group_by=(rule_device, rule),
    )
    board.add(
        _count_active(
            "Rules in force",
            "Interlock rules in force now (their condition holds, or they are latched until an "
            "operator's reset), from each rule's last state. Their channels are held down and refuse "
            "`on`.",
            str(last_active),
        )
    )
    columns = ("status", "condition", "latch", "reason", "detail")
    board.add(
        table_panel(
            "Interlock rules",
            "Every rule's last state: status (ok, in force, latched until reset), whether its "
            "condition holds now, what brought it into force and the condition as evaluated now. "
            "Reset a latched rule from the control dashboard or `labdcs cmd interlock <rule> reset`.",
            [
                Query(
                    q.Select(
                        (
                            f'last({q.field(q.STATE, "active")}) AS "active"',
                            *(q.field(q.STATE, name) for name in columns),
                        ),
                        rules,
                        time_filter=False,
                        by_interval=False,
                        group_by=(rule_device, rule),
                    ),
                    table=True,
                )
            ],
            span=18,
            height=6,
        )
        .override_by_name("Time", [unit_override("dateTimeFromNow"), display_name("last state")])
        .override_by_name("active", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .override_by_name(
            "status",
            color_text(_RULE_COLORS),
        )
    )
    board.add(
        state_timeline_panel(
            "Rules over time",
            "When each interlock rule was in force or latched over the time range.",
            [
                Query(
                    q.Select((f"last({q.field(q.STATE, 'status')})",), rules, group_by=(rule_device, rule)),
                    alias=f"$tag_{q.CHANNEL}",
                )
            ],
            height=5,
        ).mappings([color_mapping(_RULE_COLORS)])
    )


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


def _sort(name: str, *, descending: bool) -> common_builders.TableSortByFieldState:
    return common_builders.TableSortByFieldState().display_name(name).desc(descending)
