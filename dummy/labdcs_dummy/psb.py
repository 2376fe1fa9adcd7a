"""A simulated bidirectional supply in the style of an EA PSB 9000 (source and sink in one unit),
with a simulated cell on its output (:mod:`labdcs_dummy.station`).

SCPI command set (what the ``psb`` driver sends):

=====================================  ==============================================================
``SYSTem:LOCK ON|OFF``                 remote control lock
``[SOURce]:VOLTage <V>``               voltage setpoint (charge end / discharge end / CV level)
``[SOURce]:CURRent <A>``               source (charge) current limit
``SINK:CURRent <A>``                   sink (discharge) current limit
``[SOURce]:POWer <W>``, ``SINK:POWer`` source / sink power limits
``OUTPut[:STATe] ON|OFF``              output
``MEASure:ARRay?``                     ``"4.1000 V, -1.0000 A, -4.1000 W"``; current and power signed,
                                       negative while sinking
``MEASure:TEMPerature?``               auxiliary temperature input (the cell's sensor), degC
``STATus:OPERation:CONDition?``        bits: 1 CV, 2 CC, 4 CP, 8 output on
``SYSTem:NOMinal:VOLTage|CURRent|POWer?``  ratings
=====================================  ==============================================================

Test control: ``SIM:CELL:TEMP <degC>`` forces the cell temperature, ``SIM:CELL:SOC <0..1>`` sets the
state of charge, ``SIM:CELL:CAP?`` and ``SIM:CELL:EFC?`` read the faded capacity and the equivalent
full cycles, plus the common ``SIM:MUTE`` and ``SIM:NOISE``.
"""

from __future__ import annotations

from typing import Any

from labdcs.clock import Clock
from labdcs_dummy.cell import CellParameters
from labdcs_dummy.scpi import (
    ScpiError,
    ScpiInstrument,
    expect_arguments,
    handles,
    no_query,
    on_off,
    parse_bool,
    parse_number,
    query_only,
)
from labdcs_dummy.station import CC, CP, CV, SimulatedStation, StationRatings

MODE_BITS = {CV: 1, CC: 2, CP: 4}
OUTPUT_BIT = 8


class PsbModel(ScpiInstrument):
    """EA PSB-style bidirectional supply, 80 V / 60 A / 1 kW, on a simulated cell."""

    idn = "LABDCS-SIM,PSB 9080-60 (simulated),SIM000001,V1.0"

    def __init__(
        self,
        seed: int | None = None,
        clock: Clock | None = None,
        cell: CellParameters | None = None,
        ratings: StationRatings | None = None,
        **cell_options: Any,
    ) -> None:
        super().__init__(seed)
        if cell is None:
            cell = CellParameters(**cell_options)
        elif cell_options:
            raise ValueError("give either cell or cell options, not both")
        self.station = SimulatedStation(cell, clock=clock, ratings=ratings, seed=seed)
        self.locked = False

    @property
    def ratings(self) -> StationRatings:
        return self.station.ratings

    def reset(self) -> None:
        self.station.set_output(False)
        self.station.program(voltage=0.0, charge_current=0.0, discharge_current=0.0)

    def _setting(self, args: list[str], query: bool, attribute: str, maximum: float) -> str | None:
        if query:
            return f"{getattr(self.station, attribute):.4f}"
        expect_arguments(args, 1)
        self.station.program(**{_PROGRAM[attribute]: parse_number(args[0], 0.0, maximum)})
        return None

    @handles("SYSTem:LOCK")
    def _system_lock(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.locked)
        expect_arguments(args, 1)
        self.locked = parse_bool(args[0])
        return None

    @handles("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]")
    def _voltage(self, args: list[str], query: bool) -> str | None:
        return self._setting(args, query, "voltage_set", self.ratings.max_voltage)

    @handles("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_current(self, args: list[str], query: bool) -> str | None:
        return self._setting(args, query, "charge_current", self.ratings.max_current)

    @handles("SINK:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _sink_current(self, args: list[str], query: bool) -> str | None:
        return self._setting(args, query, "discharge_current", self.ratings.max_current)

    @handles("[SOURce]:POWer:[LEVel]:[IMMediate]:[AMPLitude]")
    def _source_power(self, args: list[str], query: bool) -> str | None:
        return self._setting(args, query, "charge_power", self.ratings.max_power)

    @handles("SINK:POWer:[LEVel]:[IMMediate]:[AMPLitude]")
    def _sink_power(self, args: list[str], query: bool) -> str | None:
        return self._setting(args, query, "discharge_power", self.ratings.max_power)

    @handles("OUTPut:[STATe]")
    def _output(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.station.output)
        expect_arguments(args, 1)
        self.station.set_output(parse_bool(args[0]))
        return None

    @handles("MEASure:[SCALar]:ARRay")
    def _measure_array(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        m = self.station.measure()
        return f"{m.voltage:.5f} V, {m.current:.5f} A, {m.power:.4f} W"

    @handles("MEASure:[SCALar]:TEMPerature")
    def _measure_temperature(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.station.measure().temperature_c:.2f}"

    @handles("STATus:OPERation:CONDition")
    def _condition(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        self.station.advance()
        bits = MODE_BITS.get(self.station.mode, 0) | (OUTPUT_BIT if self.station.output else 0)
        return str(bits)

    @handles("SYSTem:NOMinal:VOLTage")
    def _nominal_voltage(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.ratings.max_voltage:.2f}"

    @handles("SYSTem:NOMinal:CURRent")
    def _nominal_current(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.ratings.max_current:.2f}"

    @handles("SYSTem:NOMinal:POWer")
    def _nominal_power(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.ratings.max_power:.1f}"

    # --- test control -------------------------------------------------------------------------

    @handles("SIM:CELL:TEMPerature")
    def _sim_temperature(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.station.cell.temperature_c:.3f}"
        expect_arguments(args, 1)
        self.station.set_temperature(parse_number(args[0], -60.0, 300.0))
        return None

    @handles("SIM:CELL:SOC")
    def _sim_soc(self, args: list[str], query: bool) -> str | None:
        if query:
            self.station.advance()
            return f"{self.station.cell.soc:.6f}"
        expect_arguments(args, 1)
        self.station.set_soc(parse_number(args[0], -0.1, 1.1))
        return None

    @handles("SIM:CELL:CAPacity")
    def _sim_capacity(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.station.cell.capacity_ah:.6f}"

    @handles("SIM:CELL:EFC")
    def _sim_efc(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        return f"{self.station.cell.equivalent_full_cycles:.4f}"

    @handles("SIM:NOISE")
    def _sim_noise_psb(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.station.noise)
        expect_arguments(args, 1)
        self.station.noise = self.noise = parse_bool(args[0])
        return None


_PROGRAM = {
    "voltage_set": "voltage",
    "charge_current": "charge_current",
    "discharge_current": "discharge_current",
    "charge_power": "charge_power",
    "discharge_power": "discharge_power",
}

__all__ = ["PsbModel", "ScpiError", "no_query"]
