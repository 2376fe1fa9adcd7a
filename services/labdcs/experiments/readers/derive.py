"""What the importer stores, computed from a :class:`Table` with numpy: the running capacities and
energies (the trapezoid split by sign, as :class:`labdcs.experiments.cycles.Accumulator` does live),
cycle indices and per-cycle statistics, and InfluxDB line protocol written from the columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labdcs.experiments.cycles import REST_CURRENT
from labdcs.experiments.documents import CycleStat
from labdcs.experiments.readers.table import NS, Floats, Ints, Table


@dataclass
class Derived:
    """Per-row running totals (Ah, Wh, over the whole test) and cycle index."""

    charge_ah: Floats
    discharge_ah: Floats
    charge_wh: Floats
    discharge_wh: Floats
    cycle: Ints


STRIDE = 1 << 20
"""Rows derived at once: the temporaries stay a few MB whatever the file's length."""


def derive(table: Table) -> Derived:
    n = len(table)
    totals = [np.zeros(n) for _ in range(4)]  # charge Ah, discharge Ah, charge Wh, discharge Wh
    carry = [0.0, 0.0, 0.0, 0.0]
    for first in range(1, n, STRIDE):
        last = min(n, first + STRIDE)
        dt = np.diff(table.time_ns[first - 1 : last]).astype(np.float64) / NS / 3600
        i, v = table.current[first - 1 : last], table.voltage[first - 1 : last]
        amps = (i[1:] + i[:-1]) / 2
        p = i * v
        watts = (p[1:] + p[:-1]) / 2
        ah, wh = amps * dt, watts * dt
        parts = (np.where(amps >= 0, ah, 0.0), np.where(amps < 0, -ah, 0.0),
                 np.where(watts >= 0, wh, 0.0), np.where(watts < 0, -wh, 0.0))  # fmt: skip
        for k, part in enumerate(parts):
            np.cumsum(part, out=totals[k][first:last])
            totals[k][first:last] += carry[k]
            carry[k] = float(totals[k][last - 1])
    return Derived(totals[0], totals[1], totals[2], totals[3], _cycles(table))


def _cycles(table: Table) -> Ints:
    """The file's cycle column, or a new cycle at each charge after a discharge (from 1)."""
    if table.cycle is not None:
        return table.cycle
    sign = np.where(table.current > REST_CURRENT, 1, np.where(table.current < -REST_CURRENT, -1, 0))
    moving = np.flatnonzero(sign)
    starts = np.zeros(len(table), dtype=np.int64)
    if len(moving) > 1:
        s = sign[moving]
        new = moving[1:][(s[1:] == 1) & (s[:-1] == -1)]
        starts[new] = 1
    return (1 + np.cumsum(starts)).astype(np.int64)


def cycle_stats(experiment: str, table: Table, derived: Derived, ts_ms: Ints) -> list[CycleStat]:
    """One statistic per run of equal cycle index (a revisited index keeps its first run)."""
    n = len(table)
    if n == 0:
        return []
    cycle = derived.cycle
    starts = np.flatnonzero(np.concatenate(([True], cycle[1:] != cycle[:-1])))
    ends = np.concatenate((starts[1:], [n])) - 1
    seconds = (table.time_ns - table.time_ns[0]).astype(np.float64) / NS
    totals = (derived.charge_ah, derived.discharge_ah, derived.charge_wh, derived.discharge_wh)
    # A cycle's amount: what accumulated from the row before its first row to its last row.
    before = [np.concatenate(([0.0], x))[starts] for x in totals]
    v_min = np.minimum.reduceat(table.voltage, starts)
    v_max = np.maximum.reduceat(table.voltage, starts)
    t_max = None
    if table.temperature is not None:
        t = np.where(np.isnan(table.temperature), -np.inf, table.temperature)
        t_max = np.maximum.reduceat(t, starts)
    stats: list[CycleStat] = []
    seen: set[int] = set()
    for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        index = int(cycle[a])
        if index in seen:
            continue
        seen.add(index)
        c_ah, d_ah, c_wh, d_wh = (float(x[b] - before[j][k]) for j, x in enumerate(totals))
        if a == 0:
            c_ah, d_ah, c_wh, d_wh = (float(x[b]) for x in totals)
        temp = None if t_max is None or not np.isfinite(t_max[k]) else float(t_max[k])
        stats.append(
            CycleStat(
                id=f"{experiment}:{index}",
                experiment=experiment,
                cycle_index=index,
                start=int(ts_ms[a]),
                end=int(ts_ms[b]),
                duration=float(seconds[b] - seconds[a]),
                charge_capacity=c_ah,
                discharge_capacity=d_ah,
                charge_energy=c_wh,
                discharge_energy=d_wh,
                coulombic_efficiency=d_ah / c_ah if c_ah > 0 else None,
                energy_efficiency=d_wh / c_wh if c_wh > 0 else None,
                v_min=float(v_min[k]),
                v_max=float(v_max[k]),
                t_max=temp,
            )
        )
    return stats


#: field -> power of ten its value is written with: line protocol takes ``3712300000e-9`` as the float
#: 3.7123 exactly as ``3.7123``, and Python formats integers ~10x faster than floats. Resolution:
#: 1 nV, 1 pA, 1 nW, 1 ns, 1 pAh, 1 nWh, 1 µ°C, far below any cycler's.
EXPONENT = {
    "voltage": 9,
    "current": 12,
    "power": 9,
    "test_time": 9,
    "charge_capacity": 12,
    "discharge_capacity": 12,
    "charge_energy": 9,
    "discharge_energy": 9,
    "temperature": 6,
}
_LIMIT = 2**62


