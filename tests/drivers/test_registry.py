"""DriverSettings validation and the driver factory."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labdcs.drivers.base import BidirectionalSourceDriver, PowerSupplyDriver, SensorDriver
from labdcs.drivers.canpsu import CanPsuDriver
from labdcs.drivers.envmon import EnvMonDriver
from labdcs.drivers.hmp4040 import HMP4040Driver
from labdcs.drivers.keithley2410 import Keithley2410Driver
from labdcs.drivers.registry import KNOWN_DRIVERS, DriverSettings, create_driver, driver_class

RESOURCE = "TCPIP::192.0.2.10::5025::SOCKET"


def test_known_drivers_and_kinds() -> None:
    assert {name: kind for name, (_, kind) in KNOWN_DRIVERS.items()} == {
        "keithley2410": "hv",
        "hmp4040": "lv",
        "envmon": "env",
        "canpsu": "lv",
        "psb": "cycler",
        "canbidi": "cycler",
    }
    expected = {"env": SensorDriver, "cycler": BidirectionalSourceDriver}
    for name, (_, kind) in KNOWN_DRIVERS.items():
        cls = driver_class(name)
        assert cls.name == name
        assert issubclass(cls, expected.get(kind, PowerSupplyDriver))


def test_unknown_driver_lists_the_known_ones() -> None:
    with pytest.raises(
        ValidationError, match=r"unknown driver 'keithley2400'; known drivers: canbidi, canpsu, envmon"
    ):
        DriverSettings(name="keithley2400", resource=RESOURCE)


@pytest.mark.parametrize("name", ["keithley2410", "hmp4040", "envmon"])
def test_scpi_driver_without_resource_says_what_is_missing(name: str) -> None:
    with pytest.raises(ValidationError, match=rf"driver '{name}' talks SCPI and needs 'resource'"):
        DriverSettings(name=name)


def test_misplaced_and_unknown_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="node_id only apply to CAN drivers"):
        DriverSettings(name="hmp4040", resource=RESOURCE, node_id=5)
    with pytest.raises(ValidationError, match="resource and visa_library do not apply"):
        DriverSettings(name="canpsu", resource=RESOURCE)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DriverSettings(name="hmp4040", resource=RESOURCE, adress="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="'channels' only applies to envmon"):
        DriverSettings(name="hmp4040", resource=RESOURCE, channels=4)


def test_value_ranges() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        DriverSettings(name="hmp4040", resource=RESOURCE, timeout_s=0)
    with pytest.raises(ValidationError, match="less than or equal to 63"):
        DriverSettings(name="canpsu", node_id=64)


def test_simulate_needs_the_virtual_interface() -> None:
    with pytest.raises(ValidationError, match="needs interface 'virtual', not 'socketcan'"):
        DriverSettings(name="canpsu", simulate=True)


def test_settings_survive_a_round_trip() -> None:
    settings = DriverSettings(name="envmon", resource=RESOURCE, channels=2)
    assert DriverSettings(**settings.model_dump()) == settings


def test_create_driver_builds_configured_drivers() -> None:
    hv = create_driver(DriverSettings(name="keithley2410", resource=RESOURCE, timeout_s=5))
    assert isinstance(hv, Keithley2410Driver) and hv.resource == RESOURCE and hv.timeout_s == 5.0
    assert isinstance(create_driver(DriverSettings(name="hmp4040", resource=RESOURCE)), HMP4040Driver)
    env = create_driver(DriverSettings(name="envmon", resource=RESOURCE, channels=3))
    assert isinstance(env, EnvMonDriver) and list(env.channels) == [1, 2, 3]
    can_psu = create_driver(DriverSettings(name="canpsu", channel="can1", node_id=9))
    assert isinstance(can_psu, CanPsuDriver) and (can_psu.channel, can_psu.node_id) == ("can1", 9)
    assert can_psu.simulator is None


def test_simulated_canpsu_runs_in_process(can_channel: str) -> None:
    driver = create_driver(
        DriverSettings(name="canpsu", interface="virtual", channel=can_channel, simulate=True)
    )
    assert isinstance(driver, CanPsuDriver)
    try:
        driver.open()
        assert driver.identify().model == "CANPSU-2x60V5A"
        driver.set_voltage(1, 3.3)
        assert driver.read(1).voltage_setpoint == pytest.approx(3.3)
        driver.close()
        # The simulated supply outlives the connection, like a real one.
        driver.open()
        assert driver.read(1).voltage_setpoint == pytest.approx(3.3)
    finally:
        driver.close()
        driver.simulator.stop()


def test_unparsable_resource_is_a_configuration_error() -> None:
    with pytest.raises(
        ValidationError, match=r"invalid VISA resource string 'TCPIP::host::SOCKET' \(expected e\.g\."
    ):
        DriverSettings(name="keithley2410", resource="TCPIP::host::SOCKET")
