"""Minute extremes of an ended run, kept in InfluxDB: a 30-day run's plot reads 43,200 rows, not 2.6 M.

A run that is over cannot change, so its minimum and maximum of every plotted quantity per minute
are written once (``SELECT ... INTO``, one day per query so no query runs long) into
:data:`ROLLUP` in the imports' retention policy (kept forever, like the run). Plots whose buckets are
whole minutes then read the roll-up; shorter buckets and every sample still come from the raw data.
Rolling up starts in the background the first time a run is plotted and goes on as it is plotted
again: an ended run whole, a running one up to the minutes older than :data:`SETTLED_MS` (samples
that reach InfluxDB later than that, e.g. from an ingester's spool after a long outage, are in the
raw data, the CSV and the zoomed plots, but not in the minute extremes). Where the roll-up ends is
found again after a restart by asking InfluxDB.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from labdcs.experiments.series import (
    IMPORT_POLICY,
    ROLLUP_MEASUREMENT,
    SOURCES,
    ExperimentSeries,
    Window,
    quote,
    where,
)
from labdcs.ingest.influx import InfluxError

log = logging.getLogger(__name__)

ROLLUP = ROLLUP_MEASUREMENT
#: Minutes of a running run older than this are rolled up (the ingester batches and may retry).
SETTLED_MS = 5 * 60_000
STEP_MS = 60_000
DAY_MS = 86_400_000
TARGET = f'"{IMPORT_POLICY}"."{ROLLUP}"'


def roll(series: ExperimentSeries, experiment: str, window: Window, fields: tuple[str, ...]) -> None:
    """Write the minute extremes of ``window`` (both ends set), a day at a time."""
    assert window.start_ms is not None and window.end_ms is not None
    columns = ", ".join(f'min("{f}") AS "{f}_min", max("{f}") AS "{f}_max"' for f in fields)
    start = window.start_ms - window.start_ms % STEP_MS
    while start <= window.end_ms:
        end = min(start + DAY_MS - 1, window.end_ms)
        series._values(
            f"SELECT {columns} INTO {TARGET} FROM {SOURCES} WHERE {where(experiment, start, end)} "
            f'GROUP BY time(1m), "experiment"'
        )
        start += DAY_MS


class Rollups:
    """How far each run is rolled up (asked of InfluxDB once per run), and rolling on in the
    background: an ended run whole, a running one up to the minutes that have settled."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.until: dict[str, int] = {}  # ms: the minutes before it are rolled up
        self.busy: set[str] = set()
        self.lock = threading.Lock()

    def covered(self, series: ExperimentSeries, experiment: str, start_ms: int, limit_ms: int) -> int | None:
        """Up to where (ms, exclusive) the roll-up of ``experiment`` (from ``start_ms``) can be read
        now, None before anything is; rolls on towards ``limit_ms`` in the background."""
        limit = limit_ms - limit_ms % STEP_MS
        with self.lock:
            until = self.until.get(experiment)
            if experiment in self.busy or (until is not None and until >= limit):
                return until
            self.busy.add(experiment)
        threading.Thread(
            target=self._roll_on, args=(series, experiment, start_ms, limit), daemon=True
        ).start()
        return until

    def _roll_on(self, series: ExperimentSeries, experiment: str, start_ms: int, limit: int) -> None:
        try:
            with self.lock:
                until = self.until.get(experiment)
            if until is None:  # after a restart: where the roll-up in InfluxDB ends
                name = f"{self.fields[0]}_max"
                q = f'SELECT last("{name}") FROM {TARGET} WHERE "experiment" = {quote(experiment)}'
                rows = series._values(q)
                until = int(rows[0][0]) + STEP_MS if rows else start_ms - start_ms % STEP_MS
            if until < limit:
                roll(series, experiment, Window(until, limit - 1), self.fields)
                until = limit
            with self.lock:
                self.until[experiment] = until
        except InfluxError as exc:  # the raw data still serve; the next plot tries again
            log.warning("rolling up %s failed: %s", experiment, exc)
        finally:
            with self.lock:
                self.busy.discard(experiment)

    def wait(self, experiment: str, timeout: float) -> bool:
        """For tests and benchmarks: until no roll-up of the run is under way (True: something is
        rolled up) or ``timeout`` s passed."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if experiment not in self.busy:
                    return experiment in self.until
            time.sleep(0.05)
        return False


def read(
    series: ExperimentSeries, experiment: str, field: str, window: Window, bucket_ms: int
) -> list[list[Any]]:
    """``[time, min, max]`` per bucket (a whole number of minutes) from the roll-up."""
    assert window.start_ms is not None and window.end_ms is not None
    start = window.start_ms - window.start_ms % STEP_MS
    q = (
        f'SELECT min("{field}_min"), max("{field}_max") FROM {TARGET} '
        f"WHERE {where(experiment, start, window.end_ms)} GROUP BY time({bucket_ms}ms) fill(none)"
    )
    return series._values(q)
