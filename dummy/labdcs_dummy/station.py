"""A simulated bidirectional source (supply + electronic load) wired to a simulated cell.

The station behaves like the regulation loop of a real bidirectional supply: it holds the voltage
setpoint unless that would take more than the charge (source) or discharge (sink) current or power
limit, in which case it regulates that limit (CC or CP). With the output off no current flows.

Physics runs lazily on the shared :class:`~labdcs.clock.Clock`: every measurement first integrates
the cell from the last update to ``clock.monotonic()`` in sub-steps of at most ``max_step_s``, the
operating point recomputed at the start of each sub-step (so a CV current decays smoothly). With a
:class:`~labdcs.clock.SteppedClock` the cell therefore moves exactly as far as the engine waited.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

from labdcs.clock import Clock, WallClock
from labdcs_dummy.cell import Cell, CellParameters

OFF, CC, CV, CP = "off", "cc", "cv", "cp"


@dataclass(frozen=True)
class StationRatings:
    max_voltage: float = 80.0
    max_current: float = 60.0
    max_power: float = 1000.0


@dataclass(frozen=True)
class Measurement:
    voltage: float
    current: float
    power: float
    temperature_c: float
    output_on: bool
    mode: str


class SimulatedStation:
    """Thread-safe: an SCPI server thread or a CAN node thread calls it."""

    def __init__(
        self,
        cell: CellParameters | None = None,
        clock: Clock | None = None,
        ratings: StationRatings | None = None,
        seed: int | None = None,
        max_step_s: float = 1.0,
    ) -> None:
        self.cell = Cell(cell or CellParameters())
        self.clock = clock or WallClock()
        self.ratings = ratings or StationRatings()
        self.max_step_s = max_step_s
        self.noise = True
        self.rng = random.Random(seed)
        self.voltage_set = 0.0
        self.charge_current = 0.0
        self.discharge_current = 0.0
        self.charge_power = self.ratings.max_power
        self.discharge_power = self.ratings.max_power
        self.output = False
        self.mode = OFF
        self._lock = threading.RLock()
        self._last = self.clock.monotonic()

    # --- settings -------------------------------------------------------------------------

    def program(
        self,
        voltage: float | None = None,
        charge_current: float | None = None,
        discharge_current: float | None = None,
        charge_power: float | None = None,
        discharge_power: float | None = None,
    ) -> None:
        with self._lock:
            self.advance()
            r = self.ratings
            if voltage is not None:
                self.voltage_set = _within(voltage, 0.0, r.max_voltage, "voltage")
            if charge_current is not None:
                self.charge_current = _within(charge_current, 0.0, r.max_current, "charge current")
            if discharge_current is not None:
                self.discharge_current = _within(discharge_current, 0.0, r.max_current, "discharge current")
            if charge_power is not None:
                self.charge_power = _within(charge_power, 0.0, r.max_power, "charge power")
            if discharge_power is not None:
                self.discharge_power = _within(discharge_power, 0.0, r.max_power, "discharge power")

    def set_output(self, on: bool) -> None:
        with self._lock:
            self.advance()
            self.output = on

    def set_temperature(self, celsius: float) -> None:
        """Fault injection: force the cell temperature (a hot spot, a failed chamber)."""
        with self._lock:
            self.advance()
            self.cell.temperature_c = celsius

    def set_soc(self, soc: float) -> None:
        with self._lock:
            self.advance()
            self.cell.soc = soc

    # --- physics --------------------------------------------------------------------------

    def operating_current(self) -> tuple[float, str]:
        """(current, regulation mode) the station settles at for the cell's present state."""
        if not self.output:
            return 0.0, OFF
        cell = self.cell
        source = cell.source_voltage()
        r0 = cell.r0()
        current = (self.voltage_set - source) / r0
        mode = CV
        if current > 0:
            limit, limit_mode = self.charge_current, CC
            if self.charge_power < limit * (source + limit * r0):
                limit = (-source + math.sqrt(source * source + 4 * r0 * self.charge_power)) / (2 * r0)
                limit_mode = CP
            if current > limit:
                current, mode = limit, limit_mode
        elif current < 0:
            limit, limit_mode = self.discharge_current, CC
            if self.discharge_power < limit * max(source - limit * r0, 0.0):
                root = source * source - 4 * r0 * self.discharge_power
                limit = (source - math.sqrt(root)) / (2 * r0) if root > 0 else source / (2 * r0)
                limit_mode = CP
            if -current > limit:
                current, mode = -limit, limit_mode
        return current, mode

    def advance(self) -> None:
        """Integrate the cell up to the clock's present time."""
        with self._lock:
            now = self.clock.monotonic()
            remaining = now - self._last
            self._last = now
            while remaining > 1e-9:
                dt = min(self.max_step_s, remaining)
                current, self.mode = self.operating_current()
                self.cell.step(current, dt)
                remaining -= dt
            if remaining <= 1e-9:
                _, self.mode = self.operating_current()

    def measure(self) -> Measurement:
        with self._lock:
            self.advance()
            current, mode = self.operating_current()
            voltage = self.cell.terminal_voltage(current)
            if self.noise:
                voltage += self.rng.gauss(0.0, 2e-4)
                current += self.rng.gauss(0.0, 2e-4) if current else 0.0
            temperature = self.cell.temperature_c + (self.rng.gauss(0.0, 0.02) if self.noise else 0.0)
            return Measurement(voltage, current, voltage * current, temperature, self.output, mode)


def _within(value: float, low: float, high: float, what: str) -> float:
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{what} {value!r} outside {low:g}..{high:g}")
    return float(value)
