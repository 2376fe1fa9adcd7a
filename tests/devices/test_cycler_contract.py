"""The battery station shares the contract participant's skeleton with the power device services
(labdcs.devices.skeleton): commands are judged by their age in both directions, and its alarms are
acknowledged by command, each answered with exactly one ack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from labdcs.contract import now_ms, topics
from tests.devices.test_cycler import CELL, started_station
from tests.support import PROBE_USER, DeviceProcess, Probe

ACK = topics.ack("station1")
SAFETY_ALARM = topics.alarm("station1", "ch1-safety")
LOAD = topics.command("station1", "ch1", "load_protocol", PROBE_USER)


def _send(probe: Probe, topic: str, **body: Any) -> dict[str, Any]:
    command_id = f"t-{time.monotonic_ns()}"
    probe.publish(topic, json.dumps({"id": command_id, "ts": now_ms(), **body}))
    ack: dict[str, Any] = probe.wait_for(ACK, lambda a: a.get("id") == command_id, timeout=15).json()
    return ack


def test_a_command_dated_in_the_future_is_refused_with_the_reason(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    watcher = started_station(device_process, probe)
    ahead = int(time.time() * 1000) + 60_000
    refused = _send(watcher, LOAD, protocol="Rest for 10 minutes", ts=ahead)
    assert refused["result"] == "rejected"
    assert "in the future: check the sender's clock" in refused["reason"], refused
    now = int(time.time() * 1000)
    assert _send(watcher, LOAD, protocol="Rest for 10 minutes", ts=now)["result"] == "accepted"


def test_a_station_alarm_is_acknowledged_by_command(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    hot = {**CELL, "t_max_c": 26.0}  # a 2C charge warms the cell past 26 degC within minutes
    watcher = started_station(device_process, probe, speed="max", channels=[{"id": "ch1", "cell": hot}])
    charge = _send(watcher, LOAD, protocol="Charge at 2C for 2 hours")
    assert charge["result"] == "accepted"
    assert _send(watcher, topics.command("station1", "ch1", "start", PROBE_USER))["result"] == "accepted"
    raised = watcher.wait_for(SAFETY_ALARM, lambda a: a["active"], timeout=30).json()

    acknowledge = topics.alarm_command("station1", "ch1-safety", "acknowledge", PROBE_USER)
    anonymous = _send(watcher, acknowledge)
    assert anonymous["result"] == "rejected" and "user" in anonymous["reason"]
    assert anonymous["channel"] == "alarm" and anonymous["alarm"] == "ch1-safety"
    unknown = _send(watcher, topics.alarm_command("station1", "nope", "acknowledge", PROBE_USER), user="bob")
    assert unknown["result"] == "rejected" and "no alarm 'nope' on station1" in unknown["reason"]
    assert _send(watcher, acknowledge, user="alice")["result"] == "accepted"
    acknowledged = watcher.wait_for(
        SAFETY_ALARM, lambda a: a.get("acknowledged_by") == "alice", timeout=10
    ).json()
    assert acknowledged["raised"] == raised["raised"] and acknowledged["acknowledged"] is not None
