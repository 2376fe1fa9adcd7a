"""Keithley 2410 high-voltage SourceMeter (2400-series SCPI, ±1100 V, one output).

Built on PyMeasure's :class:`~pymeasure.instruments.keithley.Keithley2400`: its declarative
properties carry the SCPI for the output state, voltage setpoint and compliance current. Two
things differ from a 2400 and from PyMeasure's defaults:

* The 2410 sources up to ±1100 V (the 2400: ±210 V), so the voltage setpoint property is
  redeclared with that range. Above 21 V (the 1000 V source range) the instrument itself caps
  the compliance at 21 mA; up to 21 V it allows 1.05 A.
* One compound query per reading: ``:OUTP?;:SOUR:VOLT?;:SENS:CURR:PROT?`` and, while the output
  is known to be on, ``;:READ?`` in the same message (voltage, current, ..., status word): one
  round trip. If the output went off meanwhile, ``:READ?`` fails (-221, drained from the error
  queue) and the answer has three units; if it came on behind the driver's back, ``:READ?``
  follows in a second query.
* Measurements are taken with ``:READ?`` (as PyMeasure's ``measure_all``), and only while the
  output is on. PyMeasure 0.16's ``voltage``/``current`` properties send ``:MEASure:...?``,
  which on the 2400 series *switches the output on* (manual, section 17, ":MEASure?") — not
  something a slow-control poll may do to a high-voltage supply. With the output off the driver
  reports 0 V / 0 A without measuring: the output relay is open, there is nothing to measure.

Constructing PyMeasure's class sends ``:FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME,
STATUS``; the simulators understand it. ``open()`` then sends ``*CLS`` and, only if the
instrument is in current-source mode with its output off, ``:SOURCE:FUNCTION VOLT``.
"""

from __future__ import annotations

import math
from typing import Any

from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from labdcs.drivers.base import InstrumentError, OutputLimits, OutputReading, PowerSupplyDriver
from labdcs.drivers.scpi import (
    ScpiDriver,
    as_bool,
    as_float,
    as_switch,
    check_range,
    read_error_queue,
    split_compound,
)

#: Ratings of the 2410 (datasheet): ±1100 V; 1.05 A compliance on the 21 V range, 21 mA above.
MAX_VOLTAGE = 1100.0
MAX_CURRENT = 1.05
HIGH_VOLTAGE_RANGE_MAX_CURRENT = 0.021
#: Bit 3 of the 2400-series reading status word: "in real compliance".
STATUS_COMPLIANCE = 1 << 3
#: The only output.
CHANNEL = 1
#: What a 2400-series instrument answers for "no value" (e.g. the resistance at zero current).
SCPI_OVERFLOW = 9.91e37
#: Output state, voltage setpoint and compliance in one query; ``:READ?`` appended while on.
SETTINGS_QUERY = ":OUTP?;:SOUR:VOLT?;:SENS:CURR:PROT?"
#: The elements PyMeasure's Keithley2400 selects (``:FORM:ELEM``): voltage, current, resistance,
#: time, status; the indexes of those the reading needs.
READ_ELEMENTS = 5
VOLTAGE_ELEMENT, CURRENT_ELEMENT, STATUS_ELEMENT = 0, 1, 4


