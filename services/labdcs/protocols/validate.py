"""Validation that stops a bad protocol before it reaches hardware.

The checks run in layers, and every message names the step (``step 2.3 'chg' (cc)``: the third
step of the second top-level entry, its id and its type):

1. **schema**: the document parses (:func:`labdcs.protocols.loading.load`), ids are unique, goto
   targets exist in the same sequence, each end condition uses its quantity's unit;
2. **semantics**: every step can end (a CC step cannot end only on current, a CV step only on
   voltage, a rest only on current, a CP step only on power), and a condition can be reached in the
   step's direction (a charge does not end on ``voltage <= x``);
3. **binding**: C-rates need a capacity (the protocol's, else the cell's);
4. **envelope**: every voltage, current and temperature the protocol asks for lies inside
   cell limits ∩ station limits ∩ the protocol's safety limits;
5. **estimate**: the duration and the data volume, so an operator sees what they start
   (:mod:`labdcs.protocols.forecast`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from labdcs.protocols.forecast import Estimate, estimate
from labdcs.protocols.model import (
    UNITS,
    CcCv,
    ConstantCurrent,
    ConstantPower,
    ConstantVoltage,
    Current,
    Direction,
    Goto,
    Leaf,
    Loop,
    Protocol,
    Pulses,
    Quantity,
    Rest,
    Step,
)


class Envelope(BaseModel):
    """Operating limits of a cell or a station; None means "no limit from this side"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v_min: float | None = Field(default=None, description="V")
    v_max: float | None = Field(default=None, description="V")
    i_min: float | None = Field(default=None, description="A; most negative (discharge) current, e.g. -5")
    i_max: float | None = Field(default=None, description="A; largest charge current")
    t_max_c: float | None = Field(default=None, description="degC")
    p_max: float | None = Field(default=None, description="W; largest power either way")


def step_name(path: str, step: Step) -> str:
    """How messages name a step: ``step 2.3 'chg' (cc)``."""
    label = f" '{step.id}'" if step.id else ""
    return f"step {path}{label} ({step.type})"


def walk(steps: list[Step], prefix: str = "") -> Iterator[tuple[str, Step, list[Step]]]:
    """Every step with its path (``1``, ``2.3``) and the sequence it belongs to, depth first."""
    for index, step in enumerate(steps, start=1):
        path = f"{prefix}{index}"
        yield path, step, steps
        if isinstance(step, Loop):
            yield from walk(step.steps, f"{path}.")


# --- the report -----------------------------------------------------------------------------------


class Problem(BaseModel):
    severity: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Report(BaseModel):
    problems: list[Problem] = Field(default_factory=list)
    limits: Envelope = Field(description="cell ∩ station ∩ protocol safety: what the run is held to")
    estimate: Estimate | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Bound:
    """One side of the envelope with who set it, for messages."""

    value: float | None = None
    sources: list[str] = field(default_factory=list)


def _tightest(candidates: list[tuple[str, float | None]], lowest: bool) -> _Bound:
    bound = _Bound()
    for source, value in candidates:
        if value is None:
            continue
        bound.sources.append(f"{source} {value:g}")
        if bound.value is None or (value < bound.value if lowest else value > bound.value):
            bound.value = value
    return bound


