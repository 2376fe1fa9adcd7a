"""The SCPI drivers on pure pyvisa-sim, with the YAML definitions from labdcs_dummy/visa.

pyvisa-sim answers unknown commands with an entry in SYST:ERR?, which every driver setting
checks: a passing setting proves the YAML covers the commands the driver sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labdcs.drivers.base import InstrumentError
from labdcs.drivers.envmon import EnvMonDriver
from labdcs.drivers.hmp4040 import HMP4040Driver
from labdcs.drivers.keithley2410 import Keithley2410Driver
from labdcs.drivers.scpi import ScpiDriver
from labdcs_dummy import VISA_SIM_RESOURCE, visa_sim_path

TIMEOUT_S = 0.3


@pytest.fixture
def drivers() -> Iterator[list[ScpiDriver]]:
    opened: list[ScpiDriver] = []
    yield opened
    for driver in opened:
        driver.close()


def test_visa_sim_path_points_at_the_yaml() -> None:
    library = visa_sim_path("hmp4040")
    assert library.endswith("hmp4040.yaml@sim")
    with pytest.raises(ValueError, match="known: keithley2410, hmp4040, envmon"):
        visa_sim_path("hmp2020")


def test_keithley2410(drivers: list[ScpiDriver]) -> None:
    smu = Keithley2410Driver(VISA_SIM_RESOURCE, visa_sim_path("keithley2410"), TIMEOUT_S)
    drivers.append(smu)
    assert smu.identify().model == "MODEL 2410"
    smu.set_voltage(1, 123.5)
    smu.set_current_limit(1, 1e-3)
    smu.set_output(1, True)
    reading = smu.read(1)
    assert (reading.voltage_setpoint, reading.current_limit, reading.output_on) == (123.5, 1e-3, True)
    assert reading.voltage == 10.0  # the static :READ? of the YAML
    smu.set_output(1, False)
    assert smu.read(1).output_on is False


def test_hmp4040(drivers: list[ScpiDriver]) -> None:
    psu = HMP4040Driver(VISA_SIM_RESOURCE, visa_sim_path("hmp4040"), TIMEOUT_S)
    drivers.append(psu)
    assert psu.identify().model == "HMP4040"
    psu.set_voltage(3, 12.5)
    psu.set_current_limit(3, 2.5)
    psu.set_output(3, True)
    reading = psu.read(3)
    assert (reading.voltage_setpoint, reading.current_limit, reading.output_on) == (12.5, 2.5, True)
    untouched = psu.read(1)
    assert (untouched.voltage_setpoint, untouched.output_on) == (0.0, False)


def test_envmon(drivers: list[ScpiDriver]) -> None:
    monitor = EnvMonDriver(VISA_SIM_RESOURCE, visa_sim_path("envmon"), TIMEOUT_S, channels=2)
    drivers.append(monitor)
    assert monitor.identify().model == "ENVMON-SHT31"
    for channel in (1, 2):
        values = monitor.read(channel).values
        assert 20.5 <= values["temperature"] <= 21.5
        assert 34.0 <= values["humidity"] <= 36.0


@pytest.mark.filterwarnings("ignore:read string doesn.t end with termination characters")
def test_resource_missing_from_the_yaml_does_not_open() -> None:
    # pyvisa-sim opens any resource name, but nothing answers there.
    driver = Keithley2410Driver("TCPIP::10.9.9.9::5025::SOCKET", visa_sim_path("keithley2410"), TIMEOUT_S)
    with pytest.raises(InstrumentError, match=r"keithley2410 at TCPIP::10\.9\.9\.9::5025::SOCKET: .*\*IDN\?"):
        driver.open()
    assert not driver.is_open
