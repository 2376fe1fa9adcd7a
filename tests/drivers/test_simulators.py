"""The simulated instruments themselves: SCPI parsing, error queue, SIM: control, TCP server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labdcs_dummy.instruments import EnvMonModel, HMP4040Model, Keithley2410Model, create_model
from labdcs_dummy.scpi_server import ScpiServer


def test_headers_are_case_insensitive_in_short_and_long_form() -> None:
    smu = Keithley2410Model(seed=1)
    smu.handle(":source:voltage:level:immediate:amplitude 12.5")
    assert smu.handle("SOUR:VOLT?") == "+1.250000E+01"
    assert smu.handle(":Sour1:Volt:Lev?") == "+1.250000E+01"
    smu.handle("sens:curr:prot 2e-3")
    assert smu.handle(":SENSE:CURRENT:PROTECTION?") == "+2.000000E-03"


def test_semicolon_separated_commands_and_joined_replies() -> None:
    psu = HMP4040Model(seed=1)
    assert psu.handle("INST:NSEL 3;VOLT 4.5;CURR 0.25;VOLT?;CURR?") == "4.500;0.2500"
    assert psu.handle("*IDN?;INST:NSEL?") == "ROHDE&SCHWARZ,HMP4040,123456,HW50020001/SW2.51;3"


def test_error_queue_order_codes_and_overflow() -> None:
    psu = HMP4040Model(seed=1)
    assert psu.handle("SYST:ERR?") == '0,"No error"'
    psu.handle("FOO:BAR 1")
    psu.handle("VOLT 40")
    psu.handle("OUTP:SEL maybe")
    assert psu.handle("*STB?") == "36"  # error available + event summary
    assert psu.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert psu.handle("SYST:ERR?") == '-222,"Data out of range"'
    assert psu.handle("SYST:ERR?").startswith("-224,")
    assert psu.handle("SYST:ERR?") == '0,"No error"'
    assert psu.handle("VOLT?") == "0.000"  # the rejected setting did not apply
    for _ in range(15):
        psu.handle("FOO")
    errors = [psu.handle("SYST:ERR?") for _ in range(11)]
    assert errors[9] == '-350,"Queue overflow"' and errors[10] == '0,"No error"'


def test_readback_noise_and_sim_noise_off() -> None:
    smu = Keithley2410Model(seed=3)
    smu.handle(":SOUR:VOLT 100;:SENS:CURR:PROT 1e-3;:OUTP ON")
    noisy = {smu.handle(":READ?") for _ in range(5)}
    assert len(noisy) == 5
    smu.handle("SIM:NOISE OFF")
    voltage, current, *_ = (float(v) for v in str(smu.handle(":READ?")).split(","))
    assert (voltage, current) == (100.0, 100.0 / 1e9)


def test_keithley_read_with_output_off_is_an_error_and_measure_turns_it_on() -> None:
    smu = Keithley2410Model(seed=1)
    assert smu.handle(":READ?") is None
    assert smu.handle("SYST:ERR?").startswith("-221,")
    assert smu.handle(":MEAS:VOLT?") is not None
    assert smu.handle("OUTP?") == "1"  # as a real 2400-series does


def test_hmp_power_limit_and_master_switch() -> None:
    psu = HMP4040Model(seed=1, load_ohm=1.0)
    psu.handle("SIM:NOISE OFF;INST:NSEL 1;VOLT 20;CURR 10;OUTP:SEL 1")
    assert psu.handle("MEAS:CURR?") == "0.00000"  # master output still off
    psu.handle("OUTP:GEN 1")
    assert float(str(psu.handle("MEAS:CURR?"))) == pytest.approx(8.0)  # 160 W / 20 V
    assert float(str(psu.handle("MEAS:VOLT?"))) == pytest.approx(8.0)


def test_envmon_sim_commands() -> None:
    env = EnvMonModel(seed=1, channels=2)
    env.handle("SIM:NOISE OFF;SIM:HUM 120,(@2)")
    assert env.handle("MEAS:HUM? (@2)") == "100.00"  # the sensor saturates
    env.handle("SIM:DRIFT OFF")
    frozen = env.handle("MEAS:TEMP? (@1)")
    assert env.handle("MEAS:TEMP? (@1)") == frozen
    assert env.handle("SIM:DRIFT?") == "0"
    assert env.handle("MEAS:TEMP? (@3)") is None
    assert env.handle("SYST:ERR?").startswith("-222,")


def test_mute_silences_everything_but_sim() -> None:
    smu = create_model("keithley2410", seed=1)
    smu.handle("SIM:MUTE ON")
    assert smu.handle("*IDN?") is None
    smu.handle(":SOUR:VOLT 10")  # a hung instrument does not execute commands either
    assert smu.handle("SIM:MUTE?") == "1"
    smu.handle("SIM:MUTE OFF")
    assert smu.handle(":SOUR:VOLT?") == "+0.000000E+00"
    with pytest.raises(ValueError, match="known: envmon, hmp4040, keithley2410"):
        create_model("hmp2020")


def _ask(port: int, line: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(line.encode() + b"\n")
        return sock.makefile("rb").readline().decode().strip()


def test_server_serves_concurrent_clients_sharing_one_instrument(scpi: Callable[..., Any]) -> None:
    with ScpiServer(HMP4040Model(seed=1)) as server:
        first = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        second = socket.create_connection(("127.0.0.1", server.port), timeout=2)
        with first, second:
            first.sendall(b"INST:NSEL 2;VOLT 7;*OPC?\n")
            assert first.makefile("rb").readline() == b"1\n"
            second.sendall(b"INST:NSEL?;VOLT?\n")
            assert second.makefile("rb").readline() == b"2;7.000\n"
        assert scpi(server, "VOLT?") == "7.000"


def test_server_restart_keeps_port_and_state() -> None:
    server = ScpiServer(Keithley2410Model(seed=1))
    port = server.start()
    assert _ask(port, ":SOUR:VOLT 42;:SOUR:VOLT?") == "+4.200000E+01"
    server.stop()
    with pytest.raises(OSError):
        _ask(port, "*IDN?")
    assert server.start() == port
    try:
        assert _ask(port, ":SOUR:VOLT?") == "+4.200000E+01"
    finally:
        server.stop()


def test_command_line_server_writes_port_file_and_stops_on_sigterm(
    tmp_path: Path, wait_until: Callable[..., Any]
) -> None:
    port_file = tmp_path / "run" / "env.port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labdcs_dummy.scpi_server",
            "--model",
            "envmon",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--channels",
            "2",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        text = wait_until(lambda: port_file.exists() and port_file.read_text(), timeout=10, what="port file")
        port = int(text)
        assert _ask(port, "*IDN?") == "LABDCS,ENVMON-SHT31,EM000123,1.4.0"
        assert 15.0 < float(_ask(port, "MEAS:TEMP? (@2)")) < 25.0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        _, stderr = process.communicate()
        assert "connection from 127.0.0.1" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
