"""Simulated SCPI environment monitor: temperature and humidity heads that drift, with fault injection."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from labdcs_dummy.scpi import (
    ScpiError,
    ScpiInstrument,
    expect_arguments,
    handles,
    on_off,
    parse_bool,
    parse_channel_list,
    require_query,
)


@dataclass
class _Head:
    temperature_base: float
    humidity_base: float
    phase: float
    held_temperature: float | None = None
    held_humidity: float | None = None


class EnvMonModel(ScpiInstrument):
    """SCPI environment monitor with SHT3x-class heads: ~21 °C, ~35 %RH, slow drift and noise.

    Drift is a slow sine (periods of 15-20 min) around each head's base value; SIM:TEMP and
    SIM:HUM hold a head at a value (noise still applies unless SIM:NOISE OFF) until SIM:DRIFT ON.
    """

    idn = "LABDCS,ENVMON-SHT31,EM000123,1.4.0"
    TEMPERATURE_NOISE = 0.02
    HUMIDITY_NOISE = 0.1

    def __init__(self, seed: int | None = None, channels: int = 1) -> None:
        super().__init__(seed)
        self.heads = {
            ch: _Head(
                temperature_base=21.0 + self.rng.uniform(-0.3, 0.3),
                humidity_base=35.0 + self.rng.uniform(-1.0, 1.0),
                phase=self.rng.uniform(0.0, 2 * math.pi),
            )
            for ch in range(1, channels + 1)
        }
        self.channel_range = range(1, channels + 1)

    def temperature(self, channel: int) -> float:
        head = self.heads[channel]
        if head.held_temperature is not None:
            value = head.held_temperature
        else:
            t = time.monotonic() - self.started
            value = head.temperature_base + 0.4 * math.sin(2 * math.pi * t / 900.0 + head.phase)
        return value + self.gauss(self.TEMPERATURE_NOISE)

    def humidity(self, channel: int) -> float:
        head = self.heads[channel]
        if head.held_humidity is not None:
            value = head.held_humidity
        else:
            t = time.monotonic() - self.started
            value = head.humidity_base + 2.0 * math.sin(2 * math.pi * t / 1200.0 + 1.3 * head.phase)
        return min(100.0, max(0.0, value + self.gauss(self.HUMIDITY_NOISE)))

    def _head_of(self, args: list[str]) -> int:
        if not args:
            return 1
        expect_arguments(args, 1)
        channels = parse_channel_list(args[0])
        if len(channels) != 1 or channels[0] not in self.channel_range:
            raise ScpiError(-222, "Data out of range; no such sensor head")
        return channels[0]

    @handles("MEASure:TEMPerature")
    def _measure_temperature(self, args: list[str], query: bool) -> str | None:
        require_query(query)
        return f"{self.temperature(self._head_of(args)):.2f}"

    @handles("MEASure:HUMidity")
    def _measure_humidity(self, args: list[str], query: bool) -> str | None:
        require_query(query)
        return f"{self.humidity(self._head_of(args)):.2f}"

    @handles("SIM:TEMP")
    def _sim_temperature(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.temperature(self._sim_channel(args, self.channel_range, 0)):.2f}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.channel_range, 1)
        self.heads[channel].held_temperature = _parse_sim_value(args[0])
        return None

    @handles("SIM:HUM")
    def _sim_humidity(self, args: list[str], query: bool) -> str | None:
        if query:
            return f"{self.humidity(self._sim_channel(args, self.channel_range, 0)):.2f}"
        if not args:
            raise ScpiError(-109, "Missing parameter")
        channel = self._sim_channel(args, self.channel_range, 1)
        self.heads[channel].held_humidity = _parse_sim_value(args[0])
        return None

    @handles("SIM:DRIFT")
    def _sim_drift(self, args: list[str], query: bool) -> str | None:
        if query:
            drifting = all(
                h.held_temperature is None and h.held_humidity is None for h in self.heads.values()
            )
            return on_off(drifting)
        expect_arguments(args, 1)
        drift = parse_bool(args[0])
        for channel, head in self.heads.items():
            if drift:
                head.held_temperature = head.held_humidity = None
            else:  # freeze where the drift is now
                noise, self.noise = self.noise, False
                head.held_temperature = self.temperature(channel)
                head.held_humidity = self.humidity(channel)
                self.noise = noise
        return None


def _parse_sim_value(text: str) -> float:
    """A fault-injection value: any number, or NAN (a broken sensor head)."""
    try:
        return float(text)
    except ValueError:
        raise ScpiError(-104, "Data type error; expected a number") from None
