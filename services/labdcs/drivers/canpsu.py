"""labdcs CAN power supply: two channels, 0-60 V / 0-5 A each, described by a DBC file.

The frame layouts live in ``labdcs_canpsu.dbc`` (shipped in :mod:`labdcs_dummy`, next to the
simulated node); this module only knows message *names* and uses :mod:`cantools` to encode and
decode, and :mod:`python-can <can>` for the bus. Frame ids in the DBC are those of node 0; a node
with id N (1..63) uses ``id + N``, so several supplies share one bus without id clashes.

Protocol, as the driver uses it:

* ``ChNStatus`` arrives every 100 ms per channel: measured V and I, output state, constant-
  current flag, latched fault bits and the echo of the active setpoints. A background thread
  keeps the latest one per channel; ``read()`` returns it, or raises "not answering" when none
  arrived within ``status_timeout_s`` (3 periods by default).
* ``ChNCommand`` carries all three settings of a channel (voltage, current limit, output enable).
  A setter takes the other two from the latest status echo, sends the command and waits until a
  later status frame echoes the new value — a confirmed write, like an SCPI set followed by a
  query. Values are rounded to the DBC resolution (10 mV, 1 mA) first.
* ``IdentRequest`` is answered by ``Identity`` (serial, model code, firmware version).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import can
import cantools

from labdcs.drivers.base import Identity, InstrumentError, OutputLimits, OutputReading, PowerSupplyDriver
from labdcs.drivers.canids import NODE_ID_BITS, NODE_ID_MASK

__all__ = ["NODE_ID_BITS", "NODE_ID_MASK", "CanPsuDriver"]

log = logging.getLogger(__name__)

NODE_IDS = range(1, NODE_ID_MASK + 1)
CHANNELS = range(1, 3)
#: Ratings per channel (the DBC signal ranges of ChNCommand).
MAX_VOLTAGE = 60.0
MAX_CURRENT = 5.0
#: Status period of the node (DBC attribute GenMsgCycleTime of ChNStatus).
STATUS_PERIOD_S = 0.1
MANUFACTURER = "labdcs"
FAULT_SIGNALS = {
    "FaultOverTemp": "over_temperature",
    "FaultOverVoltage": "over_voltage",
    "FaultInterlock": "interlock",
    "FaultInternal": "internal",
}
IDENTITY_ITEM = 1


def default_dbc_text() -> str:
    """The DBC shipped with :mod:`labdcs_dummy` (``can/labdcs_canpsu.dbc``)."""
    return resources.files("labdcs_dummy").joinpath("can", "labdcs_canpsu.dbc").read_text(encoding="utf-8")


def load_database(dbc: str | Path | None = None) -> Any:
    """Parse the DBC (the shipped one unless a path is given)."""
    try:
        if dbc is None:
            return cantools.database.load_string(default_dbc_text(), database_format="dbc", strict=True)
        return cantools.database.load_file(str(dbc), database_format="dbc", strict=True)
    except Exception as exc:
        raise InstrumentError(
            f"canpsu: cannot load the DBC file {dbc or 'labdcs_canpsu.dbc'}: {exc}"
        ) from exc


@dataclass(frozen=True)
class ChannelStatus:
    """One decoded ``ChNStatus`` frame, stamped with the local monotonic time it arrived."""

    voltage: float
    current: float
    voltage_setpoint: float
    current_limit: float
    output_on: bool
    cc_mode: bool
    faults: frozenset[str]
    received_at: float
    sequence: int


def _quantize(value: float, lsb: float) -> float:
    """Round half up to the signal resolution, as the firmware would store it."""
    return round(math.floor(value / lsb + 0.5) * lsb, 9)


class CanPsuDriver(PowerSupplyDriver):
    """The labdcs CAN supply at ``node_id`` on one CAN interface (channels 1 and 2)."""

    reports_trips = True

    name = "canpsu"

    def __init__(
        self,
        interface: str = "socketcan",
        channel: str = "can0",
        bitrate: int = 500000,
        node_id: int = 1,
        timeout_s: float = 2.0,
        status_timeout_s: float = 3 * STATUS_PERIOD_S,
        dbc: str | Path | None = None,
        simulator: Any = None,
    ) -> None:
        if node_id not in NODE_IDS:
            raise InstrumentError(f"canpsu: node id {node_id} is outside 1..{NODE_ID_MASK}")
        if not (timeout_s > 0 and status_timeout_s > 0):
            raise InstrumentError("canpsu: timeouts must be > 0 s")
        self.interface = interface
        self.channel = channel
        self.bitrate = bitrate
        self.node_id = node_id
        self.timeout_s = float(timeout_s)
        self.status_timeout_s = float(status_timeout_s)
        #: A simulated node (labdcs_dummy.can_node.CanPsuNode) kept alive with the driver; it
        #: is not stopped by close(), as a real supply does not switch off when the PC lets go.
        self.simulator = simulator
        self._db = load_database(dbc)
        self._command_messages = {ch: self._db.get_message_by_name(f"Ch{ch}Command") for ch in CHANNELS}
        self._status_channel = {self._db.get_message_by_name(f"Ch{ch}Status").frame_id: ch for ch in CHANNELS}
        self._ident_request = self._db.get_message_by_name("IdentRequest")
        self._identity_message = self._db.get_message_by_name("Identity")
        model_signal = self._identity_message.get_signal_by_name("ModelCode")
        self._model_names: dict[int, str] = {int(k): str(v) for k, v in (model_signal.choices or {}).items()}
        self._bus: Any = None
        self._rx_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._status: dict[int, ChannelStatus] = {}
        self._identity: Identity | None = None
        self._sequence = 0
        self._rx_error: str | None = None

    @property
    def label(self) -> str:
        """How error messages name this instrument."""
        return f"canpsu node {self.node_id} on {self.interface}:{self.channel}"

    # --- connection -----------------------------------------------------------------------

    def open(self) -> None:
        if self._bus is not None:
            return
        try:
            # Thread-safe wrapper: the receive thread and the caller's sends share the bus.
            bus = can.ThreadSafeBus(interface=self.interface, channel=self.channel, bitrate=self.bitrate)
        except Exception as exc:
            raise InstrumentError(f"{self.label}: cannot open the CAN interface: {exc}") from exc
        self._bus = bus
        self._stop.clear()
        with self._cond:
            self._status.clear()
            self._rx_error = None
        self._rx_thread = threading.Thread(
            target=self._receive_loop, args=(bus,), name=f"canpsu-rx-{self.node_id}", daemon=True
        )
        self._rx_thread.start()
        try:
            self._fresh_status(CHANNELS.start)  # proves that the node is there
        except InstrumentError:
            self.close()
            raise

    def close(self) -> None:
        self._stop.set()
        thread, self._rx_thread = self._rx_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        bus, self._bus = self._bus, None
        if bus is not None:
            try:
                bus.shutdown()
            except Exception as exc:
                log.debug("%s: ignoring error while closing: %s", self.label, exc)

    def _receive_loop(self, bus: Any) -> None:
        """Keep the latest status per channel and the latest identity; runs until close()."""
        while not self._stop.is_set():
            try:
                message = bus.recv(timeout=0.05)
            except Exception as exc:
                with self._cond:
                    self._rx_error = str(exc) or type(exc).__name__
                    self._cond.notify_all()
                self._stop.wait(0.1)  # a broken interface must not spin the CPU
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: Any) -> None:
        if message.is_extended_id or message.is_error_frame or message.is_remote_frame:
            return
        if message.arbitration_id & NODE_ID_MASK != self.node_id:
            return
        base = message.arbitration_id & ~NODE_ID_MASK
        try:
            if base in self._status_channel:
                self._store_status(self._status_channel[base], message.data)
            elif base == self._identity_message.frame_id:
                self._store_identity(message.data)
        except Exception as exc:  # a garbled frame is dropped; staleness reports the consequence
            log.warning(
                "%s: undecodable frame 0x%03X %s: %s", self.label, message.arbitration_id, message.data, exc
            )

    def _store_status(self, channel: int, data: bytes) -> None:
        message = self._db.get_message_by_name(f"Ch{channel}Status")
        fields = message.decode(bytes(data), decode_choices=False, scaling=True)
        with self._cond:
            self._sequence += 1
            self._status[channel] = ChannelStatus(
                voltage=float(fields["VoltageMeas"]),
                current=float(fields["CurrentMeas"]),
                voltage_setpoint=float(fields["VoltageSetEcho"]),
                current_limit=float(fields["CurrentLimitEcho"]),
                output_on=bool(fields["OutputOn"]),
                cc_mode=bool(fields["CcMode"]),
                faults=frozenset(name for signal, name in FAULT_SIGNALS.items() if fields[signal]),
                received_at=time.monotonic(),
                sequence=self._sequence,
            )
            self._rx_error = None
            self._cond.notify_all()

    def _store_identity(self, data: bytes) -> None:
        fields = self._identity_message.decode(bytes(data), decode_choices=False)
        code = int(fields["ModelCode"])
        identity = Identity(
            manufacturer=MANUFACTURER,
            model=self._model_names.get(code, f"model code {code}"),
            serial=str(int(fields["Serial"])),
            firmware=f"{int(fields['FwMajor'])}.{int(fields['FwMinor'])}.{int(fields['FwPatch'])}",
        )
        with self._cond:
            self._sequence += 1
            self._identity = identity
            self._cond.notify_all()

    # --- helpers --------------------------------------------------------------------------

    def _require_bus(self) -> Any:
        if self._bus is None:
            self.open()
        return self._bus

    def _send(self, message_name: str, frame_id: int, data: bytes) -> None:
        bus = self._require_bus()
        frame = can.Message(arbitration_id=frame_id | self.node_id, data=data, is_extended_id=False)
        try:
            bus.send(frame, timeout=self.timeout_s)
        except Exception as exc:
            raise InstrumentError(f"{self.label}: cannot send {message_name}: {exc}") from exc

    def _wait(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout_s)

    def _not_answering(self, what: str, timeout_s: float) -> InstrumentError:
        detail = f" (CAN interface error: {self._rx_error})" if self._rx_error else ""
        return InstrumentError(f"{self.label}: not answering: no {what} within {timeout_s:g} s{detail}")

    def _fresh_status(self, channel: int) -> ChannelStatus:
        """The latest status of ``channel`` if younger than status_timeout_s, else wait for one."""
        self._require_bus()

        def fresh() -> bool:
            status = self._status.get(channel)
            return status is not None and time.monotonic() - status.received_at <= self.status_timeout_s

        if not self._wait(fresh, self.status_timeout_s):
            raise self._not_answering(f"status frame for channel {channel}", self.status_timeout_s)
        with self._cond:
            return self._status[channel]

    def _check_channel(self, channel: int) -> None:
        if channel not in CHANNELS:
            raise InstrumentError(f"{self.label}: channel {channel!r} does not exist (channels 1..2)")

    def _command(
        self,
        channel: int,
        action: str,
        *,
        voltage: float | None = None,
        current: float | None = None,
        output: bool | None = None,
    ) -> None:
        """Send ChNCommand with one setting changed and wait for the status echo to confirm it."""
        self._check_channel(channel)
        latest = self._fresh_status(channel)
        message = self._command_messages[channel]
        volts = latest.voltage_setpoint if voltage is None else voltage
        amps = latest.current_limit if current is None else current
        enable = latest.output_on if output is None else output
        volts_lsb = message.get_signal_by_name("VoltageSet").scale
        amps_lsb = message.get_signal_by_name("CurrentLimit").scale
        volts = _quantize(volts, volts_lsb)
        amps = _quantize(amps, amps_lsb)
        try:
            data = message.encode(
                {"VoltageSet": volts, "CurrentLimit": amps, "OutputEnable": int(enable), "ClearFaults": 0},
                strict=True,
            )
        except Exception as exc:
            raise InstrumentError(f"{self.label}: {action}: {exc}") from exc
        with self._cond:
            sent_after = self._sequence
        self._send(message.name, message.frame_id, data)

        def echoed(status: ChannelStatus) -> bool:
            return (
                abs(status.voltage_setpoint - volts) <= volts_lsb / 2
                and abs(status.current_limit - amps) <= amps_lsb / 2
                and status.output_on == enable
            )

        def settled() -> bool:
            # A later frame that echoes the command, or shows a latched fault that keeps the output off.
            status = self._status.get(channel)
            blocked = enable and status is not None and bool(status.faults)
            return status is not None and status.sequence > sent_after and (echoed(status) or blocked)

        self._wait(settled, self.timeout_s)
        with self._cond:
            status = self._status.get(channel)
        if status is not None and status.sequence > sent_after and echoed(status):
            return
        if status is None or time.monotonic() - status.received_at > self.status_timeout_s:
            raise self._not_answering(f"status frame confirming '{action}'", self.timeout_s)
        faults = f"; latched faults: {', '.join(sorted(status.faults))}" if status.faults else ""
        raise InstrumentError(
            f"{self.label}: {action}: not confirmed; channel {channel} echoes "
            f"{status.voltage_setpoint:g} V, {status.current_limit:g} A, "
            f"output {'on' if status.output_on else 'off'}{faults}"
        )

    # --- Driver API -----------------------------------------------------------------------

    def identify(self) -> Identity:
        self._require_bus()
        with self._cond:
            asked_after = self._sequence
            self._identity = None
        self._send(
            self._ident_request.name,
            self._ident_request.frame_id,
            self._ident_request.encode({"Item": IDENTITY_ITEM}, strict=True),
        )
        if not self._wait(
            lambda: self._identity is not None and self._sequence > asked_after, self.timeout_s
        ):
            raise self._not_answering("Identity frame answering IdentRequest", self.timeout_s)
        with self._cond:
            assert self._identity is not None
            return self._identity

    def output_limits(self, channel: int) -> OutputLimits:
        self._check_channel(channel)
        return OutputLimits(max_voltage=MAX_VOLTAGE, max_current=MAX_CURRENT)

    def set_voltage(self, channel: int, volts: float) -> None:
        self._check_range(volts, MAX_VOLTAGE, "voltage", "V")
        self._command(channel, f"setting channel {channel} to {volts:g} V", voltage=volts)

    def set_current_limit(self, channel: int, amps: float) -> None:
        self._check_range(amps, MAX_CURRENT, "current limit", "A")
        self._command(channel, f"setting the current limit of channel {channel} to {amps:g} A", current=amps)

    def set_output(self, channel: int, on: bool) -> None:
        self._command(channel, f"switching channel {channel} {'on' if on else 'off'}", output=on)

    def read(self, channel: int) -> OutputReading:
        status = self.status(channel)
        return OutputReading(
            voltage_setpoint=status.voltage_setpoint,
            current_limit=status.current_limit,
            voltage=status.voltage,
            current=status.current,
            output_on=status.output_on,
            in_compliance=status.cc_mode,
            tripped=", ".join(sorted(status.faults)) or None,
        )

    def clear_trip(self, channel: int) -> None:
        self.clear_faults(channel)

    def status(self, channel: int) -> ChannelStatus:
        """The latest full status of a channel, including fault bits."""
        self._check_channel(channel)
        return self._fresh_status(channel)

    def clear_faults(self, channel: int) -> None:
        """Clear latched faults (ClearFaults bit); the output stays off until switched on."""
        self._check_channel(channel)
        latest = self._fresh_status(channel)
        message = self._command_messages[channel]
        data = message.encode(
            {
                "VoltageSet": latest.voltage_setpoint,
                "CurrentLimit": latest.current_limit,
                "OutputEnable": 0,
                "ClearFaults": 1,
            },
            strict=True,
        )
        with self._cond:
            sent_after = self._sequence
        self._send(message.name, message.frame_id, data)

        def cleared() -> bool:
            status = self._status.get(channel)
            return status is not None and status.sequence > sent_after and not status.faults

        if not self._wait(cleared, self.timeout_s):
            raise InstrumentError(
                f"{self.label}: faults of channel {channel} did not clear within {self.timeout_s:g} s"
            )

    def _check_range(self, value: float, high: float, what: str, unit: str) -> None:
        if not math.isfinite(value) or not 0.0 <= value <= high:
            raise InstrumentError(
                f"{self.label}: {what} {value!r} {unit} is outside the range 0..{high:g} {unit}"
            )
