"""Telegraf (the real image, with the generated configuration) and the native ingester read the same
messages and must write the same points. Needs a Docker engine; skipped with the reason otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from labdcs.contract import encode, examples, topics
from labdcs.ingest.influx import InfluxClient, InfluxSettings
from labdcs.ingest.mapping import all_measurements
from labdcs.stack.paths import project_root
from tests.support import compose_image, docker_problem, wait_until

ROOT = project_root()


_PROBLEM = docker_problem()
pytestmark = [pytest.mark.docker, pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))]


def _messages() -> list[tuple[str, dict[str, Any]]]:
    now = int(time.time() * 1000)
    power = {
        "seq": 0,
        "boot": "b",
        "kind": "power",
        "status": "on",
        "output": True,
        "ramping": False,
        "v_set": 10.0,
        "v_target": 10.0,
        "i_limit": 1e-6,
        "ramp_rate": 5.0,
        "v_mon": 9.99,
        "i_mon": 1e-8,
        "compliance": False,
        "device_kind": "hv",
    }
    sensor = {
        "seq": 1,
        "boot": "b",
        "kind": "sensor",
        "status": "ok",
        "device_kind": "env",
        "values": {"temperature": 21.5, "humidity": 40.0, "dew_point": 7.3},
    }
    messages = [(topics.state("hv1", "ch1"), {**power, "ts": now + i, "seq": i}) for i in range(50)]
    messages += [(topics.state("env1", "box"), {**sensor, "ts": now + i, "seq": 100 + i}) for i in range(50)]
    # A battery station faster than real time: one batch (contract 2.1.0), each entry one point.
    cycler = json.loads(encode(examples.cycler_state()))
    batch = [{**cycler, "ts": now + i, "seq": 200 + i} for i in range(20)]
    messages.append((topics.states("station1", "ch1"), {"states": batch}))
    messages.append((topics.online("hv1"), {"online": True, "boot": "b", "ts": now}))
    messages.append(
        (
            topics.alarm("hv1", "instrument"),
            {
                "alarm": "instrument",
                "device": "hv1",
                "severity": "error",
                "message": "m",
                "active": True,
                "raised": now,
                "ts": now,
            },
        )
    )
    messages.append(
        (
            topics.ack("hv1"),
            {"id": "op-1", "device": "hv1", "channel": "ch1", "verb": "on", "result": "accepted", "ts": now},
        )
    )
    return messages


def _rows(client: InfluxClient, measurement: str) -> list[list[Any]]:
    rows = []
    for policy in ("raw", "events", "experiments"):
        rows += client.series_values(
            f'SELECT * FROM "{policy}"."{measurement}" '
            'WHERE "device" =~ /^(hv1|env1|station1)$/ ORDER BY time'
        )
    return rows


def test_telegraf_and_the_native_ingester_write_the_same_points(tmp_path: Path) -> None:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

    with Network() as network:
        broker = (
            DockerContainer(compose_image("mosquitto"))
            .with_network(network)
            .with_network_aliases("mosquitto")
            .with_volume_mapping(str(ROOT / "mosquitto"), "/mosquitto/config", "ro")
            .with_exposed_ports(1883)
        )
        influx = (
            DockerContainer(compose_image("influxdb"))
            .with_network(network)
            .with_network_aliases("influxdb")
            .with_volume_mapping(str(ROOT / "influxdb" / "init"), "/docker-entrypoint-initdb.d", "ro")
            .with_exposed_ports(8086)
        )
        telegraf = (
            DockerContainer(compose_image("telegraf"))
            .with_network(network)
            .with_volume_mapping(
                str(ROOT / "telegraf" / "telegraf.conf"), "/etc/telegraf/telegraf.conf", "ro"
            )
            .with_env("LABDCS_MQTT_URL", "tcp://mosquitto:1883")
            .with_env("LABDCS_INFLUX_URL", "http://influxdb:8086")
        )
        with broker, influx:
            mqtt_port = int(broker.get_exposed_port(1883))
            url = f"http://{influx.get_container_host_ip()}:{influx.get_exposed_port(8086)}"
            via_telegraf = InfluxClient(InfluxSettings(url=url, database="labdcs"))
            native = InfluxClient(InfluxSettings(url=url, database="labdcs_native"))
            wait_until(via_telegraf.ping, 60, "InfluxDB container")
            env = {
                **os.environ,
                "LABDCS_MQTT__HOST": broker.get_container_host_ip(),
                "LABDCS_MQTT__PORT": str(mqtt_port),
                "LABDCS_INFLUX__URL": url,
                "LABDCS_INFLUX__DATABASE": "labdcs_native",
                "LABDCS_SPOOL_DIR": str(tmp_path / "spool"),
                "LABDCS_DEVICE": "ingest-native",
            }
            ingester = subprocess.Popen([sys.executable, "-m", "labdcs", "ingest"], env=env)
            try:
                with telegraf:
                    # Both consumers subscribe before the messages go out.
                    wait_until(
                        lambda: "telegraf:state" in broker.get_logs()[0].decode(),
                        60,
                        "Telegraf to connect",
                    )
                    publisher = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
                    publisher.connect(broker.get_container_host_ip(), mqtt_port)
                    publisher.loop_start()
                    for topic, body in _messages():
                        publisher.publish(topic, json.dumps(body), qos=1).wait_for_publish(10)
                    publisher.loop_stop()
                    for measurement, count in (("power", 50), ("sensor", 50), ("cycler", 20)):
                        wait_until(
                            lambda m=measurement, n=count: (
                                len(_rows(via_telegraf, m)) == n and len(_rows(native, m)) == n
                            ),
                            60,
                            f"{measurement} in both databases",
                        )
                    for measurement in all_measurements():
                        assert _rows(via_telegraf, measurement) == _rows(native, measurement), measurement
            finally:
                ingester.terminate()
                ingester.wait(30)
