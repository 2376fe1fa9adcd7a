"""Rohde & Schwarz HMP4040: four-channel 32 V / 10 A / 160 W low-voltage supply.

Built on PyMeasure's :class:`~pymeasure.instruments.rohdeschwarz.hmp.HMP4040`; every per-channel
command goes to the channel picked with ``INST:NSEL <n>`` first.

**Output switching.** The HMP has two switches in series: a per-channel one (``OUTP:SEL``,
the channel keys; lit = "armed") and the master output (``OUTP:GEN``, the Output key). A
channel delivers power only when both are on, so this driver defines

* ``read(ch).output_on`` = ``OUTP:SEL`` of ch **and** ``OUTP:GEN``;
* ``set_output(ch, True)``: if the master is off, first disarm every other channel (they are
  off anyway, so nothing visible changes — but the master switch would otherwise turn on every
  channel still armed from earlier), then arm ch and switch the master on;
* ``set_output(ch, False)``: disarm ch only. The master stays on, so the other channels keep
  running.

So ``set_output`` changes exactly one channel's real output state, and the instrument's own
indicators agree with what the driver reports.

**Reading.** One compound query per instrument reads every requested channel:
``INST:NSEL n;:APPL?;:OUTP:SEL?;:MEAS:VOLT?;:MEAS:CURR?`` per channel (``APPLy?`` answers the
voltage and current setpoints together), then ``OUTP:GEN?`` once: one round trip instead of one
write and six queries per channel through PyMeasure's properties (IEEE 488.2 compound messages;
the answer is the response units separated by ``;``). Settings still go through PyMeasure.

**Compliance.** The HMP has no cheap "in current limit" query in PyMeasure; the driver infers
constant-current operation from the reading: output on and either the current at the limit
(within 1 %) or the voltage clearly below the setpoint (the 160 W power limit also shows so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymeasure.instruments.rohdeschwarz.hmp import HMP4040

from labdcs.drivers.base import OutputLimits, OutputReading, PowerSupplyDriver
from labdcs.drivers.scpi import ScpiDriver, as_bool, as_float, as_switch, check_range, split_compound

#: Ratings per channel (HMP4040 datasheet).
MAX_VOLTAGE = 32.0
MAX_CURRENT = 10.0
MAX_POWER = 160.0
CHANNELS = range(1, 5)
#: One channel's snapshot within the compound read query; 4 response units.
SNAPSHOT_QUERY = "INST:NSEL {channel};:APPL?;:OUTP:SEL?;:MEAS:VOLT?;:MEAS:CURR?"
SNAPSHOT_UNITS = 4


def infer_compliance(output_on: bool, setpoint: float, limit: float, voltage: float, current: float) -> bool:
    """Constant-current operation as seen from a reading (see the module docstring)."""
    if not output_on:
        return False
    at_current_limit = limit > 0 and current >= 0.99 * limit
    voltage_sagged = setpoint - voltage > max(0.05, 0.02 * setpoint)
    return at_current_limit or voltage_sagged


class HMP4040Driver(ScpiDriver, PowerSupplyDriver):
    """R&S HMP4040, channels 1-4."""

    name = "hmp4040"

    def _create_instrument(self, adapter: Any) -> Any:
        return HMP4040(adapter, name=self.label)

    def _on_open(self, instrument: Any) -> None:
        instrument.clear()  # *CLS: stale errors must not be blamed on our next setting

    def output_limits(self, channel: int) -> OutputLimits:
        self._check_channel(channel, CHANNELS)
        return OutputLimits(max_voltage=MAX_VOLTAGE, max_current=MAX_CURRENT)

    def set_voltage(self, channel: int, volts: float) -> None:
        self._check_channel(channel, CHANNELS)
        value = round(check_range(volts, 0.0, MAX_VOLTAGE, "voltage", self.label), 3)

        def program(psu: Any) -> None:
            psu.selected_channel = channel
            psu.voltage = value

        self._set(f"setting channel {channel} to {value:g} V", program)

    def set_current_limit(self, channel: int, amps: float) -> None:
        self._check_channel(channel, CHANNELS)
        value = round(check_range(amps, 0.0, MAX_CURRENT, "current limit", self.label), 4)

        def program(psu: Any) -> None:
            psu.selected_channel = channel
            psu.current = value

        self._set(f"setting the current limit of channel {channel} to {value:g} A", program)

    def set_output(self, channel: int, on: bool) -> None:
        self._check_channel(channel, CHANNELS)

        def switch(psu: Any) -> None:
            if not on:
                psu.selected_channel = channel
                psu.selected_channel_active = False
                return
            master_on = as_bool(psu.output_enabled, "master output state")
            if not master_on:
                for other in CHANNELS:
                    if other == channel:
                        continue
                    psu.selected_channel = other
                    if as_bool(psu.selected_channel_active, f"channel {other} armed state"):
                        psu.selected_channel_active = False
            psu.selected_channel = channel
            psu.selected_channel_active = True
            if not master_on:
                psu.output_enabled = True

        self._set(f"switching channel {channel} {'on' if on else 'off'}", switch)

    def read(self, channel: int) -> OutputReading:
        return self.read_many([channel])[channel]

    def read_many(self, channels: Sequence[int]) -> dict[int, OutputReading]:
        wanted = [self._check_channel(channel, CHANNELS) for channel in dict.fromkeys(channels)]
        if not self.compound_reads:
            return {channel: self._read_by_quantity(channel) for channel in wanted}
        query = ";:".join([*(SNAPSHOT_QUERY.format(channel=channel) for channel in wanted), "OUTP:GEN?"])

        def snapshot(psu: Any) -> dict[int, OutputReading]:
            parts = split_compound(psu.ask(query), SNAPSHOT_UNITS * len(wanted) + 1, query)
            master_on = as_switch(parts[-1], "master output state")
            readings = {}
            for index, channel in enumerate(wanted):
                applied, armed, measured_v, measured_i = parts[
                    SNAPSHOT_UNITS * index : SNAPSHOT_UNITS * (index + 1)
                ]
                set_v, _, set_i = applied.partition(",")
                setpoint = as_float(set_v, "voltage setpoint")
                limit = as_float(set_i, "current limit")
                voltage = as_float(measured_v, "measured voltage")
                current = as_float(measured_i, "measured current")
                output_on = as_switch(armed, "channel armed state") and master_on
                readings[channel] = OutputReading(
                    voltage_setpoint=setpoint,
                    current_limit=limit,
                    voltage=voltage,
                    current=current,
                    output_on=output_on,
                    in_compliance=infer_compliance(output_on, setpoint, limit, voltage, current),
                )
            return readings

        label = ", ".join(str(channel) for channel in wanted)
        return self._io(f"reading channel{'s' if len(wanted) > 1 else ''} {label}", snapshot)

    def _read_by_quantity(self, channel: int) -> OutputReading:
        """One query per quantity, through PyMeasure's properties (no compound messages)."""

        def snapshot(psu: Any) -> OutputReading:
            psu.selected_channel = channel
            setpoint = as_float(psu.voltage, "voltage setpoint")
            limit = as_float(psu.current, "current limit")
            armed = as_bool(psu.selected_channel_active, "channel armed state")
            master_on = as_bool(psu.output_enabled, "master output state")
            voltage = as_float(psu.measured_voltage, "measured voltage")
            current = as_float(psu.measured_current, "measured current")
            output_on = armed and master_on
            return OutputReading(
                voltage_setpoint=setpoint,
                current_limit=limit,
                voltage=voltage,
                current=current,
                output_on=output_on,
                in_compliance=infer_compliance(output_on, setpoint, limit, voltage, current),
            )

        return self._io(f"reading channel {channel}", snapshot)
