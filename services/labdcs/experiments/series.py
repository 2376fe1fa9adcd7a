"""An experiment's time series in InfluxDB: the ``cycler`` measurement, tag ``experiment``.

Live runs get there through the ingester (the station tags every state with the experiment id);
imports write the same measurement with the same field names and types, so one query serves both.
Reading is streamed: InfluxDB's chunked responses (one JSON document per chunk, newline-separated)
are parsed one chunk at a time, so an export's memory does not grow with the experiment.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labdcs.contract.models import ChannelKind
from labdcs.ingest.influx import InfluxClient, InfluxError
from labdcs.ingest.mapping import MAPPINGS

MEASUREMENT = ChannelKind.CYCLER.value
STATS_MEASUREMENT = "cycler_stats"
#: Minute extremes of runs for plots (labdcs.experiments.rollup).
ROLLUP_MEASUREMENT = "cycler_1m"
#: Imported experiments go to their own retention policy, kept forever: their timestamps are those of
#: the original test (often older than the ``raw`` policy's 30 days, which would drop them).
IMPORT_POLICY = "experiments"
#: Live runs (the database's default policy) and imports, in one query.
SOURCES = f'"{MEASUREMENT}", "{IMPORT_POLICY}"."{MEASUREMENT}"'

#: (BDF column label, InfluxDB field) of an export, in column order; time comes first.
BDF_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Test Time / s", "test_time"),
    ("Voltage / V", "voltage"),
    ("Current / A", "current"),
    ("Power / W", "power"),
    ("Temperature T1 / degC", "temperature"),
    ("Cycle Count / 1", "cycle_index"),
    ("Step Index / 1", "step_index"),
    ("Step Time / s", "step_time"),
    ("Charging Capacity / Ah", "charge_capacity"),
    ("Discharging Capacity / Ah", "discharge_capacity"),
    ("Charging Energy / Wh", "charge_energy"),
    ("Discharging Energy / Wh", "discharge_energy"),
)
UNIX_TIME = "Unix Time / s"

#: The type InfluxDB holds each state field in (imports must write the same types).
FIELD_TYPES = {spec.path: spec.type.value for spec in MAPPINGS[0].fields}


def _explained(exc: InfluxError) -> InfluxError:
    """The one set-up mistake a reader of the series can meet, said in words: the database or the
    imports' policy missing (created once, as InfluxDB's admin, by ``labdcs up`` or the compose
    stack's InfluxDB init; never by the manager, whose user may not)."""
    text = str(exc)
    if "retention policy not found" in text or "database not found" in text:
        return InfluxError(
            f"{text}: the database and its retention policies (including {IMPORT_POLICY!r}) are created "
            "by `labdcs up` or the compose stack's InfluxDB init, as InfluxDB's admin (docs/timeseries.md)"
        )
    return exc


def quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where(
    experiment: str, start_ms: int | None = None, end_ms: int | None = None, window: Window | None = None
) -> str:
    clauses = [f'"experiment" = {quote(experiment)}']
    if window is not None and window.station is not None and window.channel is not None:
        # The topic is the identity: the samples the run's own station channel sent (the device and
        # channel tags come from the topic), not those of another device naming the experiment.
        clauses += [f'"device" = {quote(window.station)}', f'"channel" = {quote(window.channel)}']
    if start_ms is not None:
        clauses.append(f"time >= {int(start_ms)}ms")
    if end_ms is not None:  # the whole last millisecond: imported points keep their ns
        clauses.append(f"time < {int(end_ms) + 1}ms")
    return " AND ".join(clauses)


@dataclass(frozen=True)
class Window:
    """The part of the series that belongs to a run (states before start and after the end carry the
    experiment id too: the station keeps it until the next protocol is loaded)."""

    start_ms: int | None
    end_ms: int | None
    station: str | None = None
    """With ``channel``: the station channel the run is on (imports: ``import``/``file``)."""
    channel: str | None = None


