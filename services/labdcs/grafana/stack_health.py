"""Stack health: is the data arriving? The native ingester's throughput, lag, spool and losses,
each device's publishing rate, and Telegraf's own metrics in the compose stack."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.models import common

from labdcs.grafana import queries as q
from labdcs.grafana.panels import (
    GRID_WIDTH,
    Board,
    DataSource,
    Query,
    stat_panel,
    thresholds,
    timeseries_panel,
)
from labdcs.grafana.shared import INGEST_UNITS, STACK_UID, title_of
from labdcs.ingest.service import STATS_CHANNEL, IngestSettings

_TELEGRAF = DataSource(
    requires="telegraf",
    reason="Telegraf's inputs.internal writes internal_* only in the compose stack; "
    "labdcs up runs the native ingester instead",
)


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
        if name not in INGEST_UNITS:
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
            INGEST_UNITS["lag"],
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
            INGEST_UNITS["buffered"],
        ).min(0)
    )
    board.add(
        timeseries_panel(
            "Spool fill",
            "Spool size as a share of its limit: at 100 % the ingester stops acknowledging and the "
            "broker's session queue takes over.",
            [Query(q.Select((mean_of("buffer_fill"),), stats, where=stats_where), alias="fill")],
            INGEST_UNITS["buffer_fill"],
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
                Query(q.Select((increase(name),), stats, where=stats_where), alias=title_of(name))
                for name in losses
            ],
            INGEST_UNITS["parse_errors"],
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
                            f"last({stat_field(name)}) AS {q.ident(title_of(name))}"
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
