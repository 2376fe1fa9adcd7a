"""A simulated labdcs CAN power supply node (``can/labdcs_canpsu.dbc``) on a python-can bus.

It behaves like the firmware the DBC describes: every ``status_period_s`` it publishes
``Ch1Status`` and ``Ch2Status`` (measured V and I of a resistive load with noise, output state,
constant-current flag, latched faults, setpoint echo); it applies ``ChNCommand`` frames and
answers ``IdentRequest`` with ``Identity``. Frame ids are the DBC ids plus the node id.

Made for python-can's ``virtual`` interface: the driver and the node open the same channel name
in one process. ``mute = True`` makes the node go silent (no status, no answers, commands
ignored) — the "instrument not answering" fault; ``set_fault()`` latches a fault bit, which
switches the channel off until a command with ClearFaults=1.

    node = CanPsuNode(channel="bench-vcan", node_id=1)
    node.start()
    ...
    node.stop()
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import can
import cantools

log = logging.getLogger(__name__)

NODE_ID_MASK = 0x3F
CHANNELS = (1, 2)
MAX_VOLTAGE = 60.0
MAX_CURRENT = 5.0
FAULTS = {
    "over_temperature": "FaultOverTemp",
    "over_voltage": "FaultOverVoltage",
    "interlock": "FaultInterlock",
    "internal": "FaultInternal",
}
MODEL_CODE = 1


def load_database() -> Any:
    """The DBC shipped next to this module."""
    text = resources.files("labdcs_dummy").joinpath("can", "labdcs_canpsu.dbc").read_text(encoding="utf-8")
    return cantools.database.load_string(text, database_format="dbc", strict=True)


@dataclass
class ChannelState:
    """Settings and bench conditions of one output."""

    voltage_set: float = 0.0
    current_limit: float = 0.5
    enabled: bool = False
    load_ohm: float = 10.0
    faults: set[str] = field(default_factory=set)

    @property
    def output_on(self) -> bool:
        return self.enabled and not self.faults


class CanPsuNode:
    """The simulated supply; thread-safe for the test thread poking at it while it runs."""

    def __init__(
        self,
        channel: str = "labdcs-vcan",
        node_id: int = 1,
        interface: str = "virtual",
        status_period_s: float = 0.1,
        load_ohm: float = 10.0,
        serial: int = 24_000_123,
        firmware: tuple[int, int, int] = (1, 2, 0),
        seed: int | None = None,
    ) -> None:
        if not 1 <= node_id <= NODE_ID_MASK:
            raise ValueError(f"node id {node_id} outside 1..{NODE_ID_MASK}")
        self.channel = channel
        self.interface = interface
        self.node_id = node_id
        self.status_period_s = status_period_s
        self.serial = serial
        self.firmware = firmware
        #: True: the node is silent and deaf (the "not answering" fault).
        self.mute = False
        #: Measurement noise on/off.
        self.noise = True
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._channels = {ch: ChannelState(load_ohm=load_ohm) for ch in CHANNELS}
        self._db = load_database()
        self._command_messages = {ch: self._db.get_message_by_name(f"Ch{ch}Command") for ch in CHANNELS}
        self._commands = {message.frame_id: ch for ch, message in self._command_messages.items()}
        self._status = {ch: self._db.get_message_by_name(f"Ch{ch}Status") for ch in CHANNELS}
        self._ident_request = self._db.get_message_by_name("IdentRequest")
        self._identity = self._db.get_message_by_name("Identity")
        self._bus: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- control ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Connect to the bus and start publishing (idempotent)."""
        if self.running:
            return
        self._bus = can.ThreadSafeBus(interface=self.interface, channel=self.channel)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"canpsu-node-{self.node_id}", daemon=True)
        self._thread.start()
        log.info("canpsu node %d on %s:%s started", self.node_id, self.interface, self.channel)

    def stop(self) -> None:
        """Stop publishing and leave the bus; the channel settings are kept."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None

    def set_load(self, channel: int, ohm: float) -> None:
        if ohm <= 0:
            raise ValueError("load must be > 0 ohm")
        with self._lock:
            self._channels[channel].load_ohm = ohm

    def set_fault(self, channel: int, fault: str, active: bool = True) -> None:
        """Latch (or drop) a fault: one of over_temperature, over_voltage, interlock, internal."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            state = self._channels[channel]
            if active:
                state.faults.add(fault)
                state.enabled = False
            else:
                state.faults.discard(fault)

    def channel_state(self, channel: int) -> ChannelState:
        """A copy of a channel's settings (for assertions)."""
        with self._lock:
            state = self._channels[channel]
            return replace(state, faults=set(state.faults))

    def __enter__(self) -> CanPsuNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- behaviour --------------------------------------------------------------------------

    def operating_point(self, channel: int) -> tuple[float, float, bool]:
        """(voltage, current, constant-current) of a channel into its load."""
        with self._lock:
            state = self._channels[channel]
            if not state.output_on:
                return 0.0, 0.0, False
            current = state.voltage_set / state.load_ohm
            if current > state.current_limit:
                return state.current_limit * state.load_ohm, state.current_limit, True
            return state.voltage_set, current, False

    def _run(self) -> None:
        bus = self._bus
        next_status = time.monotonic()
        while not self._stop.is_set():
            wait = max(0.0, min(next_status - time.monotonic(), 0.05))
            try:
                message = bus.recv(timeout=wait)
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("canpsu node %d: receive failed: %s", self.node_id, exc)
                self._stop.wait(0.1)
                continue
            if message is not None and not self.mute:
                self._receive(message)
            now = time.monotonic()
            if now >= next_status:
                if not self.mute:
                    self._publish_status()
                next_status += self.status_period_s
                if next_status < now:  # fell behind (e.g. a stalled machine): do not burst
                    next_status = now + self.status_period_s

    def _receive(self, message: Any) -> None:
        if message.is_extended_id or message.is_remote_frame or message.is_error_frame:
            return
        if message.arbitration_id & NODE_ID_MASK != self.node_id:
            return
        base = message.arbitration_id & ~NODE_ID_MASK
        try:
            if base in self._commands:
                self._apply_command(self._commands[base], bytes(message.data))
            elif base == self._ident_request.frame_id:
                self._send(self._identity, self._identity_fields())
        except Exception as exc:  # like firmware: a malformed frame is ignored
            log.warning(
                "canpsu node %d: ignoring frame 0x%03X: %s", self.node_id, message.arbitration_id, exc
            )

    def _apply_command(self, channel: int, data: bytes) -> None:
        fields = self._command_messages[channel].decode(data, decode_choices=False)
        with self._lock:
            state = self._channels[channel]
            if fields["ClearFaults"]:
                state.faults.clear()
            state.voltage_set = min(max(float(fields["VoltageSet"]), 0.0), MAX_VOLTAGE)
            state.current_limit = min(max(float(fields["CurrentLimit"]), 0.0), MAX_CURRENT)
            state.enabled = bool(fields["OutputEnable"]) and not state.faults

    def _identity_fields(self) -> dict[str, int]:
        major, minor, patch = self.firmware
        return {
            "Serial": self.serial,
            "ModelCode": MODEL_CODE,
            "FwMajor": major,
            "FwMinor": minor,
            "FwPatch": patch,
        }

    def _publish_status(self) -> None:
        for channel in CHANNELS:
            voltage, current, cc_mode = self.operating_point(channel)
            if voltage:
                voltage += self._rng.gauss(0.0, 2e-3) if self.noise else 0.0
            if current:
                current += self._rng.gauss(0.0, 0.2e-3) if self.noise else 0.0
            with self._lock:
                state = self._channels[channel]
                fields: dict[str, float] = {
                    "VoltageMeas": min(max(voltage, 0.0), 65.535),
                    "CurrentMeas": min(max(current, 0.0), 6.5535),
                    "VoltageSetEcho": state.voltage_set,
                    "CurrentLimitEcho": state.current_limit,
                    "OutputOn": int(state.output_on),
                    "CcMode": int(cc_mode),
                }
                for name, signal in FAULTS.items():
                    fields[signal] = int(name in state.faults)
            self._send(self._status[channel], fields)

    def _send(self, message: Any, fields: dict[str, Any]) -> None:
        data = message.encode(fields, strict=True)
        frame = can.Message(arbitration_id=message.frame_id | self.node_id, data=data, is_extended_id=False)
        try:
            self._bus.send(frame)
        except Exception as exc:
            log.warning("canpsu node %d: cannot send %s: %s", self.node_id, message.name, exc)
