"""A reading is one compound query per instrument (IEEE 488.2 ``A?;:B?``), not one query per quantity,
and it reads the same values as the per-quantity path (PyMeasure's properties)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs.drivers.envmon import EnvMonDriver
from labdcs.drivers.hmp4040 import HMP4040Driver
from labdcs.drivers.keithley2410 import Keithley2410Driver
from labdcs.drivers.scpi import ScpiDriver
from labdcs_dummy.scpi_server import ScpiServer

TIMEOUT_S = 0.3


class Counted:
    """The messages a simulator receives (wrapping its model's ``handle``)."""

    def __init__(self, server: ScpiServer) -> None:
        self.messages: list[str] = []
        instrument: Any = server.instrument
        handle: Callable[[str], str | None] = instrument.handle

        def counted(message: str) -> str | None:
            self.messages.append(message)
            return handle(message)

        instrument.handle = counted

    def during(self, action: Callable[[], Any]) -> tuple[Any, list[str]]:
        """What ``action`` returned and the queries the instrument answered meanwhile (a setting
        written just before without an answer may still be in flight: not counted)."""
        start = len(self.messages)
        result = action()
        return result, [message for message in self.messages[start:] if "?" in message]


@pytest.fixture
def opened() -> Iterator[list[ScpiDriver]]:
    drivers: list[ScpiDriver] = []
    yield drivers
    for driver in drivers:
        driver.close()


def _open(driver: ScpiDriver, drivers: list[ScpiDriver]) -> Any:
    driver.open()
    drivers.append(driver)
    return driver


def test_hmp4040_reads_four_channels_in_one_message(hmp_server: ScpiServer, opened: list[ScpiDriver]) -> None:
    psu = _open(HMP4040Driver(hmp_server.resource, timeout_s=TIMEOUT_S), opened)
    psu.set_voltage(2, 5.0)
    psu.set_current_limit(2, 0.5)
    psu.set_output(2, True)
    counted = Counted(hmp_server)
    readings, messages = counted.during(lambda: psu.read_many([1, 2, 3, 4]))
    assert len(messages) == 1, messages
    assert readings[2].output_on and readings[2].voltage_setpoint == 5.0 and readings[2].current_limit == 0.5
    assert not readings[1].output_on and readings[2].voltage > 4.9
    per_quantity = _open(HMP4040Driver(hmp_server.resource, timeout_s=TIMEOUT_S), opened)
    per_quantity.compound_reads = False
    slow, messages = counted.during(lambda: per_quantity.read_many([1, 2, 3, 4]))
    assert len(messages) == 4 * 6, "the per-quantity path: six queries per channel"
    for channel in (1, 2, 3, 4):
        assert (slow[channel].output_on, slow[channel].voltage_setpoint, slow[channel].current_limit) == (
            readings[channel].output_on,
            readings[channel].voltage_setpoint,
            readings[channel].current_limit,
        )


def test_keithley2410_reads_settings_and_measurement_in_one_message(
    keithley_server: ScpiServer, opened: list[ScpiDriver]
) -> None:
    smu = _open(Keithley2410Driver(keithley_server.resource, timeout_s=TIMEOUT_S), opened)
    counted = Counted(keithley_server)
    off, messages = counted.during(lambda: smu.read(1))
    assert len(messages) == 1 and not off.output_on and off.voltage == 0.0
    smu.set_voltage(1, 10.0)
    smu.set_output(1, True)
    on, messages = counted.during(lambda: smu.read(1))
    assert len(messages) == 1 and ":READ?" in messages[0], messages
    assert on.output_on and on.voltage_setpoint == 10.0 and abs(on.voltage - 10.0) < 0.01
    # Switched off behind the driver's back: the :READ? in the same message fails, the reading says off
    # and the error queue is left empty (the next setting must not be blamed for -221).
    keithley_server.instrument.handle(":OUTP 0")
    behind, _ = counted.during(lambda: smu.read(1))
    assert not behind.output_on and behind.voltage == 0.0
    smu.set_voltage(1, 5.0)  # would raise if -221 were still queued
    keithley_server.instrument.handle(":OUTP 1")  # and on behind its back: measured all the same
    again, messages = counted.during(lambda: smu.read(1))
    assert again.output_on and abs(again.voltage - 5.0) < 0.01 and len(messages) == 2


def test_envmon_reads_every_head_in_one_message(envmon_server: ScpiServer, opened: list[ScpiDriver]) -> None:
    heads = len(envmon_server.instrument.channel_range)  # type: ignore[attr-defined]
    monitor = _open(EnvMonDriver(envmon_server.resource, timeout_s=TIMEOUT_S, channels=heads), opened)
    counted = Counted(envmon_server)
    readings, messages = counted.during(lambda: monitor.read_many(list(range(1, heads + 1))))
    assert len(messages) == 1
    for reading in readings.values():
        assert set(reading.values) == {"temperature", "humidity", "dew_point"}
        assert -40 <= reading.values["temperature"] <= 125 and 0 <= reading.values["humidity"] <= 100
