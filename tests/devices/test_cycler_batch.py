"""Batched states (contract 2.1.0): a station faster than real time sends its running states in
batches on ``.../states``, in order and each seq once, before the acks, alarms and statistics that
follow them; at speed 1 it publishes one state per message as before."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from labdcs.contract import decode, topics
from labdcs.contract.batch import CyclerStateBatch
from tests.devices.test_cycler import _command, _state, started_station, station_config
from tests.support import DeviceProcess, Probe, wait_until

STATE = topics.state("station1", "ch1")
STATES = topics.states("station1", "ch1")
STATS = topics.stats("station1", "ch1")


def test_at_speed_max_running_states_come_in_ordered_batches_each_seq_once(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    watcher = started_station(device_process, probe, speed="max", batch_max_states=50)
    protocol = "Record: every 1 second\nDischarge at 1C for 10 minutes\nRest for 10 minutes"
    loaded = _command(watcher, "load_protocol", protocol=protocol, experiment="exp-batch")
    assert loaded["result"] == "accepted"
    assert _command(watcher, "start")["result"] == "accepted"
    done = _state(watcher, lambda s: s["run_state"] == "finished", timeout=60)
    wait_until(lambda: len(list(watcher.on(STATS))) >= 2, 10, "the statistics of both steps")

    running: list[dict[str, Any]] = []  # every running state, in the order the broker delivered them
    batches: list[CyclerStateBatch] = []
    last_of_batch: dict[str, Any] | None = None
    stats_seen_after: list[tuple[dict[str, Any], int]] = []
    latest_ts = 0  # of any state received so far
    for message in list(watcher.messages):
        if message.topic == STATES:
            assert not message.retained, "a batch is never retained"
            _, batch = decode(STATES, message.payload)
            assert isinstance(batch, CyclerStateBatch)
            batches.append(batch)
            states: list[dict[str, Any]] = json.loads(message.payload)["states"]
            running += [s for s in states if s["run_state"] == "running"]
            last_of_batch = states[-1]
            latest_ts = max(latest_ts, *(s["ts"] for s in states))
        elif message.topic == STATE and not message.retained:
            state = message.json()
            if last_of_batch is not None:
                assert state == last_of_batch, "the retained copy of a batch's last state follows the batch"
                last_of_batch = None
                continue
            latest_ts = max(latest_ts, state["ts"])
            if state["run_state"] == "running":
                running.append(state)
        elif message.topic == STATS:
            stats_seen_after.append((message.json(), latest_ts))

    assert len(batches) >= 1200 // 50 - 2, f"{len(batches)} batches for 1,200 s at 1 Hz"
    assert all(1 <= len(b.states) <= 50 for b in batches)
    seqs = [s["seq"] for s in running]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "every running seq once, in order"
    assert 1190 <= len(seqs) <= 1210 and done["seq"] == seqs[-1] + 1
    assert all(s["experiment"] == "exp-batch" for s in running)
    step_stats = [(s, seen) for s, seen in stats_seen_after if s["scope"] == "step"]
    assert len(step_stats) == 2
    for stats, latest_state_before in step_stats:
        assert latest_state_before >= stats["end"], "statistics come after the states they sum up"


def test_at_speed_1_every_state_is_its_own_message_and_no_batch_is_sent(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    watcher = started_station(device_process, probe)
    protocol = "Record: every 1 second\nRest for 10 minutes"
    assert _command(watcher, "load_protocol", protocol=protocol)["result"] == "accepted"
    started = _command(watcher, "start")
    assert started["result"] == "accepted"
    first = _state(watcher, lambda s: s["run_state"] == "running", timeout=10)
    _state(watcher, lambda s: s["run_state"] == "running" and s["seq"] >= first["seq"] + 3, timeout=15)
    assert _command(watcher, "stop")["result"] == "accepted"
    assert list(watcher.on(STATES)) == []
    seqs = [m.json()["seq"] for m in watcher.on(STATE) if not m.retained]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "one state per message, each seq once"


def test_faster_than_real_time_a_state_waits_at_most_batch_max_wait_s(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    # 50 states per wall second (speed 50, 1 Hz record): a 0.2 s wait makes batches of about 10,
    # far below batch_max_states.
    watcher = started_station(device_process, probe, speed=50, batch_max_states=200, batch_max_wait_s=0.2)
    protocol = "Record: every 1 second\nRest for 1 hour"
    assert _command(watcher, "load_protocol", protocol=protocol)["result"] == "accepted"
    assert _command(watcher, "start")["result"] == "accepted"
    wait_until(lambda: len(watcher.on(STATES)) >= 8, 15, "eight batches")
    assert _command(watcher, "stop")["result"] == "accepted"
    sizes = [len(m.json()["states"]) for m in watcher.on(STATES)]
    assert all(2 <= n <= 16 for n in sizes), sizes
    seqs: list[int] = []
    for message in watcher.messages:
        if message.topic == STATES:
            seqs += [s["seq"] for s in message.json()["states"]]
    assert seqs == sorted(set(seqs)), "each seq once, in order"


def test_batch_settings_are_bounded_by_the_contract() -> None:
    from pydantic import ValidationError

    from labdcs.devices.cycler.config import CyclerConfig

    for bad in ({"batch_max_states": 0}, {"batch_max_states": 501}, {"batch_max_wait_s": 0}):
        try:
            CyclerConfig.model_validate(station_config(**bad))
        except ValidationError as exc:
            assert next(iter(bad)) in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
    assert CyclerConfig.model_validate(station_config(batch_max_states=500)).batch_max_states == 500
