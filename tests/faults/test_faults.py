"""Faults injected into real processes: what is detected, how fast, and whether anything is lost."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labdcs.clock import ClockJumpDetector
from labdcs.contract import topics
from labdcs.contract.models import now_ms
from labdcs.ingest.influx import InfluxError
from labdcs.ingest.mapping import MAPPINGS
from tests.devices.conftest import hv_config
from tests.support import Broker, DeviceProcess, Influx, LabdcsProcess, Probe, wait_until


def stats(probe: Probe) -> dict[str, float]:
    messages = probe.on(topics.state("ingest", "stats"))
    return messages[-1].json()["values"] if messages else {}


def test_sigkill_of_a_device_service_goes_offline_by_last_will_and_restarts_cleanly(
    scpi_sim: Any,
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
    fault_report: Callable[..., None],
) -> None:
    _, link = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/hv1/#")
    config = hv_config(link.port, mqtt={"keepalive": 2})
    service = device_process(config)
    first = watcher.wait_for(topics.online("hv1"), lambda m: m["online"], timeout=30).json()["boot"]
    watcher.wait_for(topics.state("hv1", "ch1"), lambda m: m["boot"] == first, timeout=10)
    assert service.process is not None
    killed = time.monotonic()
    service.process.kill()
    offline = watcher.wait_for(topics.online("hv1"), lambda m: not m["online"], timeout=10, after=killed)
    detect = offline.at - killed
    assert detect <= 1.5 * 2 + 0.5, f"offline after {detect:.2f} s"
    restarted = device_process(config)
    online = watcher.wait_for(topics.online("hv1"), lambda m: m["online"] and m["boot"] != first, timeout=30)
    state = watcher.wait_for(topics.state("hv1", "ch1"), lambda m: m["boot"] != first, timeout=10).json()
    # A new boot restarts the sequence at 0: gap detection is per boot, so no false gap.
    assert state["seq"] in (0, 1) and state["output"] is False
    assert link.query(":OUTP?") in ("0", "OFF")
    assert restarted.alive() and online.json()["boot"] != first
    fault_report(
        "SIGKILL of a device service (keep-alive 2 s)",
        f"offline by last will after {detect:.2f} s (limit 3 s: the kernel closes the socket at once; "
        "a hung service: tests/devices, within 1.5x keep-alive); restart: new boot, seq {state['seq']}, "
        "output stays off",
    )


def test_garbage_on_every_subscribed_topic_is_counted_and_crashes_nothing(
    broker: Broker,
    influx: Influx,
    probe: Callable[..., Probe],
    ingester: Callable[..., LabdcsProcess],
    fault_report: Callable[..., None],
) -> None:
    watcher = probe(topics.state("ingest", "stats"))
    process = ingester()
    wait_until(lambda: stats(watcher), 30, "the ingester's first report")
    publisher = probe()
    filters = [m.topic_filter for m in MAPPINGS]
    sent = 0

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        filter_index=st.integers(0, len(filters) - 1),
        device=st.sampled_from(["hv1", "x", "dev-9"]),
        payload=st.one_of(
            st.binary(min_size=1, max_size=200),
            st.text(min_size=1, max_size=100).map(str.encode),
            st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8)), min_size=1).map(
                lambda d: json.dumps(d).encode()
            ),
        ),
    )
    def publish_garbage(filter_index: int, device: str, payload: bytes) -> None:
        nonlocal sent
        topic = filters[filter_index].replace("+", device, 1).replace("+", "ch1").replace("#", "x")
        publisher.publish(topic, payload)
        sent += 1

    publish_garbage()
    counted = lambda: stats(watcher).get("parse_errors", 0) + stats(watcher).get("type_conflicts", 0)  # noqa: E731
    wait_until(lambda: counted() + stats(watcher).get("points", 0) >= sent, 30, "every message counted")
    assert process.alive(), process.log_text()[-2000:]
    bad = counted()
    assert bad >= 1
    alarm = watcher_alarm(broker, "bad_messages")
    assert alarm["active"] and alarm["severity"] == "warning"
    fault_report(
        "garbage on every subscribed topic (hypothesis, 60 examples)",
        f"{sent} sent, {int(bad)} counted as bad, {int(stats(watcher)['points'])} points from what "
        "happened to be valid; ingester alive; bad_messages alarm raised",
    )


def stored(influx: Influx, measurement: str, field: str) -> dict[str, int]:
    """Points per device; nothing while the ingester has not created the database yet."""
    try:
        return influx.count(measurement, field)
    except InfluxError:
        return {}


def watcher_alarm(broker: Broker, alarm: str) -> dict[str, Any]:
    """The retained alarm of the ingester, as a new subscriber sees it."""
    reader = Probe(broker.port).start(topics.alarm("ingest", alarm))
    try:
        message = reader.wait_for(topics.alarm("ingest", alarm), timeout=15)
        result: dict[str, Any] = message.json()
        return result
    finally:
        reader.stop()


def test_timestamps_far_in_the_past_or_future_are_refused_and_flagged(
    broker: Broker,
    influx: Influx,
    tmp_path: Path,
    probe: Callable[..., Probe],
    ingester: Callable[..., LabdcsProcess],
    fault_report: Callable[..., None],
) -> None:
    watcher = probe(topics.state("ingest", "stats"))
    ingester()
    wait_until(lambda: stats(watcher), 30, "the ingester's first report")
    publisher = probe()
    hour = 3_600_000
    for n, ts in enumerate([now_ms() - 24 * hour, now_ms() + hour, now_ms() - 10 * 365 * 24 * hour]):
        state = {"ts": ts, "seq": n, "boot": "b1", "kind": "sensor", "status": "ok", "values": {"t": 1.0}}
        publisher.publish(topics.state("env9", "box"), json.dumps(state))
    good = {"ts": now_ms(), "seq": 3, "boot": "b1", "kind": "sensor", "status": "ok", "values": {"t": 2.0}}
    publisher.publish(topics.state("env9", "box"), json.dumps(good))
    wait_until(lambda: stats(watcher).get("clock_skew", 0) >= 3, 20, "3 points flagged")
    wait_until(lambda: stored(influx, "sensor", "t").get("env9") == 1, 20, "the good point stored")
    rejected = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert sum("the ingester's clock" in line for line in rejected) == 3
    assert watcher_alarm(broker, "bad_messages")["active"]
    # A device notices its own clock jumping (the detector it runs every tick).
    wall = [1000.0]
    detector = ClockJumpDetector(threshold_s=2.0, wall=lambda: wall[0], monotonic=lambda: 5.0)
    assert detector.check() is None
    wall[0] += 3600
    assert detector.check() == 3600
    assert detector.check() is None
    fault_report(
        "timestamps 1 h ahead, 24 h and 10 years behind; wall clock jump",
        "3 of 3 refused, counted (clock_skew), kept in rejected.jsonl, bad_messages alarm; "
        "the good point stored; a 1 h jump detected by the device's clock watch",
    )
