"""Cumulative capacities and per-cycle statistics from samples, as the station computes them live.

Vendors reset their accumulators at steps, cycles or schedule points, each differently; recomputing
from current and voltage (trapezoid rule, split by the sign of the current, as Battery Archive does)
gives every import the same meaning: charge/discharge capacity and energy accumulated over the whole
test, like the station's state. Without a cycle column, a cycle starts at the first charge after a
discharge (cycle 1 starts with the file).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labdcs.experiments.documents import CycleStat

#: Below this current (A) a sample counts as rest for cycle detection.
REST_CURRENT = 1e-4


@dataclass
class _Cycle:
    index: int
    start_ms: int
    end_ms: int = 0
    start_s: float = 0.0
    end_s: float = 0.0
    charge_ah: float = 0.0
    discharge_ah: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0
    v_min: float = float("inf")
    v_max: float = float("-inf")
    t_max: float | None = None


@dataclass
class Accumulator:
    """Feed samples in time order with :meth:`add`; read the running totals, then :meth:`finish`."""

    experiment: str
    charge_ah: float = 0.0
    discharge_ah: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0
    cycle_index: int = 1
    stats: list[CycleStat] = field(default_factory=list)
    _last: tuple[float, float, float] | None = None
    _cycle: _Cycle | None = None
    _discharged: bool = False

    def add(self, ts_ms: int, t: float, voltage: float, current: float, temperature: float | None,
            cycle: int | None) -> int:  # fmt: skip
        """Account one sample; returns its cycle index."""
        if cycle is not None:
            index = cycle
        else:
            if current > REST_CURRENT and self._discharged:
                self.cycle_index += 1
                self._discharged = False
            if current < -REST_CURRENT:
                self._discharged = True
            index = self.cycle_index
        if self._cycle is None or index != self._cycle.index:
            self._close()
            self._cycle = _Cycle(index=index, start_ms=ts_ms, start_s=t)
        c = self._cycle
        if self._last is not None:
            t0, v0, i0 = self._last
            dt = t - t0
            amps = (i0 + current) / 2
            watts = (v0 * i0 + voltage * current) / 2
            ah, wh = amps * dt / 3600, watts * dt / 3600
            if amps >= 0:
                self.charge_ah += ah
                c.charge_ah += ah
            else:
                self.discharge_ah -= ah
                c.discharge_ah -= ah
            if watts >= 0:
                self.charge_wh += wh
                c.charge_wh += wh
            else:
                self.discharge_wh -= wh
                c.discharge_wh -= wh
        self._last = (t, voltage, current)
        c.end_ms, c.end_s = ts_ms, t
        c.v_min, c.v_max = min(c.v_min, voltage), max(c.v_max, voltage)
        if temperature is not None:
            c.t_max = temperature if c.t_max is None else max(c.t_max, temperature)
        return index

    def _close(self) -> None:
        c = self._cycle
        if c is None:
            return
        self.stats.append(
            CycleStat(
                id=f"{self.experiment}:{c.index}",
                experiment=self.experiment,
                cycle_index=c.index,
                start=c.start_ms,
                end=c.end_ms,
                duration=c.end_s - c.start_s,
                charge_capacity=c.charge_ah,
                discharge_capacity=c.discharge_ah,
                charge_energy=c.charge_wh,
                discharge_energy=c.discharge_wh,
                coulombic_efficiency=c.discharge_ah / c.charge_ah if c.charge_ah > 0 else None,
                energy_efficiency=c.discharge_wh / c.charge_wh if c.charge_wh > 0 else None,
                v_min=c.v_min,
                v_max=c.v_max,
                t_max=c.t_max,
            )
        )
        self._cycle = None

    def finish(self) -> list[CycleStat]:
        self._close()
        # A vendor cycle column may revisit an index (a restart): keep the first, ids are unique.
        seen: set[int] = set()
        unique = []
        for stat in self.stats:
            if stat.cycle_index not in seen:
                seen.add(stat.cycle_index)
                unique.append(stat)
        return unique
