"""Simulated Keithley 2410 SourceMeter (HV): a source into a resistive load, with compliance."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar

from labdcs_dummy.scpi import (
    SCPI_NAN,
    ScpiError,
    ScpiInstrument,
    expect_arguments,
    handles,
    no_query,
    on_off,
    parse_bool,
    parse_number,
    query_only,
    sci,
)


@dataclass
class _SourceMeterState:
    function: str = "VOLT"
    voltage: float = 0.0
    current: float = 0.0
    current_protection: float = 105e-6
    voltage_protection: float = 21.0
    output: bool = False
    elements: tuple[str, ...] = ("VOLT", "CURR", "RES", "TIME", "STAT")
    sense_functions: tuple[str, ...] = ("CURR",)
    concurrent: bool = True
    resistance_mode: str = "MAN"
    voltage_range: float = 21.0
    voltage_range_auto: bool = True


class Keithley2410Model(ScpiInstrument):
    """Keithley 2410 1100 V SourceMeter driving a resistive load (default 1 GΩ).

    Sources voltage (or current), limits at the compliance: when V/R exceeds it, the output
    voltage drops to I_limit·R and bit 3 of the reading status word is set. Enforces ±1100 V
    and ±1.05 A, and caps the compliance at 21 mA above 21 V (the 1000 V source range). The
    current reading carries ~1 nA of leakage noise.

    As on the real instrument, ``:READ?`` with the output off is an error (no reply), and
    ``:MEASure...?`` switches the output on before measuring.
    """

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2410,4099999,C33   Mar 31 2015 09:32:39/A02  /S/K"
    MAX_VOLTAGE = 1100.0
    MAX_CURRENT = 1.05
    LOW_RANGE_MAX_VOLTAGE = 21.0
    HIGH_RANGE_MAX_CURRENT = 0.021
    LEAKAGE_NOISE_A = 1e-9
    STATUS_COMPLIANCE = 1 << 3
    STATUS_V_MEAS = 1 << 11
    STATUS_I_MEAS = 1 << 12
    STATUS_V_SOURCE = 1 << 14
    STATUS_I_SOURCE = 1 << 15
    _ELEMENT_NAMES: ClassVar[dict[str, str]] = {
        "VOLT": "VOLT",
        "VOLTAGE": "VOLT",
        "CURR": "CURR",
        "CURRENT": "CURR",
        "RES": "RES",
        "RESISTANCE": "RES",
        "TIME": "TIME",
        "STAT": "STAT",
        "STATUS": "STAT",
    }

    def __init__(self, seed: int | None = None, load_ohm: float = 1e9) -> None:
        super().__init__(seed)
        self.state = _SourceMeterState()
        self.load_ohm = load_ohm

    def reset(self) -> None:
        self.state = _SourceMeterState()

    # physics

    def compliance_limit(self) -> float:
        """The current limit in force: programmed, but at most 21 mA above 21 V."""
        limit = abs(self.state.current_protection)
        if abs(self.state.voltage) > self.LOW_RANGE_MAX_VOLTAGE:
            limit = min(limit, self.HIGH_RANGE_MAX_CURRENT)
        return limit

    def operating_point(self) -> tuple[float, float, bool]:
        """(output voltage, current, in compliance) of the source into the load."""
        s = self.state
        if not s.output:
            return 0.0, 0.0, False
        if s.function == "CURR":
            voltage = s.current * self.load_ohm
            if abs(voltage) > abs(s.voltage_protection):
                voltage = math.copysign(abs(s.voltage_protection), s.current)
                return voltage, voltage / self.load_ohm, True
            return voltage, s.current, False
        limit = self.compliance_limit()
        current = s.voltage / self.load_ohm
        if abs(current) > limit:
            current = math.copysign(limit, s.voltage)
            return current * self.load_ohm, current, True
        return s.voltage, current, False

    def reading(self) -> str:
        voltage, current, compliance = self.operating_point()
        voltage += self.gauss(20e-6 + 10e-6 * abs(voltage))
        current += self.gauss(self.LEAKAGE_NOISE_A)
        status = self.STATUS_V_MEAS | self.STATUS_I_MEAS
        status |= self.STATUS_V_SOURCE if self.state.function == "VOLT" else self.STATUS_I_SOURCE
        if compliance:
            status |= self.STATUS_COMPLIANCE
        values = {
            "VOLT": voltage,
            "CURR": current,
            "RES": voltage / current if current else SCPI_NAN,
            "TIME": time.monotonic() - self.started,
            "STAT": float(status),
        }
        return ",".join(sci(values[name]) for name in self.state.elements)

    # SCPI

    @handles("[SOURce]:FUNCtion:[MODE]")
    def _source_function(self, args: list[str], query: bool) -> str | None:
        if query:
            return self.state.function
        expect_arguments(args, 1)
        word = args[0].upper()
        if word in ("VOLT", "VOLTAGE"):
            self.state.function = "VOLT"
        elif word in ("CURR", "CURRENT"):
            self.state.function = "CURR"
        else:
            raise ScpiError(-224, "Illegal parameter value")
        return None

    @handles("[SOURce]:VOLTage:RANGe")
    def _source_voltage_range(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage_range)
        expect_arguments(args, 1)
        self.state.voltage_range = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE)
        self.state.voltage_range_auto = False
        return None

    @handles("[SOURce]:VOLTage:RANGe:AUTO")
    def _source_voltage_range_auto(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.voltage_range_auto)
        expect_arguments(args, 1)
        self.state.voltage_range_auto = parse_bool(args[0])
        return None

    @handles("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_voltage(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage)
        expect_arguments(args, 1)
        self.state.voltage = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE, 0.0)
        return None

    @handles("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_current(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.current)
        expect_arguments(args, 1)
        self.state.current = parse_number(args[0], -self.MAX_CURRENT, self.MAX_CURRENT, 0.0)
        return None

    @handles("SENSe:CURRent:[DC]:PROTection:TRIPped")
    def _current_tripped(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return on_off(self.state.function == "VOLT" and self.operating_point()[2])

    @handles("SENSe:CURRent:[DC]:PROTection:[LEVel]")
    def _current_protection(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.current_protection)
        expect_arguments(args, 1)
        self.state.current_protection = parse_number(args[0], -self.MAX_CURRENT, self.MAX_CURRENT, 105e-6)
        return None

    @handles("SENSe:VOLTage:[DC]:PROTection:[LEVel]")
    def _voltage_protection(self, args: list[str], query: bool) -> str | None:
        if query:
            return sci(self.state.voltage_protection)
        expect_arguments(args, 1)
        self.state.voltage_protection = parse_number(args[0], -self.MAX_VOLTAGE, self.MAX_VOLTAGE, 21.0)
        return None

    @handles("[SENSe]:FUNCtion:CONCurrent")
    def _sense_concurrent(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.concurrent)
        expect_arguments(args, 1)
        self.state.concurrent = parse_bool(args[0])
        return None

    @handles("[SENSe]:FUNCtion:[ON]:ALL")
    def _sense_all(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        expect_arguments(args, 0)
        self.state.sense_functions = ("VOLT", "CURR", "RES")
        return None

    @handles("[SENSe]:FUNCtion:OFF:ALL")
    def _sense_none(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        self.state.sense_functions = ()
        return None

    @handles("[SENSe]:FUNCtion:[ON]")
    def _sense_functions(self, args: list[str], query: bool) -> str | None:
        if query:
            return ",".join(f'"{name}:DC"' for name in self.state.sense_functions)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        names = [self._ELEMENT_NAMES.get(a.upper().split(":")[0]) for a in args]
        if any(name is None or name in ("TIME", "STAT") for name in names):
            raise ScpiError(-224, "Illegal parameter value")
        self.state.sense_functions = tuple(name for name in names if name is not None)
        return None

    @handles("[SENSe]:RESistance:MODE")
    def _resistance_mode(self, args: list[str], query: bool) -> str | None:
        if query:
            return self.state.resistance_mode
        expect_arguments(args, 1)
        word = args[0].upper()
        if word not in ("MAN", "MANUAL", "AUTO"):
            raise ScpiError(-224, "Illegal parameter value")
        self.state.resistance_mode = "AUTO" if word == "AUTO" else "MAN"
        return None

    @handles("FORMat:ELEMents:[SENSe]")
    def _format_elements(self, args: list[str], query: bool) -> str | None:
        if query:
            return ",".join(self.state.elements)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        names = {self._ELEMENT_NAMES.get(arg.upper()) for arg in args}
        if None in names:
            raise ScpiError(-224, "Illegal parameter value")
        # The instrument always returns the elements in this order, whatever order was given.
        self.state.elements = tuple(n for n in ("VOLT", "CURR", "RES", "TIME", "STAT") if n in names)
        return None

    @handles("OUTPut:[STATe]")
    def _output(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.state.output)
        expect_arguments(args, 1)
        self.state.output = parse_bool(args[0])
        return None

    @handles("INITiate")
    def _initiate(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        if not self.state.output:
            raise ScpiError(-221, "Settings conflict; output is off")
        return None

    @handles("READ", "FETCh")
    def _read(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        if not self.state.output:
            raise ScpiError(-221, "Settings conflict; output is off")
        return self.reading()

    @handles("MEASure:[VOLTage]:[DC]", "MEASure:CURRent:[DC]", "MEASure:RESistance")
    def _measure(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        self.state.output = True  # 2400-series :MEASure? turns the source on (auto output-off is off)
        return self.reading()

    @handles("SIM:LOAD")
    def _sim_load(self, args: list[str], query: bool) -> str | None:
        if query:
            self._sim_channel(args, range(1, 2), 0)
            return sci(self.load_ohm)
        if not args:
            raise ScpiError(-109, "Missing parameter")
        self._sim_channel(args, range(1, 2), 1)
        self.load_ohm = parse_number(args[0], 1e-3, 1e18)
        return None
