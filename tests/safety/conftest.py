"""Safety tests: real Mosquitto, simulated instruments over TCP, device services and the interlock
as real processes. Timings are short (heartbeat 0.2 s, watchdog 2 s) so the tests stay fast; every
wait is on a condition with a generous deadline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from labdcs.contract import decode, now_ms, topics
from labdcs.contract.models import Ack
from tests.support import PROBE_USER, DeviceProcess, Probe, ScpiLink, hv_config

INTERLOCK = ("interlock", "run")
HEARTBEAT_PERIOD_S = 0.2
WATCHDOG_TIMEOUT_S = 2.0
PUBLISH_PERIOD_S = 0.3
RAMP_TICK_S = 0.05

Sim = Callable[..., tuple[Any, ScpiLink]]
Start = Callable[..., DeviceProcess]


def interlock_link(safe_action: str = "ramp_down", **extra: Any) -> dict[str, Any]:
    return {
        "device": "interlock",
        "heartbeat_timeout_s": WATCHDOG_TIMEOUT_S,
        "safe_action": safe_action,
        **extra,
    }


def hv(device: str, port: int, *, interlock: dict[str, Any] | None = None, **channel: Any) -> dict[str, Any]:
    """A Keithley 2410 service ramping at 50 V/s, optionally following the interlock."""
    config = hv_config(port, device=device, publish_period=PUBLISH_PERIOD_S, ramp_tick=RAMP_TICK_S)
    config["channels"][0].update({"ramp_rate": 50.0, **channel})
    if interlock is not None:
        config["interlock"] = interlock
    return config


def lv(port: int, *, interlock: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "device": "lv1",
        "kind": "lv",
        "model": "R&S HMP4040",
        "driver": {"name": "hmp4040", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "timeout_s": 1.0},
        "channels": [{"id": "ch1", "hw": 1, "max_voltage": 3.0, "max_current": 3.0, "ramp_rate": 5.0}],
        "publish_period": PUBLISH_PERIOD_S,
        "ramp_tick": RAMP_TICK_S,
        "mqtt": {"keepalive": 2},
    }
    if interlock is not None:
        config["interlock"] = interlock
    return config


def env(port: int) -> dict[str, Any]:
    return {
        "device": "env1",
        "kind": "env",
        "model": "environment monitor",
        "driver": {"name": "envmon", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "timeout_s": 1.0},
        "channels": [{"id": "box", "hw": 1}],
        "publish_period": PUBLISH_PERIOD_S,
        "mqtt": {"keepalive": 2},
    }


def rules(*rule_list: dict[str, Any], keepalive: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "device": "interlock",
        "heartbeat_period_s": HEARTBEAT_PERIOD_S,
        "publish_period": 0.5,
        "startup_grace_s": 20.0,
        "rules": list(rule_list),
        "mqtt": {"keepalive": keepalive},
        **extra,
    }


def send(probe: Probe, topic: str, **body: Any) -> str:
    command_id = f"t-{time.monotonic_ns()}"
    probe.publish(topic, json.dumps({"id": command_id, "ts": now_ms(), **body}))
    return command_id


def command(probe: Probe, device: str, channel: str, verb: str, value: Any = None, **body: Any) -> Ack:
    """Send a command and return its ack (the probe must subscribe to the device's ack topic)."""
    if value is not None:
        body["value"] = value
    command_id = send(probe, topics.command(device, channel, verb, PROBE_USER), **body)
    return ack_of(probe, device, command_id)


def ack_of(probe: Probe, device: str, command_id: str, timeout: float = 10.0) -> Ack:
    message = probe.wait_for(topics.ack(device), lambda a: a.get("id") == command_id, timeout=timeout)
    _, ack = decode(message.topic, message.payload)
    assert isinstance(ack, Ack)
    return ack


def state(probe: Probe, device: str, channel: str) -> dict[str, Any]:
    """The latest state of a channel the probe has seen."""
    found: dict[str, Any] = probe.on(topics.state(device, channel))[-1].json()
    return found


@pytest.fixture
def interlock_process(device_process: Start) -> Callable[[dict[str, Any]], DeviceProcess]:
    def start(config: dict[str, Any]) -> DeviceProcess:
        return device_process(config, command=INTERLOCK)

    return start
