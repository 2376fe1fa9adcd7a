"""Environment monitor: temperature and relative humidity from SHT3x-class sensor heads.

The instrument is a small SCPI box (e.g. a microcontroller with one or more SHT3x heads and an
SCPI firmware, reachable over USB-serial or a raw TCP socket). Its command set::

    *IDN?                  -> LABDCS,ENVMON-SHT31,EM000123,1.4.0
    MEASure:TEMPerature? (@n)  -> degrees Celsius of head n
    MEASure:HUMidity? (@n)     -> relative humidity in % of head n
    SYSTem:ERRor?          -> 0,"No error"

The driver reads every requested head in one compound message
(``MEAS:TEMP? (@1);:MEAS:HUM? (@1);:MEAS:TEMP? (@2);...``, IEEE 488.2: the answers come back in
one line separated by ``;``): one round trip per instrument instead of two per head.

No PyMeasure driver exists for it, so :class:`EnvMon` is written in PyMeasure's declarative
style: one line per quantity with a ``get_process`` that rejects readings a working SHT3x cannot
produce (a broken head reads NaN, or a rail value such as 130 °C / 100+ %RH).

The dew point is computed here rather than in the firmware, with the Magnus formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pymeasure.instruments import Channel, Instrument, SCPIMixin

from labdcs.drivers.base import InstrumentError, Quantity, SensorDriver, SensorReading
from labdcs.drivers.scpi import ScpiDriver, as_float, split_compound

#: Magnus coefficients over liquid water after D. Sonntag (1990), "Important new values of the
#: physical constants of 1986, vapour pressure formulations based on the ITS-90, and psychrometer
#: formulae", Z. Meteorol. 40(5), 340-344 — valid from -45 °C to +60 °C (also the values given
#: in the WMO Guide to Instruments and Methods of Observation).
MAGNUS_B = 17.62
MAGNUS_C_DEGC = 243.12

#: Operating range of an SHT3x head.
TEMPERATURE_RANGE = (-40.0, 125.0)
HUMIDITY_RANGE = (0.0, 100.0)

QUANTITIES = (
    Quantity("temperature", "°C", "air temperature"),
    Quantity("humidity", "%", "relative humidity"),
    Quantity("dew_point", "°C", "dew point (Magnus formula, Sonntag 1990 coefficients)"),
)


def dew_point(temperature_c: float, humidity_pct: float) -> float:
    """Dew point in °C from air temperature and relative humidity (Magnus formula).

    ``gamma = ln(RH/100) + b*T/(c+T)``, ``Td = c*gamma/(b-gamma)`` with the Sonntag (1990)
    coefficients b = 17.62, c = 243.12 °C. Accurate to about ±0.35 °C between -45 and +60 °C.
    Dry air (RH <= 0) has no dew point: NaN.
    """
    if not humidity_pct > 0.0 or math.isnan(temperature_c):
        return math.nan
    rh = min(humidity_pct, 100.0) / 100.0
    gamma = math.log(rh) + MAGNUS_B * temperature_c / (MAGNUS_C_DEGC + temperature_c)
    return MAGNUS_C_DEGC * gamma / (MAGNUS_B - gamma)


def _plausible(low: float, high: float, unit: str) -> Callable[[Any], float]:
    """A ``get_process`` that accepts only a number a working sensor can produce."""

    def check(value: Any) -> float:
        number = as_float(value, "sensor reading")
        if not low <= number <= high:  # also rejects NaN
            raise ValueError(
                f"sensor reading {number!r} {unit} is outside {low:g}..{high:g} {unit}: head fault?"
            )
        return number

    return check


_temperature = _plausible(*TEMPERATURE_RANGE, "°C")
_humidity = _plausible(*HUMIDITY_RANGE, "%")


class EnvMonHead(Channel):  # type: ignore[misc]
    """One sensor head, addressed with an SCPI channel list ``(@n)``."""

    temperature = Channel.measurement(
        "MEAS:TEMP? (@{ch})",
        "Get the air temperature in °C.",
        get_process=_temperature,
    )
    humidity = Channel.measurement(
        "MEAS:HUM? (@{ch})", "Get the relative humidity in %.", get_process=_humidity
    )


class EnvMon(SCPIMixin, Instrument):  # type: ignore[misc]
    """The SCPI environment monitor with ``heads`` sensor heads (``self.heads[n]``)."""

    def __init__(
        self, adapter: Any, heads: int = 1, name: str = "Environment monitor", **kwargs: Any
    ) -> None:
        super().__init__(adapter, name, **kwargs)
        for head in range(1, heads + 1):
            self.add_child(EnvMonHead, head, collection="heads", prefix="head_")


class EnvMonDriver(ScpiDriver, SensorDriver):
    """Environment monitor, channels 1..``channels`` (one per sensor head)."""

    name = "envmon"
    baud_rate = 115200  # typical for the USB-serial firmware

    def __init__(
        self, resource: str, visa_library: str = "@py", timeout_s: float = 2.0, channels: int = 1
    ) -> None:
        super().__init__(resource, visa_library, timeout_s)
        if channels < 1:
            raise InstrumentError(f"{self.name}: needs at least one sensor head, not {channels}")
        self.channels = range(1, channels + 1)

    def _create_instrument(self, adapter: Any) -> Any:
        return EnvMon(adapter, heads=len(self.channels), name=self.label)

    def _on_open(self, instrument: Any) -> None:
        instrument.clear()  # *CLS

    def quantities(self, channel: int) -> list[Quantity]:
        self._check_channel(channel, self.channels)
        return list(QUANTITIES)

    def read(self, channel: int) -> SensorReading:
        return self.read_many([channel])[channel]

    def read_many(self, channels: Sequence[int]) -> dict[int, SensorReading]:
        heads = [self._check_channel(channel, self.channels) for channel in dict.fromkeys(channels)]
        if not self.compound_reads:
            return {head: self._read_by_quantity(head) for head in heads}
        query = ";:".join(f"MEAS:TEMP? (@{head});:MEAS:HUM? (@{head})" for head in heads)

        def snapshot(monitor: Any) -> dict[int, SensorReading]:
            parts = split_compound(monitor.ask(query), 2 * len(heads), query)
            readings = {}
            for index, head in enumerate(heads):
                temperature = _temperature(parts[2 * index])
                humidity = _humidity(parts[2 * index + 1])
                readings[head] = SensorReading(
                    values={
                        "temperature": temperature,
                        "humidity": humidity,
                        "dew_point": dew_point(temperature, humidity),
                    }
                )
            return readings

        label = ", ".join(str(head) for head in heads)
        return self._io(f"reading sensor head{'s' if len(heads) > 1 else ''} {label}", snapshot)

    def _read_by_quantity(self, channel: int) -> SensorReading:
        """One query per quantity, through PyMeasure's properties (no compound messages)."""

        def snapshot(monitor: Any) -> SensorReading:
            head = monitor.heads[channel]
            temperature = float(head.temperature)
            humidity = float(head.humidity)
            return SensorReading(
                values={
                    "temperature": temperature,
                    "humidity": humidity,
                    "dew_point": dew_point(temperature, humidity),
                }
            )

        return self._io(f"reading sensor head {channel}", snapshot)
