"""The monitor's data path: the step as the protocol's text writes it and its end estimate, the
stream's bounds (per-connection memory, number of streams), and a run pushed live from the station
through the manager's stream (real broker, station, ingester and ``labdcs experiments serve``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from labdcs.contract import topics
from labdcs.contract.models import CyclerChannelState, CyclerRunState
from labdcs.devices.cycler.engine import flat_indices
from labdcs.experiments.live import MonitorHub, TooManyStreams
from labdcs.experiments.stepview import StepTrend, leaves, step_text
from labdcs.experiments.store import Store
from labdcs.protocols import parse
from tests.experiments.lab import ADMIN, Lab, cycling
from tests.support import wait_until

PROTOCOL = parse(
    "Protocol: p\nCapacity: 2.5 Ah\nRest for 10 minutes\nCycle 3 times:\n"
    "    [chg] Charge at 1C until 4.2 V or 3 hours then abort\n    Hold at 4.2 V until C/50\n"
    "    Discharge at 0.5C until 2.5 V\n"
)


def _state(**fields: Any) -> CyclerChannelState:
    base: dict[str, Any] = {
        "ts": 1, "seq": 0, "boot": "b", "run_state": CyclerRunState.RUNNING, "output": True,
        "experiment": "exp-1", "step_index": 2, "cycle_index": 1, "test_time": 0.0, "step_time": 0.0,
        "charge_capacity": 0.0, "discharge_capacity": 0.0, "charge_energy": 0.0, "discharge_energy": 0.0,
    }  # fmt: skip
    return CyclerChannelState(**(base | fields))


def test_the_step_is_named_as_the_protocol_text_writes_it_in_the_stations_numbering() -> None:
    steps = leaves(PROTOCOL)
    positions = flat_indices(PROTOCOL.steps)
    assert [positions[id(step)] for step in steps] == [1, 2, 3, 4], "the cycler's step_index"
    assert step_text(PROTOCOL, 1) == "Rest for 10 minutes"
    assert step_text(PROTOCOL, 2) == "[chg] Charge at 1C until 4.2 V or 3 hours then abort"
    assert step_text(PROTOCOL, 3) == "Hold at 4.2 V until C/50"
    assert step_text(PROTOCOL, 5) is None


def test_the_nearest_end_follows_the_trend_of_what_it_watches() -> None:
    steps = leaves(PROTOCOL)
    trend = StepTrend()
    trend.update(_state(voltage=3.9, current=2.5, step_time=100.0))  # joined mid-step: counts
    trend.update(_state(voltage=3.91, current=2.5, step_time=110.0))  # +1 mV/s: 4.2 V in 290 s
    end = trend.nearest_end(steps[1], 2.5)
    assert end is not None and end.condition == "4.2 V"
    assert end.eta_s == pytest.approx(290, rel=0.01)
    # The CV hold ends on C/50 = 0.05 A; the current falls 0.01 A/s from 0.25 A: 20 s.
    trend.update(_state(step_index=3, current=2.5, step_time=0.0))  # the jump into the step: left out
    trend.update(_state(step_index=3, current=0.26, step_time=1.0))
    trend.update(_state(step_index=3, current=0.25, step_time=2.0))
    end = trend.nearest_end(steps[2], 2.5)
    assert end is not None and end.condition == "C/50" and end.eta_s == pytest.approx(20, rel=0.01)
    # A rest: exact.
    trend.update(_state(step_index=1, step_time=420.0))
    rest = trend.nearest_end(steps[0], 2.5)
    assert rest is not None and rest.condition == "10 minutes" and rest.eta_s == pytest.approx(180)
    # Moving away from the end: no estimate rather than a wrong one.
    trend.update(_state(step_index=2, voltage=4.0, step_time=0.0))
    trend.update(_state(step_index=2, voltage=3.9, step_time=1.0))
    trend.update(_state(step_index=2, voltage=3.8, step_time=10.0))
    away = trend.nearest_end(steps[1], 2.5)
    assert away is not None and away.condition == "3 hours then abort" and away.eta_s == pytest.approx(10790)
    # Noise around a steady fall: the fit over the step's samples, not the last two.
    trend.update(_state(step_index=4, voltage=3.5, step_time=0.0))
    for n in range(1, 21):
        trend.update(
            _state(step_index=4, voltage=3.6 - 0.001 * n + (0.004 if n % 2 else -0.004), step_time=n)
        )
    fitted = trend.nearest_end(steps[3], 2.5)
    assert fitted is not None and fitted.eta_s == pytest.approx((3.58 - 2.5) / 0.001, rel=0.1)


def test_a_slow_stream_holds_the_newest_row_per_channel_and_streams_are_bounded(embedded: Store) -> None:
    hub = MonitorHub(embedded, max_streams=2)

    async def scenario() -> tuple[int, dict[str, Any], str]:
        slow, _ = hub.open()
        hub.open()
        refusal = ""
        try:
            hub.open()
        except TooManyStreams as exc:
            refusal = str(exc)
        for n in range(2000):  # a browser that reads nothing while 2000 states arrive
            for channel in ("ch1", "ch2"):
                state = _state(ts=n + 1, seq=n, voltage=3.0 + n / 10000, step_time=float(n))
                hub.handle(topics.state("station9", channel), state.model_dump_json().encode())
        rows = slow.take()
        return slow.pending, json.loads(rows[0]), refusal

    # In a thread of its own: Playwright's sync API (the session's Chromium) runs a loop in this one.
    with ThreadPoolExecutor(1) as thread:
        pending, first, refusal = thread.submit(asyncio.run, scenario()).result()
    assert pending == 0
    assert first["voltage"] == pytest.approx(3.1999), "the newest row, not a backlog"
    assert "2 live monitor streams are open" in refusal


def _events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])
            event = "message"


def test_a_run_is_pushed_live_and_the_stream_count_is_bounded(lab: Callable[..., Lab]) -> None:
    lab_ = lab(speed=100, env={"LABDCS_MONITOR_STREAMS": "2"})
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(2, 2)}).raise_for_status().json()
        experiment = http.post(
            "/api/experiments",
            json={"name": "watched", "cell": "mj1-0001", "station": "station1",
                  "protocol": protocol["protocol"]["id"], "operator": "alice"},
        ).raise_for_status().json()  # fmt: skip
    steps: list[str] = []
    deadline = time.monotonic() + 90
    with (
        httpx.Client(base_url=lab_.url, auth=ADMIN, timeout=30) as http,
        http.stream("GET", "/api/monitor/stream") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        with http.stream("GET", "/api/monitor/stream") as second:
            assert second.status_code == 200
            third = http.get("/api/monitor/stream")
            assert third.status_code == 503
            assert "2 live monitor streams are open" in third.json()["detail"]

        def opens() -> bool:  # a closed stream gives its place back
            with http.stream("GET", "/api/monitor/stream") as again:
                return again.status_code == 200

        wait_until(opens, 10, "a stream to open after another closed")
        voltages = []
        for event, data in _events(stream):
            rows = data if event == "snapshot" else [data]
            for row in rows:
                if row["experiment"] != experiment["id"] or row["run_state"] != "running":
                    continue
                assert row["name"] == "watched" and row["operator"] == "alice" and row["cell"] == "mj1-0001"
                voltages.append(row["voltage"])
                if not steps or steps[-1] != row["step"]:
                    steps.append(row["step"])
                assert row["end"] is not None
            if (len(steps) >= 2 and len(set(voltages)) > 3) or time.monotonic() > deadline:
                break
    assert steps[:2] == [
        "Discharge at 1C for 2 minutes or until 2.8 V",
        "Charge at 1C for 2 minutes or until 4.1 V",
    ]
    assert len(set(voltages)) > 3, "values advance"


def test_what_concerns_a_station_reaches_its_row_and_nothing_else(embedded: Store) -> None:
    from labdcs.contract.models import Alarm, RuleState, RuleStatus, RuleTarget, SensorChannelState

    hub = MonitorHub(embedded, environment={"station1": ["env1/box"]})

    def send(topic: str, message: Any) -> None:
        hub.handle(topic, message.model_dump_json(exclude_none=True).encode())

    send(topics.state("station1", "ch1"), _state())
    send(topics.state("station2", "ch1"), _state())

    def alarm(device: str, name: str, active: bool, acknowledged: int | None = None) -> Alarm:
        return Alarm(
            alarm=name, device=device, severity="error", message=f"{name} on {device}", active=active,
            raised=1, acknowledged=acknowledged,
        )  # fmt: skip

    def rule(name: str, detail: str, targets: list[str], active: bool) -> RuleState:
        return RuleState(
            ts=1, seq=0, boot="b", status=RuleStatus.ACTIVE if active else RuleStatus.OK, condition=active,
            active=active, latch=False, detail=detail,
            targets=[RuleTarget(device=t, channel="ch1", action="ramp_down") for t in targets],
        )  # fmt: skip

    send(topics.alarm("station1", "safety"), alarm("station1", "safety", True))
    send(topics.alarm("env1", "sensor"), alarm("env1", "sensor", True))
    send(topics.alarm("hv1", "trip"), alarm("hv1", "trip", True))
    send(
        topics.state("interlock", "box-hot"), rule("box-hot", "env1/box/temperature = 33 > 30", ["hv1"], True)
    )
    send(topics.state("interlock", "acts-on-2"), rule("acts-on-2", "lv1/ch1 is off", ["station2"], False))
    send(topics.alarm("interlock", "box-hot"), alarm("interlock", "box-hot", True))
    send(
        topics.state("env1", "box"),
        SensorChannelState(ts=1, seq=0, boot="b", status="ok", values={"temperature": 33.0}),
    )
    send(
        topics.state("env2", "box"),
        SensorChannelState(ts=1, seq=0, boot="b", status="ok", values={"temperature": 5.0}),
    )
    rows = {r.key: r for r in hub.rows()}
    one, two = rows["station1/ch1"], rows["station2/ch1"]
    assert sorted(f"{a.device}/{a.alarm}" for a in one.alarms) == [
        "env1/sensor",
        "interlock/box-hot",
        "station1/safety",
    ]
    assert [r.rule for r in one.interlocks] == ["box-hot"] and one.interlocks[0].active
    assert [s.sensor for s in one.environment] == ["env1/box"]
    assert two.alarms == [] and [r.rule for r in two.interlocks] == ["acts-on-2"] and two.environment == []
    assert hub.rules_of("station1") == [("interlock", "box-hot")]
    # Cleared and acknowledged: gone; cleared, not acknowledged: still shown, inactive.
    send(topics.alarm("station1", "safety"), alarm("station1", "safety", False, acknowledged=2))
    send(topics.alarm("env1", "sensor"), alarm("env1", "sensor", False))
    one = next(r for r in hub.rows() if r.key == "station1/ch1")
    assert [(a.alarm, a.active) for a in one.alarms if a.device != "interlock"] == [("sensor", False)]


def test_made_up_stations_cannot_grow_the_monitor_without_bound(
    embedded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labdcs.experiments import live

    monkeypatch.setattr(live, "MAX_ROWS", 3)
    hub = MonitorHub(embedded)
    for n in range(10):
        hub.handle(topics.state(f"station{n}", "ch1"), _state().model_dump_json().encode())
    assert [r.key for r in hub.rows()] == ["station0/ch1", "station1/ch1", "station2/ch1"]


def test_a_run_of_a_team_one_may_not_read_shows_its_station_not_its_names() -> None:
    """Teams with visibility ``team``: the monitor still shows the station and its values to the
    whole lab (safety), but not the run's experiment, cell, operator or protocol."""
    from labdcs.experiments.live import RUN_FIELDS, MonitorRow, visible

    row = MonitorRow(
        key="station1/ch1", station="station1", channel="ch1", experiment="exp-1", name="secret cathode",
        cell="c-9", operator="alice", protocol="p v1", team="cathodes", voltage=3.7, step="Charge at 1C",
    ).model_dump_json()  # fmt: skip
    hidden = MonitorRow.model_validate_json(visible(row, ["lab", "anodes"]))
    assert hidden.voltage == 3.7 and hidden.station == "station1"
    assert hidden.name == "a run of another team" and "secret cathode" not in visible(row, ["lab"])
    assert all(getattr(hidden, f) is None for f in RUN_FIELDS if f != "name")
    assert visible(row, ["cathodes"]) == row and visible(row, None) == row