def blocks(
    prefix: str, table: Table, derived: Derived, start_ns: int, batch: int
) -> Iterator[tuple[str, int]]:
    """Line protocol (ns timestamps) in blocks of ``batch`` points: (text, points). Each block is
    computed from its slice of the columns: memory stays one block's, whatever the file's length."""
    n = len(table)
    if n == 0:
        return
    power = None  # computed per block
    columns: list[tuple[str, npt.NDArray[np.float64] | Ints | None]] = [
        ("voltage", table.voltage), ("current", table.current), ("power", power),
        ("test_time", table.time_ns), ("cycle_index", derived.cycle),
        ("charge_capacity", derived.charge_ah), ("discharge_capacity", derived.discharge_ah),
        ("charge_energy", derived.charge_wh), ("discharge_energy", derived.discharge_wh),
    ]  # fmt: skip
    temperature = table.temperature
    nan_temperature = temperature is not None and bool(np.isnan(temperature).any())
    if temperature is not None and not nan_temperature:
        columns.append(("temperature", temperature))
    if table.step is not None:
        columns.append(("step_index", table.step))
    limits = {"voltage": float(np.abs(table.voltage).max()), "current": float(np.abs(table.current).max())}
    limits["power"] = limits["voltage"] * limits["current"]
    for name, column in columns:
        if column is not None and column.dtype.kind == "f" and name not in limits:
            limits[name] = float(np.abs(column).max())
    if any(not np.isfinite(v) or v * 10.0 ** EXPONENT.get(k, 0) >= _LIMIT for k, v in limits.items()):
        yield from _slow(prefix, table, derived, start_ns, batch)
        return
    exponent = {name: _digits(column, EXPONENT[name]) for name, column in columns if name in EXPONENT}
    exponent["test_time"] = _digits((table.time_ns - table.time_ns[0]).astype(np.float64) / NS, 9)
    exponent["power"] = min(EXPONENT["power"], exponent["voltage"] + exponent["current"])
    parts = [f"{name}=%di" if name not in exponent else f"{name}=%de-{exponent[name]}" for name, _ in columns]
    line = prefix.replace("%", "%%") + ",".join(parts) + ',run_state="finished" %d\n'
    t0 = int(table.time_ns[0])
    for first in range(0, n, batch):
        last = min(n, first + batch)
        if nan_temperature:  # some rows without a temperature: those rows are written without it
            yield "\n".join(_slow_rows(prefix, table, derived, start_ns, first, last)), last - first
            continue
        grid = np.empty((last - first, len(columns) + 1), dtype=np.int64)
        for k, (name, column) in enumerate(columns):
            if name == "power":
                grid[:, k] = np.rint(
                    table.voltage[first:last] * table.current[first:last] * 10.0 ** exponent[name]
                )
            elif name == "test_time":  # exact: the ns the file said
                grid[:, k] = (table.time_ns[first:last] - t0) // 10 ** (9 - exponent[name])
            elif name in EXPONENT:
                assert column is not None
                grid[:, k] = np.rint(column[first:last] * 10.0 ** exponent[name])
            else:
                assert column is not None
                grid[:, k] = column[first:last]
        grid[:, -1] = start_ns + table.time_ns[first:last]
        yield (line * (last - first)) % tuple(grid.ravel().tolist()), last - first


def _digits(column: npt.NDArray[np.float64] | Ints | None, most: int) -> int:
    """The fewest decimals (up to ``most``) that write every value of the column exactly as the
    file had it (a voltage printed with 4 decimals: ``32502e-4``, not ``3250200000e-9``): fewer
    bytes for Python to format and InfluxDB to parse."""
    if column is None or len(column) == 0:
        return most
    sample = np.asarray(column[:: max(1, len(column) // 100_000)], dtype=np.float64)
    for k in range(most):
        scaled = sample * 10.0**k
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-6):
            whole = np.asarray(column, dtype=np.float64) * 10.0**k
            if np.all(np.abs(whole - np.rint(whole)) <= 1e-12 * np.maximum(1.0, np.abs(whole))):
                return k
    return most


def _slow(
    prefix: str, table: Table, derived: Derived, start_ns: int, batch: int
) -> Iterator[tuple[str, int]]:
    for first in range(0, len(table), batch):
        last = min(len(table), first + batch)
        yield "\n".join(_slow_rows(prefix, table, derived, start_ns, first, last)), last - first


def _slow_rows(
    prefix: str, table: Table, derived: Derived, start_ns: int, first: int, last: int
) -> list[str]:
    """Row by row, floats as repr: values beyond the integer form, or a temperature now and then."""
    out = []
    t0 = int(table.time_ns[0])
    for k in range(first, last):
        v, i = float(table.voltage[k]), float(table.current[k])
        line = (
            f"{prefix}voltage={v!r},current={i!r},power={v * i!r},"
            f"test_time={(int(table.time_ns[k]) - t0) / NS!r},"
            f"cycle_index={int(derived.cycle[k])}i,charge_capacity={float(derived.charge_ah[k])!r},"
            f"discharge_capacity={float(derived.discharge_ah[k])!r},charge_energy={float(derived.charge_wh[k])!r},"
            f'discharge_energy={float(derived.discharge_wh[k])!r},run_state="finished"'
        )
        if table.temperature is not None and not np.isnan(table.temperature[k]):
            line += f",temperature={float(table.temperature[k])!r}"
        if table.step is not None:
            line += f",step_index={int(table.step[k])}i"
        out.append(f"{line} {start_ns + int(table.time_ns[k])}")
    return out