class ExperimentSeries:
    def __init__(self, influx: InfluxClient, chunk_size: int = 10_000) -> None:
        self.influx = influx
        self.chunk_size = chunk_size

    # --- reading ----------------------------------------------------------------------------------

    def _values(self, q: str) -> list[list[Any]]:
        try:
            return self.influx.series_values(q)
        except InfluxError as exc:
            raise _explained(exc) from None

    def stream(self, q: str) -> Iterator[list[Any]]:
        """Rows of a query, chunk by chunk (``chunked=true``); InfluxError on any error."""
        params = {
            "q": q,
            "db": self.influx.settings.database,
            "epoch": "ms",
            "chunked": "true",
            "chunk_size": str(self.chunk_size),
        }
        request = urllib.request.Request(
            f"{self.influx.url}/query",
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        auth = getattr(self.influx, "_auth", None)
        if auth:
            request.add_header("Authorization", auth)
        try:
            response = urllib.request.urlopen(request, timeout=self.influx.settings.timeout_s)
        except urllib.error.HTTPError as exc:
            raise InfluxError(f"query failed ({exc.code}): {exc.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise InfluxError(f"InfluxDB at {self.influx.url} not reachable: {exc}") from None
        with response:
            for line in response:
                if not line.strip():
                    continue
                document = json.loads(line)
                if "error" in document:
                    raise _explained(InfluxError(f"query failed: {document['error']}"))
                for result in document.get("results", []):
                    if "error" in result:
                        raise _explained(InfluxError(f"query failed: {result['error']}"))
                    for series in result.get("series", []):
                        yield from series.get("values", [])

    def rows(self, experiment: str, window: Window, fields: list[str]) -> Iterator[list[Any]]:
        """``[time_ms, *fields]`` for every sample of the run, in time order."""
        columns = ", ".join(f'"{f}"' for f in fields)
        clause = where(experiment, window.start_ms, window.end_ms, window)
        q = f"SELECT {columns} FROM {SOURCES} WHERE {clause}"
        return self.stream(q)

    def count(self, experiment: str, window: Window | None = None) -> int:
        w = window or Window(None, None)
        q = f'SELECT count("voltage") FROM {SOURCES} WHERE {where(experiment, w.start_ms, w.end_ms, w)}'
        return sum(int(row[1]) for row in self._values(q))

    def extent(self, experiment: str, window: Window | None = None) -> Window:
        """First and last sample time of an experiment (of ``window``'s station channel, if named)."""
        base = f"FROM {SOURCES} WHERE {where(experiment, window=window)}"
        first = [int(row[0]) for row in self._values(f'SELECT first("voltage") {base}')]
        last = [int(row[0]) for row in self._values(f'SELECT last("voltage") {base}')]
        return Window(min(first) if first else None, max(last) if last else None)

    def overview(
        self,
        experiment: str,
        window: Window,
        fields: tuple[str, ...] = ("voltage", "current", "temperature"),
        points: int = 800,
    ) -> dict[str, list[Any]]:
        """At most about ``points`` averaged samples of each field over the run, for plots:
        ``{"t": [ms...], "voltage": [...], ...}``."""
        start, end = window.start_ms, window.end_ms
        if start is None or end is None:
            found = self.extent(experiment, window)
            start = start if start is not None else found.start_ms
            end = end if end is not None else found.end_ms
        result: dict[str, list[Any]] = {"t": [], **{f: [] for f in fields}}
        if start is None or end is None:
            return result
        bucket = max(1, math.ceil((end - start + 1) / points))
        columns = ", ".join(f'mean("{f}") AS "{f}"' for f in fields)
        q = (
            f"SELECT {columns} FROM {SOURCES} WHERE {where(experiment, start, end, window)} "
            f"GROUP BY time({bucket}ms) fill(none)"
        )
        for row in self._values(q):
            result["t"].append(row[0])
            for index, name in enumerate(fields, start=1):
                result[name].append(row[index])
        return result

    def cycle_samples(self, experiment: str, cycle: int, window: Window) -> list[list[Any]]:
        """Voltage, current and capacities of one cycle (for dQ/dV)."""
        q = (
            'SELECT "voltage", "current", "charge_capacity", "discharge_capacity" '
            f"FROM {SOURCES} WHERE {where(experiment, window.start_ms, window.end_ms, window)} "
            f'AND "cycle_index" = {int(cycle)}'
        )
        return list(self.stream(q))

    # --- writing and deleting ---------------------------------------------------------------------

    def write_imported(self, lines: list[str], precision: str = "ms") -> None:
        """Write imported points (line protocol, timestamps in ``precision``: the importer writes ns);
        InfluxError when InfluxDB did not store all of them."""
        result = self.influx.write(lines, retention_policy=IMPORT_POLICY, precision=precision)
        if result.dropped or result.written != len(lines):
            raise InfluxError(f"InfluxDB stored {result.written} of {len(lines)} points: {result.error}")

    def write_imported_block(self, text: str, points: int) -> None:
        """Write ``points`` imported points given as one line-protocol text (ns timestamps);
        InfluxError when InfluxDB did not store all of them."""
        result = self.influx.write([text], retention_policy=IMPORT_POLICY, precision="ns")
        if result.dropped or result.error:
            raise InfluxError(f"InfluxDB did not store all of {points} points: {result.error}")

    def delete(self, experiment: str) -> None:
        """Every point of an experiment (a failed import's rollback, or deleting an experiment)."""
        for measurement in (MEASUREMENT, STATS_MEASUREMENT, ROLLUP_MEASUREMENT):
            self.influx.query(f'DELETE FROM "{measurement}" WHERE {where(experiment)}')
