"""``online: true`` means "ready for commands": a client that commands a device the instant it sees
it online gets an ack every time, over many restarts of the device service (the on-connect hooks
announce only once the broker has acknowledged the subscriptions, labdcs.mqtt)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from labdcs.contract import now_ms, topics
from tests.devices.conftest import ScpiLink, hv_config
from tests.support import PROBE_USER, DeviceProcess, Probe

RESTARTS = 12
ONLINE = topics.online("hv1")
ACK = topics.ack("hv1")


def command_when_online(watcher: Probe, device: str) -> None:
    """From the probe's network thread, the moment a new boot of ``device`` says it is online:
    one ``set_ramp_rate`` command with the id ``ready-<boot>``, no delay."""
    record = watcher.client.on_message
    assert record is not None
    answered: set[str] = set()

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        record(client, userdata, message)
        if message.topic != topics.online(device) or not message.payload:
            return
        online = json.loads(message.payload)
        if online["online"] and online["boot"] not in answered:
            answered.add(online["boot"])
            body = json.dumps({"id": f"ready-{online['boot']}", "value": 20.0, "ts": now_ms()})
            client.publish(topics.command(device, "ch1", "set_ramp_rate", PROBE_USER), body, qos=1)

    watcher.client.on_message = on_message


def test_a_command_sent_the_instant_a_device_is_online_is_acked_after_every_restart(
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
) -> None:
    _, link = scpi_sim("keithley2410")
    watcher = probe(ONLINE, ACK)
    command_when_online(watcher, "hv1")
    config = hv_config(link.port)
    boots: list[str] = []
    for run in range(RESTARTS):
        service = device_process(config)
        online = watcher.wait_for(ONLINE, lambda m: m["online"] and m["boot"] not in boots, timeout=30)
        boot = online.json()["boot"]
        boots.append(boot)
        expected = f"ready-{boot}"
        ack = watcher.wait_for(ACK, lambda a, want=expected: a["id"] == want, timeout=5, after=online.at)
        assert ack.json()["result"] == "accepted", f"run {run}: {ack.json()}"
        assert service.terminate() == 0
    errors = [line for line in service.log_text().splitlines() if re.search(r"\bERROR\b", line)]
    assert errors == [], f"{RESTARTS} clean stops logged errors"
