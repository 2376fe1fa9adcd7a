"""CAN power supply driver against the simulated node on a python-can virtual bus."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import can
import pytest

from labdcs.drivers.base import InstrumentError, OutputLimits
from labdcs.drivers.canpsu import CanPsuDriver, load_database
from labdcs_dummy.can_node import CanPsuNode

STATUS_TIMEOUT_S = 0.3


@pytest.fixture
def psu(can_node: CanPsuNode, can_channel: str) -> Iterator[CanPsuDriver]:
    driver = CanPsuDriver(interface="virtual", channel=can_channel, node_id=can_node.node_id, timeout_s=1.0)
    driver.open()
    yield driver
    driver.close()


def test_dbc_describes_the_protocol() -> None:
    db = load_database()
    names = {message.name for message in db.messages}
    assert names == {"Ch1Command", "Ch2Command", "Ch1Status", "Ch2Status", "IdentRequest", "Identity"}
    assert all(message.frame_id & 0x3F == 0 for message in db.messages)  # node id goes in the low bits
    status = db.get_message_by_name("Ch1Status")
    assert status.cycle_time == 100
    assert {"VoltageSetEcho", "CurrentLimitEcho", "OutputOn", "FaultInterlock"} <= {
        s.name for s in status.signals
    }


def test_identify_answers_the_identity_request(psu: CanPsuDriver) -> None:
    identity = psu.identify()
    assert (identity.manufacturer, identity.model) == ("labdcs", "CANPSU-2x60V5A")
    assert (identity.serial, identity.firmware) == ("24000123", "1.2.0")


def test_limits(psu: CanPsuDriver) -> None:
    assert psu.output_limits(1) == psu.output_limits(2) == OutputLimits(max_voltage=60.0, max_current=5.0)
    with pytest.raises(InstrumentError, match="channel 3 does not exist"):
        psu.read(3)


def test_confirmed_setpoints_and_readback(psu: CanPsuDriver, can_node: CanPsuNode) -> None:
    psu.set_voltage(2, 24.0)
    psu.set_current_limit(2, 3.0)
    psu.set_output(2, True)
    # Each setter returned only after the status echo showed it: no waiting needed here.
    state = can_node.channel_state(2)
    assert (state.voltage_set, state.current_limit, state.enabled) == (24.0, 3.0, True)
    reading = psu.read(2)
    assert (reading.voltage_setpoint, reading.current_limit, reading.output_on) == (24.0, 3.0, True)
    assert reading.voltage == pytest.approx(24.0, abs=0.01)
    assert reading.current == pytest.approx(2.4, abs=0.002)  # 10 ohm load
    assert not reading.in_compliance
    assert not psu.read(1).output_on


def test_setpoints_are_rounded_to_the_dbc_resolution(psu: CanPsuDriver) -> None:
    psu.set_voltage(1, 12.345)
    psu.set_current_limit(1, 1.2345)
    reading = psu.read(1)
    assert reading.voltage_setpoint == pytest.approx(12.35)
    assert reading.current_limit == pytest.approx(1.235)


def test_load_above_the_limit_gives_constant_current(
    psu: CanPsuDriver, can_node: CanPsuNode, wait_until: Callable[..., Any]
) -> None:
    psu.set_current_limit(1, 2.0)
    psu.set_voltage(1, 12.0)
    psu.set_output(1, True)
    can_node.set_load(1, 1.0)
    reading = wait_until(lambda: (r := psu.read(1)).in_compliance and r, what="constant-current status")
    assert reading.current == pytest.approx(2.0, abs=0.002)
    assert reading.voltage == pytest.approx(2.0, abs=0.01)


def test_out_of_range_is_refused_without_sending(psu: CanPsuDriver, can_node: CanPsuNode) -> None:
    with pytest.raises(InstrumentError, match=r"voltage 61.*0\.\.60"):
        psu.set_voltage(1, 61.0)
    with pytest.raises(InstrumentError, match="current limit"):
        psu.set_current_limit(1, -0.1)
    assert can_node.channel_state(1).voltage_set == 0.0


def test_latched_fault_blocks_the_output_until_cleared(
    psu: CanPsuDriver, can_node: CanPsuNode, wait_until: Callable[..., Any]
) -> None:
    psu.set_voltage(1, 5.0)
    psu.set_output(1, True)
    can_node.set_fault(1, "interlock")
    status = wait_until(lambda: (s := psu.status(1)).faults and s, what="the fault bit")
    assert status.faults == {"interlock"} and not status.output_on
    started = time.monotonic()
    with pytest.raises(InstrumentError, match="latched faults: interlock"):
        psu.set_output(1, True)
    assert time.monotonic() - started < 0.5  # fails on the first status, not after the timeout
    psu.clear_faults(1)
    psu.set_output(1, True)
    assert psu.read(1).output_on


def test_muted_node_is_not_answering(
    psu: CanPsuDriver, can_node: CanPsuNode, wait_until: Callable[..., Any]
) -> None:
    psu.read(1)
    can_node.mute = True
    started = time.monotonic()

    def read_fails() -> InstrumentError | None:
        try:
            psu.read(1)  # the last frame stays valid for one status timeout
        except InstrumentError as error:
            return error
        return None

    error = wait_until(read_fails, timeout=2.0, what="read() to report the silent node")
    assert time.monotonic() - started < 2 * STATUS_TIMEOUT_S + 0.9
    assert "canpsu node 7 on virtual:" in str(error)
    assert "not answering: no status frame for channel 1 within 0.3 s" in str(error)
    with pytest.raises(InstrumentError, match="not answering"):
        psu.set_voltage(1, 1.0)
    assert can_node.channel_state(1).voltage_set == 0.0

    can_node.mute = False
    psu.set_voltage(1, 1.0)
    assert psu.read(1).voltage_setpoint == pytest.approx(1.0)


def test_open_without_a_node_fails(can_channel: str) -> None:
    driver = CanPsuDriver(interface="virtual", channel=can_channel, node_id=3, timeout_s=0.3)
    with pytest.raises(InstrumentError, match=r"canpsu node 3 .*not answering"):
        driver.open()
    driver.close()


def test_nodes_are_told_apart_by_node_id(can_node: CanPsuNode, can_channel: str) -> None:
    other = CanPsuNode(channel=can_channel, node_id=8, serial=99, seed=8)
    other.start()
    try:
        driver = CanPsuDriver(interface="virtual", channel=can_channel, node_id=8, timeout_s=1.0)
        driver.open()
        assert driver.identify().serial == "99"
        driver.set_voltage(1, 7.5)
        driver.close()
        assert other.channel_state(1).voltage_set == 7.5
        assert can_node.channel_state(1).voltage_set == 0.0
    finally:
        other.stop()


def test_frames_on_the_bus_follow_the_dbc(psu: CanPsuDriver, can_channel: str, can_node: CanPsuNode) -> None:
    db = load_database()
    with can.Bus(interface="virtual", channel=can_channel) as sniffer:
        psu.set_voltage(2, 30.0)
        frames: list[can.Message] = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not any(f.arbitration_id == 0x240 | 7 for f in frames):
            frame = sniffer.recv(timeout=0.1)
            if frame is not None:
                frames.append(frame)
    command = next(f for f in frames if f.arbitration_id == 0x240 | 7)
    fields = db.get_message_by_name("Ch2Command").decode(command.data, decode_choices=False)
    assert fields["VoltageSet"] == pytest.approx(30.0)
    assert fields["OutputEnable"] == 0