class _Checker:
    def __init__(
        self, protocol: Protocol, cell: Envelope | None, station: Envelope | None, capacity: float | None
    ):
        self.protocol = protocol
        self.capacity = protocol.parameters.capacity_ah or capacity
        self.problems: list[Problem] = []
        safety = protocol.safety
        sides: list[tuple[str, Envelope]] = []
        if cell is not None:
            sides.append(("cell", cell))
        if station is not None:
            sides.append(("station", station))
        protocol_side = Envelope(
            v_min=safety.v_min,
            v_max=safety.v_max,
            i_min=safety.i_min,
            i_max=safety.i_max,
            t_max_c=safety.t_max_c,
        )
        sides.append(("protocol", protocol_side))
        self.bounds = {
            "v_min": _tightest([(n, e.v_min) for n, e in sides], lowest=False),
            "v_max": _tightest([(n, e.v_max) for n, e in sides], lowest=True),
            "i_min": _tightest([(n, e.i_min) for n, e in sides], lowest=False),
            "i_max": _tightest([(n, e.i_max) for n, e in sides], lowest=True),
            "t_max_c": _tightest([(n, e.t_max_c) for n, e in sides], lowest=True),
            "p_max": _tightest([(n, e.p_max) for n, e in sides], lowest=True),
        }
        self.limits = Envelope(**{name: bound.value for name, bound in self.bounds.items()})

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem(severity="error", where=where, message=message))

    def warning(self, where: str, message: str) -> None:
        self.problems.append(Problem(severity="warning", where=where, message=message))

    def _limit_text(self, name: str) -> str:
        return ", ".join(self.bounds[name].sources)

    # --- layers ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.check_limits()
        self.check_structure()
        for path, step, _ in walk(self.protocol.steps):
            if isinstance(step, Loop):
                continue
            where = step_name(path, step)
            self.check_conditions(where, step)
            self.check_can_end(where, step)
            self.check_binding(where, step)
            self.check_envelope(where, step)

    def check_limits(self) -> None:
        if self.limits.v_min is None or self.limits.v_max is None:
            self.error(
                "protocol",
                "no voltage limits: give the cell's limits or the protocol's safety v_min and v_max",
            )
        if self.limits.i_min is None or self.limits.i_max is None:
            self.error(
                "protocol",
                "no current limits: give the cell's limits or the protocol's safety i_min and i_max",
            )
        for low, high in (("v_min", "v_max"), ("i_min", "i_max")):
            a, b = getattr(self.limits, low), getattr(self.limits, high)
            if a is not None and b is not None and a >= b:
                self.error(
                    "protocol",
                    f"the limits leave nothing: {low} {a:g} ({self._limit_text(low)}) is not below "
                    f"{high} {b:g} ({self._limit_text(high)})",
                )
        safety = self.protocol.safety
        for name, value in (("v_max", safety.v_max), ("i_max", safety.i_max), ("t_max_c", safety.t_max_c)):
            effective = getattr(self.limits, name)
            if value is not None and effective is not None and value > effective:
                self.warning(
                    "protocol",
                    f"safety {name} {value:g} is looser than {self._limit_text(name)}: {effective:g} applies",
                )
        for name, value in (("v_min", safety.v_min), ("i_min", safety.i_min)):
            effective = getattr(self.limits, name)
            if value is not None and effective is not None and value < effective:
                self.warning(
                    "protocol",
                    f"safety {name} {value:g} is looser than {self._limit_text(name)}: {effective:g} applies",
                )

    def check_structure(self) -> None:
        seen: dict[str, str] = {}
        for path, step, sequence in walk(self.protocol.steps):
            where = step_name(path, step)
            if step.id is not None:
                if step.id in seen:
                    self.error(where, f"id '{step.id}' is already used by step {seen[step.id]}")
                seen[step.id] = path
            if isinstance(step, Loop):
                continue
            siblings = {s.id for s in sequence if s.id is not None}
            for condition in step.until:
                target = condition.goto
                if target in (Goto.NEXT.value, Goto.END.value, Goto.ABORT.value):
                    continue
                if target not in siblings:
                    where_known = ", ".join(sorted(siblings)) or "none has an id"
                    self.error(
                        where,
                        f"'{condition.describe()}' jumps to '{target}', which is not a step of the same "
                        f"sequence (there: {where_known}); use next, end, abort or a sibling's id",
                    )

    def check_conditions(self, where: str, step: Leaf) -> None:
        for condition in step.until:
            allowed = UNITS[condition.quantity]
            if condition.unit not in allowed:
                self.error(
                    where,
                    f"'{condition.describe()}': a {condition.quantity.value} is given in "
                    + " or ".join(allowed),
                )
            magnitude = condition.quantity not in (Quantity.VOLTAGE, Quantity.TEMPERATURE)
            if (
                magnitude
                and condition.value <= 0
                and not (condition.quantity is Quantity.CURRENT and condition.op == "<=")
            ):
                self.error(
                    where,
                    f"'{condition.describe()}': {condition.quantity.value} is counted from 0 in the step; "
                    "give a positive value",
                )
            if condition.quantity is Quantity.CURRENT and condition.value < 0:
                self.error(
                    where,
                    f"'{condition.describe()}': current conditions compare the magnitude; "
                    "give it without a sign",
                )
            direction = getattr(step, "direction", None)
            if condition.quantity is Quantity.VOLTAGE and isinstance(
                step, ConstantCurrent | CcCv | ConstantPower | Pulses
            ):
                expected = ">=" if direction is Direction.CHARGE else "<="
                if condition.op != expected:
                    verb = "raises" if direction is Direction.CHARGE else "lowers"
                    way = direction.value if direction else ""
                    self.error(
                        where,
                        f"'{condition.describe()}' cannot end a {way} step: a {way} {verb} the voltage "
                        f"(use {expected})",
                    )

    def check_can_end(self, where: str, step: Leaf) -> None:
        quantities = {c.quantity for c in step.until}
        if isinstance(step, Pulses):
            return  # ends after its pulses
        if not quantities:
            self.error(where, "the step has no end condition, so it would never end")
            return
        only = next(iter(quantities)) if len(quantities) == 1 else None
        rules = {
            ConstantCurrent: (
                Quantity.CURRENT,
                "a constant-current step cannot end on current alone (the current does not change)",
            ),
            ConstantVoltage: (
                Quantity.VOLTAGE,
                "a constant-voltage step cannot end on voltage alone (the voltage does not change)",
            ),
            CcCv: (
                Quantity.VOLTAGE,
                "a CC-CV step cannot end on voltage alone (the voltage is reached, then held)",
            ),
            Rest: (Quantity.CURRENT, "a rest cannot end on current alone (no current flows)"),
            ConstantPower: (
                Quantity.POWER,
                "a constant-power step cannot end on power alone (the power does not change)",
            ),
        }
        quantity, message = rules[type(step)]
        if only is quantity:
            self.error(where, message)
        if Quantity.TIME not in quantities:
            self.warning(
                where, "no time limit: if the cell misbehaves the step may run until a safety limit trips"
            )

    def _currents(self, step: Leaf) -> list[Current]:
        currents = [
            c for c in (getattr(step, "current", None), getattr(step, "current_limit", None)) if c is not None
        ]
        currents += [Current(value=c.value, unit="C") for c in step.until if c.unit == "C" and c.value > 0]
        return currents

    def check_binding(self, where: str, step: Leaf) -> None:
        if self.capacity is None and any(c.unit == "C" for c in self._currents(step)):
            self.error(where, "uses a C-rate but neither the protocol nor the cell gives a nominal capacity")

    def amps(self, current: Current) -> float | None:
        return current.amps(self.capacity)

    def check_envelope(self, where: str, step: Leaf) -> None:
        limits = self.limits
        direction = getattr(step, "direction", None)
        current = getattr(step, "current", None)
        if current is not None:
            amps = self.amps(current)
            if (
                amps is not None
                and direction is Direction.CHARGE
                and limits.i_max is not None
                and amps > limits.i_max
            ):
                self.error(
                    where,
                    f"charge current {amps:g} A exceeds the allowed {limits.i_max:g} A "
                    f"({self._limit_text('i_max')})",
                )
            if (
                amps is not None
                and direction is Direction.DISCHARGE
                and limits.i_min is not None
                and -amps < limits.i_min
            ):
                self.error(
                    where,
                    f"discharge current {amps:g} A exceeds the allowed {-limits.i_min:g} A "
                    f"({self._limit_text('i_min')})",
                )
        if isinstance(step, ConstantVoltage) and step.current_limit is not None:
            amps = self.amps(step.current_limit)
            largest = min(
                x
                for x in (limits.i_max, -limits.i_min if limits.i_min is not None else None, math.inf)
                if x is not None
            )
            if amps is not None and amps > largest:
                self.error(where, f"current limit {amps:g} A exceeds the allowed {largest:g} A")
        voltages: list[tuple[str, float]] = []
        if isinstance(step, ConstantVoltage | CcCv):
            voltages.append(("setpoint", step.voltage_v))
        voltages += [
            (f"end condition '{c.describe()}'", c.value) for c in step.until if c.quantity is Quantity.VOLTAGE
        ]
        for what, volts in voltages:
            if limits.v_max is not None and volts > limits.v_max:
                self.error(
                    where,
                    f"{what}: {volts:g} V is above the allowed {limits.v_max:g} V "
                    f"({self._limit_text('v_max')})",
                )
            if limits.v_min is not None and volts < limits.v_min:
                self.error(
                    where,
                    f"{what}: {volts:g} V is below the allowed {limits.v_min:g} V "
                    f"({self._limit_text('v_min')})",
                )
        for condition in step.until:
            if (
                condition.quantity is Quantity.TEMPERATURE
                and limits.t_max_c is not None
                and condition.value > limits.t_max_c
            ):
                self.error(
                    where,
                    f"end condition '{condition.describe()}' lies above the temperature limit "
                    f"{limits.t_max_c:g} degC ({self._limit_text('t_max_c')}): the run would abort first",
                )
            if condition.quantity is Quantity.CURRENT and condition.unit in ("A", "C"):
                amps = condition.value if condition.unit == "A" else (self.capacity or 0) * condition.value
                top = max(
                    (
                        x
                        for x in (limits.i_max, -limits.i_min if limits.i_min is not None else None)
                        if x is not None
                    ),
                    default=None,
                )
                if top is not None and condition.op == ">=" and amps > top:
                    self.error(
                        where,
                        f"end condition '{condition.describe()}' is beyond the current limits ({top:g} A)",
                    )
        if isinstance(step, ConstantPower) and limits.p_max is not None and step.power_w > limits.p_max:
            self.error(
                where,
                f"power {step.power_w:g} W exceeds the allowed {limits.p_max:g} W "
                f"({self._limit_text('p_max')})",
            )


