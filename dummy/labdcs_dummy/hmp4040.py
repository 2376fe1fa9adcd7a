"""Simulated R&S HMP4040 (LV): four channels into resistive loads, with current limiting."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class _LvChannel:
    voltage: float = 0.0
    current: float = 0.1
    selected: bool = False
    load_ohm: float = 10.0


class HMP4040Model(ScpiInstrument):
    """R&S HMP4040: four 32 V / 10 A / 160 W channels into resistive loads (default 10 Ω).

    A channel delivers power when both its output select (``OUTP:SEL``) and the master output
    (``OUTP:GEN``) are on. It limits at min(current setting, 10 A, 160 W / V setting): in current
    limiting the output voltage drops to I_limit·R.
    """

    idn = "ROHDE&SCHWARZ,HMP4040,123456,HW50020001/SW2.51"
    CHANNELS = range(1, 5)
    MAX_VOLTAGE = 32.05
    MAX_CURRENT = 10.0
    MAX_POWER = 160.0

    def __init__(self, seed: int | None = None, load_ohm: float = 10.0) -> None:
        super().__init__(seed)
        self.selected_channel = 1
        self.master = False
        self.channels = {ch: _LvChannel(load_ohm=load_ohm) for ch in self.CHANNELS}
        self.remote = "LOC"

    def reset(self) -> None:
        loads = {ch: state.load_ohm for ch, state in self.channels.items()}
        self.channels = {ch: _LvChannel(load_ohm=loads[ch]) for ch in self.CHANNELS}
        self.selected_channel = 1
        self.master = False

    @property
    def channel(self) -> _LvChannel:
        return self.channels[self.selected_channel]

    def output_on(self, channel: int) -> bool:
        return self.master and self.channels[channel].selected

    def current_limit(self, channel: int) -> float:
        state = self.channels[channel]
        limit = min(state.current, self.MAX_CURRENT)
        if state.voltage > 0:
            limit = min(limit, self.MAX_POWER / state.voltage)
        return limit

    def operating_point(self, channel: int) -> tuple[float, float, bool]:
        """(output voltage, current, current-limited) of a channel."""
        state = self.channels[channel]
        if not self.output_on(channel):
            return 0.0, 0.0, False
        limit = self.current_limit(channel)
        current = state.voltage / state.load_ohm
        if current > limit:
            return limit * state.load_ohm, limit, True
        return state.voltage, current, False

    @handles("INSTrument:NSELect")
    def _instrument_nselect(self, args: list[str], query: bool) -> str | None:
        if query:
            return str(self.selected_channel)
        expect_arguments(args, 1)
        self.selected_channel = int(parse_number(args[0], 1, 4))
        return None

    @handles("INSTrument:[SELect]")
    def _instrument_select(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"OUTP{self.selected_channel}"
        expect_arguments(args, 1)
        word = args[0].upper()
        for prefix in ("OUTPUT", "OUTP", "OUT", "CH"):
            if word.startswith(prefix) and word[len(prefix) :].isdigit():
                channel = int(word[len(prefix) :])
                if channel in self.CHANNELS:
                    self.selected_channel = channel
                    return None
        raise ScpiError(-224, "Illegal parameter value")

    def _level(self, args: list[str], query: bool, attribute: str, maximum: float, fmt: str) -> str | None:
        state = self.channel
        if query:
            if args and args[0].upper() in ("MIN", "MINIMUM"):
                return fmt.format(0.0)
            if args and args[0].upper() in ("MAX", "MAXIMUM"):
                return fmt.format(maximum)
            return fmt.format(getattr(state, attribute))
        expect_arguments(args, 1)
        setattr(state, attribute, parse_number(args[0], 0.0, maximum))
        return None

    @handles("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]")
    def _voltage(self, args: list[str], query: bool) -> str | None:
        return self._level(args, query, "voltage", self.MAX_VOLTAGE, "{:.3f}")

    @handles("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]")
    def _current(self, args: list[str], query: bool) -> str | None:
        return self._level(args, query, "current", self.MAX_CURRENT, "{:.4f}")

    @handles("APPLy")
    def _apply(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.channel.voltage:.3f},{self.channel.current:.4f}"
        expect_arguments(args, 2)
        voltage = parse_number(args[0], 0.0, self.MAX_VOLTAGE)
        current = parse_number(args[1], 0.0, self.MAX_CURRENT)
        self.channel.voltage, self.channel.current = voltage, current
        return None

    @handles("OUTPut:SELect")
    def _output_select(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.channel.selected)
        expect_arguments(args, 1)
        self.channel.selected = parse_bool(args[0])
        return None

    @handles("OUTPut:GENeral")
    def _output_general(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.master)
        expect_arguments(args, 1)
        self.master = parse_bool(args[0])
        return None

    @handles("OUTPut:[STATe]")
    def _output_state(self, args: list[str], query: bool) -> str | None:
        if query:
            return on_off(self.output_on(self.selected_channel))
        expect_arguments(args, 1)
        on = parse_bool(args[0])
        self.channel.selected = on
        if on:
            self.master = True
        return None

    @handles("MEASure:[SCALar]:VOLTage:[DC]")
    def _measure_voltage(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        voltage, _, _ = self.operating_point(self.selected_channel)
        if voltage:
            voltage = max(0.0, voltage + self.gauss(0.5e-3))
        return f"{voltage:.4f}"

    @handles("MEASure:[SCALar]:CURRent:[DC]")
    def _measure_current(self, args: list[str], query: bool) -> str | None:
        query_only(query, args)
        _, current, _ = self.operating_point(self.selected_channel)
        if current:
            current = max(0.0, current + self.gauss(0.1e-3))
        return f"{current:.5f}"

    @handles("SYSTem:REMote", "SYSTem:LOCal", "SYSTem:MIX", "SYSTem:RWLock")
    def _system_mode(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        return None

    @handles("SYSTem:BEEPer:[IMMediate]")
    def _beep(self, args: list[str], query: bool) -> str | None:
        no_query(query)
        return None

    @handles("SIM:LOAD")
    def _sim_load(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.channels[self._sim_channel(args, self.CHANNELS, 0)].load_ohm:.6g}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.CHANNELS, 1)
        self.channels[channel].load_ohm = parse_number(args[0], 1e-3, 1e12)
        return None
