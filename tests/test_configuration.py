"""Configuration: clear errors for wrong files, environment overrides, secrets from files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labdcs.devices.config import ConfigError, DeviceConfig
from labdcs.security.secrets import SecretsDir
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import render_mosquitto_conf
from labdcs.stack.paths import project_root

DUMMY = project_root() / "dummy" / "devices"


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "device.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def hv(**changes: object) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((DUMMY / "hv1.yaml").read_text())
    data.update(changes)
    return data


@pytest.mark.parametrize("path", sorted(DUMMY.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_dummy_configuration_is_valid(path: Path) -> None:
    from labdcs.devices.cycler.config import load_device_config

    config = load_device_config(path)
    assert config.device == path.stem


def test_missing_limit_names_the_channel_and_the_field(tmp_path: Path) -> None:
    channel = {"id": "ch1", "max_voltage": 100.0, "ramp_rate": 5.0}
    with pytest.raises(ConfigError, match=r"channel ch1: a hv channel needs max_current"):
        DeviceConfig.load(write(tmp_path, hv(channels=[channel])))


def test_wrong_type_and_unknown_field_are_reported_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"publish_period: .*number"):
        DeviceConfig.load(write(tmp_path, hv(publish_period="often")))
    with pytest.raises(ConfigError, match=r"ramprate: Extra inputs are not permitted"):
        DeviceConfig.load(write(tmp_path, hv(ramprate=5)))


def test_broken_yaml_and_reserved_channel_id(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("device: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        DeviceConfig.load(broken)
    channel = {"id": "meta", "max_voltage": 1.0, "max_current": 1.0, "ramp_rate": 1.0}
    with pytest.raises(ConfigError, match="reserved"):
        DeviceConfig.load(write(tmp_path, hv(channels=[channel])))


def test_environment_overrides_nested_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABDCS_DRIVER__RESOURCE", "TCPIP::sim-hv1::5025::SOCKET")
    monkeypatch.setenv("LABDCS_MQTT__HOST", "mosquitto")
    config = DeviceConfig.load(DUMMY / "hv1.yaml")
    assert config.driver.resource == "TCPIP::sim-hv1::5025::SOCKET"
    assert config.driver.name == "keithley2410", "the rest of the driver section comes from the file"
    assert config.mqtt.host == "mosquitto"


def test_password_is_read_from_a_file_and_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt_password"
    secret.write_text("s3cret-value\n")
    settings = MqttSettings(username="hv1", password_file=secret)
    assert settings.password is not None and settings.password.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings)
    with pytest.raises(ValueError, match="cannot read MQTT password"):
        MqttSettings(username="hv1", password_file=tmp_path / "missing")


def test_cli_reports_a_bad_configuration_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, hv(publish_period=-1))
    result = subprocess.run(
        [sys.executable, "-m", "labdcs", "device", "run", "--config", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "configuration error" in result.stderr and "publish_period" in result.stderr
    assert "Traceback" not in result.stderr


def test_native_mosquitto_config_keeps_the_project_settings(tmp_path: Path) -> None:
    template = project_root() / "mosquitto" / "mosquitto.conf"
    store = SecretsDir(tmp_path / "secrets")
    rendered = render_mosquitto_conf(template, port=18830, data_dir=tmp_path, secrets=store.native_paths())
    lines = [line for line in rendered.splitlines() if line and not line.startswith("#")]
    assert "listener 18830 127.0.0.1" in lines
    assert f"persistence_location {tmp_path}/" in lines
    assert "persistence true" in lines and "autosave_interval 60" in lines
    assert sum(line.startswith("listener") for line in lines) == 1  # no TLS port: no TLS listener
    assert not any(line.startswith(("certfile", "keyfile", "cafile")) for line in lines)
    assert "allow_anonymous false" in lines
    assert f"password_file {store.path('mosquitto/passwd')}" in lines
    assert f"acl_file {store.path('mosquitto/acl')}" in lines
    with_tls = render_mosquitto_conf(
        template, port=18830, tls_port=18831, data_dir=tmp_path, secrets=store.native_paths()
    ).splitlines()
    at = with_tls.index("listener 18831 127.0.0.1")
    assert f"certfile {store.path('tls/broker.crt')}" in with_tls[at:]
    assert not any("/run/secrets/" in line for line in with_tls if not line.startswith("#"))