def validate(
    protocol: Protocol,
    cell: Envelope | None = None,
    station: Envelope | None = None,
    capacity_ah: float | None = None,
) -> Report:
    """Every problem of ``protocol`` run on this cell and station; ``report.ok`` when it may start."""
    checker = _Checker(protocol, cell, station, capacity_ah)
    checker.run()
    report = Report(problems=checker.problems, limits=checker.limits)
    if report.ok:
        report.estimate = estimate(protocol, capacity_ah)
    return report


def _clock(seconds: float) -> str:
    """``0:02:00`` (h:mm:ss), ``2 d 03:00:00`` past a day: a 2-minute protocol is not "0.0 h"."""
    days, rest = divmod(max(0, round(seconds)), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} d {hours:02d}:{minutes:02d}:{secs:02d}" if days else f"{hours}:{minutes:02d}:{secs:02d}"


def describe(report: Report) -> str:
    """The report for a person: errors first, then warnings, then the estimate."""
    lines = [f"error: {p}" for p in report.errors] + [f"warning: {p}" for p in report.warnings]
    if report.estimate is not None:
        e = report.estimate
        lines.append(
            f"estimate: {_clock(e.duration_s)}, {e.cycles} cycles, {e.steps_run} steps, "
            f"{e.samples} samples, {e.bytes / 1e6:.1f} MB"
        )
    return "\n".join(lines)
