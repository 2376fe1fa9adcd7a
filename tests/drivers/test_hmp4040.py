"""R&S HMP4040 driver against its TCP simulator (pyvisa-py, raw socket)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs.drivers.base import InstrumentError, OutputLimits
from labdcs.drivers.hmp4040 import HMP4040Driver
from labdcs_dummy.instruments import HMP4040Model
from labdcs_dummy.scpi_server import ScpiServer

TIMEOUT_S = 0.3
Scpi = Callable[..., str | None]


@pytest.fixture
def psu(hmp_server: ScpiServer) -> Iterator[HMP4040Driver]:
    driver = HMP4040Driver(hmp_server.resource, timeout_s=TIMEOUT_S)
    driver.open()
    yield driver
    driver.close()


def model(server: ScpiServer) -> HMP4040Model:
    instrument = server.instrument
    assert isinstance(instrument, HMP4040Model)
    return instrument


def test_identify_parses_idn(psu: HMP4040Driver) -> None:
    identity = psu.identify()
    assert (identity.manufacturer, identity.model, identity.serial) == ("ROHDE&SCHWARZ", "HMP4040", "123456")
    assert identity.firmware == "HW50020001/SW2.51"


def test_limits_and_channels(psu: HMP4040Driver) -> None:
    for channel in (1, 2, 3, 4):
        assert psu.output_limits(channel) == OutputLimits(max_voltage=32.0, max_current=10.0)
    with pytest.raises(InstrumentError, match=r"channel 5 does not exist \(channels 1\.\.4\)"):
        psu.read(5)
    with pytest.raises(InstrumentError, match=r"voltage 33.*0\.\.32"):
        psu.set_voltage(1, 33.0)


def test_setpoints_read_back_per_channel(psu: HMP4040Driver) -> None:
    psu.set_voltage(2, 5.0)
    psu.set_current_limit(2, 1.0)
    psu.set_output(2, True)
    reading = psu.read(2)
    assert reading.output_on
    assert (reading.voltage_setpoint, reading.current_limit) == (5.0, 1.0)
    assert reading.voltage == pytest.approx(5.0, abs=0.005)
    assert reading.current == pytest.approx(0.5, abs=0.001)  # 10 ohm default load
    assert not reading.in_compliance
    other = psu.read(1)
    assert not other.output_on and other.voltage == 0.0 and other.voltage_setpoint == 0.0


def test_driver_sends_only_commands_the_simulator_knows(psu: HMP4040Driver, hmp_server: ScpiServer) -> None:
    psu.set_output(4, True)
    psu.read(4)
    psu.identify()
    assert not model(hmp_server).errors


def test_load_sets_the_current(psu: HMP4040Driver, hmp_server: ScpiServer, scpi: Scpi) -> None:
    scpi(hmp_server, "SIM:LOAD 2,(@3)")
    psu.set_current_limit(3, 10.0)
    psu.set_voltage(3, 6.0)
    psu.set_output(3, True)
    reading = psu.read(3)
    assert reading.current == pytest.approx(3.0, abs=0.001)
    assert reading.voltage == pytest.approx(6.0, abs=0.005)
    assert not reading.in_compliance


def test_current_limit_drops_the_voltage_and_reports_compliance(psu: HMP4040Driver) -> None:
    psu.set_current_limit(1, 0.2)
    psu.set_voltage(1, 5.0)
    psu.set_output(1, True)
    reading = psu.read(1)
    assert reading.in_compliance
    assert reading.current == pytest.approx(0.2, abs=0.001)
    assert reading.voltage == pytest.approx(2.0, abs=0.005)  # I_limit * 10 ohm


def test_160_W_power_limit(psu: HMP4040Driver, hmp_server: ScpiServer, scpi: Scpi) -> None:
    scpi(hmp_server, "SIM:LOAD 1,(@4)")
    psu.set_current_limit(4, 10.0)
    psu.set_voltage(4, 32.0)
    psu.set_output(4, True)
    reading = psu.read(4)
    assert reading.in_compliance
    assert reading.current == pytest.approx(160.0 / 32.0, abs=0.001)


def test_set_output_switches_exactly_one_channel(
    psu: HMP4040Driver, hmp_server: ScpiServer, scpi: Scpi
) -> None:
    for channel in (1, 2):
        psu.set_voltage(channel, 3.0)
        psu.set_output(channel, True)
    psu.set_output(1, False)
    assert [psu.read(ch).output_on for ch in (1, 2, 3, 4)] == [False, True, False, False]

    scpi(hmp_server, "OUTP:GEN 0")  # someone presses the master Output key on the front panel
    assert [psu.read(ch).output_on for ch in (1, 2, 3, 4)] == [False, False, False, False]
    psu.set_output(3, True)  # must not bring channel 2 back
    assert [psu.read(ch).output_on for ch in (1, 2, 3, 4)] == [False, False, True, False]
    assert model(hmp_server).operating_point(2)[0] == 0.0


def test_muted_instrument_times_out_with_a_clear_message(
    psu: HMP4040Driver, hmp_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(hmp_server, "SIM:MUTE ON")
    started = time.monotonic()
    with pytest.raises(InstrumentError, match=r"hmp4040 at .*reading channel 1: no answer within 0\.3 s"):
        psu.read(1)
    assert time.monotonic() - started < TIMEOUT_S + 1.0
    scpi(hmp_server, "SIM:MUTE OFF")
    assert psu.read(1).current_limit == pytest.approx(0.1)


def test_reconnect_after_the_simulator_restarts(
    psu: HMP4040Driver, hmp_server: ScpiServer, wait_until: Callable[..., Any]
) -> None:
    psu.set_current_limit(2, 2.0)
    psu.set_voltage(2, 12.0)
    psu.set_output(2, True)
    hmp_server.stop()
    with pytest.raises(InstrumentError):
        psu.read(2)
    hmp_server.start()

    def reconnected() -> Any:
        try:
            return psu.read(2)
        except InstrumentError:
            return None

    reading = wait_until(reconnected, what="the driver to reconnect")
    assert reading.output_on and reading.voltage == pytest.approx(12.0, abs=0.005)
