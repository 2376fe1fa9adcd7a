"""``labdcs up --dummy`` end to end: every dummy device comes online and publishes state; Ctrl-C
stops everything cleanly."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labdcs.client import snapshot
from labdcs.contract.models import PowerChannelState, SensorChannelState
from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.nodered import runtime as nodered
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import influxd_binary
from labdcs.stack.paths import free_port, port_open
from tests.support import wait_until

DUMMY_DEVICES = {"hv1": 1, "hv2": 1, "lv1": 4, "env1": 1, "can1": 2, "interlock": 3}


def test_up_dummy_starts_everything_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    mqtt_port, influx_port, nodered_port = free_port(), free_port(), free_port()
    mqtt_port, influx_port, experiments_port = free_port(), free_port(), free_port()
    secrets_dir = tmp_path / "secrets"
    output = tmp_path / "up.out"
    with output.open("wb") as out:
        up = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labdcs",
                "up",
                "--dummy",
                "--data-dir",
                str(tmp_path / "data"),
                "--mqtt-port",
                str(mqtt_port),
                "--mqtt-tls-port",
                str(free_port()),
                "--secrets-dir",
                str(secrets_dir),
                "--influx-port",
                str(influx_port),
                "--nodered-port",
                str(nodered_port),
                "--experiments-port",
                str(experiments_port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "LABDCS_SECRETS_DIR": str(secrets_dir)},
        )
    try:
        wait_until(
            lambda: b"Press Ctrl-C" in output.read_bytes() or up.poll() is not None, 90, "the stack to start"
        )
        text = output.read_text()
        assert up.poll() is None, text
        for name in [*DUMMY_DEVICES, "mosquitto", "sim-hv1", "sim-lv1", "sim-env1", "ingest", "experiments"]:
            assert name in text, f"{name} missing from the summary:\n{text}"
        if influxd_binary():
            assert port_open("127.0.0.1", influx_port) and "influxdb" in text
        if nodered.installed():
            assert nodered.ready(f"http://127.0.0.1:{nodered_port}") and "nodered" in text
            # First start: the generated passwords are shown this once.
            password = (secrets_dir / "nodered" / "operator-password").read_text().strip()
            assert f"operator   {password}" in text

        def all_publishing() -> dict[str, object] | None:
            login = MqttSettings(
                host="127.0.0.1", port=mqtt_port, username="cli", password_file=secrets_dir / "mqtt" / "cli"
            )
            devices = snapshot(login, timeout=3)
            ready = all(
                name in devices
                and devices[name].online is not None
                and devices[name].online.online  # type: ignore[union-attr]
                and len(devices[name].states) == channels
                and all(s.status != "fault" for s in devices[name].states.values())
                for name, channels in DUMMY_DEVICES.items()
            )
            return dict(devices) if ready else None

        devices = wait_until(all_publishing, 30, "every dummy device online with a state per channel")
        env = devices["env1"].states["box"]  # type: ignore[attr-defined]
        assert isinstance(env, SensorChannelState) and {"temperature", "humidity", "dew_point"} <= set(
            env.values
        )
        hv = devices["hv1"].states["ch1"]  # type: ignore[attr-defined]
        assert isinstance(hv, PowerChannelState) and hv.output is False

        cli = [sys.executable, "-m", "labdcs"]
        cli_env = {**os.environ, "LABDCS_SECRETS_DIR": str(secrets_dir)}
        status = subprocess.run(
            [*cli, "status", "--port", str(mqtt_port)], capture_output=True, text=True, env=cli_env
        )
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        for name in DUMMY_DEVICES:
            assert any(line.startswith(name) and "online" in line for line in lines), status.stdout
        assert any("temperature" in line and "dew_point" in line for line in lines), status.stdout
        refused = subprocess.run(
            [*cli, "cmd", "hv1", "ch1", "set_voltage", "900", "--port", str(mqtt_port)],
            capture_output=True,
            text=True,
            env=cli_env,
        )
        assert refused.returncode == 1 and "above the channel's limit 500.0 V" in refused.stdout
        accepted = subprocess.run(
            [*cli, "cmd", "lv1", "ch2", "set_voltage", "1.2", "--port", str(mqtt_port)],
            capture_output=True,
            text=True,
            env=cli_env,
        )
        assert accepted.returncode == 0 and accepted.stdout.strip() == "accepted", accepted.stdout
        inhibited = subprocess.run(
            [*cli, "cmd", "hv1", "ch1", "on", "--port", str(mqtt_port)],
            capture_output=True,
            text=True,
            env=cli_env,
        )
        assert inhibited.returncode == 1 and "interlock rule 'hv-needs-lv'" in inhibited.stdout, (
            inhibited.stdout
        )

        if influxd_binary():
            reader = secrets_dir / "influxdb" / "reader"
            influx = InfluxClient(
                InfluxSettings(
                    url=f"http://127.0.0.1:{influx_port}", username="reader", password_file=str(reader)
                )
            )
            anonymous = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{influx_port}"))
            with pytest.raises(InfluxError, match=r"401|authoriz"):
                anonymous.query("SHOW DATABASES")
            stored = wait_until(
                lambda: (
                    influx.series_values('SELECT count("seq") FROM "power" GROUP BY "device"')
                    and influx.series_values('SELECT count("temperature") FROM "sensor"')
                ),
                30,
                "the ingester to store dummy data in InfluxDB",
            )
            assert stored[0][1] > 0

        url = f"http://127.0.0.1:{experiments_port}/api/stations"
        with pytest.raises(urllib.error.HTTPError) as refused_web:
            urllib.request.urlopen(url, timeout=5)
        assert refused_web.value.code == 401, "the experiments manager answered without a login"
        admin = (secrets_dir / "experiments" / "admin").read_text().strip()
        login = base64.b64encode(f"admin:{admin}".encode()).decode()

        def station_registered() -> bool:
            request = urllib.request.Request(url, headers={"Authorization": f"Basic {login}"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                return any(s["id"] == "station1" for s in json.load(answer)["items"])

        wait_until(station_registered, 30, "the experiments manager to register the dummy station")

        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0, output.read_text()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    text = output.read_text()
    assert "stopped." in text
    assert not port_open("127.0.0.1", mqtt_port), "the broker is still listening"
    assert not port_open("127.0.0.1", influx_port), "InfluxDB is still listening"
    assert not port_open("127.0.0.1", nodered_port), "Node-RED is still listening"
    # No secret in the output or any log (passwords are read from files, never printed).
    logs = [output, *(tmp_path / "data" / "logs").glob("*.log")]
    secret_files = ("mqtt", "influxdb", "experiments")
    for secret in [file for folder in secret_files for file in (secrets_dir / folder).iterdir()]:
        value = secret.read_text().strip()
        for log in logs:
            assert value not in log.read_text(errors="replace"), f"{secret.name}'s password in {log}"
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left running: {leftovers}"
