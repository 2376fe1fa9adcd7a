"""Battery station: the protocol engine on the simulated cell (in process, stepped clock), and the
cycler device service as a real process on a real broker (safety abort, pause/resume)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labdcs.clock import SteppedClock
from labdcs.contract import CyclerStats, StatsScope, now_ms, topics
from labdcs.contract.limits import MAX_PROTOCOL_BYTES
from labdcs.devices.cycler.config import CyclerChannelConfig
from labdcs.devices.cycler.service import CyclerChannel
from labdcs.drivers.registry import DriverSettings, create_source_driver
from tests.support import PROBE_USER, DeviceProcess, Probe

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CELL = {"name": "18650 NMC", "capacity_ah": 2.5, "v_min": 2.5, "v_max": 4.2, "i_charge_max": 5.0,
        "i_discharge_max": 5.0, "t_max_c": 60.0}  # fmt: skip
CYCLING = """\
Protocol: cc-cv-cycling
Record: every 10 seconds
Discharge at 1C until 2.75 V
Rest for 10 minutes
Cycle {cycles} times:
    Charge at 1C and hold at 4.2 V for 4 hours or until C/50
    Rest for 10 minutes
    Discharge at 1C until 2.75 V or 2 hours
    Rest for 10 minutes
"""


def run_in_process(
    text: str, soc: float = 0.5
) -> tuple[CyclerChannel, Any, list[CyclerStats], list[tuple[float, float, float]]]:
    clock = SteppedClock()
    driver = create_source_driver(DriverSettings(name="psb", simulate=True, cell={"soc": soc}), clock)
    driver.open()
    channel = CyclerChannel(CyclerChannelConfig(id="ch1", cell=CELL), driver, clock, "test")
    channel.ratings = driver.ratings(1)
    channel.load(text, "exp-test")
    channel.start(None)
    stats: list[CyclerStats] = []
    trace: list[tuple[float, float, float]] = []
    while channel.run_state.value == "running":
        assert channel.engine is not None
        clock.advance(channel.engine.period_hint(10.0))
        outcome = channel.sample(True)
        stats += outcome.stats
        assert channel.last is not None
        trace.append((clock.time(), channel.last.voltage, channel.last.current))
    return channel, driver, stats, trace


def _plot(
    cycles: list[CyclerStats], trace: list[tuple[float, float, float]], cycle_span: tuple[int, int]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ARTIFACTS.mkdir(exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    index = [c.cycle_index for c in cycles]
    ax1.plot(index, [c.discharge_capacity for c in cycles], "o-", ms=3, label="discharge")
    ax1.plot(index, [c.charge_capacity for c in cycles], "s-", ms=3, label="charge")
    ax1.set_ylabel("capacity / Ah")
    ax1.legend()
    ax2.plot(index, [c.coulombic_efficiency for c in cycles], "o-", ms=3, label="coulombic")
    ax2.plot(index, [c.energy_efficiency for c in cycles], "s-", ms=3, label="energy")
    ax2.set_ylabel("efficiency")
    ax2.set_xlabel("cycle")
    ax2.legend()
    fig.suptitle("Simulated NMC cell, 1C CC-CV / 1C CC, 50 cycles")
    fig.savefig(ARTIFACTS / "cycler-capacity-efficiency.png", dpi=100)
    plt.close(fig)
    start, end = cycle_span
    points = [p for p in trace if start <= p[0] * 1000 <= end]
    fig, ax = plt.subplots(figsize=(7, 4))
    t0 = points[0][0]
    ax.plot([(p[0] - t0) / 3600 for p in points], [p[1] for p in points], color="C0")
    ax.set_ylabel("voltage / V", color="C0")
    ax.set_xlabel("time in cycle / h")
    twin = ax.twinx()
    twin.plot([(p[0] - t0) / 3600 for p in points], [p[2] for p in points], color="C1")
    twin.set_ylabel("current / A", color="C1")
    fig.suptitle("Cycle 2: CC-CV charge (current decays in CV), rest (voltage relaxes), CC discharge")
    fig.savefig(ARTIFACTS / "cycler-cycle2-vi.png", dpi=100)
    plt.close(fig)


def test_cccv_cycling_on_the_simulated_cell() -> None:
    channel, driver, stats, trace = run_in_process(CYCLING.format(cycles=50))
    assert channel.run_state.value == "finished", channel.end_reason
    cycles = [s for s in stats if s.scope is StatsScope.CYCLE]
    steps = [s for s in stats if s.scope is StatsScope.STEP]
    assert [c.cycle_index for c in cycles] == list(range(1, 51))
    charges = [s for s in steps if s.step_type == "cccv"]
    assert len(charges) == 50
    # The charge ends on current in the CV phase, after time in CV.
    assert all(s.end_reason == "current <= 0.02 C" for s in charges)
    assert all(s.cv_time > 600 and s.cv_capacity > 0.05 for s in charges)
    # The discharge returns the cell's (faded) capacity within 2 %.
    cell = driver._handler.__self__.station.cell
    last = cycles[-1]
    assert last.discharge_capacity == pytest.approx(cell.capacity_ah, rel=0.02)
    assert cycles[0].discharge_capacity == pytest.approx(2.5, rel=0.02)
    # Coulombic efficiency is physically plausible, energy efficiency below it.
    for cycle in cycles:
        assert cycle.coulombic_efficiency is not None and cycle.energy_efficiency is not None
        assert 0.99 < cycle.coulombic_efficiency <= 1.0, cycle
        assert 0.85 < cycle.energy_efficiency < cycle.coulombic_efficiency
        assert cycle.dc_resistance is not None and 0.015 < cycle.dc_resistance < 0.05
        assert cycle.t_max is not None and cycle.t_max > 25.5
    # Fade shows over 50 cycles: clearly, steadily, and about as the cell model says.
    first, final = cycles[1].discharge_capacity, cycles[-1].discharge_capacity
    assert 0.01 < (first - final) / first < 0.04
    assert all(b.discharge_capacity < a.discharge_capacity + 0.002 for a, b in itertools.pairwise(cycles))
    # The run counters are the sums of the steps.
    assert channel.engine is not None
    assert channel.engine.discharge_ah == pytest.approx(sum(s.discharge_capacity for s in steps), rel=1e-9)
    _plot(cycles, trace, (cycles[1].start, cycles[1].end))
    assert (ARTIFACTS / "cycler-capacity-efficiency.png").stat().st_size > 10_000


def test_rest_relaxes_the_voltage_and_pulses_give_a_resistance() -> None:
    text = "Safety: v_min 2.5 V, v_max 4.2 V\nRecord: every 1 second\n"
    text += "Discharge at 1C for 10 minutes\nRest for 20 minutes\n"
    text += "Pulse discharge at 2 A for 10 seconds, rest 30 seconds, 3 times\n"
    _, _, stats, _ = run_in_process(text, soc=0.8)
    steps = [s for s in stats if s.scope is StatsScope.STEP]
    rest = steps[1]
    assert rest.step_type == "rest" and rest.v_max is not None and rest.v_min is not None
    assert rest.v_max - rest.v_min > 0.02  # relaxation after the discharge
    pulses = steps[2]
    assert pulses.end_reason == "3 pulses done"
    assert pulses.dc_resistance is not None and 0.018 < pulses.dc_resistance < 0.04
    assert pulses.discharge_capacity == pytest.approx(3 * 10 * 2 / 3600, rel=0.05)


def station_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "device": "station1",
        "kind": "cycler",
        "model": "EA PSB 9080-60 (simulated)",
        "driver": {"name": "psb", "simulate": True, "cell": {"soc": 0.5}},
        "channels": [{"id": "ch1", "cell": CELL}],
        "sample_period": 1.0,
        "publish_period": 0.5,
        "mqtt": {"keepalive": 2},
    }
    config.update(overrides)
    return config


def started_station(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe], **overrides: Any
) -> Probe:
    """A station service with :func:`station_config` (and ``overrides``), online, and a probe of
    all it publishes."""
    device_process(station_config(**overrides))
    watcher = probe("labdcs/v1/station1/#")
    watcher.wait_for(topics.online("station1"), lambda m: m["online"], timeout=30)
    return watcher


def _command(probe: Probe, verb: str, **body: Any) -> dict[str, Any]:
    command_id = f"t-{verb}-{now_ms()}-{len(probe.messages)}"
    body = {"id": command_id, "ts": now_ms(), **body}
    probe.publish(topics.command("station1", "ch1", verb, PROBE_USER), json.dumps(body))
    ack = probe.wait_for(topics.ack("station1"), lambda a: a.get("id") == command_id, timeout=30)
    result: dict[str, Any] = ack.json()
    return result


def _state(probe: Probe, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
    message = probe.wait_for(topics.state("station1", "ch1"), predicate, timeout=timeout)
    result: dict[str, Any] = message.json()
    return result


def test_leaving_a_safety_limit_aborts_with_output_off_and_an_alarm(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    hot = {**CELL, "t_max_c": 26.0}  # a 2C charge warms the cell past 26 degC within minutes
    device_process(station_config(speed="max", channels=[{"id": "ch1", "cell": hot}]))
    watcher = probe("labdcs/v1/station1/#")
    watcher.wait_for(topics.online("station1"), lambda m: m["online"], timeout=30)
    refused = _command(watcher, "load_protocol", protocol="Safety: v_min 2.5 V\nCharge at 9 A for 1 hour")
    assert refused["result"] == "rejected"
    assert "step 1 (cc): charge current 9 A exceeds the allowed 5 A" in refused["reason"]
    protocol = "Record: every 10 seconds\nCharge at 2C for 2 hours"
    assert _command(watcher, "load_protocol", protocol=protocol, experiment="exp-hot")["result"] == "accepted"
    assert _command(watcher, "start")["result"] == "accepted"
    aborted = _state(watcher, lambda s: s["run_state"] == "aborted")
    assert aborted["step_end_reason"].startswith("safety: temperature")
    assert aborted["output"] is False
    alarm = watcher.wait_for("labdcs/v1/station1/alarm/ch1-safety", timeout=10).json()
    assert alarm["severity"] == "critical" and "temperature" in alarm["message"]
    stats = watcher.wait_for(
        topics.stats("station1", "ch1"), lambda s: s["scope"] == "step", timeout=10
    ).json()
    assert stats["end_reason"].startswith("safety: temperature") and stats["charge_capacity"] > 0.05
    assert stats["experiment"] == "exp-hot"


def test_pause_and_resume_keep_counters_and_cycle_index(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    device_process(station_config(speed=200))
    watcher = probe("labdcs/v1/station1/#")
    watcher.wait_for(topics.online("station1"), lambda m: m["online"], timeout=30)
    protocol = "Record: every 5 seconds\nCycle 3 times:\n"
    protocol += "    Discharge at 0.5C for 10 minutes\n    Charge at 0.5C for 10 minutes\n"
    assert _command(watcher, "load_protocol", protocol=protocol)["result"] == "accepted"
    assert _command(watcher, "start", experiment="exp-pause")["result"] == "accepted"
    _state(
        watcher,
        lambda s: s["run_state"] == "running" and s["cycle_index"] == 1 and s["discharge_capacity"] > 0.02,
    )
    assert _command(watcher, "pause")["result"] == "accepted"
    paused = _state(watcher, lambda s: s["run_state"] == "paused" and not s["output"])
    frozen = _state(watcher, lambda s: s["run_state"] == "paused" and s["seq"] > paused["seq"] + 3)
    assert frozen["discharge_capacity"] == pytest.approx(paused["discharge_capacity"], abs=1e-4)
    assert frozen["step_time"] == pytest.approx(paused["step_time"], abs=1e-6)
    assert frozen["test_time"] > paused["test_time"]
    assert _command(watcher, "resume")["result"] == "accepted"
    resumed = _state(
        watcher, lambda s: s["run_state"] == "running" and s["seq"] > frozen["seq"] and s["output"]
    )
    assert resumed["cycle_index"] == paused["cycle_index"]
    assert resumed["discharge_capacity"] >= paused["discharge_capacity"] - 1e-4
    assert resumed["discharge_capacity"] < paused["discharge_capacity"] + 0.05
    assert resumed["experiment"] == "exp-pause"
    done = _state(watcher, lambda s: s["run_state"] == "finished", timeout=90)
    assert done["cycle_index"] == 3
    cycles = [m.json() for m in watcher.on(topics.stats("station1", "ch1")) if m.json()["scope"] == "cycle"]
    assert [c["cycle_index"] for c in cycles] == [1, 2, 3]
    assert done["discharge_capacity"] == pytest.approx(sum(c["discharge_capacity"] for c in cycles), rel=1e-6)
    assert _command(watcher, "resume")["result"] == "rejected"


def test_a_protocol_over_the_contracts_bound_is_refused_in_words(
    device_process: Callable[..., DeviceProcess], probe: Callable[..., Probe]
) -> None:
    """The bound the message budgets assume (labdcs.contract.limits.MAX_PROTOCOL_BYTES) holds."""
    device_process(station_config())
    watcher = probe("labdcs/v1/station1/#")
    watcher.wait_for(topics.online("station1"), lambda m: m["online"], timeout=30)
    text = "Protocol: long\n" + "Rest for 1 second\n" * (MAX_PROTOCOL_BYTES // 17)
    refused = _command(watcher, "load_protocol", protocol=text)
    assert refused["result"] == "rejected", refused
    assert refused["reason"] == f"the protocol is {len(text):,} bytes; a station takes at most 262,144"
