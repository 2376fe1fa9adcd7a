"""Batched cycler states (contract 2.1.0) through the native ingester on real Mosquitto and InfluxDB:
every state of every batch becomes the point its state topic would give, each seq once; a broken
batch is refused whole, counted and kept aside."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labdcs.contract import encode, examples, topics
from tests.devices.test_cycler import _command, _state, station_config
from tests.support import Broker, DeviceProcess, Influx, LabdcsProcess, Probe, ingest_process, wait_until

STATE = topics.state("station1", "ch1")
STATES = topics.states("station1", "ch1")


def _ingester(tmp_path: Path, broker: Broker, influx: Influx) -> LabdcsProcess:
    # A simulation's timestamps run ahead of the wall clock: no skew limit for it.
    return ingest_process(tmp_path, broker.port, influx, LABDCS_MAX_CLOCK_SKEW_S="1e9").start()


def _count(influx: Influx, device: str, where: str = "") -> int:
    """Stored cycler states of ``device`` (battery data live in the ``experiments`` policy)."""
    clause = f"\"device\" = '{device}'" + (f" AND {where}" if where else "")
    rows = influx.client.series_values(f'SELECT count("seq") FROM "experiments"."cycler" WHERE {clause}')
    return int(rows[0][1]) if rows else 0


def _stats(probe: Probe) -> dict[str, float]:
    messages = probe.on(topics.state("ingest", "stats"))
    return messages[-1].json()["values"] if messages else {}


def test_every_state_of_every_batch_is_stored_once(
    tmp_path: Path,
    broker: Broker,
    influx: Influx,
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
) -> None:
    watcher = probe("labdcs/v1/#")
    ingester = _ingester(tmp_path, broker, influx)
    try:
        wait_until(lambda: _stats(watcher), 20, "the ingester's first report")
        device_process(station_config(speed="max", batch_max_states=50))
        watcher.wait_for(topics.online("station1"), lambda m: m["online"], timeout=30)
        protocol = "Record: every 1 second\nDischarge at 1C for 10 minutes"
        loaded = _command(watcher, "load_protocol", protocol=protocol, experiment="exp-b")
        assert loaded["result"] == "accepted"
        assert _command(watcher, "start")["result"] == "accepted"
        _state(watcher, lambda s: s["run_state"] == "finished", timeout=60)

        published: dict[int, dict[str, Any]] = {}
        batches = 0
        for message in watcher.on("labdcs/v1/station1/ch1/+"):
            if message.topic == STATES:
                batches += 1
                published.update((s["seq"], s) for s in message.json()["states"])
            elif message.topic == STATE and not message.retained:
                published[message.json()["seq"]] = message.json()
        running = {seq for seq, s in published.items() if s["run_state"] == "running"}
        assert batches >= 10 and len(running) >= 590

        where = "\"run_state\" = 'running'"
        wait_until(
            lambda: _count(influx, "station1", where) >= len(running),
            30,
            f"InfluxDB to hold {len(running)} running states",
        )
        assert _count(influx, "station1", where) == len(running), "every state once: none lost, none twice"
        rows = influx.client.series_values(
            'SELECT "seq", "voltage", "experiment" FROM "experiments"."cycler" '
            f"WHERE \"device\" = 'station1' AND {where}"
        )
        stored = {int(row[1]): row for row in rows}
        assert set(stored) == running
        for seq in sorted(running)[::97]:
            _, _, voltage, experiment = stored[seq]
            assert voltage == published[seq]["voltage"] and experiment == "exp-b"
        stats = _stats(watcher)
        assert stats["parse_errors"] == 0 and stats["undeclared"] == 0 and stats["clock_skew"] == 0
    finally:
        ingester.kill()


def test_a_broken_batch_is_refused_whole_counted_and_kept_aside(
    tmp_path: Path, broker: Broker, influx: Influx, probe: Callable[..., Probe]
) -> None:
    watcher = probe("labdcs/v1/#")
    ingester = _ingester(tmp_path, broker, influx)
    try:
        wait_until(lambda: _stats(watcher), 20, "the ingester's first report")
        good = json.loads(encode(examples.cycler_state_batch()))["states"]
        rogue = topics.states("rogue", "ch1")  # no meta yet: believed during the grace period
        broken = json.dumps({"states": [good[0], good[2], good[1]]})  # out of order
        watcher.publish(rogue, broken)
        watcher.publish(rogue, json.dumps({"states": good}))
        stats = wait_until(
            lambda: (s := _stats(watcher)) and s["parse_errors"] >= 1 and s["points"] >= 3 and s,
            15,
            "the broken batch counted and the good one stored",
        )
        assert stats["parse_errors"] == 1
        lines = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
        (rejected,) = [json.loads(line) for line in lines]
        assert broken.startswith(rejected["payload"]) and rejected["size"] == len(broken)
        assert "states[2].seq" in rejected["reason"]
        wait_until(lambda: _count(influx, "rogue") >= 3, 15, "the good batch")
        assert _count(influx, "rogue") == 3, "the good batch's three states, and nothing of the broken one"
    finally:
        ingester.kill()
