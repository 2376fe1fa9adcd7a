"""The protocol engine of a cycler channel: pure logic, no I/O, driven one sample at a time.

The service reads the instrument every sample period, checks the safety limits (:class:`Safety`,
independent of the protocol), and hands the sample to :meth:`Engine.on_sample`, which

1. integrates charge and energy (trapezoid between samples, or the new sample alone right after a
   setpoint change; + charge, - discharge) into the run, step and cycle accumulators;
2. checks the present step's end conditions; when one holds, closes the step's statistics and goes
   where the condition says (next step, a sibling step, end, abort), entering and leaving loops;
   each pass of a ``cycle: true`` loop is one cycle, with its own statistics;
3. exposes :attr:`Engine.setpoint`, what the source must be programmed to now (None: output off),
   and :attr:`Engine.setpoint_version`, bumped whenever it changes.

A CC step's voltage end condition also holds when the source reports constant-voltage regulation:
the setpoint clamps the source at that voltage, so reaching CV *is* reaching the voltage, noise or
not. DC resistance is dV/dI between the last sample before a setpoint change and the first after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labdcs.contract.models import CyclerRunState, CyclerStats, StatsScope
from labdcs.drivers.base import RegulationMode, SourceSetpoint
from labdcs.protocols.model import (
    CcCv,
    ConstantCurrent,
    ConstantPower,
    ConstantVoltage,
    Current,
    Direction,
    EndCondition,
    Goto,
    Leaf,
    Loop,
    Protocol,
    Pulses,
    Quantity,
    Rest,
    Step,
)
from labdcs.protocols.validate import Envelope

#: A current change smaller than this (A) does not give a DC resistance.
DCIR_MIN_DELTA_A = 0.05
#: Voltage tolerance (V) of a voltage end condition (measurement noise around a clamp).
VOLTAGE_TOLERANCE = 0.0005


@dataclass(frozen=True)
class Sample:
    t: float
    """Simulated monotonic seconds."""
    ts_ms: int
    voltage: float
    current: float
    power: float
    temperature: float | None
    mode: RegulationMode
    output_on: bool


@dataclass
class Accumulator:
    """Statistics of one step or cycle, built sample by sample."""

    start_ms: int
    running_s: float = 0.0
    charge_ah: float = 0.0
    discharge_ah: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0
    v_min: float = math.inf
    v_max: float = -math.inf
    v_integral: float = 0.0
    i_integral: float = 0.0
    t_min: float = math.inf
    t_max: float = -math.inf
    cv_s: float = 0.0
    cv_ah: float = 0.0
    dcir: list[float] = field(default_factory=list)

    def add(self, sample: Sample, dt: float, amp_hours: float, watt_hours: float, cv: bool) -> None:
        if amp_hours >= 0:
            self.charge_ah += amp_hours
        else:
            self.discharge_ah -= amp_hours
        if watt_hours >= 0:
            self.charge_wh += watt_hours
        else:
            self.discharge_wh -= watt_hours
        self.v_min = min(self.v_min, sample.voltage)
        self.v_max = max(self.v_max, sample.voltage)
        if sample.temperature is not None:
            self.t_min = min(self.t_min, sample.temperature)
            self.t_max = max(self.t_max, sample.temperature)
        self.v_integral += sample.voltage * dt
        self.i_integral += sample.current * dt
        self.running_s += dt
        if cv:
            self.cv_s += dt
            self.cv_ah += abs(amp_hours)

    def stats(
        self, scope: StatsScope, end_ms: int, boot: str, cycle_index: int, **extra: object
    ) -> CyclerStats:
        def finite(value: float) -> float | None:
            return value if math.isfinite(value) else None

        cycle = scope is StatsScope.CYCLE
        return CyclerStats.model_validate(
            {
                "scope": scope,
                "ts": end_ms,
                "boot": boot,
                "cycle_index": cycle_index,
                "start": self.start_ms,
                "end": end_ms,
                "duration": self.running_s,
                "charge_capacity": self.charge_ah,
                "discharge_capacity": self.discharge_ah,
                "charge_energy": self.charge_wh,
                "discharge_energy": self.discharge_wh,
                "coulombic_efficiency": self.discharge_ah / self.charge_ah
                if cycle and self.charge_ah > 0
                else None,
                "energy_efficiency": self.discharge_wh / self.charge_wh
                if cycle and self.charge_wh > 0
                else None,
                "v_min": finite(self.v_min),
                "v_max": finite(self.v_max),
                "v_mean": self.v_integral / self.running_s if self.running_s > 0 else None,
                "i_mean": self.i_integral / self.running_s if self.running_s > 0 else None,
                "t_min": finite(self.t_min),
                "t_max": finite(self.t_max),
                "cv_time": self.cv_s,
                "cv_capacity": self.cv_ah,
                "dc_resistance": sum(self.dcir) / len(self.dcir) if self.dcir else None,
                **extra,
            }
        )


@dataclass
class _Frame:
    steps: list[Step]
    index: int
    loop: Loop | None = None
    passes_left: int = 0


def flat_indices(steps: list[Step]) -> dict[int, int]:
    """id(leaf) -> its 1-based position in document order (what ``step_index`` reports)."""
    positions: dict[int, int] = {}

    def visit(sequence: list[Step]) -> None:
        for step in sequence:
            if isinstance(step, Loop):
                visit(step.steps)
            else:
                positions[id(step)] = len(positions) + 1

    visit(steps)
    return positions


class Safety:
    """The envelope every sample must stay in while a run is active, whatever the protocol says."""

    def __init__(
        self, limits: Envelope, capacity_max_ah: float | None = None, margin_v: float = 0.005
    ) -> None:
        self.limits = limits
        self.capacity_max_ah = capacity_max_ah
        #: Measurement noise allowed beyond a voltage limit: a CV hold *at* the cell's v_max reads
        #: a little above it half of the time, which must not abort the run.
        self.margin_v = margin_v

    def check(self, sample: Sample, step_ah: float) -> str | None:
        """None when inside; else why the run must abort, for a person."""
        lim = self.limits
        if lim.v_max is not None and sample.voltage > lim.v_max + self.margin_v:
            return f"voltage {sample.voltage:.4f} V above the limit {lim.v_max:g} V"
        if lim.v_min is not None and sample.voltage < lim.v_min - self.margin_v and sample.output_on:
            return f"voltage {sample.voltage:.4f} V below the limit {lim.v_min:g} V"
        margin = 0.01  # A: regulation noise around a current setpoint at the limit
        if lim.i_max is not None and sample.current > lim.i_max * 1.01 + margin:
            return f"current {sample.current:.4f} A above the limit {lim.i_max:g} A"
        if lim.i_min is not None and sample.current < lim.i_min * 1.01 - margin:
            return f"current {sample.current:.4f} A below the limit {lim.i_min:g} A"
        if lim.t_max_c is not None and sample.temperature is not None and sample.temperature > lim.t_max_c:
            return f"temperature {sample.temperature:.2f} degC above the limit {lim.t_max_c:g} degC"
        if self.capacity_max_ah is not None and step_ah > self.capacity_max_ah:
            return f"{step_ah:.4f} Ah passed in one step, above the limit {self.capacity_max_ah:g} Ah"
        return None


class Engine:
    """Runs one protocol on one channel; see the module docstring."""

    def __init__(
        self, protocol: Protocol, limits: Envelope, capacity_ah: float | None, boot: str = ""
    ) -> None:
        self.protocol = protocol
        self.limits = limits
        self.capacity_ah = protocol.parameters.capacity_ah or capacity_ah
        self.boot = boot
        self.positions = flat_indices(protocol.steps)
        self.run_state = CyclerRunState.IDLE
        self.stack: list[_Frame] = []
        self.step: Leaf | None = None
        self.cycle_index = 0
        self.charge_ah = self.discharge_ah = self.charge_wh = self.discharge_wh = 0.0
        self.step_time = 0.0
        self.start_t = 0.0
        self.last: Sample | None = None
        self.step_acc: Accumulator | None = None
        self.cycle_acc: Accumulator | None = None
        self.end_reason: str | None = None
        self.setpoint: SourceSetpoint | None = None
        self.setpoint_version = 0
        self.published: list[CyclerStats] = []
        self._pulse_on: bool | None = None
        self._before_change: Sample | None = None

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED)

    @property
    def step_index(self) -> int:
        return self.positions[id(self.step)] if self.step is not None else 0

    @property
    def step_ah(self) -> float:
        acc = self.step_acc
        return 0.0 if acc is None else acc.charge_ah + acc.discharge_ah

    def period_hint(self, period: float, near_v: float = 0.03, fast: float = 0.5) -> float:
        """A shorter sample period while the voltage is within ``near_v`` of a voltage end condition,
        so the step ends close to its cut-off (a real cycler's fast control loop does the same)."""
        step, last = self.step, self.last
        if step is None or last is None or self.run_state is not CyclerRunState.RUNNING:
            return period
        for condition in step.until:
            if condition.quantity is Quantity.VOLTAGE and abs(last.voltage - condition.value) < near_v:
                return min(period, fast)
        return period

    def start(self, sample: Sample) -> None:
        self.run_state = CyclerRunState.RUNNING
        self.start_t = sample.t
        self.last = sample
        self.stack = [_Frame(self.protocol.steps, -1)]
        self._advance(sample)

    def pause(self) -> None:
        if self.run_state is CyclerRunState.RUNNING:
            self.run_state = CyclerRunState.PAUSED
            self._set(None)

    def resume(self) -> None:
        if self.run_state is CyclerRunState.PAUSED:
            self.run_state = CyclerRunState.RUNNING
            self._set(self._setpoint_for(self.step))

    def abort(
        self, sample: Sample | None, reason: str, state: CyclerRunState = CyclerRunState.ABORTED
    ) -> None:
        """End the run now (operator stop, safety, instrument error): output off, statistics closed."""
        if not self.active:
            return
        self._close(sample, reason)
        self.run_state = state

    # --- samples ------------------------------------------------------------------------------

    def on_sample(self, sample: Sample) -> None:
        """Account for ``sample`` and move the protocol on; read :attr:`published` afterwards."""
        last = self.last
        self.last = sample
        if last is None or not self.active:
            return
        dt = max(0.0, sample.t - last.t)
        if self._before_change is not None:
            # The setpoint changed right after the last sample: the new current flowed all along.
            amp_hours, watt_hours = sample.current * dt / 3600.0, sample.power * dt / 3600.0
        else:
            amp_hours = (last.current + sample.current) / 2 * dt / 3600.0
            watt_hours = (last.power + sample.power) / 2 * dt / 3600.0
        if amp_hours >= 0:
            self.charge_ah += amp_hours
        else:
            self.discharge_ah -= amp_hours
        if watt_hours >= 0:
            self.charge_wh += watt_hours
        else:
            self.discharge_wh -= watt_hours
        cv = sample.mode is RegulationMode.CV and isinstance(self.step, ConstantVoltage | CcCv)
        running = self.run_state is CyclerRunState.RUNNING
        for acc in (self.step_acc, self.cycle_acc):
            if acc is not None:
                acc.add(sample, dt if running else 0.0, amp_hours, watt_hours, cv and running)
        if not running:
            return
        self.step_time += dt
        self._measure_dcir(sample)
        step = self.step
        if step is None:
            return
        if isinstance(step, Pulses):
            self._pulse_phase(step)
        for condition in step.until:
            if self._holds(condition, step, sample):
                self._end_step(sample, condition.describe(), condition.goto)
                return
        if isinstance(step, Pulses) and self.step_time >= step.count * (step.on_s + step.off_s) - 1e-9:
            self._end_step(sample, f"{step.count} pulses done", Goto.NEXT.value)

    def _holds(self, condition: EndCondition, step: Leaf, sample: Sample) -> bool:
        q, value = condition.quantity, condition.value
        if q is Quantity.TIME:
            measured = self.step_time
        elif q is Quantity.VOLTAGE:
            clamped = (
                isinstance(step, ConstantCurrent | ConstantPower | Pulses)
                and sample.mode is RegulationMode.CV
            )
            if clamped and self._pulse_on is not False:
                return True
            tolerance = VOLTAGE_TOLERANCE if condition.op == ">=" else -VOLTAGE_TOLERANCE
            measured = sample.voltage + tolerance
        elif q is Quantity.CURRENT:
            measured = abs(sample.current)
            if condition.unit == "C":
                value = value * (self.capacity_ah or math.inf)
        elif q is Quantity.CAPACITY:
            measured = self.step_ah
        elif q is Quantity.ENERGY:
            acc = self.step_acc
            measured = 0.0 if acc is None else acc.charge_wh + acc.discharge_wh
        elif q is Quantity.POWER:
            measured = abs(sample.power)
        else:
            if sample.temperature is None:
                return False
            measured = sample.temperature
        return measured >= value if condition.op == ">=" else measured <= value

    def _measure_dcir(self, sample: Sample) -> None:
        before = self._before_change
        if before is None:
            return
        self._before_change = None
        delta_i = sample.current - before.current
        if abs(delta_i) >= DCIR_MIN_DELTA_A:
            resistance = (sample.voltage - before.voltage) / delta_i
            if resistance > 0:
                for acc in (self.step_acc, self.cycle_acc):
                    if acc is not None:
                        acc.dcir.append(resistance)

    def _pulse_phase(self, step: Pulses) -> None:
        period = step.on_s + step.off_s
        on = (self.step_time % period) < step.on_s - 1e-9
        if on != self._pulse_on:
            self._pulse_on = on
            self._set(self._drive(step.direction, step.current, step.until) if on else None)

    # --- setpoints ----------------------------------------------------------------------------

    def _set(self, setpoint: SourceSetpoint | None) -> None:
        if setpoint != self.setpoint:
            self.setpoint = setpoint
            self.setpoint_version += 1
            self._before_change = self.last

    def _amps(self, current: Current) -> float:
        amps = current.amps(self.capacity_ah)
        if amps is None:  # validation refuses this; never run a C-rate without a capacity
            raise ValueError("a C-rate needs a capacity")
        return amps

    def _clamp_voltage(self, direction: Direction, until: list[EndCondition]) -> float:
        volts = [c.value for c in until if c.quantity is Quantity.VOLTAGE]
        lim = self.limits
        if direction is Direction.CHARGE:
            top = lim.v_max if lim.v_max is not None else max(volts, default=0.0)
            return min([*volts, top])
        bottom = lim.v_min if lim.v_min is not None else min(volts, default=0.0)
        return max([*volts, bottom])

    def _max_currents(self) -> tuple[float, float]:
        lim = self.limits
        return (lim.i_max or 0.0), (-lim.i_min if lim.i_min is not None else 0.0)

    def _drive(self, direction: Direction, current: Current, until: list[EndCondition]) -> SourceSetpoint:
        amps = self._amps(current)
        volts = self._clamp_voltage(direction, until)
        if direction is Direction.CHARGE:
            return SourceSetpoint(voltage=volts, charge_current=amps, discharge_current=0.0)
        return SourceSetpoint(voltage=volts, charge_current=0.0, discharge_current=amps)

    def _setpoint_for(self, step: Leaf | None) -> SourceSetpoint | None:
        if step is None or isinstance(step, Rest):
            return None
        charge_max, discharge_max = self._max_currents()
        if isinstance(step, ConstantCurrent):
            return self._drive(step.direction, step.current, step.until)
        if isinstance(step, CcCv):
            amps = self._amps(step.current)
            if step.direction is Direction.CHARGE:
                return SourceSetpoint(voltage=step.voltage_v, charge_current=amps, discharge_current=0.0)
            return SourceSetpoint(voltage=step.voltage_v, charge_current=0.0, discharge_current=amps)
        if isinstance(step, ConstantVoltage):
            if step.current_limit is not None:
                limit = self._amps(step.current_limit)
                charge_max, discharge_max = min(charge_max, limit), min(discharge_max, limit)
            return SourceSetpoint(
                voltage=step.voltage_v, charge_current=charge_max, discharge_current=discharge_max
            )
        if isinstance(step, ConstantPower):
            volts = self._clamp_voltage(step.direction, step.until)
            if step.direction is Direction.CHARGE:
                return SourceSetpoint(volts, charge_max, 0.0, charge_power=step.power_w)
            return SourceSetpoint(volts, 0.0, discharge_max, discharge_power=step.power_w)
        return None  # pulses: set by the pulse phase

    # --- moving through the protocol ------------------------------------------------------------

    def _ts(self, sample: Sample | None) -> int:
        if sample is not None:
            return sample.ts_ms
        return self.last.ts_ms if self.last is not None else 0

    def _close_step(self, sample: Sample | None, reason: str) -> None:
        if self.step is None or self.step_acc is None:
            return
        self.published.append(
            self.step_acc.stats(
                StatsScope.STEP,
                self._ts(sample),
                self.boot,
                self.cycle_index,
                step_index=self.step_index,
                step_id=self.step.id,
                step_type=self.step.type,
                end_reason=reason,
            )
        )
        self.end_reason = reason
        self.step_acc = None

    def _close_cycle(self, sample: Sample | None, reason: str) -> None:
        if self.cycle_acc is None:
            return
        self.published.append(
            self.cycle_acc.stats(
                StatsScope.CYCLE, self._ts(sample), self.boot, self.cycle_index, end_reason=reason
            )
        )
        self.cycle_acc = None

    def _close(self, sample: Sample | None, reason: str) -> None:
        self._close_step(sample, reason)
        self._close_cycle(sample, reason)
        self.end_reason = reason
        self.step = None
        self.stack = []
        self._set(None)

    def _end_step(self, sample: Sample, reason: str, goto: str) -> None:
        self._close_step(sample, reason)
        if goto == Goto.ABORT.value:
            self._close(sample, f"aborted by the protocol: {reason}")
            self.run_state = CyclerRunState.ABORTED
            return
        if goto == Goto.END.value:
            self._close(sample, f"ended by the protocol: {reason}")
            self.run_state = CyclerRunState.FINISHED
            return
        frame = self.stack[-1]
        if goto != Goto.NEXT.value:
            frame.index = next(i for i, s in enumerate(frame.steps) if s.id == goto) - 1
        self._advance(sample)

    def _start_cycle(self, sample: Sample) -> None:
        self.cycle_index += 1
        self.cycle_acc = Accumulator(start_ms=sample.ts_ms)

    def _advance(self, sample: Sample) -> None:
        """Move to the next leaf step after the present position, entering and leaving loops."""
        self.stack[-1].index += 1
        while True:
            frame = self.stack[-1]
            if frame.index < len(frame.steps):
                step = frame.steps[frame.index]
                if isinstance(step, Loop):
                    if step.cycle:
                        self._start_cycle(sample)
                    self.stack.append(_Frame(step.steps, 0, step, step.count - 1))
                    continue
                self._enter(step, sample)
                return
            loop = frame.loop
            if loop is None:
                self._close(sample, "protocol complete")
                self.run_state = CyclerRunState.FINISHED
                return
            if loop.cycle:
                self._close_cycle(sample, "cycle complete")
            if frame.passes_left > 0:
                frame.passes_left -= 1
                frame.index = 0
                if loop.cycle:
                    self._start_cycle(sample)
                continue
            self.stack.pop()
            self.stack[-1].index += 1

    def _enter(self, step: Leaf, sample: Sample) -> None:
        self.step = step
        self.step_time = 0.0
        self.step_acc = Accumulator(start_ms=sample.ts_ms)
        self._pulse_on = None
        if isinstance(step, Pulses):
            self._pulse_phase(step)
        else:
            self._set(self._setpoint_for(step))
