"""The dummy bench is physically coherent: every LV/HV channel of dummy/devices, started at its
configured nominal voltage on its simulated instrument, runs below its current limit and its trip
level with margin, not in compliance. And the configuration's working point is checked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from labdcs.contract import now_ms, topics
from labdcs.devices.config import ConfigError, DeviceConfig
from labdcs.stack.paths import dummy_devices_dir
from tests.support import PROBE_USER, DeviceProcess, Probe, ScpiLink, hv_config

#: At its nominal voltage a channel draws at most this fraction of its current limit and trip level.
MARGIN = 0.8
POWER_DEVICES = sorted(
    path.stem
    for path in dummy_devices_dir().glob("*.yaml")
    if yaml.safe_load(path.read_text()).get("kind") in ("lv", "hv")
)


def _bench_config(device: str, scpi_sim: Callable[..., tuple[Any, ScpiLink]]) -> dict[str, Any]:
    """The dummy configuration on its simulator, without the interlock (no rules here), with
    quick states and ramps at the channel's fastest allowed rate."""
    config: dict[str, Any] = yaml.safe_load((dummy_devices_dir() / f"{device}.yaml").read_text())
    config.pop("interlock", None)
    driver = config["driver"]
    if not driver.get("simulate"):
        _, link = scpi_sim(driver["name"])
        driver["resource"] = f"TCPIP::127.0.0.1::{link.port}::SOCKET"
    config["publish_period"] = 0.3
    for channel in config["channels"]:
        channel["ramp_rate"] = channel.get("max_ramp_rate", channel["ramp_rate"])
    return config


def _send(watcher: Probe, device: str, channel: str, verb: str, value: float | None = None) -> None:
    command_id = f"t-{device}-{channel}-{verb}-{time.monotonic_ns()}"
    body: dict[str, Any] = {"id": command_id, "ts": now_ms()}
    if value is not None:
        body["value"] = value
    watcher.publish(topics.command(device, channel, verb, PROBE_USER), json.dumps(body))
    ack = watcher.wait_for(topics.ack(device), lambda a: a["id"] == command_id).json()
    assert ack["result"] == "accepted", ack


@pytest.mark.parametrize("device", POWER_DEVICES)
def test_each_dummy_channel_at_its_nominal_voltage_is_below_its_limits(
    device: str,
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
) -> None:
    config = _bench_config(device, scpi_sim)
    watcher = probe(f"{topics.PREFIX}/{device}/#")
    device_process(config)
    watcher.wait_for(topics.online(device), lambda m: m["online"], timeout=30)
    channels = config["channels"]
    for channel in channels:
        assert channel.get("nominal_voltage") is not None, f"{device}/{channel['id']}: no nominal_voltage"
        watcher.wait_for(topics.state(device, channel["id"]), lambda s: s["status"] != "fault", timeout=15)
        _send(watcher, device, channel["id"], "set_voltage", channel["nominal_voltage"])
        _send(watcher, device, channel["id"], "on")
    for channel in channels:
        nominal = channel["nominal_voltage"]
        settled = watcher.wait_for(
            topics.state(device, channel["id"]),
            lambda s, v=nominal: (
                s["output"] and not s["ramping"] and s["v_set"] == v and s["v_mon"] is not None
            ),
            timeout=30,
        ).json()
        where = f"{device}/{channel['id']} at {nominal:g} V: {settled}"
        assert not settled["compliance"] and settled.get("trip") is None, where
        assert settled["v_mon"] == pytest.approx(nominal, rel=0.02, abs=0.01), where
        assert settled["i_limit"] == pytest.approx(channel["current_limit"], rel=1e-3), where
        assert abs(settled["i_mon"]) <= MARGIN * settled["i_limit"], where
        if channel.get("trip_current") is not None:
            assert abs(settled["i_mon"]) <= MARGIN * channel["trip_current"], where


def _config(tmp_path: Path, **channel: Any) -> Path:
    data: dict[str, Any] = yaml.safe_load((dummy_devices_dir() / "lv1.yaml").read_text())
    data["channels"] = [{**data["channels"][0], **channel}]
    path = tmp_path / "lv1.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_working_point_outside_the_channel_limits_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channel ch1: nominal_voltage 5 V is outside \[0, 3\] V"):
        DeviceConfig.load(_config(tmp_path, nominal_voltage=5.0))
    with pytest.raises(ConfigError, match=r"channel ch1: current_limit 4 A is above max_current 3 A"):
        DeviceConfig.load(_config(tmp_path, current_limit=4.0))
    sensor: dict[str, Any] = yaml.safe_load((dummy_devices_dir() / "env1.yaml").read_text())
    sensor["channels"][0]["nominal_voltage"] = 1.0
    path = tmp_path / "env1.yaml"
    path.write_text(yaml.safe_dump(sensor))
    with pytest.raises(ConfigError, match=r"channel box: nominal_voltage and current_limit apply to power"):
        DeviceConfig.load(path)


def _first_state(watcher: Probe, device: str) -> dict[str, Any]:
    found: dict[str, Any] = watcher.wait_for(
        topics.state(device, "ch1"), lambda s: s["status"] != "fault", timeout=30
    ).json()
    return found


def test_the_configured_current_limit_is_programmed_at_start_but_never_into_an_output_found_on(
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
) -> None:
    _, running = scpi_sim("keithley2410")
    for setting in (":SENS:CURR:PROT 5e-5", ":SOUR:VOLT 10", ":OUTP ON"):
        running.write(setting)
    _, idle = scpi_sim("keithley2410")
    watcher = probe(f"{topics.PREFIX}/+/ch1/state")
    for device, link in (("hv1", running), ("hv2", idle)):
        config = hv_config(link.port, device=device)
        config["channels"][0]["current_limit"] = 2e-5
        device_process(config)
    kept = _first_state(watcher, "hv1")
    assert kept["output"] and kept["i_limit"] == pytest.approx(5e-5), "a running output keeps its limit"
    assert float(running.query(":SENS:CURR:PROT?")) == pytest.approx(5e-5)
    applied = watcher.wait_for(
        topics.state("hv2", "ch1"), lambda s: s["status"] != "fault", timeout=30
    ).json()
    assert not applied["output"] and applied["i_limit"] == pytest.approx(2e-5)
    assert float(idle.query(":SENS:CURR:PROT?")) == pytest.approx(2e-5)
