"""An experiment's quantities over a time window at the resolution a plot can show, extremes kept.

A plot ``width`` pixels wide cannot show more than about two values per pixel column, so a window
with more samples than :func:`raw_limit` is read from InfluxDB as ``min`` and ``max`` per time bucket
(InfluxQL ``GROUP BY time()``, what InfluxDB 1.6 offers): a spike of one sample in a 30-day run still
reaches the plot, which means alone would smooth away. A window with fewer samples is read whole,
at full resolution: zooming in ends in the samples themselves. The raw read is tried first with a
``LIMIT``, so it costs at most that many rows before the bucketed read takes over.

Each field is its own query, run side by side (InfluxDB answers them on separate cores). A window
of an ended run cannot change, so its answers are kept (a few dozen, least recently used first out):
looking at a finished experiment again, or going back to the whole run after a zoom, does not scan
InfluxDB again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from labdcs.experiments import rollup
from labdcs.experiments.series import SOURCES, ExperimentSeries, Window, where

#: Quantities a time plot may ask for (fields of the ``cycler`` measurement).
PLOT_FIELDS = (
    "voltage",
    "current",
    "temperature",
    "power",
    "charge_capacity",
    "discharge_capacity",
)


class Envelope(BaseModel):
    """One quantity over a window: ``t`` (ms), and ``min``/``max`` per bucket (equal when raw)."""

    field: str
    bucket_ms: int = Field(description="0: every sample (full resolution); else the bucket length")
    t: list[int]
    min: list[float | None]
    max: list[float | None]


class PlotData(BaseModel):
    """The window actually read (the run's span where the request left it open) and each field."""

    start: int | None = Field(description="ms since the epoch; None: the experiment has no data")
    end: int | None
    fields: list[Envelope]


_CLOCK = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 40, 45)
#: Bucket lengths (ms) people can read on the page ("min/max per 40 s"), finer than the pixels need.
NICE_BUCKETS = (
    *(k * 10**e for e in range(3) for k in (1, 2, 5)),
    *(s * 1000 for s in _CLOCK),
    *(m * 60_000 for m in _CLOCK),
    *(h * 3_600_000 for h in (1, 2, 3, 4, 6, 8, 12)),
    *(d * 86_400_000 for d in (1, 2, 3, 5, 7, 10, 14, 30, 60, 90, 180, 365)),
)


def bucket_for(span_ms: int, width: int) -> int:
    """The shortest readable bucket that gives at most ``width`` buckets over ``span_ms``."""
    need = max(1, math.ceil(span_ms / width))
    return next((b for b in NICE_BUCKETS if b >= need), need)


def raw_limit(width: int) -> int:
    """Samples above which a window is bucketed: two per pixel column (min and max)."""
    return 2 * width


def _raw(
    series: ExperimentSeries, experiment: str, field: str, window: Window, limit: int
) -> Envelope | None:
    q = (
        f'SELECT "{field}" FROM {SOURCES} WHERE {where(experiment, window.start_ms, window.end_ms)} '
        f"LIMIT {limit + 1}"
    )
    rows = [row for row in series._values(q) if row[1] is not None]
    if len(rows) > limit:
        return None
    rows.sort(key=lambda row: row[0])
    values = [row[1] for row in rows]
    return Envelope(field=field, bucket_ms=0, t=[row[0] for row in rows], min=values, max=list(values))


def _raw_buckets(
    series: ExperimentSeries, experiment: str, field: str, window: Window, bucket: int
) -> list[list[Any]]:
    q = (
        f'SELECT min("{field}"), max("{field}") FROM {SOURCES} '
        f"WHERE {where(experiment, window.start_ms, window.end_ms)} "
        f"GROUP BY time({bucket}ms) fill(none)"
    )
    return series._values(q)


def _bucketed(
    series: ExperimentSeries, experiment: str, field: str, window: Window, width: int, run: Run | None
) -> Envelope:
    """Min/max buckets: from the roll-up up to where it reaches (bucket-aligned), the rest raw."""
    assert window.start_ms is not None and window.end_ms is not None
    bucket = bucket_for(window.end_ms - window.start_ms + 1, width)
    seam = window.start_ms
    if run is not None and bucket % rollup.STEP_MS == 0:
        until = ROLLUPS.covered(series, experiment, run.start_ms, run.settled_ms)
        if until is not None:
            seam = max(window.start_ms, min(window.end_ms + 1, until - until % bucket))
    rows = []
    if seam > window.start_ms:
        rows += rollup.read(series, experiment, field, Window(window.start_ms, seam - 1), bucket)
    if seam <= window.end_ms:
        rows += _raw_buckets(series, experiment, field, Window(seam, window.end_ms), bucket)
    rows.sort(key=lambda row: row[0])
    return Envelope(
        field=field,
        bucket_ms=bucket,
        t=[max(int(row[0]), window.start_ms) for row in rows],
        min=[row[1] for row in rows],
        max=[row[2] for row in rows],
    )


