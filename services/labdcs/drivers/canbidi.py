"""Bidirectional DC/DC converter for battery cycling on CAN, described by a DBC file.

The frame layouts live in ``labdcs_bidi.dbc`` (shipped in :mod:`labdcs_dummy` next to the simulated
converter); this module knows only message and signal names, :mod:`cantools` encodes and decodes,
:mod:`python-can <can>` carries the frames. Frame ids in the DBC are those of node 0; node N uses
``id + N``.

The host polls: ``read()`` sends ``StatusRequest`` with a counter and waits for the ``BidiStatus``
that carries the same counter, so every reading is fresh and belongs to its request (no background
thread, no stale cache). ``program()`` sends ``BidiPowerCommand`` (when power limits are given) and
``BidiCommand``; the output state of the next status confirms the command.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

import can
import cantools

from labdcs.drivers.base import (
    BidirectionalSourceDriver,
    Identity,
    InstrumentError,
    RegulationMode,
    SourceRatings,
    SourceReading,
    SourceSetpoint,
)
from labdcs.drivers.canpsu import NODE_ID_MASK

MODES = {0: RegulationMode.OFF, 1: RegulationMode.CC, 2: RegulationMode.CV, 3: RegulationMode.CP}
MODEL_NAMES = {2: "BIDI-65V32A"}
MANUFACTURER = "labdcs"
#: Ratings of the converter (the DBC signal ranges are wider than what the hardware delivers).
MAX_VOLTAGE = 65.0
MAX_CURRENT = 32.0
MAX_POWER = 1000.0


def load_bidi_database(dbc: str | Path | None = None) -> Any:
    from importlib import resources

    try:
        if dbc is None:
            text = (
                resources.files("labdcs_dummy").joinpath("can", "labdcs_bidi.dbc").read_text(encoding="utf-8")
            )
            return cantools.database.load_string(text, database_format="dbc", strict=True)
        return cantools.database.load_file(str(dbc), database_format="dbc", strict=True)
    except Exception as exc:
        raise InstrumentError(f"canbidi: cannot load the DBC file {dbc or 'labdcs_bidi.dbc'}: {exc}") from exc


class CanBidiDriver(BidirectionalSourceDriver):
    """The converter at ``node_id`` (one channel, 1)."""

    name = "canbidi"

    def __init__(
        self,
        interface: str = "socketcan",
        channel: str = "can0",
        bitrate: int = 500000,
        node_id: int = 1,
        timeout_s: float = 1.0,
        dbc: str | Path | None = None,
        simulator: Any = None,
    ) -> None:
        if not 1 <= node_id <= NODE_ID_MASK:
            raise InstrumentError(f"canbidi: node id {node_id} is outside 1..{NODE_ID_MASK}")
        self.interface, self.channel, self.bitrate = interface, channel, bitrate
        self.node_id = node_id
        self.timeout_s = timeout_s
        #: The simulated converter, kept alive with the driver (not stopped by close()).
        self.simulator = simulator
        self._db = load_bidi_database(dbc)
        self._command = self._db.get_message_by_name("BidiCommand")
        self._power = self._db.get_message_by_name("BidiPowerCommand")
        self._status = self._db.get_message_by_name("BidiStatus")
        self._request = self._db.get_message_by_name("StatusRequest")
        self._ident_request = self._db.get_message_by_name("IdentRequest")
        self._identity = self._db.get_message_by_name("Identity")
        self._bus: Any = None
        self._counter = 0
        self._output = False
        self._setpoint = SourceSetpoint(0.0, 0.0, 0.0)

    @property
    def label(self) -> str:
        return f"canbidi node {self.node_id} on {self.interface}:{self.channel}"

    def open(self) -> None:
        if self._bus is not None:
            return
        try:
            self._bus = can.Bus(interface=self.interface, channel=self.channel, bitrate=self.bitrate)
        except Exception as exc:
            raise InstrumentError(f"{self.label}: cannot open the CAN interface: {exc}") from exc
        try:
            self.read(1)  # proves that the converter answers
        except InstrumentError:
            self.close()
            raise

    def close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            with contextlib.suppress(Exception):  # a broken interface may complain while closing
                bus.shutdown()

    def _send(self, message: Any, fields: dict[str, Any]) -> None:
        if self._bus is None:
            self.open()
        try:
            data = message.encode(fields, strict=True)
            frame = can.Message(
                arbitration_id=message.frame_id | self.node_id, data=data, is_extended_id=False
            )
            self._bus.send(frame, timeout=self.timeout_s)
        except Exception as exc:
            raise InstrumentError(f"{self.label}: cannot send {message.name}: {exc}") from exc

    def _receive(self, message: Any, accept: Any) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        wanted = message.frame_id | self.node_id
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self._bus.recv(timeout=remaining)
            except Exception as exc:
                raise InstrumentError(f"{self.label}: CAN receive failed: {exc}") from exc
            if frame is None or frame.arbitration_id != wanted or frame.is_extended_id:
                continue
            try:
                fields: dict[str, Any] = message.decode(bytes(frame.data), decode_choices=False)
            except Exception:
                continue  # garbled: keep waiting for a good one
            if accept(fields):
                return fields
        raise InstrumentError(f"{self.label}: not answering: no {message.name} within {self.timeout_s:g} s")

    def identify(self) -> Identity:
        self._send(self._ident_request, {"Item": 1})
        fields = self._receive(self._identity, lambda _: True)
        code = int(fields["ModelCode"])
        return Identity(
            manufacturer=MANUFACTURER,
            model=MODEL_NAMES.get(code, f"model code {code}"),
            serial=str(int(fields["Serial"])),
            firmware=f"{int(fields['FwMajor'])}.{int(fields['FwMinor'])}.{int(fields['FwPatch'])}",
        )

    def _check_channel(self, channel: int) -> None:
        if channel != 1:
            raise InstrumentError(f"{self.label}: channel {channel!r} does not exist (channel 1 only)")

    def ratings(self, channel: int) -> SourceRatings:
        self._check_channel(channel)
        return SourceRatings(
            max_voltage=MAX_VOLTAGE,
            max_charge_current=MAX_CURRENT,
            max_discharge_current=MAX_CURRENT,
            max_power=MAX_POWER,
        )

    def program(self, channel: int, setpoint: SourceSetpoint) -> None:
        self._check_channel(channel)
        charge_power = MAX_POWER if setpoint.charge_power is None else setpoint.charge_power
        discharge_power = MAX_POWER if setpoint.discharge_power is None else setpoint.discharge_power
        self._send(self._power, {"ChargePower": charge_power, "DischargePower": discharge_power})
        self._send(
            self._command,
            {
                "VoltageSet": setpoint.voltage,
                "ChargeCurrent": setpoint.charge_current,
                "DischargeCurrent": setpoint.discharge_current,
                "OutputEnable": int(self._output),
                "ClearFaults": 0,
            },
        )
        self._setpoint = setpoint

    def set_output(self, channel: int, on: bool) -> None:
        self._check_channel(channel)
        setpoint = self._setpoint
        self._output = on
        self._send(
            self._command,
            {
                "VoltageSet": setpoint.voltage,
                "ChargeCurrent": setpoint.charge_current,
                "DischargeCurrent": setpoint.discharge_current,
                "OutputEnable": int(on),
                "ClearFaults": 0,
            },
        )
        if self.read(channel).output_on != on:
            raise InstrumentError(f"{self.label}: output {'on' if on else 'off'} not confirmed by the status")

    def read(self, channel: int) -> SourceReading:
        self._check_channel(channel)
        self._counter = (self._counter + 1) % 256
        counter = self._counter
        self._send(self._request, {"Counter": counter})
        fields = self._receive(self._status, lambda f: int(f["Counter"]) == counter)
        voltage, current = float(fields["VoltageMeas"]), float(fields["CurrentMeas"])
        temperature = float(fields["Temperature"])
        if not math.isfinite(voltage + current + temperature):
            raise InstrumentError(f"{self.label}: implausible status {fields}")
        return SourceReading(
            voltage=voltage,
            current=current,
            power=voltage * current,
            output_on=bool(fields["OutputOn"]),
            mode=MODES.get(int(fields["Mode"]), RegulationMode.OFF),
            temperature=temperature,
        )
