"""Bidirectional supply in the style of an EA PSB 9000 (source and sink in one unit), over SCPI.

It regulates a voltage setpoint within a source (charge) and a sink (discharge) current and power
limit, which is exactly what a cycler step needs (:class:`~labdcs.drivers.base.SourceSetpoint`).
Commands (EA's SCPI dialect): ``VOLT``, ``CURR`` (source), ``SINK:CURR``, ``POW``, ``SINK:POW``,
``OUTP``, ``MEAS:ARR?`` (voltage, current, power in one answer; current negative while sinking),
``STAT:OPER:COND?`` (regulation mode bits: 1 CV, 2 CC, 4 CP, 8 output), ``SYST:NOM:...?`` (ratings),
``SYST:LOCK ON`` (remote). The cell temperature comes from the auxiliary input, ``MEAS:TEMP?``
(``temperature: false`` in the driver settings when the unit has none).

One line per sample: ``MEAS:ARR?;:MEAS:TEMP?;:STAT:OPER:COND?`` answered as one line, so a sample
costs one round trip. Settings go out as one message, limits that shrink first, then the voltage,
then the limits that grow, and are confirmed through ``SYST:ERR?``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pymeasure.instruments import Instrument, SCPIMixin

from labdcs.drivers.base import (
    BidirectionalSourceDriver,
    InstrumentError,
    RegulationMode,
    SourceRatings,
    SourceReading,
    SourceSetpoint,
)
from labdcs.drivers.scpi import LoopbackAdapter, ScpiDriver, as_float

MODE_BITS = ((1, RegulationMode.CV), (2, RegulationMode.CC), (4, RegulationMode.CP))
OUTPUT_BIT = 8
_UNIT = re.compile(r"\s*[A-Za-z]+\s*$")


class Psb(SCPIMixin, Instrument):  # type: ignore[misc]
    """The instrument as PyMeasure sees it: only ask/write are used."""


def parse_array(reply: str) -> tuple[float, float, float]:
    """``"4.1000 V, -1.0000 A, -4.1000 W"`` -> (4.1, -1.0, -4.1); units are optional."""
    parts = [part.strip() for part in reply.split(",")]
    if len(parts) != 3:
        raise ValueError(f"MEAS:ARR? answer {reply!r} does not have 3 values")
    voltage, current, power = (as_float(_UNIT.sub("", part), "MEAS:ARR? value") for part in parts)
    return voltage, current, power


def _mode(bits: int) -> RegulationMode:
    if not bits & OUTPUT_BIT:
        return RegulationMode.OFF
    return next((mode for bit, mode in MODE_BITS if bits & bit), RegulationMode.CV)


class PsbDriver(ScpiDriver, BidirectionalSourceDriver):
    """One channel (1). ``handler``: talk to an in-process simulated instrument instead of VISA."""

    name = "psb"
    CHANNELS = range(1, 2)

    def __init__(
        self,
        resource: str,
        visa_library: str = "@py",
        timeout_s: float = 2.0,
        *,
        temperature: bool = True,
        handler: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(resource, visa_library, timeout_s)
        self.temperature = temperature
        self._handler = handler
        self._last: SourceSetpoint | None = None

    def _open_adapter(self) -> Any:
        if self._handler is not None:
            return LoopbackAdapter(self._handler)
        return super()._open_adapter()

    def _create_instrument(self, adapter: Any) -> Any:
        return Psb(adapter, self.label)

    def _on_open(self, instrument: Any) -> None:
        instrument.write("*CLS;:SYST:LOCK ON")
        self._last = None

    def ratings(self, channel: int) -> SourceRatings:
        self._check_channel(channel, self.CHANNELS)

        def ask(instrument: Any) -> SourceRatings:
            volts = as_float(instrument.ask("SYST:NOM:VOLT?"), "nominal voltage")
            amps = as_float(instrument.ask("SYST:NOM:CURR?"), "nominal current")
            watts = as_float(instrument.ask("SYST:NOM:POW?"), "nominal power")
            return SourceRatings(
                max_voltage=volts, max_charge_current=amps, max_discharge_current=amps, max_power=watts
            )

        return self._io("reading the ratings", ask)

    def program(self, channel: int, setpoint: SourceSetpoint) -> None:
        self._check_channel(channel, self.CHANNELS)
        old = self._last
        limits = [
            ("CURR", setpoint.charge_current, None if old is None else old.charge_current),
            ("SINK:CURR", setpoint.discharge_current, None if old is None else old.discharge_current),
        ]
        if setpoint.charge_power is not None:
            limits.append(("POW", setpoint.charge_power, None if old is None else old.charge_power))
        if setpoint.discharge_power is not None:
            limits.append(
                ("SINK:POW", setpoint.discharge_power, None if old is None else old.discharge_power)
            )
        shrinking = [
            f"{header} {value:.5f}" for header, value, before in limits if before is None or value <= before
        ]
        growing = [
            f"{header} {value:.5f}"
            for header, value, before in limits
            if before is not None and value > before
        ]
        message = ";:".join([*shrinking, f"VOLT {setpoint.voltage:.5f}", *growing])
        self._set(f"programming {setpoint}", lambda instrument: instrument.write(message))
        self._last = setpoint

    def set_output(self, channel: int, on: bool) -> None:
        self._check_channel(channel, self.CHANNELS)
        self._set(
            f"switching the output {'on' if on else 'off'}",
            lambda i: i.write(f"OUTP {'ON' if on else 'OFF'}"),
        )

    def read(self, channel: int) -> SourceReading:
        self._check_channel(channel, self.CHANNELS)
        query = "MEAS:ARR?;:MEAS:TEMP?;:STAT:OPER:COND?" if self.temperature else "MEAS:ARR?;:STAT:OPER:COND?"

        def sample(instrument: Any) -> SourceReading:
            parts = str(instrument.ask(query)).strip().split(";")
            if len(parts) != (3 if self.temperature else 2):
                raise ValueError(f"answer {';'.join(parts)!r} does not fit the query {query!r}")
            voltage, current, power = parse_array(parts[0])
            temperature = as_float(parts[1], "temperature") if self.temperature else None
            bits = int(as_float(parts[-1], "operation condition"))
            return SourceReading(
                voltage=voltage,
                current=current,
                power=power,
                output_on=bool(bits & OUTPUT_BIT),
                mode=_mode(bits),
                temperature=temperature,
            )

        return self._io("measuring", sample)


def check_reading(reading: SourceReading, label: str) -> SourceReading:
    """Refuse a reading no working instrument produces (NaN, SCPI overflow)."""
    for name in ("voltage", "current", "power"):
        value = getattr(reading, name)
        if value != value or abs(value) > 1e6:
            raise InstrumentError(f"{label}: implausible {name} reading {value!r}")
    return reading
