"""The native ingester end to end on real Mosquitto and InfluxDB with dummy devices."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labdcs.contract import now_ms, topics
from tests.devices.conftest import hv_config
from tests.support import (
    PROBE_USER,
    Broker,
    DeviceProcess,
    Influx,
    LabdcsProcess,
    Probe,
    ingest_process,
    wait_until,
)

DEVICES = ("hv1", "env1", "can1")
STATES = "power|sensor"


def env_config(port: int) -> dict[str, Any]:
    return {
        "device": "env1",
        "kind": "env",
        "model": "env monitor",
        "driver": {"name": "envmon", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "timeout_s": 1.0},
        "channels": [{"id": "box"}],
        "publish_period": 0.2,
    }


def can_config() -> dict[str, Any]:
    return {
        "device": "can1",
        "kind": "lv",
        "model": "CAN PSU",
        "driver": {
            "name": "canpsu",
            "interface": "virtual",
            "channel": f"bus-{time.monotonic_ns()}",
            "simulate": True,
        },
        "channels": [
            {"id": "ch1", "hw": 1, "max_voltage": 30.0, "max_current": 5.0, "ramp_rate": 10.0},
            {"id": "ch2", "hw": 2, "max_voltage": 30.0, "max_current": 5.0, "ramp_rate": 10.0},
        ],
        "publish_period": 0.2,
    }


@pytest.fixture
def ingester(tmp_path: Path, broker: Broker, influx: Influx) -> Iterator[Callable[[], LabdcsProcess]]:
    made: list[LabdcsProcess] = []

    def make() -> LabdcsProcess:
        process = ingest_process(tmp_path, broker.port, influx, LABDCS_RETENTION__RAW="7d").start()
        made.append(process)
        return process

    yield make
    for process in made:
        process.kill()


def start_devices(scpi_sim: Any, device_process: Callable[..., DeviceProcess]) -> list[DeviceProcess]:
    _, hv = scpi_sim("keithley2410")
    _, env = scpi_sim("envmon")
    return [
        device_process(hv_config(hv.port, publish_period=0.2)),
        device_process(env_config(env.port)),
        device_process(can_config()),
    ]


def live_states(probe: Probe) -> Counter[str]:
    """State messages each device published while the probe listened (retained replays excluded)."""
    return Counter(m.topic.split("/")[2] for m in probe.on(topics.ALL_STATE) if not m.retained)


def ingest_stats(probe: Probe) -> dict[str, float]:
    messages = probe.on(topics.state("ingest", "stats"))
    return messages[-1].json()["values"] if messages else {}


def stop_all(devices: list[DeviceProcess]) -> None:
    for device in devices:
        device.terminate()


def test_every_state_message_becomes_exactly_one_point(
    scpi_sim, device_process, probe, influx, ingester
) -> None:
    watcher = probe(topics.ALL_STATE)
    ingester()
    wait_until(lambda: ingest_stats(watcher), 20, "the ingester's first report")
    devices = start_devices(scpi_sim, device_process)
    wait_until(lambda: all(live_states(watcher)[d] >= 15 for d in DEVICES), 30, "a few seconds of states")
    # A command makes a burst of on-change states too.
    set_voltage = {"id": "c1", "value": 12.0, "ts": now_ms()}
    watcher.publish(topics.command("can1", "ch1", "set_voltage", PROBE_USER), json.dumps(set_voltage))
    watcher.publish(topics.command("can1", "ch1", "on", PROBE_USER), json.dumps({"id": "c2", "ts": now_ms()}))
    wait_until(lambda: live_states(watcher)["can1"] >= 40, 20, "more can1 states")
    stop_all(devices)
    expected = {d: live_states(watcher)[d] for d in DEVICES}

    def stored() -> dict[str, int] | None:
        counts = influx.count(STATES, "seq")
        return counts if all(counts.get(d, 0) >= expected[d] for d in DEVICES) else None

    counts = wait_until(stored, 20, f"InfluxDB to hold {expected}")
    assert {d: counts[d] for d in DEVICES} == expected, "no loss and no duplicates"
    distinct = influx.client.series_values(
        'SELECT count(distinct("seq")) FROM "power" WHERE "device" = \'hv1\''
    )
    assert distinct[0][1] == expected["hv1"]
    tags = influx.client.query('SHOW TAG VALUES FROM "sensor" WITH KEY = "kind"', database="labdcs")
    assert ["kind", "env"] in tags[0]["series"][0]["values"]
    stats = ingest_stats(watcher)
    assert stats["parse_errors"] == 0 and stats["type_conflicts"] == 0 and stats["refused"] == 0


def test_influxdb_outage_loses_nothing_and_the_buffer_drains(
    scpi_sim, device_process, probe, influx, ingester
) -> None:
    watcher = probe(topics.ALL_STATE)
    ingester()
    devices = start_devices(scpi_sim, device_process)
    wait_until(lambda: all(live_states(watcher)[d] >= 5 for d in DEVICES), 30, "states flowing")
    wait_until(lambda: sum(influx.count(STATES, "seq").get(d, 0) for d in DEVICES) > 0, 20, "first points")
    influx.stop()
    stopped_at = time.monotonic()
    # The outage lasts 10 s; meanwhile the ingester must buffer (and say so).
    wait_until(lambda: ingest_stats(watcher).get("buffered", 0) > 20, 15, "the spool to fill")
    wait_until(lambda: time.monotonic() - stopped_at >= 10, 15, "a 10 s outage")
    buffered = ingest_stats(watcher)["buffered"]
    assert ingest_stats(watcher)["write_errors"] >= 1
    influx.start()
    stop_all(devices)
    expected = {d: live_states(watcher)[d] for d in DEVICES}
    counts = wait_until(
        lambda: (c := influx.count(STATES, "seq")) and all(c.get(d, 0) >= expected[d] for d in DEVICES) and c,
        30,
        f"InfluxDB to hold {expected} after the outage",
    )
    assert {d: counts[d] for d in DEVICES} == expected
    wait_until(lambda: ingest_stats(watcher).get("buffered", 1) == 0, 20, "the spool to drain")
    assert buffered > 20


def test_malformed_and_type_conflicting_messages_are_counted_and_kept_aside(
    tmp_path: Path, scpi_sim, device_process, probe, influx, ingester
) -> None:
    watcher = probe(topics.ALL_STATE)
    ingester()
    devices = start_devices(scpi_sim, device_process)
    wait_until(lambda: all(live_states(watcher)[d] >= 3 for d in DEVICES), 30, "states flowing")
    watcher.publish(topics.state("rogue", "ch1"), b"{not json")
    conflicting = {
        "ts": int(time.time() * 1000),
        "seq": 0,
        "boot": "x",
        "kind": "power",
        "status": "on",
        "output": True,
        "ramping": False,
        "v_set": "high",
        "v_target": 1.0,
        "i_limit": 1.0,
        "ramp_rate": 1.0,
    }
    watcher.publish(topics.state("rogue", "ch1"), json.dumps(conflicting))
    stats = wait_until(
        lambda: (s := ingest_stats(watcher)) and s["parse_errors"] >= 1 and s["type_conflicts"] >= 1 and s,
        10,
        "both counted",
    )
    assert stats["parse_errors"] == 1 and stats["type_conflicts"] == 1
    rejected = [json.loads(line) for line in (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()]
    assert [r["payload"] for r in rejected] == ["{not json", json.dumps(conflicting)]
    assert "malformed JSON" in rejected[0]["reason"] and "v_set" in rejected[1]["reason"]
    stop_all(devices)
    expected = {d: live_states(watcher)[d] for d in DEVICES}
    counts = wait_until(
        lambda: (c := influx.count(STATES, "seq")) and all(c.get(d, 0) >= expected[d] for d in DEVICES) and c,
        20,
        "the rest of the stream stored",
    )
    assert {d: counts[d] for d in DEVICES} == expected
    assert "rogue" not in counts
