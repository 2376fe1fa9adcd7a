"""The plots' REST API: a window of an experiment at the resolution the plot needs, the points that
arrived since the last one (live plots), the CSV of exactly a window, one cycle's V-capacity and
dQ/dV curves. Reading and downsampling are in :mod:`labdcs.experiments.downsample`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import Field

from labdcs.experiments.api import ERRORS, _prepend, readable_experiment, services, window_of
from labdcs.experiments.curves import CycleCurves, cycle_curves
from labdcs.experiments.downsample import PLOT_FIELDS, PlotData, after, plot_data
from labdcs.experiments.series import Window
from labdcs.experiments.store import StoreError

Quantity = Literal["voltage", "current", "temperature", "power", "charge_capacity", "discharge_capacity"]
assert set(Quantity.__args__) == set(PLOT_FIELDS)  # type: ignore[attr-defined]

CycleIndex = Annotated[int, Field(ge=0, le=10**7)]
Ms = Annotated[int | None, Query(ge=0, le=10**15, description="ms since the epoch")]


def _clip(pick: Callable[[int, int], int], asked: int | None, run: int | None) -> int | None:
    """One end of a window inside the run's: the narrower of the two, or whichever is set."""
    if asked is None or run is None:
        return asked if run is None else run
    return pick(asked, run)


def router() -> APIRouter:
    api = APIRouter(prefix="/api", responses=ERRORS, tags=["plots"])

    @api.get("/experiments/{experiment_id}/plot", response_model=PlotData)
    def plot(
        request: Request,
        experiment_id: str,
        field: Annotated[list[Quantity] | None, Query(description="Quantities; default V, I, T")] = None,
        start: Ms = None,
        end: Ms = None,
        since: Annotated[
            int | None, Query(ge=0, le=10**15, description="Only samples after this ms (live append)")
        ] = None,
        width: Annotated[int, Query(ge=50, le=8000, description="Pixels the plot is wide")] = 1000,
    ) -> PlotData:
        """The quantities over ``[start, end]`` (default: the whole run): every sample when there are
        at most two per pixel, else min and max per time bucket (extremes kept). With ``since``: the
        samples after it, at full resolution (what a live plot appends)."""
        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        series = svc.need_series()
        fields = list(dict.fromkeys(field or ["voltage", "current", "temperature"]))
        if since is not None:
            found = [after(series, experiment_id, f, since, 4 * width) for f in fields]
            last = max((e.t[-1] for e in found if e.t), default=None)
            return PlotData(start=since + 1 if last is not None else None, end=last, fields=found)
        if start is not None and end is not None and end < start:
            raise StoreError(f"the window ends ({end}) before it starts ({start})")
        return plot_data(series, experiment_id, window_of(experiment), fields, start, end, width)

    @api.get(
        "/experiments/{experiment_id}/view.csv",
        response_model=None,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "BDF CSV"}},
    )
    def view_csv(request: Request, experiment_id: str, start: Ms = None, end: Ms = None) -> Response:
        """Every sample in ``[start, end]`` (inside the run) at full resolution, BDF columns: the CSV
        of what a plot shows."""
        from labdcs.experiments.export import csv_chunks

        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        if start is not None and end is not None and end < start:
            raise StoreError(f"the window ends ({end}) before it starts ({start})")
        run = window_of(experiment)
        lo = _clip(max, start, run.start_ms)
        hi = _clip(min, end, run.end_ms)
        chunks = csv_chunks(svc.need_series(), experiment_id, Window(lo, hi))
        first = next(chunks)  # fails here (503), not in the middle of the file, if InfluxDB is down
        name = f"{experiment_id}-{lo if lo is not None else 'start'}-{hi if hi is not None else 'end'}"
        return StreamingResponse(
            _prepend(first, chunks),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.bdf.csv"'},
        )

    @api.get("/experiments/{experiment_id}/cycle-curves", response_model=list[CycleCurves])
    def curves(
        request: Request,
        experiment_id: str,
        cycle: Annotated[list[CycleIndex], Query(max_length=20, description="Cycle indexes")],
    ) -> list[CycleCurves]:
        """Voltage against capacity and dQ/dV of each chosen cycle, charge and discharge."""
        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        series = svc.need_series()
        return [
            cycle_curves(n, series.cycle_samples(experiment_id, n, window_of(experiment)))
            for n in dict.fromkeys(cycle)
        ]

    return api