class Keithley2410(SCPIMixin, Instrument):  # type: ignore[misc]
    """The part of PyMeasure's 2400 model the driver uses (same SCPI), with the 2410's voltage range.

    Not PyMeasure's ``Keithley2400`` class itself: importing ``pymeasure.instruments.keithley``
    loads every Keithley driver of the package and with them pandas and pyarrow, ~100 MB in each
    HV device service for nothing it uses.
    """

    def __init__(self, adapter: Any, name: str = "Keithley 2410 SourceMeter", **kwargs: Any) -> None:
        super().__init__(adapter, name, **kwargs)
        self.write(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS")

    source_enabled = Instrument.control(
        "OUTPUT?",
        "OUTPUT %d",
        """Control whether the source is enabled (bool).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
    )
    source_mode = Instrument.control(
        ":SOURCE:FUNCTION?",
        ":SOURCE:FUNCTION %s",
        """Control the source mode (str, strictly 'current' or 'voltage').""",
        validator=strict_discrete_set,
        values={"current": "CURR", "voltage": "VOLT"},
        map_values=True,
    )
    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?",
        ":SOURCE:VOLTAGE %g",
        """Control the source voltage in volts (float, strictly from -1100 to 1100).""",
        validator=strict_range,
        values=[-MAX_VOLTAGE, MAX_VOLTAGE],
    )
    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?",
        ":SENSE:CURRENT:PROTECTION %g",
        """Control the compliance current in Amps (float, strictly from -1.05 to 1.05).""",
        validator=strict_range,
        values=[-MAX_CURRENT, MAX_CURRENT],
    )

    def measure_all(self) -> dict[str, float]:
        """One ``:READ?`` of every sense function, as PyMeasure's ``Keithley2400.measure_all``."""
        self.write(":SENSE:RESISTANCE:MODE MAN")
        self.write(":SENSE:FUNCTION:ALL")
        values = [float("nan") if v == SCPI_OVERFLOW else v for v in self.values(":READ?")]
        return dict(zip(("voltage", "current", "resistance", "time", "status"), values, strict=True))


class Keithley2410Driver(ScpiDriver, PowerSupplyDriver):
    """Keithley 2410 as a one-output high-voltage supply (channel 1), sourcing voltage."""

    name = "keithley2410"

    def __init__(self, resource: str, visa_library: str = "@py", timeout_s: float = 2.0) -> None:
        super().__init__(resource, visa_library, timeout_s)
        #: Whether the output was on at the last reading (then ``:READ?`` goes with the settings).
        self._measuring = False

    def _create_instrument(self, adapter: Any) -> Any:
        return Keithley2410(adapter, name=self.label)

    def _on_open(self, instrument: Any) -> None:
        instrument.clear()  # *CLS: stale errors must not be blamed on our next setting
        mode = instrument.source_mode
        if mode != "voltage":
            if as_bool(instrument.source_enabled, "output state"):
                raise InstrumentError(
                    f"{self.label}: the instrument sources {mode} with its output on; refusing to "
                    "switch it to voltage mode under load. Switch the output off at the front panel."
                )
            instrument.source_mode = "voltage"
        # :READ? in the compound reading measures what is enabled: voltage and current, manual ranges
        # (what PyMeasure's measure_all sends before each reading; the settings persist).
        instrument.write(":SENSE:RESISTANCE:MODE MAN")
        instrument.write(":SENSE:FUNCTION:ALL")
        self._raise_instrument_errors(instrument, "selecting voltage-source mode")

    def output_limits(self, channel: int) -> OutputLimits:
        self._check_channel(channel, range(CHANNEL, CHANNEL + 1))
        return OutputLimits(max_voltage=MAX_VOLTAGE, max_current=MAX_CURRENT, min_voltage=-MAX_VOLTAGE)

    def set_voltage(self, channel: int, volts: float) -> None:
        self._check_channel(channel, range(CHANNEL, CHANNEL + 1))
        value = check_range(volts, -MAX_VOLTAGE, MAX_VOLTAGE, "voltage", self.label)
        self._set(f"setting the voltage to {value:g} V", lambda smu: setattr(smu, "source_voltage", value))

    def set_current_limit(self, channel: int, amps: float) -> None:
        self._check_channel(channel, range(CHANNEL, CHANNEL + 1))
        value = check_range(amps, 0.0, MAX_CURRENT, "current limit", self.label)
        self._set(
            f"setting the compliance current to {value:g} A",
            lambda smu: setattr(smu, "compliance_current", value),
        )

    def set_output(self, channel: int, on: bool) -> None:
        self._check_channel(channel, range(CHANNEL, CHANNEL + 1))
        self._set(
            f"switching the output {'on' if on else 'off'}", lambda smu: setattr(smu, "source_enabled", on)
        )
        self._measuring = on

    def read(self, channel: int) -> OutputReading:
        self._check_channel(channel, range(CHANNEL, CHANNEL + 1))
        return self._io("reading the output", self._snapshot)

    def _snapshot(self, smu: Any) -> OutputReading:
        if not self.compound_reads:
            return self._snapshot_by_quantity(smu)
        measuring = self._measuring
        query = f"{SETTINGS_QUERY};:READ?" if measuring else SETTINGS_QUERY
        reply = str(smu.ask(query)).strip()
        parts = reply.split(";")
        if measuring and len(parts) == 3:
            read_error_queue(smu)  # the output went off: :READ? failed with -221, nothing else to see
        else:
            parts = split_compound(reply, 4 if measuring else 3, query)
        output_on = as_switch(parts[0], "output state")
        setpoint = as_float(parts[1], "voltage setpoint")
        limit = as_float(parts[2], "compliance current")
        self._measuring = output_on
        voltage = current = 0.0
        in_compliance = False
        if output_on:
            measured = parts[3] if len(parts) == 4 else str(smu.ask(":READ?"))
            elements = measured.strip().split(",")
            if len(elements) != READ_ELEMENTS:
                raise ValueError(f":READ? answer {measured.strip()!r} does not have {READ_ELEMENTS} elements")
            voltage = as_float(elements[VOLTAGE_ELEMENT], "measured voltage")
            current = as_float(elements[CURRENT_ELEMENT], "measured current")
            status = as_float(elements[STATUS_ELEMENT], "status word")
            if math.isnan(status):
                raise ValueError("status word missing from the reading")
            in_compliance = bool(int(status) & STATUS_COMPLIANCE)
        return OutputReading(
            voltage_setpoint=setpoint,
            current_limit=limit,
            voltage=voltage,
            current=current,
            output_on=output_on,
            in_compliance=in_compliance,
        )

    @staticmethod
    def _snapshot_by_quantity(smu: Any) -> OutputReading:
        """One query per quantity, through PyMeasure's properties (no compound messages)."""
        output_on = as_bool(smu.source_enabled, "output state")
        setpoint = as_float(smu.source_voltage, "voltage setpoint")
        limit = as_float(smu.compliance_current, "compliance current")
        voltage = current = 0.0
        in_compliance = False
        if output_on:
            reading = smu.measure_all()  # one :READ?: voltage, current, ..., status word together
            voltage = as_float(reading["voltage"], "measured voltage")
            current = as_float(reading["current"], "measured current")
            status = as_float(reading["status"], "status word")
            if math.isnan(status):
                raise ValueError("status word missing from the reading")
            in_compliance = bool(int(status) & STATUS_COMPLIANCE)
        return OutputReading(
            voltage_setpoint=setpoint,
            current_limit=limit,
            voltage=voltage,
            current=current,
            output_on=output_on,
            in_compliance=in_compliance,
        )
