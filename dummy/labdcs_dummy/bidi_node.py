"""A simulated bidirectional DC/DC converter on CAN (``can/labdcs_bidi.dbc``) driving a simulated cell.

It applies ``BidiCommand`` / ``BidiPowerCommand`` to a :class:`~labdcs_dummy.station.SimulatedStation`
and answers every ``StatusRequest`` with one ``BidiStatus`` (measured at that moment of the shared
clock) and ``IdentRequest`` with ``Identity``. Made for python-can's ``virtual`` interface, in the
same process as the driver (``driver: {name: canbidi, simulate: true}``).
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from typing import Any

import can
import cantools

from labdcs_dummy.station import CC, CP, CV, SimulatedStation

log = logging.getLogger(__name__)

NODE_ID_MASK = 0x3F
MODE_CODES = {CC: 1, CV: 2, CP: 3}
MODEL_CODE = 2


def load_database() -> Any:
    text = resources.files("labdcs_dummy").joinpath("can", "labdcs_bidi.dbc").read_text(encoding="utf-8")
    return cantools.database.load_string(text, database_format="dbc", strict=True)


class BidiNode:
    def __init__(
        self,
        station: SimulatedStation,
        channel: str = "labdcs-bidi",
        node_id: int = 1,
        interface: str = "virtual",
        serial: int = 25_000_001,
    ) -> None:
        self.station = station
        self.channel = channel
        self.node_id = node_id
        self.interface = interface
        self.serial = serial
        self.mute = False
        self._db = load_database()
        self._by_id = {message.frame_id: message for message in self._db.messages}
        self._status = self._db.get_message_by_name("BidiStatus")
        self._identity = self._db.get_message_by_name("Identity")
        self._bus: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._bus = can.ThreadSafeBus(interface=self.interface, channel=self.channel)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"bidi-node-{self.node_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._bus.recv(timeout=0.05)
            if frame is None or frame.is_extended_id or self.mute:
                continue
            if frame.arbitration_id & NODE_ID_MASK != self.node_id:
                continue
            message = self._by_id.get(frame.arbitration_id & ~NODE_ID_MASK)
            if message is None or message.senders == ["BidiConverter"]:
                continue
            try:
                self._handle(message.name, message.decode(bytes(frame.data), decode_choices=False))
            except Exception as exc:  # a garbled frame is dropped, as firmware would
                log.warning("bidi node %d: cannot handle %s: %s", self.node_id, message.name, exc)

    def _handle(self, name: str, fields: dict[str, Any]) -> None:
        station = self.station
        if name == "BidiCommand":
            station.program(
                voltage=float(fields["VoltageSet"]),
                charge_current=float(fields["ChargeCurrent"]),
                discharge_current=float(fields["DischargeCurrent"]),
            )
            station.set_output(bool(fields["OutputEnable"]))
        elif name == "BidiPowerCommand":
            rated = station.ratings.max_power  # the converter clips to its rating
            station.program(
                charge_power=min(float(fields["ChargePower"]), rated),
                discharge_power=min(float(fields["DischargePower"]), rated),
            )
        elif name == "StatusRequest":
            m = station.measure()
            self._send(
                self._status,
                {
                    "VoltageMeas": min(max(m.voltage, 0.0), 65.535),
                    "CurrentMeas": min(max(m.current, -32.768), 32.767),
                    "Temperature": min(max(m.temperature_c, -204.8), 204.7),
                    "OutputOn": int(m.output_on),
                    "Mode": MODE_CODES.get(m.mode, 0),
                    "FaultOverTemp": 0,
                    "FaultInternal": 0,
                    "Counter": int(fields["Counter"]),
                },
            )
        elif name == "IdentRequest":
            self._send(
                self._identity,
                {"Serial": self.serial, "ModelCode": MODEL_CODE, "FwMajor": 1, "FwMinor": 0, "FwPatch": 0},
            )

    def _send(self, message: Any, fields: dict[str, Any]) -> None:
        data = message.encode(fields, strict=False)
        self._bus.send(
            can.Message(arbitration_id=message.frame_id | self.node_id, data=data, is_extended_id=False)
        )
