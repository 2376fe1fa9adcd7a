"""Event tables of one device (alarm transitions, commands, availability), newest first: the device
detail and the battery station show them for the device their variable selects."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table

from labdcs.grafana import queries as q
from labdcs.grafana.panels import Query, table_panel
from labdcs.grafana.shared import SEVERITY_COLORS, color_text
from labdcs.ingest.mapping import Mapping_


def event_log(
    title: str,
    description: str,
    mapping: Mapping_,
    columns: tuple[str, ...],
    *,
    span: int,
    device: str = "device",
) -> table.Panel:
    """The events of one kind of the device the variable ``device`` selects, in the time range,
    newest first."""
    select = q.Select(
        columns,
        q.source(q.measurement_of(mapping)),
        where=(f"{q.tag(mapping, q.DEVICE)} =~ {q.variable_regex(device)}",),
        by_interval=False,
        order_desc=True,
        limit=500,
    )
    return table_panel(title, description, [Query(select, table=True)], span=span)


def alarm_log(device: str, *, span: int) -> table.Panel:
    return event_log(
        "Alarm transitions",
        "Every alarm message of the device in the time range, newest first.",
        q.ALARM,
        (
            q.tag(q.ALARM, "alarm"),
            q.field(q.ALARM, "active"),
            q.tag(q.ALARM, "severity"),
            q.field(q.ALARM, "message"),
        ),
        span=span,
        device=device,
    ).override_by_name("severity", color_text(SEVERITY_COLORS))


def command_log(device: str, *, span: int) -> table.Panel:
    return event_log(
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
        span=span,
        device=device,
    )
