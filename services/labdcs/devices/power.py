"""Control logic of one power output: limits, ramps and switching.

The instrument only ever receives small setpoint steps: a voltage change walks from the present
setpoint to the target at the channel's ramp rate, one step per tick. With ``soft_switch`` (the HV
default) ``on`` starts at 0 V and ramps up, and ``off`` ramps down before opening the output, as
CAEN and iseg supplies do in hardware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labdcs.contract.models import PowerLimits, PowerStatus, Verb
from labdcs.drivers.base import Driver, OutputReading, PowerSupplyDriver

_EPSILON_V = 1e-9

#: The verbs a power channel accepts (the others in Verb are the cyclers').
POWER_VERBS = (
    Verb.SET_VOLTAGE,
    Verb.SET_CURRENT_LIMIT,
    Verb.SET_RAMP_RATE,
    Verb.ON,
    Verb.OFF,
    Verb.CLEAR_TRIP,
)


def power_driver(driver: Driver) -> PowerSupplyDriver:
    """The driver of a device with power channels (a power device's driver is a power supply's)."""
    assert isinstance(driver, PowerSupplyDriver)
    return driver


class CommandRejected(ValueError):
    """A command that must not reach the instrument; the message is the ack's reason."""


def _number(verb: str, value: float | bool | None, unit: str) -> float:
    if value is None or isinstance(value, bool):
        raise CommandRejected(f"{verb} needs a number `value` in {unit}")
    return float(value)


