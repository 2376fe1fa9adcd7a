"""The running step as people read it: its line of the protocol's text form, and which of its end
conditions comes first and roughly when.

The station reports the step by its position (``step_index``, 1-based over the protocol's steps in
document order, loops unrolled once: the cycler's ``flat_indices``); :func:`leaves` gives the same
numbering. The estimate extrapolates the latest trend of what a condition watches: a time is exact,
a capacity or energy grows with the measured current or power, a voltage, current, power or
temperature follows its least-squares slope over the step's latest samples (the first sample of a
step, which still carries the jump into it, left out). It is a forecast, not a promise: it says
"no estimate" while a value does not move towards its end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from labdcs.contract.models import CyclerChannelState
from labdcs.protocols import EndCondition, Leaf, Loop, Protocol, Pulses, Quantity, walk
from labdcs.protocols.model import Direction
from labdcs.protocols.text_writer import format_condition, format_step

#: Samples of a step the trends are fitted over (the newest; at 1 s per sample, half a minute).
_WINDOW = 30


def leaves(protocol: Protocol) -> list[Leaf]:
    """The protocol's steps in the order the station numbers them (``step_index`` 1 is ``[0]``)."""
    return [step for _, step, _ in walk(protocol.steps) if not isinstance(step, Loop)]


def step_text(protocol: Protocol, step_index: int) -> str | None:
    """The step's line of the text form, or None when the index is not a step of the protocol."""
    steps = leaves(protocol)
    if not 1 <= step_index <= len(steps):
        return None
    return format_step(steps[step_index - 1])


@dataclass
class EndEstimate:
    """The end condition expected first, as written in the protocol, and the seconds until it."""

    condition: str
    eta_s: float | None


@dataclass
class StepTrend:
    """What one channel's current step has done so far; reset when the step changes."""

    key: tuple[str | None, int, int] | None = None
    ah_at_start: float = 0.0
    wh_at_start: float = 0.0
    last: CyclerChannelState | None = None
    samples: deque[tuple[float, dict[Quantity, float]]] = field(default_factory=lambda: deque(maxlen=_WINDOW))

    def update(self, state: CyclerChannelState) -> None:
        key = (state.experiment, state.step_index, state.cycle_index)
        ah = state.charge_capacity + state.discharge_capacity
        wh = state.charge_energy + state.discharge_energy
        changed = key != self.key
        if changed:
            # Seen from the step's start, or joined in its middle: what the step has passed so far
            # from the present current and power (exact for constant-current and -power steps).
            self.ah_at_start = ah - abs(state.current or 0.0) * state.step_time / 3600
            self.wh_at_start = wh - abs(state.power or 0.0) * state.step_time / 3600
            self.samples.clear()
        seen_start = changed and self.key is not None
        self.key, self.last = key, state
        if seen_start:
            return  # the first sample of a step still carries the jump into it (IR drop): no trend
        values = {
            quantity: value
            for quantity, value in (
                (Quantity.VOLTAGE, state.voltage),
                (Quantity.CURRENT, _abs(state.current)),
                (Quantity.POWER, _abs(state.power)),
                (Quantity.TEMPERATURE, state.temperature),
            )
            if value is not None
        }
        if self.samples and state.step_time <= self.samples[-1][0]:
            return
        self.samples.append((state.step_time, values))

    def slope(self, quantity: Quantity) -> float | None:
        """Least-squares change per second over the step's latest samples (noise averages out)."""
        points = [(t, v[quantity]) for t, v in self.samples if quantity in v]
        if len(points) < 2:
            return None
        mean_t = sum(t for t, _ in points) / len(points)
        mean_v = sum(v for _, v in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        if spread <= 0:
            return None
        return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread

    def nearest_end(self, step: Leaf, capacity_ah: float | None) -> EndEstimate | None:
        """The condition of ``step`` expected to end it first (None: the step has none)."""
        state = self.last
        if state is None:
            return None
        direction: Direction | None = getattr(step, "direction", None)
        found: list[EndEstimate] = []
        for condition in step.until:
            eta = self._eta(condition, state, capacity_ah)
            found.append(EndEstimate(format_condition(condition, direction), eta))
        if isinstance(step, Pulses):
            total = step.count * (step.on_s + step.off_s)
            found.append(EndEstimate(f"{step.count} pulses", max(0.0, total - state.step_time)))
        if not found:
            return None
        timed = [e for e in found if e.eta_s is not None]
        return min(timed, key=lambda e: e.eta_s or 0.0) if timed else found[0]

    def _eta(
        self, condition: EndCondition, state: CyclerChannelState, capacity_ah: float | None
    ) -> float | None:
        target = condition.value
        if condition.unit == "C":
            if capacity_ah is None:
                return None
            target *= capacity_ah
        quantity = condition.quantity
        if quantity is Quantity.TIME:
            return max(0.0, target - state.step_time)
        if quantity in (Quantity.CAPACITY, Quantity.ENERGY):
            if quantity is Quantity.CAPACITY:
                done = state.charge_capacity + state.discharge_capacity - self.ah_at_start
                rate = abs(state.current or 0.0) / 3600
            else:
                done = state.charge_energy + state.discharge_energy - self.wh_at_start
                rate = abs(state.power or 0.0) / 3600
            if done >= target:
                return 0.0
            return (target - done) / rate if rate > 0 else None
        now = {
            Quantity.VOLTAGE: state.voltage,
            Quantity.CURRENT: _abs(state.current),
            Quantity.POWER: _abs(state.power),
            Quantity.TEMPERATURE: state.temperature,
        }.get(quantity)
        slope = self.slope(quantity)
        if now is None:
            return None
        rising = condition.op == ">="
        if (now >= target) if rising else (now <= target):
            return 0.0
        if slope is None or slope == 0 or (slope > 0) != rising:
            return None
        return (target - now) / slope


def _abs(value: float | None) -> float | None:
    return None if value is None else abs(value)
