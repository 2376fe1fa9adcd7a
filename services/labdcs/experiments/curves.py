"""One cycle's voltage against capacity and its incremental capacity (dQ/dV), charge and discharge.

The station's capacities accumulate over the whole test (as imports recompute them), so a cycle's
capacity is the accumulator minus its value at the cycle's first sample of that branch. dQ/dV is the
capacity passed within each voltage bin of :data:`labdcs.experiments.report.DQDV_BIN_V`, divided by
the bin's width: positive on charge, negative on discharge, as incremental-capacity plots show them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from labdcs.experiments.report import DQDV_BIN_V

#: Points of a V-capacity curve sent to the browser (a cycle at 1 Hz has thousands; a plot ~1000 px).
MAX_CURVE_POINTS = 2000


class Branch(BaseModel):
    """Charge or discharge of one cycle: capacity (Ah from the branch's start) and voltage, and dQ/dV
    (Ah/V) at the voltage bins' centres."""

    direction: Literal["charge", "discharge"]
    capacity: list[float]
    voltage: list[float]
    dqdv_voltage: list[float]
    dqdv: list[float]


class CycleCurves(BaseModel):
    cycle: int
    branches: list[Branch]


def _thin(capacity: list[float], voltage: list[float]) -> tuple[list[float], list[float]]:
    step = max(1, -(-len(capacity) // MAX_CURVE_POINTS))
    if step == 1:
        return capacity, voltage
    keep = list(range(0, len(capacity), step))
    if keep[-1] != len(capacity) - 1:
        keep.append(len(capacity) - 1)
    return [capacity[k] for k in keep], [voltage[k] for k in keep]


def branch(samples: list[list[Any]], direction: Literal["charge", "discharge"]) -> Branch | None:
    """The branch from ``[time, voltage, current, charge_capacity, discharge_capacity]`` rows in time
    order; None when the cycle has no sample of that direction."""
    column, sign = (3, 1.0) if direction == "charge" else (4, -1.0)
    rows = [
        row
        for row in samples
        if row[1] is not None and row[2] is not None and row[column] is not None and sign * row[2] > 0
    ]
    if not rows:
        return None
    origin = rows[0][column]
    capacity = [row[column] - origin for row in rows]
    voltage = [float(row[1]) for row in rows]
    bins: dict[int, float] = {}
    for k in range(1, len(rows)):
        key = int(((voltage[k - 1] + voltage[k]) / 2) // DQDV_BIN_V)
        bins[key] = bins.get(key, 0.0) + (capacity[k] - capacity[k - 1])
    keys = sorted(bins)
    thin_q, thin_v = _thin(capacity, voltage)
    return Branch(
        direction=direction,
        capacity=thin_q,
        voltage=thin_v,
        dqdv_voltage=[round((k + 0.5) * DQDV_BIN_V, 6) for k in keys],
        dqdv=[sign * bins[k] / DQDV_BIN_V for k in keys],
    )


def cycle_curves(cycle: int, samples: list[list[Any]]) -> CycleCurves:
    samples = sorted(samples, key=lambda row: row[0])
    found = [branch(samples, "charge"), branch(samples, "discharge")]
    return CycleCurves(cycle=cycle, branches=[b for b in found if b is not None])
