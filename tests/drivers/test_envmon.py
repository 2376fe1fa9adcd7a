"""Environment monitor driver against its TCP simulator, and the dew-point formula."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs.drivers.base import InstrumentError
from labdcs.drivers.envmon import EnvMonDriver, dew_point
from labdcs_dummy.scpi_server import ScpiServer

TIMEOUT_S = 0.3
Scpi = Callable[..., str | None]


@pytest.fixture
def monitor(envmon_server: ScpiServer) -> Iterator[EnvMonDriver]:
    driver = EnvMonDriver(envmon_server.resource, timeout_s=TIMEOUT_S, channels=2)
    driver.open()
    yield driver
    driver.close()


@pytest.mark.parametrize(
    ("temperature", "humidity", "expected"),
    [
        # Reference values from psychrometric tables (saturation over water).
        (20.0, 50.0, 9.3),
        (25.0, 60.0, 16.7),
        (0.0, 80.0, -3.0),
        (30.0, 90.0, 28.2),
    ],
)
def test_dew_point_matches_tables(temperature: float, humidity: float, expected: float) -> None:
    assert dew_point(temperature, humidity) == pytest.approx(expected, abs=0.15)


def test_dew_point_edges() -> None:
    assert dew_point(21.0, 100.0) == pytest.approx(21.0, abs=1e-9)
    assert math.isnan(dew_point(21.0, 0.0))
    assert dew_point(21.0, 20.0) < dew_point(21.0, 40.0) < 21.0


def test_identify_and_quantities(monitor: EnvMonDriver) -> None:
    identity = monitor.identify()
    assert (identity.manufacturer, identity.model, identity.firmware) == ("LABDCS", "ENVMON-SHT31", "1.4.0")
    units = {q.name: q.unit for q in monitor.quantities(1)}
    assert units == {"temperature": "°C", "humidity": "%", "dew_point": "°C"}


def test_reading_is_room_climate_with_consistent_dew_point(
    monitor: EnvMonDriver, envmon_server: ScpiServer
) -> None:
    for channel in (1, 2):
        values = monitor.read(channel).values
        assert 19.0 < values["temperature"] < 23.0
        assert 30.0 < values["humidity"] < 40.0
        assert values["dew_point"] == pytest.approx(dew_point(values["temperature"], values["humidity"]))
    assert not envmon_server.instrument.errors  # every command was understood


def test_sim_values_are_held_per_head_until_drift(
    monitor: EnvMonDriver, envmon_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(envmon_server, "SIM:NOISE OFF")
    scpi(envmon_server, "SIM:TEMP 25,(@2)")
    scpi(envmon_server, "SIM:HUM 60,(@2)")
    held = monitor.read(2).values
    assert (held["temperature"], held["humidity"]) == (25.0, 60.0)
    assert held["dew_point"] == pytest.approx(16.69, abs=0.05)
    assert monitor.read(1).values["temperature"] < 23.0  # head 1 untouched

    scpi(envmon_server, "SIM:DRIFT ON")
    assert 19.0 < monitor.read(2).values["temperature"] < 23.0


def test_broken_head_is_an_instrument_error(
    monitor: EnvMonDriver, envmon_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(envmon_server, "SIM:TEMP 130,(@1)")  # SHT3x rail value
    with pytest.raises(InstrumentError, match=r"sensor head 1: .*130.*head fault"):
        monitor.read(1)
    scpi(envmon_server, "SIM:TEMP NAN,(@1)")
    with pytest.raises(InstrumentError, match="head fault"):
        monitor.read(1)


def test_unknown_channel(monitor: EnvMonDriver) -> None:
    with pytest.raises(InstrumentError, match=r"channel 3 does not exist \(channels 1\.\.2\)"):
        monitor.read(3)


def test_muted_monitor_times_out_and_recovers(
    monitor: EnvMonDriver, envmon_server: ScpiServer, scpi: Scpi
) -> None:
    scpi(envmon_server, "SIM:MUTE ON")
    started = time.monotonic()
    with pytest.raises(InstrumentError, match=r"envmon at .*: no answer within 0\.3 s .*not answering"):
        monitor.read(1)
    assert time.monotonic() - started < TIMEOUT_S + 1.0
    scpi(envmon_server, "SIM:MUTE OFF")
    assert "temperature" in monitor.read(1).values


def test_reconnect_after_the_simulator_restarts(
    monitor: EnvMonDriver, envmon_server: ScpiServer, wait_until: Callable[..., Any]
) -> None:
    envmon_server.stop()
    with pytest.raises(InstrumentError):
        monitor.read(1)
    envmon_server.start()

    def reconnected() -> Any:
        try:
            return monitor.read(1)
        except InstrumentError:
            return None

    assert 19.0 < wait_until(reconnected).values["temperature"] < 23.0