@dataclass
class PowerChannel:
    """Runtime state of one output; only the device service's worker thread touches it."""

    id: str
    hw: int
    limits: PowerLimits
    soft_switch: bool
    ramp_rate: float
    v_set: float = 0.0
    v_target: float = 0.0
    i_limit: float = 0.0
    output: bool = False
    switching_off: bool = False
    last_step: float = 0.0
    reading: OutputReading | None = None
    # Trips: thresholds on measured |V| and |I| (None: no trip), and the latch.
    trip_current: float | None = None
    trip_voltage: float | None = None
    trip_time_s: float = 0.0
    trip: str | None = None
    over_since: float | None = None
    #: An `off` waiting for the channels an interlock rule orders before this one (monotonic time).
    pending_off_since: float | None = None

    # --- state ------------------------------------------------------------------------------------

    @property
    def destination(self) -> float:
        """Where the programmed setpoint is heading right now."""
        if not self.output:
            return self.v_set
        return 0.0 if self.switching_off else self.v_target

    @property
    def ramping(self) -> bool:
        return (self.output and abs(self.destination - self.v_set) > _EPSILON_V) or self.switching_off

    @property
    def status(self) -> PowerStatus:
        if self.trip is not None and not self.output:
            return PowerStatus.TRIPPED
        if self.ramping:
            return PowerStatus.RAMPING
        return PowerStatus.ON if self.output else PowerStatus.OFF

    @property
    def on_its_way_off(self) -> bool:
        """Ramping down to switch off, or waiting to (interlock ordering)."""
        return self.output and (self.switching_off or self.pending_off_since is not None)

    def raises(self, verb: str, argument: float | None) -> bool:
        """The command would switch the output on or raise its voltage (what interlocks refuse).

        A new target while the output is off raises nothing: it only matters at the next `on`.
        """
        if verb == Verb.ON:
            return not self.output or self.on_its_way_off
        if verb == Verb.SET_VOLTAGE and argument is not None and self.output:
            return abs(argument) > abs(self.v_target) + _EPSILON_V
        return False

    def adopt(self, reading: OutputReading) -> None:
        """Take over whatever the instrument does now: never change an output because we (re)started."""
        self.reading = reading
        self.v_set = reading.voltage_setpoint
        self.v_target = reading.voltage_setpoint
        self.i_limit = reading.current_limit
        self.output = reading.output_on
        self.switching_off = False
        self.pending_off_since = None

    # --- commands ---------------------------------------------------------------------------------

    def validate(self, verb: str, value: float | bool | None) -> float | None:
        """Check a command against the limits; returns the numeric argument or raises CommandRejected."""
        limits = self.limits
        if verb == Verb.SET_VOLTAGE:
            volts = _number(verb, value, "V")
            if volts > limits.max_voltage:
                raise CommandRejected(f"value {volts} V is above the channel's limit {limits.max_voltage} V")
            if volts < limits.min_voltage:
                raise CommandRejected(f"value {volts} V is below the channel's limit {limits.min_voltage} V")
            return volts
        if verb == Verb.SET_CURRENT_LIMIT:
            amps = _number(verb, value, "A")
            if amps <= 0:
                raise CommandRejected(f"value {amps} A must be above 0 A")
            if amps > limits.max_current:
                raise CommandRejected(f"value {amps} A is above the channel's limit {limits.max_current} A")
            return amps
        if verb == Verb.SET_RAMP_RATE:
            rate = _number(verb, value, "V/s")
            if rate <= 0:
                raise CommandRejected(f"value {rate} V/s must be above 0 V/s")
            if rate > limits.max_ramp_rate:
                raise CommandRejected(
                    f"value {rate} V/s is above the channel's limit {limits.max_ramp_rate} V/s"
                )
            return rate
        if verb in (Verb.ON, Verb.OFF, Verb.CLEAR_TRIP):
            if value is not None:
                raise CommandRejected(f"{verb} takes no value")
            if verb == Verb.ON and self.trip is not None:
                raise CommandRejected(f"channel tripped ({self.trip}): send clear_trip first")
            return None
        accepted = ", ".join(v.value for v in POWER_VERBS)
        raise CommandRejected(f"unknown verb '{verb}'; this channel accepts: {accepted}")

    def apply(self, driver: PowerSupplyDriver, verb: str, argument: float | None, now: float) -> None:
        """Carry out a validated command. InstrumentError propagates (the command then failed)."""
        if verb == Verb.SET_VOLTAGE:
            assert argument is not None
            self.v_target = argument
            if not self.output and not self.soft_switch:
                driver.set_voltage(self.hw, argument)
                self.v_set = argument
            self.last_step = now
        elif verb == Verb.SET_CURRENT_LIMIT:
            assert argument is not None
            driver.set_current_limit(self.hw, argument)
            self.i_limit = argument
        elif verb == Verb.SET_RAMP_RATE:
            assert argument is not None
            self.ramp_rate = argument
        elif verb == Verb.ON:
            self.switching_off = False
            self.pending_off_since = None
            if not self.output:
                start = self._soft_start_voltage() if self.soft_switch else self.v_target
                driver.set_voltage(self.hw, start)
                self.v_set = start
                driver.set_output(self.hw, True)
                self.output = True
            self.last_step = now
        elif verb == Verb.OFF:
            self.pending_off_since = None
            if self.output and self.soft_switch and abs(self.v_set) > _EPSILON_V:
                self.switching_off = True
                self.last_step = now
            elif self.output:
                driver.set_output(self.hw, False)
                self.output = False
                self.switching_off = False
        elif verb == Verb.CLEAR_TRIP:
            driver.clear_trip(self.hw)
            self.trip = None
            self.over_since = None

    def ramp_down_and_off(self, now: float) -> None:
        """Start ramping to 0 V, then open the output (service exit, interlocks, watchdog)."""
        self.pending_off_since = None
        if self.output and not self.switching_off:
            self.switching_off = True
            self.last_step = now

    def switch_off_now(self, driver: PowerSupplyDriver) -> None:
        """Open the output at once, without a ramp (trips, interlock `off` actions)."""
        self.pending_off_since = None
        self.switching_off = False
        if self.output:
            driver.set_output(self.hw, False)
            self.output = False

    # --- trips ------------------------------------------------------------------------------------

    def excess(self, reading: OutputReading) -> str | None:
        """What in this reading is above a trip threshold, or None."""
        if self.trip_current is not None and abs(reading.current) > self.trip_current:
            return f"over-current: {abs(reading.current):.4g} A above the trip level {self.trip_current:g} A"
        if self.trip_voltage is not None and abs(reading.voltage) > self.trip_voltage:
            return f"over-voltage: {abs(reading.voltage):.4g} V above the trip level {self.trip_voltage:g} V"
        return None

    def check_trip(self, reading: OutputReading, now: float) -> str | None:
        """The reason to trip now (an excess that lasted trip_time_s, or the instrument's own trip)."""
        if self.trip is not None:
            return None
        if reading.tripped:
            return f"instrument protection tripped: {reading.tripped}"
        excess = self.excess(reading) if reading.output_on else None
        if excess is None:
            self.over_since = None
            return None
        if self.over_since is None:
            self.over_since = now
        if now - self.over_since >= self.trip_time_s:
            return excess
        return None

    def _soft_start_voltage(self) -> float:
        return min(max(0.0, self.limits.min_voltage), self.limits.max_voltage)

    # --- ramp -------------------------------------------------------------------------------------

    def step(self, driver: PowerSupplyDriver, now: float) -> bool:
        """Advance the ramp by one tick; True when the programmed state changed."""
        if not self.ramping:
            self.last_step = now
            return False
        changed = False
        destination = self.destination
        if abs(destination - self.v_set) > _EPSILON_V:
            elapsed = max(0.0, now - self.last_step)
            max_step = self.ramp_rate * elapsed
            delta = destination - self.v_set
            new = destination if abs(delta) <= max_step else self.v_set + math.copysign(max_step, delta)
            if new != self.v_set:
                driver.set_voltage(self.hw, new)
                self.v_set = new
                changed = True
        self.last_step = now
        if self.switching_off and abs(self.v_set) <= _EPSILON_V:
            driver.set_output(self.hw, False)
            self.output = False
            self.switching_off = False
            changed = True
        return changed
