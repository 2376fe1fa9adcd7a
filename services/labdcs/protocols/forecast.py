"""The estimate an operator sees before starting a protocol: its duration, samples and data volume,
with loops unrolled (a rough forecast: each charge or discharge passes the nominal capacity)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from labdcs.protocols.model import (
    CcCv,
    ConstantCurrent,
    ConstantPower,
    ConstantVoltage,
    EndCondition,
    Leaf,
    Loop,
    Protocol,
    Pulses,
    Quantity,
    Step,
)

#: Bytes one published cycler state takes on the wire (a typical encoded CyclerChannelState).
STATE_BYTES = 520


class Estimate(BaseModel):
    """A rough forecast: each charge or discharge is assumed to pass the nominal capacity."""

    duration_s: float
    samples: int
    bytes: int
    steps_run: int = Field(description="Leaf steps executed, loops unrolled")
    cycles: int


def _time_limit(conditions: list[EndCondition]) -> float | None:
    times = [c.value for c in conditions if c.quantity is Quantity.TIME and c.op == ">=" and c.value > 0]
    return min(times) if times else None


def _leaf_seconds(step: Leaf, capacity: float | None) -> float:
    limit = _time_limit(step.until)
    window = next((c.value for c in step.until if c.quantity is Quantity.CAPACITY), capacity)
    guess: float | None = None
    if isinstance(step, Pulses):
        guess = step.count * (step.on_s + step.off_s)
    elif isinstance(step, ConstantCurrent | CcCv):
        amps = step.current.amps(capacity)
        if amps and window:
            guess = window / amps * 3600.0
            if isinstance(step, CcCv):
                guess += 1800.0  # the CV tail, typically 20-40 min to C/20
    elif isinstance(step, ConstantPower) and window:
        guess = window * 3.7 / step.power_w * 3600.0
    elif isinstance(step, ConstantVoltage):
        guess = 3600.0
    if guess is None:
        guess = limit if limit is not None else 3600.0
    return min(guess, limit) if limit is not None else guess


def estimate(
    protocol: Protocol, capacity: float | None = None, bytes_per_sample: int = STATE_BYTES
) -> Estimate:
    """Duration, samples and bytes of the whole protocol (loops unrolled, record period per step)."""
    capacity = protocol.parameters.capacity_ah or capacity
    totals = {"seconds": 0.0, "samples": 0.0, "steps": 0, "cycles": 0}

    def run(steps: list[Step], times: int) -> None:
        for step in steps:
            if isinstance(step, Loop):
                if step.cycle:
                    totals["cycles"] += times * step.count
                run(step.steps, times * step.count)
                continue
            seconds = _leaf_seconds(step, capacity)
            period = step.record_period_s or protocol.record.period_s
            totals["seconds"] += times * seconds
            totals["samples"] += times * (seconds / period + 1)
            totals["steps"] += times

    run(protocol.steps, 1)
    samples = math.ceil(totals["samples"])
    return Estimate(
        duration_s=totals["seconds"],
        samples=samples,
        bytes=samples * bytes_per_sample,
        steps_run=int(totals["steps"]),
        cycles=int(totals["cycles"]),
    )
