"""The test-protocol model: what a battery station runs, as data (YAML/JSON on disk).

A protocol is a list of steps. Each step drives the cell one way (rest, constant current, constant
voltage, CC-CV, constant power, pulses) and ends on one or more conditions, each saying what comes
next (the next step, a jump to a step of the same sequence, the end of the protocol, or an abort).
Loops repeat a sequence; a loop with ``cycle: true`` marks cycle boundaries (each pass is a cycle).

Units are SI with the unit named in the field (``_a``, ``_v``, ``_s``); currents may be given as a
C-rate (unit ``C``), resolved with the protocol's (or the cell's) nominal capacity. Sign convention
as in the Battery Data Format: current is positive while charging, negative while discharging; a
step's ``direction`` says which way it drives, so setpoints are always given as magnitudes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Step ids become parts of messages and goto targets: short, no spaces.
STEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Direction(StrEnum):
    CHARGE = "charge"
    DISCHARGE = "discharge"

    @property
    def sign(self) -> float:
        return 1.0 if self is Direction.CHARGE else -1.0


class Quantity(StrEnum):
    """What an end condition watches. Current, capacity, energy and power are magnitudes in the step."""

    TIME = "time"
    VOLTAGE = "voltage"
    CURRENT = "current"
    CAPACITY = "capacity"
    ENERGY = "energy"
    POWER = "power"
    TEMPERATURE = "temperature"


#: The unit each quantity is written in; current also accepts ``C`` (a C-rate).
UNITS: dict[Quantity, tuple[str, ...]] = {
    Quantity.TIME: ("s",),
    Quantity.VOLTAGE: ("V",),
    Quantity.CURRENT: ("A", "C"),
    Quantity.CAPACITY: ("Ah",),
    Quantity.ENERGY: ("Wh",),
    Quantity.POWER: ("W",),
    Quantity.TEMPERATURE: ("degC",),
}


class Goto(StrEnum):
    NEXT = "next"
    END = "end"
    ABORT = "abort"


class EndCondition(_Strict):
    """``quantity op value``; when true the step ends and ``goto`` says what runs next.

    ``goto`` is ``next``, ``end`` (finish the protocol), ``abort`` (stop it as failed) or the id of
    a step in the same sequence (same loop body or top level).
    """

    quantity: Quantity
    op: Literal[">=", "<="]
    value: Finite
    unit: str = Field(description="s, V, A or C, Ah, Wh, W, degC: see UNITS")
    goto: str = Goto.NEXT.value

    def describe(self) -> str:
        return f"{self.quantity.value} {self.op} {self.value:g} {self.unit}"


class Current(_Strict):
    """A current magnitude in A, or a C-rate (``unit: C``) resolved with the nominal capacity."""

    value: Positive
    unit: Literal["A", "C"] = "A"

    def amps(self, capacity_ah: float | None) -> float | None:
        """The magnitude in A; None for a C-rate without a capacity."""
        if self.unit == "A":
            return self.value
        return None if capacity_ah is None else self.value * capacity_ah


class _StepBase(_Strict):
    id: StepId | None = Field(default=None, description="Name used in messages and as a goto target")
    until: list[EndCondition] = Field(default_factory=list)
    record_period_s: Positive | None = Field(default=None, description="Overrides the protocol's period")


class Rest(_StepBase):
    """Output off (open circuit): the voltage relaxes."""

    type: Literal["rest"] = "rest"


class ConstantCurrent(_StepBase):
    """Charge or discharge at a constant current. The station clamps at the step's voltage end value."""

    type: Literal["cc"] = "cc"
    direction: Direction
    current: Current


class ConstantVoltage(_StepBase):
    """Hold the voltage; the current (either sign) is whatever the cell takes, up to ``current_limit``."""

    type: Literal["cv"] = "cv"
    voltage_v: Positive
    current_limit: Current | None = Field(default=None, description="Default: the safety limits")


class CcCv(_StepBase):
    """Constant current until ``voltage_v``, then hold it; usually ends on current (e.g. C/20)."""

    type: Literal["cccv"] = "cccv"
    direction: Direction
    current: Current
    voltage_v: Positive


class ConstantPower(_StepBase):
    """Charge or discharge at a constant power."""

    type: Literal["cp"] = "cp"
    direction: Direction
    power_w: Positive


class Pulses(_StepBase):
    """``count`` current pulses of ``on_s`` followed by ``off_s`` at rest (e.g. for DC resistance)."""

    type: Literal["pulse"] = "pulse"
    direction: Direction
    current: Current
    on_s: Positive
    off_s: Positive
    count: int = Field(ge=1, le=100_000)


class Loop(_Strict):
    """Repeat ``steps`` ``count`` times; with ``cycle`` each pass is one cycle (cycle index +1)."""

    type: Literal["loop"] = "loop"
    id: StepId | None = None
    count: int = Field(ge=1, le=1_000_000)
    cycle: bool = True
    steps: list[Step] = Field(min_length=1)


Leaf = Rest | ConstantCurrent | ConstantVoltage | CcCv | ConstantPower | Pulses
Step = Annotated[Leaf | Loop, Field(discriminator="type")]
Loop.model_rebuild()


class Parameters(_Strict):
    capacity_ah: Positive | None = Field(
        default=None, description="Nominal capacity for C-rates; default: the cell's"
    )


class SafetyLimits(_Strict):
    """Checked by the station every sample, independently of the steps: leaving them aborts the run."""

    v_min: Finite | None = Field(default=None, description="V")
    v_max: Finite | None = Field(default=None, description="V")
    i_min: Finite | None = Field(default=None, description="A, most negative (largest discharge) current")
    i_max: Finite | None = Field(default=None, description="A, largest charge current")
    t_max_c: Finite | None = Field(default=None, description="degC")
    capacity_max_ah: Positive | None = Field(
        default=None, description="Ah passed in one step: stops a charge that never ends"
    )


class Record(_Strict):
    """When a sample is published: every ``period_s``, and sooner on a change of V or I."""

    period_s: Positive = 1.0
    delta_v: Positive | None = Field(default=None, description="V; publish when V moved this much")
    delta_i: Positive | None = Field(default=None, description="A; publish when I moved this much")


class Protocol(_Strict):
    """A complete, versioned test protocol."""

    name: str = Field(min_length=1, max_length=100)
    version: int = Field(default=1, ge=1)
    description: str = ""
    parameters: Parameters = Field(default_factory=Parameters)
    safety: SafetyLimits = Field(default_factory=SafetyLimits)
    record: Record = Field(default_factory=Record)
    steps: list[Step] = Field(min_length=1)

    def to_document(self) -> dict[str, Any]:
        """Plain data for YAML/JSON; unset optional fields are left out."""
        return self.model_dump(mode="json", exclude_none=True)
