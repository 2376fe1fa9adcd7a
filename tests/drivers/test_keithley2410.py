"""Keithley 2410 driver against its TCP simulator (pyvisa-py, raw socket)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs.drivers.base import InstrumentError, OutputLimits
from labdcs.drivers.keithley2410 import Keithley2410Driver
from labdcs_dummy.instruments import Keithley2410Model
from labdcs_dummy.scpi_server import ScpiServer

TIMEOUT_S = 0.3
Scpi = Callable[..., str | None]


@pytest.fixture
def smu(keithley_server: ScpiServer) -> Iterator[Keithley2410Driver]:
    driver = Keithley2410Driver(keithley_server.resource, "@py", timeout_s=TIMEOUT_S)
    driver.open()
    yield driver
    driver.close()


def model(server: ScpiServer) -> Keithley2410Model:
    instrument = server.instrument
    assert isinstance(instrument, Keithley2410Model)
    return instrument


def test_identify_parses_idn(smu: Keithley2410Driver) -> None:
    identity = smu.identify()
    assert identity.manufacturer == "KEITHLEY INSTRUMENTS INC."
    assert identity.model == "MODEL 2410"
    assert identity.serial == "4099999"
    assert identity.firmware.startswith("C33")


def test_limits_are_the_2410_ratings(smu: Keithley2410Driver) -> None:
    assert smu.output_limits(1) == OutputLimits(max_voltage=1100.0, max_current=1.05, min_voltage=-1100.0)
    with pytest.raises(InstrumentError, match="channel 2 does not exist"):
        smu.output_limits(2)


def test_open_is_idempotent_and_close_never_raises(keithley_server: ScpiServer) -> None:
    driver = Keithley2410Driver(keithley_server.resource, timeout_s=TIMEOUT_S)
    driver.open()
    driver.open()
    assert driver.is_open
    driver.close()
    driver.close()
    assert not driver.is_open
    keithley_server.stop()
    driver.close()


def test_setpoints_read_back_and_voltage_follows_within_noise(smu: Keithley2410Driver) -> None:
    smu.set_current_limit(1, 10e-6)
    smu.set_voltage(1, 100.0)
    smu.set_output(1, True)
    reading = smu.read(1)
    assert reading.output_on
    assert reading.voltage_setpoint == pytest.approx(100.0)
    assert reading.current_limit == pytest.approx(10e-6)
    assert reading.voltage == pytest.approx(100.0, abs=0.01)
    # 1 GOhm default load: 100 nA, plus ~1 nA leakage noise.
    assert reading.current == pytest.approx(100e-9, abs=6e-9)
    assert not reading.in_compliance

    smu.set_voltage(1, -250.0)
    assert smu.read(1).voltage == pytest.approx(-250.0, abs=0.02)


def test_driver_sends_only_commands_the_simulator_knows(
    smu: Keithley2410Driver, keithley_server: ScpiServer
) -> None:
    smu.set_output(1, True)
    smu.read(1)  # writes :SENSE:... before :READ?; an unknown one would only show in the queue
    smu.identify()
    assert not model(keithley_server).errors


def test_output_off_reads_zero_without_switching_the_output_on(
    smu: Keithley2410Driver, keithley_server: ScpiServer
) -> None:
    smu.set_voltage(1, 500.0)
    reading = smu.read(1)
    assert not reading.output_on
    assert reading.voltage_setpoint == pytest.approx(500.0)
    assert (reading.voltage, reading.current) == (0.0, 0.0)
    # :MEASure? would have switched a real 2410 on; the driver must never do that.
    assert model(keithley_server).state.output is False


def test_load_sets_the_current(smu: Keithley2410Driver, keithley_server: ScpiServer, scpi: Scpi) -> None:
    scpi(keithley_server, "SIM:LOAD 1e6")
    smu.set_current_limit(1, 1e-3)
    smu.set_voltage(1, 10.0)
    smu.set_output(1, True)
    reading = smu.read(1)
    assert reading.current == pytest.approx(10.0 / 1e6, abs=6e-9)
    assert not reading.in_compliance


def test_compliance_when_the_load_draws_more_than_the_limit(
    smu: Keithley2410Driver, keithley_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(keithley_server, "SIM:LOAD 1e6")
    smu.set_current_limit(1, 1e-6)
    smu.set_voltage(1, 100.0)
    smu.set_output(1, True)
    reading = smu.read(1)
    assert reading.in_compliance
    assert reading.current == pytest.approx(1e-6, abs=6e-9)
    assert reading.voltage == pytest.approx(1.0, abs=0.01)  # I_limit * R
    assert reading.voltage_setpoint == pytest.approx(100.0)


def test_compliance_capped_at_21_mA_above_21_V(
    smu: Keithley2410Driver, keithley_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(keithley_server, "SIM:LOAD 1000")
    smu.set_current_limit(1, 0.5)
    smu.set_voltage(1, 100.0)
    smu.set_output(1, True)
    reading = smu.read(1)
    assert reading.in_compliance
    assert reading.current == pytest.approx(0.021, rel=1e-3)
    assert reading.voltage == pytest.approx(21.0, rel=1e-3)


def test_out_of_range_setpoints_are_refused_before_sending(
    smu: Keithley2410Driver, keithley_server: ScpiServer
) -> None:
    with pytest.raises(InstrumentError, match=r"voltage 1200.* -1100\.\.1100"):
        smu.set_voltage(1, 1200.0)
    with pytest.raises(InstrumentError, match="current limit"):
        smu.set_current_limit(1, 2.0)
    assert model(keithley_server).state.voltage == 0.0


def test_errors_reported_by_the_instrument_fail_the_setting(
    smu: Keithley2410Driver, keithley_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(keithley_server, ":SOUR:VOLT 5000")  # rejected by the instrument: -222 in its queue
    with pytest.raises(InstrumentError, match=r'-222,"Data out of range"'):
        smu.set_output(1, False)
    assert smu.clear_errors() == []


def test_open_refuses_to_change_mode_of_a_live_current_source(
    keithley_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(keithley_server, ":SOUR:FUNC CURR;:OUTP ON")
    driver = Keithley2410Driver(keithley_server.resource, timeout_s=TIMEOUT_S)
    with pytest.raises(InstrumentError, match="refusing to switch it to voltage mode"):
        driver.open()
    assert model(keithley_server).state.function == "CURR"

    scpi(keithley_server, ":OUTP OFF")
    driver.open()
    assert model(keithley_server).state.function == "VOLT"
    driver.close()


def test_muted_instrument_times_out_with_a_clear_message(
    smu: Keithley2410Driver, keithley_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(keithley_server, "SIM:MUTE ON")
    started = time.monotonic()
    with pytest.raises(InstrumentError) as failure:
        smu.read(1)
    elapsed = time.monotonic() - started
    message = str(failure.value)
    assert "keithley2410" in message and keithley_server.resource in message
    assert "not answering" in message and "0.3 s" in message
    assert elapsed < TIMEOUT_S + 1.0

    scpi(keithley_server, "SIM:MUTE OFF")
    assert smu.read(1).voltage_setpoint == 0.0  # reconnects by itself


def test_reconnect_after_the_simulator_restarts_keeps_the_instrument_state(
    smu: Keithley2410Driver, keithley_server: ScpiServer, wait_until: Callable[..., Any]
) -> None:
    smu.set_current_limit(1, 1e-3)
    smu.set_voltage(1, 50.0)
    smu.set_output(1, True)
    keithley_server.stop()
    with pytest.raises(InstrumentError, match="keithley2410"):
        smu.read(1)
    keithley_server.start()
    reading = wait_until(lambda: _try_read(smu), what="the driver to reconnect")
    assert reading.output_on
    assert reading.voltage == pytest.approx(50.0, abs=0.01)


def test_open_fails_clearly_when_nothing_listens(keithley_server: ScpiServer) -> None:
    resource = keithley_server.resource
    keithley_server.stop()
    driver = Keithley2410Driver(resource, timeout_s=TIMEOUT_S)
    with pytest.raises(InstrumentError, match="connection refused"):
        driver.open()
    assert not driver.is_open


def _try_read(driver: Keithley2410Driver) -> Any:
    try:
        return driver.read(1)
    except InstrumentError:
        return None
