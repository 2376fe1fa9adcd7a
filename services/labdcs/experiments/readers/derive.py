"""What the importer stores, computed from a :class:`Table` with numpy: the running capacities and
energies (the trapezoid split by sign, as :class:`labdcs.experiments.cycles.Accumulator` does live),
cycle indices and per-cycle statistics, and InfluxDB line protocol written from the columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

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


def derive(table: Table) -> Derived:
    n = len(table)
    zeros = np.zeros(1)
    if n < 2:
        z = np.zeros(n)
        return Derived(z, z.copy(), z.copy(), z.copy(), _cycles(table))
    dt = np.diff(table.time_ns).astype(np.float64) / NS / 3600
    amps = (table.current[1:] + table.current[:-1]) / 2
    p = table.current * table.voltage
    watts = (p[1:] + p[:-1]) / 2
    ah, wh = amps * dt, watts * dt
    return Derived(
        charge_ah=np.concatenate((zeros, np.cumsum(np.where(amps >= 0, ah, 0.0)))),
        discharge_ah=np.concatenate((zeros, np.cumsum(np.where(amps < 0, -ah, 0.0)))),
        charge_wh=np.concatenate((zeros, np.cumsum(np.where(watts >= 0, wh, 0.0)))),
        discharge_wh=np.concatenate((zeros, np.cumsum(np.where(watts < 0, -wh, 0.0)))),
        cycle=_cycles(table),
    )


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


def lines(prefix: str, table: Table, derived: Derived, start_ns: int, batch: int) -> Iterator[list[str]]:
    """Line protocol (ns timestamps) in batches of ``batch`` points, from the columns."""
    n = len(table)
    ts = (start_ns + table.time_ns).tolist()
    test_time = ((table.time_ns - table.time_ns[0]).astype(np.float64) / NS).tolist() if n else []
    volts, amps = table.voltage.tolist(), table.current.tolist()
    power = (table.voltage * table.current).tolist()
    cycles = derived.cycle.tolist()
    c_ah, d_ah = derived.charge_ah.tolist(), derived.discharge_ah.tolist()
    c_wh, d_wh = derived.charge_wh.tolist(), derived.discharge_wh.tolist()
    temps = table.temperature.tolist() if table.temperature is not None else None
    steps = table.step.tolist() if table.step is not None else None
    for first in range(0, n, batch):
        last = min(n, first + batch)
        out = [
            f"{prefix}voltage={volts[k]!r},current={amps[k]!r},power={power[k]!r},test_time={test_time[k]!r},"
            f"cycle_index={cycles[k]}i,charge_capacity={c_ah[k]!r},discharge_capacity={d_ah[k]!r},"
            f'charge_energy={c_wh[k]!r},discharge_energy={d_wh[k]!r},run_state="finished"'
            for k in range(first, last)
        ]
        if temps is not None:
            for j, k in enumerate(range(first, last)):
                if temps[k] == temps[k]:  # not NaN
                    out[j] += f",temperature={temps[k]!r}"
        if steps is not None:
            for j, k in enumerate(range(first, last)):
                out[j] += f",step_index={steps[k]}i"
        for j, k in enumerate(range(first, last)):
            out[j] += f" {ts[k]}"
        yield out