@dataclass(frozen=True)
class Run:
    """What the roll-up needs of a run: its first sample, and up to where its minutes are settled
    (an ended run's end and a minute after it; a running one's, :data:`rollup.SETTLED_MS` ago)."""

    start_ms: int
    settled_ms: int


#: How long after a run's end its samples are taken as all stored (the ingester batches them).
SETTLED_MS = 60_000


class _Kept:
    """The answers for windows of ended runs, least recently used out first."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[tuple[object, ...], Envelope] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Envelope | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], value: Envelope) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


KEPT = _Kept()
ROLLUPS = rollup.Rollups(PLOT_FIELDS)


def envelope(
    series: ExperimentSeries,
    experiment: str,
    field: str,
    window: Window,
    width: int,
    run: Run | None = None,
    ended: bool = False,
) -> Envelope:
    """``field`` in ``window`` (both ends set): every sample if they fit, else min/max buckets
    (from the roll-up of ``run`` where it reaches); ``ended``: the run is over, the answer is kept."""
    key = (id(series), experiment, field, window.start_ms, window.end_ms, width)
    if ended and (kept := KEPT.get(key)) is not None:
        return kept
    raw = _raw(series, experiment, field, window, raw_limit(width))
    found = raw if raw is not None else _bucketed(series, experiment, field, window, width, run)
    if ended:
        KEPT.put(key, found)
    return found


def after(series: ExperimentSeries, experiment: str, field: str, since_ms: int, limit: int) -> Envelope:
    """The samples newer than ``since_ms`` (a live plot's new points), at most ``limit``, oldest first."""
    q = (
        f'SELECT "{field}" FROM {SOURCES} WHERE {where(experiment, since_ms + 1, None)} '
        f"ORDER BY time ASC LIMIT {limit}"
    )
    rows = sorted((row for row in series._values(q) if row[1] is not None), key=lambda row: row[0])
    values = [row[1] for row in rows]
    return Envelope(field=field, bucket_ms=0, t=[row[0] for row in rows], min=values, max=list(values))


def _edge(series: ExperimentSeries, experiment: str, order: str) -> int | None:
    """The first (``ASC``) or newest (``DESC``) sample's time: one row read, not the whole run."""
    q = f'SELECT "voltage" FROM {SOURCES} WHERE {where(experiment)} ORDER BY time {order} LIMIT 1'
    times = [int(row[0]) for row in series._values(q)]
    if not times:
        return None
    return min(times) if order == "ASC" else max(times)


def plot_data(
    series: ExperimentSeries,
    experiment: str,
    run: Window,
    fields: list[str],
    start_ms: int | None,
    end_ms: int | None,
    width: int,
) -> PlotData:
    """The fields over ``[start_ms, end_ms]`` clipped to the run (open ends: the run's own)."""
    first = run.start_ms if run.start_ms is not None else _edge(series, experiment, "ASC")
    last = run.end_ms if run.end_ms is not None else _edge(series, experiment, "DESC")
    if first is None or last is None:
        empty = [Envelope(field=f, bucket_ms=0, t=[], min=[], max=[]) for f in fields]
        return PlotData(start=None, end=None, fields=empty)
    start = first if start_ms is None else max(first, start_ms)
    end = last if end_ms is None else min(last, end_ms)
    if end < start:
        end = start
    window = Window(start, end)
    # Over for a minute: samples still on their way through the ingester have arrived.
    now = int(time.time() * 1000)
    ended = run.end_ms is not None and run.end_ms < now - SETTLED_MS
    whole = Run(first, last + rollup.STEP_MS if ended else now - rollup.SETTLED_MS)
    with ThreadPoolExecutor(max_workers=len(fields)) as pool:
        found_fields = list(
            pool.map(lambda f: envelope(series, experiment, f, window, width, whole, ended), fields)
        )
    return PlotData(start=start, end=end, fields=found_fields)
