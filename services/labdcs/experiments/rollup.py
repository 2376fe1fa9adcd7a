"""Minute extremes of an ended run, kept in InfluxDB: a 30-day run's plot reads 43,200 rows, not 2.6 M.

A run that is over cannot change, so its minimum and maximum of every plotted quantity per minute
are written once (``SELECT ... INTO``, one day per query so no query runs long) into
:data:`ROLLUP` in the imports' retention policy (kept forever, like the run). Plots whose buckets are
whole minutes then read the roll-up; shorter buckets and every sample still come from the raw data.
Rolling up starts in the background the first time an ended run is plotted, and is found again
after a restart by asking InfluxDB.
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
    """Which runs are rolled up (asked of InfluxDB once per run), and rolling up in the background."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.done: set[str] = set()
        self.busy: set[str] = set()
        self.lock = threading.Lock()

    def ready(self, series: ExperimentSeries, experiment: str, window: Window) -> bool:
        """True when the run's roll-up can be read; else starts it (once) and answers False."""
        with self.lock:
            if experiment in self.done:
                return True
            if experiment in self.busy:
                return False
            self.busy.add(experiment)
        threading.Thread(target=self._make, args=(series, experiment, window), daemon=True).start()
        return False

    def _make(self, series: ExperimentSeries, experiment: str, window: Window) -> None:
        try:
            last = self.fields[0]
            q = f'SELECT last("{last}_max") FROM {TARGET} WHERE "experiment" = {quote(experiment)}'
            if not series._values(q):
                roll(series, experiment, window, self.fields)
            with self.lock:
                self.done.add(experiment)
        except InfluxError as exc:  # the raw data still serve; the next plot tries again
            log.warning("rolling up %s failed: %s", experiment, exc)
        finally:
            with self.lock:
                self.busy.discard(experiment)

    def wait(self, experiment: str, timeout: float) -> bool:
        """For tests and benchmarks: until the run is rolled up (True) or ``timeout`` s passed."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if experiment in self.done:
                    return True
                if experiment not in self.busy:
                    return False
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
