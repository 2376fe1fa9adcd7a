"""Issue 12, "the topic is the identity": a device's credential cannot speak for another device.

The attacks as measured in the issue, replayed against the battery lab (real broker with its ACL,
InfluxDB, ingester, a simulated station and ``labdcs experiments serve``): ``env1`` publishes cycle
statistics naming station1's experiment, and republishes station1's meta with widened limits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from labdcs.contract import topics
from tests.experiments.lab import Lab, cycling, lab  # noqa: F401 (the fixture)
from tests.support import Broker, Probe, wait_until

FORGED_STATS = 20


def _queue_running(lab_: Lab) -> str:
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(20, 30)}).json()["protocol"]["id"]
        created = http.post(
            "/api/experiments",
            json={"name": "victim", "cell": "mj1-0001", "station": "station1", "protocol": protocol},
        )
        assert created.status_code == 201, created.text
    experiment: str = created.json()["id"]
    lab_.wait_status(experiment, {"running"})
    return experiment


def _stats(experiment: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "scope": "cycle", "ts": now, "boot": "forged", "experiment": experiment, "cycle_index": 7,
        "start": now - 1000, "end": now, "duration": 1.0, "charge_capacity": 99.0,
        "discharge_capacity": 99.0, "charge_energy": 99.0, "discharge_energy": 99.0, "cv_time": 0.0,
        "cv_capacity": 0.0,
    }  # fmt: skip


def _health(lab_: Lab) -> dict[str, Any]:
    with lab_.client() as http:
        result: dict[str, Any] = http.get("/api/queue/health").raise_for_status().json()
        return result


def test_a_device_cannot_forge_another_stations_data_or_registration(
    lab: Callable[..., Lab],  # noqa: F811
    broker: Broker,
    fault_report: Callable[[str, str], None],
) -> None:
    lab_ = lab(speed=100)
    experiment = _queue_running(lab_)
    with lab_.client() as http:
        registered = http.get("/api/stations/station1").json()["station"]
    watcher = Probe(broker.port).start(topics.meta("station1"))
    station_meta = watcher.wait_for(topics.meta("station1")).json()
    watcher.stop()
    env1 = Probe(broker.port, username="env1").start()

    # 1. station1's meta republished by env1 with widened limits and a new description.
    forged_meta = json.loads(json.dumps(station_meta))
    forged_meta["description"] = "FORGED by env1"
    for channel in forged_meta["channels"]:
        channel["cycler_limits"].update({"v_min": 0.0, "v_max": 60.0, "i_min": -500.0, "i_max": 500.0})
    env1.publish(topics.meta("env1"), json.dumps(forged_meta), retain=True)
    # 2. cycle statistics naming station1's experiment from a channel env1 never declared ...
    for _ in range(FORGED_STATS):
        env1.publish(topics.stats("env1", "box"), json.dumps(_stats(experiment)))
    # 3. ... and from one it declares, as a cycler of its own (which it may be).
    own_meta = {**forged_meta, "device": "env1", "description": "env1 as a cycler"}
    own_meta["channels"] = [{**forged_meta["channels"][0], "id": "box"}]
    env1.publish(topics.meta("env1"), json.dumps(own_meta), retain=True)
    with lab_.client() as http:
        wait_until(lambda: http.get("/api/stations/env1").status_code == 200, 30, "env1's own meta")
    for _ in range(FORGED_STATS):
        env1.publish(topics.stats("env1", "box"), json.dumps(_stats(experiment)))

    def refused() -> dict[str, Any] | None:
        counts: dict[str, Any] = _health(lab_)["refused"]
        done = counts.get("undeclared", 0) >= FORGED_STATS and counts.get("forgery", 0) >= FORGED_STATS
        return counts if done and counts.get("identity", 0) >= 1 else None

    counts = wait_until(refused, 30, "the manager to refuse the forgeries", interval=0.2)
    env1.publish(topics.meta("env1"), b"", retain=True)
    env1.stop()

    with lab_.client() as http:
        cycles = http.get(f"/api/experiments/{experiment}/cycles").json()
        assert not [c for c in cycles if c["charge_capacity"] == 99.0], cycles
        assert lab_.experiment(experiment)["cycles"] == len(cycles)
        station = http.get("/api/stations/station1").json()["station"]
        assert station["description"] == registered["description"] != "FORGED by env1"
        assert station["channels"] == registered["channels"]
        audit = http.get("/api/audit", params={"target": experiment}).json()
        forgeries = [a for a in audit if a["action"] == "forged stats"]
        assert forgeries and forgeries[0]["user"] == "env1" and forgeries[0]["result"] == "refused"
        assert "station1/ch1" in forgeries[0]["detail"]
        report = http.get(f"/api/experiments/{experiment}/report.html").text
        assert "<td>7</td>" not in report and "99.0" not in report
    fault_report(
        "env1 forges station1: its meta republished on env1/meta with 0-60 V, +-500 A; "
        f"{FORGED_STATS} cycle stats (cycle 7, 99 Ah) naming station1's running experiment from an "
        f"undeclared channel, {FORGED_STATS} more after declaring itself a cycler",
        f"refused {counts}; station1's registration and limits unchanged; experiment's cycles "
        f"{len(cycles)} (none forged); {len(forgeries)} audit entry 'forged stats' (one per minute)",
    )
