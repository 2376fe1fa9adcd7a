"""The one small interface device logic uses to talk to an instrument.

Device services never see SCPI strings or CAN frames: they call these methods. A driver is
synchronous and not thread-safe; the device service owns it from a single worker thread.
Every communication problem (timeout, closed socket, bus error, garbled answer) surfaces as
:class:`InstrumentError`, so the service can mark the device faulty and reconnect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class InstrumentError(RuntimeError):
    """The instrument did not answer, answered nonsense, or reported an error."""


@dataclass(frozen=True)
class Identity:
    """Who the instrument says it is (``*IDN?`` or the CAN node's identity frame)."""

    manufacturer: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class OutputLimits:
    """What the instrument itself can do on one output: the hard ceiling for any configured limit."""

    max_voltage: float
    max_current: float
    min_voltage: float = 0.0


@dataclass(frozen=True)
class OutputReading:
    """One consistent snapshot of a power output, as read from the instrument."""

    voltage_setpoint: float
    current_limit: float
    voltage: float
    current: float
    output_on: bool
    in_compliance: bool = False
    tripped: str | None = None
    """The instrument's own protection switched the output off and latched (e.g. ``over_voltage``)."""


@dataclass(frozen=True)
class SensorReading:
    """One snapshot of a sensor channel: quantity name -> value in the quantity's unit."""

    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Quantity:
    """A measured quantity a sensor channel provides."""

    name: str
    unit: str
    description: str = ""


class Driver(ABC):
    """Common part of every driver: open, close, identify."""

    #: Driver name used in configuration files (``driver: keithley2410``).
    name: str = ""

    @abstractmethod
    def open(self) -> None:
        """Connect to the instrument (idempotent). Raises InstrumentError when it cannot."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; never raises."""

    @abstractmethod
    def identify(self) -> Identity:
        """Ask the instrument who it is."""


class PowerSupplyDriver(Driver):
    """A source with one or more outputs addressed by a 1-based hardware channel number."""

    #: The instrument latches its own protection trips and ``read`` reports them
    #: (``OutputReading.tripped``): the service then watches its live outputs at the protection pace.
    reports_trips: bool = False

    @abstractmethod
    def output_limits(self, channel: int) -> OutputLimits:
        """The instrument's own ratings for this output."""

    @abstractmethod
    def set_voltage(self, channel: int, volts: float) -> None:
        """Program the voltage setpoint (the service does the ramping, step by step)."""

    @abstractmethod
    def set_current_limit(self, channel: int, amps: float) -> None:
        """Program the current limit (compliance)."""

    @abstractmethod
    def set_output(self, channel: int, on: bool) -> None:
        """Switch the output on or off."""

    @abstractmethod
    def read(self, channel: int) -> OutputReading:
        """Read setpoints and measured values of one output."""

    def read_many(self, channels: Sequence[int]) -> dict[int, OutputReading]:
        """Several outputs in as few queries as the instrument allows (channel -> reading).

        This default reads them one by one; drivers whose instrument answers a whole snapshot in
        one message override it (a compound query: one round trip instead of one per quantity).
        """
        return {channel: self.read(channel) for channel in channels}

    def clear_trip(self, channel: int) -> None:
        """Clear the instrument's latched protection trip (see ``OutputReading.tripped``); the output
        stays off. Instruments without a latching protection have nothing to clear."""


class SensorDriver(Driver):
    """A read-only instrument with one or more sensor channels."""

    @abstractmethod
    def quantities(self, channel: int) -> list[Quantity]:
        """What the channel measures, with units (published in the device's meta)."""

    @abstractmethod
    def read(self, channel: int) -> SensorReading:
        """Read every quantity of one channel."""

    def read_many(self, channels: Sequence[int]) -> dict[int, SensorReading]:
        """Several channels in as few queries as the instrument allows (see PowerSupplyDriver)."""
        return {channel: self.read(channel) for channel in channels}


# --- bidirectional sources (battery cyclers) ------------------------------------------------------


class RegulationMode(StrEnum):
    """What a bidirectional source regulates right now."""

    OFF = "off"
    CC = "cc"
    CV = "cv"
    CP = "cp"


@dataclass(frozen=True)
class SourceRatings:
    """What a bidirectional source can do on one channel (charge = source, discharge = sink)."""

    max_voltage: float
    max_charge_current: float
    max_discharge_current: float
    max_power: float
    min_voltage: float = 0.0


@dataclass(frozen=True)
class SourceSetpoint:
    """Everything that sets a bidirectional source's operating point, programmed together.

    The source holds ``voltage`` unless that takes more than ``charge_current`` (into the cell) or
    ``discharge_current`` (out of it) or the power limits; then it regulates that limit. So a CC
    charge to 4.2 V is ``voltage=4.2, charge_current=I, discharge_current=0``, a CV hold is
    ``voltage=V`` with both currents at their limits, and the source itself never overshoots.
    """

    voltage: float
    charge_current: float
    discharge_current: float
    charge_power: float | None = None
    discharge_power: float | None = None


@dataclass(frozen=True)
class SourceReading:
    """One consistent snapshot; current and power are positive while charging the cell."""

    voltage: float
    current: float
    power: float
    output_on: bool
    mode: RegulationMode
    temperature: float | None = None


class BidirectionalSourceDriver(Driver):
    """A source that can also sink (a bidirectional supply, or a supply plus an electronic load)."""

    @abstractmethod
    def ratings(self, channel: int) -> SourceRatings:
        """The instrument's own ratings for this channel."""

    @abstractmethod
    def program(self, channel: int, setpoint: SourceSetpoint) -> None:
        """Program voltage, current and power limits (in an order that never overshoots)."""

    @abstractmethod
    def set_output(self, channel: int, on: bool) -> None:
        """Switch the output on or off."""

    @abstractmethod
    def read(self, channel: int) -> SourceReading:
        """Measure voltage, current, power, temperature and the regulation mode."""
