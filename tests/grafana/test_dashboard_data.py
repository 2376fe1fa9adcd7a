"""Every panel query of the committed dashboards against a real InfluxDB filled by the dummy stack.

Mosquitto, InfluxDB, the native ingester and four dummy devices (HV, environment, CAN LV and a
simulated battery station) run once for the module; commands, an instrument that stops answering
(an alarm), two battery experiments (a run a safety limit aborts, then three CC-CV cycles) and the
trend's downsampling give every panel something to show. Each target is then run the way Grafana
runs it (template variables resolved from the data, ``$timeFilter`` = the last 15 minutes,
``$__interval`` = 1 s) and must return at least one row with a value. The station runs at
``--speed max``, so its points carry simulated timestamps hours ahead of the wall clock: its
dashboard is queried over the span of the runs instead (``time >= ...ms and time <= ...ms``, as
Grafana writes an absolute range, with a 20 s interval). Panels only the compose stack can fill
(Telegraf's own metrics) are marked in their JSON and reported as skipped with the reason, after
their query ran without error.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labdcs.contract import topics
from labdcs.contract.models import now_ms
from labdcs.grafana.dashboards import STATION_UID
from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxError
from labdcs.security import influx as influx_auth
from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer
from tests.devices.test_cycler import station_config
from tests.grafana.grafana_queries import TIME_RANGE, Dashboard, Target, targets
from tests.ingest.test_ingest_e2e import can_config, env_config
from tests.support import (
    PROBE_USER,
    Broker,
    DeviceProcess,
    Influx,
    LabdcsProcess,
    Probe,
    ScpiLink,
    hv_config,
    wait_until,
)

# One stack for the module: its start and the wait for data count against the first test.
pytestmark = pytest.mark.timeout(300)

DASHBOARD_FILES = sorted((Path(__file__).resolve().parents[2] / "grafana" / "dashboards").glob("*.json"))
DASHBOARDS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}
HV1 = f"\"device\" = 'hv1' AND {TIME_RANGE}"
TARGETS = [target for dashboard in DASHBOARDS.values() for target in targets(dashboard)]

STATION = "station1"
#: Three CC-CV cycles at 2C (about 4.5 simulated hours) with short rests.
CYCLING = "exp-cycling"
CYCLING_PROTOCOL = """\
Protocol: dashboard-cycling
Record: every 30 seconds
Discharge at 2C until 2.75 V
Cycle 3 times:
    Charge at 2C and hold at 4.2 V for 1 hour or until C/10
    Rest for 2 minutes
    Discharge at 2C until 2.75 V or 1 hour
    Rest for 2 minutes
"""
#: A 2C charge warms the cell past the protocol's 26 degC within minutes: the run aborts (an alarm).
#: It runs first, while the cell is at room temperature.
ABORTED = "exp-aborted"
ABORTED_PROTOCOL = "Safety: t_max 26 degC\nRecord: every 30 seconds\nCharge at 2C for 2 hours\n"
STATION_INTERVAL_S = 20
#: Two interlock rules on the environment sensor: one always in force (any box is above 0 degC), one
#: never (no box reaches 100 degC), for the overview's interlock panels.
INTERLOCK_RULES = """\
device: interlock
heartbeat_period_s: 0.5
publish_period: 0.5
rules:
  - name: box-above-zero
    when: [{above: env1/box/temperature, limit: 0.0}]
    actions: {ramp_down: [hv1/ch1]}
  - name: box-boiling
    when: [{above: env1/box/temperature, limit: 100.0}]
    actions: {ramp_down: [hv1/ch1]}
"""


@dataclass
class FilledStack:
    client: InfluxClient
    """Grafana's login (``reader``): every panel query runs as it."""
    dashboards: dict[str, Dashboard]
    hv: ScpiLink
    probe: Probe
    admin: InfluxClient
    """The database's own work (the continuous query runs as the server, here as the admin)."""

    def downsample(self) -> None:
        """What the trend's continuous query has written by now (it runs once per interval)."""
        select = retention.trend_select(retention.RetentionSettings())
        self.admin.query(select.replace(" GROUP BY ", f" WHERE {TIME_RANGE} GROUP BY ", 1))


def _run_experiment(probe: Probe, experiment: str, protocol: str, end: str) -> dict[str, Any]:
    """Load and start a protocol on the station; the state in which the run ended."""
    for verb, body in (("load_protocol", {"protocol": protocol, "experiment": experiment}), ("start", {})):
        command_id = f"{experiment}-{verb}"
        message = {"id": command_id, "ts": now_ms(), **body}
        probe.publish(topics.command(STATION, "ch1", verb, PROBE_USER), json.dumps(message))
        ack = probe.wait_for(topics.ack(STATION), lambda a, i=command_id: a.get("id") == i, timeout=60)
        assert ack.json()["result"] == "accepted", ack.json().get("reason")
    state = probe.wait_for(
        topics.state(STATION, "ch1"),
        lambda s: s.get("experiment") == experiment and s["run_state"] == end,
        timeout=120,
    )
    result: dict[str, Any] = state.json()
    return result


def _station_stored(client: InfluxClient) -> bool:
    cycles = client.series_values(
        f'SELECT count("cycle_index") FROM "events"."cycler_stats" WHERE "device" = \'{STATION}\' '
        f"AND \"experiment\" = '{CYCLING}' AND \"scope\" = 'cycle'"
    )
    safety = client.series_values(
        f'SELECT last("active") FROM "events"."alarm" WHERE "device" = \'{STATION}\' '
        "AND \"alarm\" = 'ch1-safety'"
    )
    return bool(cycles and cycles[0][1] == 3 and safety and safety[0][1] is False)


def _station_time_range(probe: Probe, started_ms: int, ended_ms: int) -> str:
    """Grafana's absolute ``$timeFilter`` over both runs (simulated time runs ahead of the wall
    clock; alarms and acks carry wall-clock time)."""
    running = [
        m.json()["ts"]
        for m in probe.on(topics.state(STATION, "ch1"))
        if m.payload and m.json()["run_state"] == "running"
    ]
    start = min(started_ms, *running) - 60_000
    end = max(ended_ms, now_ms()) + 600_000
    return f"time >= {start}ms and time <= {end}ms"


def _missing(stack: FilledStack, target: Target) -> list[dict[str, str]]:
    return stack.dashboards[target.dashboard].missing_data(target.query)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledStack]:
    folder = tmp_path_factory.mktemp("grafana-data")
    broker = Broker(folder / "mosquitto")
    influx = Influx(folder / "influxdb")
    simulators = [ScpiServer(create_model("keithley2410")), ScpiServer(create_model("envmon"))]
    processes: list[LabdcsProcess] = []
    probes: list[Probe] = []
    try:
        broker.start()
        influx.start()
        hv_port, env_port = (simulator.start() for simulator in simulators)
        probe = Probe(broker.port).start()
        probes.append(probe)
        processes.append(
            LabdcsProcess(
                ["ingest"],
                folder / "ingest.log",
                broker.port,
                env={
                    **influx.env(influx_auth.WRITER),
                    "LABDCS_APPLY_RETENTION": "false",
                    "LABDCS_SPOOL_DIR": str(folder / "spool"),
                    "LABDCS_STATS_PERIOD_S": "0.3",
                    # The simulated station runs hours ahead of the wall clock (speed max): its
                    # simulated timestamps are legitimate here, so the skew limit is lifted.
                    "LABDCS_MAX_CLOCK_SKEW_S": "1e9",
                },
            ).start()
        )
        rules = folder / "interlock.yaml"
        rules.write_text(INTERLOCK_RULES)
        processes.append(
            LabdcsProcess(
                ["interlock", "run", "--config", str(rules)], folder / "interlock.log", broker.port
            ).start()
        )
        station = station_config(speed="max", sample_period=2.0)
        for config in (hv_config(hv_port, publish_period=0.2), env_config(env_port), can_config(), station):
            processes.append(DeviceProcess(folder, config, broker.port).start())
        watcher = Probe(broker.port).start(f"labdcs/v1/{STATION}/#")
        probes.append(watcher)
        watcher.wait_for(topics.online(STATION), lambda m: m["online"], timeout=60)
        started = now_ms()
        _run_experiment(watcher, ABORTED, ABORTED_PROTOCOL, "aborted")  # on the cool cell
        finished = _run_experiment(watcher, CYCLING, CYCLING_PROTOCOL, "finished")
        station_range = _station_time_range(watcher, started, finished["ts"])
        # Everything the runs published stored, up to the safety alarm the second start cleared
        # (an active-alarm panel must get its data from the muted instrument below, not from it).
        wait_until(lambda: _station_stored(influx.client), 60, "the station's runs in InfluxDB", interval=0.2)
        grafana = influx.login(influx_auth.READER)  # Grafana's datasource logs in as `reader`
        filled = FilledStack(
            grafana,
            {
                uid: Dashboard(d, grafana, station_range, STATION_INTERVAL_S)
                if uid == STATION_UID
                else Dashboard(d, grafana)
                for uid, d in DASHBOARDS.items()
            },
            ScpiLink(hv_port),
            probe,
            influx.client,
        )

        # Readbacks first: a muted instrument has none.
        def hv_readbacks() -> bool:
            try:
                return bool(influx.client.series_values(f'SELECT count("v_mon") FROM "power" WHERE {HV1}'))
            except InfluxError:
                return False  # the ingester has not created the database yet

        wait_until(hv_readbacks, 60, "hv1 readbacks in InfluxDB", interval=0.2)
        for number, (command, body) in enumerate(
            (
                ("set_voltage", {"value": 12.0}),
                ("on", {}),
                ("set_voltage", {"value": 999.0}),
            )  # 999 V: rejected
        ):
            message = {"id": f"c{number}", "ts": now_ms(), **body}
            probe.publish(topics.command("can1", "ch1", command, PROBE_USER), json.dumps(message))
        filled.hv.write("SIM:MUTE ON", confirm=False)  # -> the device's `instrument` alarm

        pending = [t for t in TARGETS if not t.requires]

        def all_have_data() -> bool:
            filled.downsample()
            pending[:] = [t for t in pending if _missing(filled, t)]
            return not pending

        with contextlib.suppress(AssertionError):  # each test reports its own target
            wait_until(all_have_data, 90, "every panel to have data", interval=0.5)
        yield filled
    finally:
        for client in probes:
            client.stop()
        for process in processes:
            process.kill()
        for simulator in simulators:
            simulator.stop()
        for server in (influx, broker):
            if server.process and server.process.poll() is None:
                server.process.kill()
                server.process.wait(10)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_panel_query_returns_data(stack: FilledStack, target: Target) -> None:
    if target.requires:
        dashboard = stack.dashboards[target.dashboard]
        for chosen in dashboard.single_choices(target.query):
            stack.client.query(dashboard.interpolate(target.query, chosen))  # valid InfluxQL
        pytest.skip(f"needs {target.requires['requires']}: {target.requires['reason']}")
    missing = _missing(stack, target)
    assert not missing, f"{target.query!r} returns no data for {missing}"


def test_variables_are_filled_from_the_data(stack: FilledStack) -> None:
    device = stack.dashboards["labdcs-device"]
    assert {"hv1", "env1", "can1", "ingest"} <= set(device.values("device", {}))
    assert device.values("channel", {"device": "can1"}) == ["ch1", "ch2"]
    assert device.values("channel", {"device": "env1"}) == ["box"]
    quantities = set(device.values("quantity", {}))
    assert {"temperature", "humidity", "dew_point", "lag"} <= quantities
    assert not {"seq", "status", "boot", "fault"} & quantities
    assert device.values("resolution", {}) == [retention.RAW, retention.TREND]


STATION_TARGETS = [target for target in TARGETS if target.dashboard == STATION_UID]
#: The station and one experiment, as the experiments page's link chooses them.
ONE_EXPERIMENT = {"station": STATION, "experiment": re.escape(CYCLING)}


def _station_target(title: str) -> Target:
    [target] = [t for t in STATION_TARGETS if t.panel_title == title]
    return target


def _rows(stack: FilledStack, target: Target, chosen: dict[str, str]) -> list[dict[str, Any]]:
    """Every row of a target's answer, with the series' tags as columns."""
    query = stack.dashboards[target.dashboard].interpolate(target.query, chosen)
    rows = []
    for result in stack.client.query(query):
        for series in result.get("series", []):
            for values in series["values"]:
                rows.append({**series.get("tags", {}), **dict(zip(series["columns"], values, strict=True))})
    return rows


def test_station_variables_list_cyclers_and_their_experiments(stack: FilledStack) -> None:
    board = stack.dashboards[STATION_UID]
    assert board.values("station", {}) == [STATION], "only devices of kind cycler"
    assert board.values("experiment", {"station": STATION}) == sorted([CYCLING, ABORTED])
    assert board.values("experiment", {"station": "hv1"}) == []
    assert board.variables["experiment"]["allValue"] == ".*", "All: the station's data, in a run or not"


@pytest.mark.parametrize(
    "target",
    [t for t in STATION_TARGETS if "$experiment" in t.query],
    ids=[t.name for t in STATION_TARGETS if "$experiment" in t.query],
)
def test_station_panel_shows_the_chosen_experiment_only(stack: FilledStack, target: Target) -> None:
    rows = _rows(stack, target, ONE_EXPERIMENT)
    assert rows, f"{target.name}: no data for experiment {CYCLING}"
    shown = {row["experiment"] for row in rows if row.get("experiment") is not None}
    assert shown <= {CYCLING}, f"{target.name} shows {shown}"


def test_per_cycle_panels_show_every_cycle_of_the_experiment(stack: FilledStack) -> None:
    fade = _station_target("Discharge capacity per cycle")
    assert "$timeFilter" not in fade.query, "the whole experiment, whatever the time range"
    cycles = _rows(stack, fade, ONE_EXPERIMENT)
    assert [row["cycle"] for row in cycles] == [1, 2, 3]
    # A 2.5 Ah cell charged to 4.2 V and discharged at 2C to 2.75 V gives most of its capacity.
    assert all(2.2 < row["discharge capacity"] <= row["charge capacity"] < 2.6 for row in cycles)
    efficiency = _rows(stack, _station_target("Efficiency per cycle"), ONE_EXPERIMENT)
    assert all(0.85 < row["energy"] < row["coulombic"] <= 1.0 for row in efficiency), efficiency
    resistance = _rows(stack, _station_target("DC resistance per cycle"), ONE_EXPERIMENT)
    assert all(0.005 < row["DC resistance"] < 0.1 for row in resistance)
    cv_time = _rows(stack, _station_target("CV time per cycle"), ONE_EXPERIMENT)
    assert all(row["CV time"] > 0 for row in cv_time), "each CC-CV charge ends in CV"
    # The aborted run ended in its first step, before any cycle.
    aborted = {**ONE_EXPERIMENT, "experiment": re.escape(ABORTED)}
    assert _rows(stack, fade, aborted) == []


def test_station_shows_how_each_run_ended(stack: FilledStack) -> None:
    run = _station_target("Run")
    [finished] = _rows(stack, run, ONE_EXPERIMENT)
    assert finished["run state"] == "finished" and finished["cycle"] == 3
    [aborted] = _rows(stack, run, {**ONE_EXPERIMENT, "experiment": re.escape(ABORTED)})
    assert aborted["run state"] == "aborted" and aborted["experiment"] == ABORTED
    assert aborted["end reason"].startswith("safety: temperature"), aborted
    steps = _rows(stack, _station_target("Steps"), ONE_EXPERIMENT)
    # A first discharge, then charge, rest, discharge, rest in each of the three cycles; newest first.
    assert [row["cycle"] for row in reversed(steps)] == [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    assert {row["step type"] for row in steps} == {"cc", "cccv", "rest"}
    assert all(row["duration"] > 0 and row["end reason"] for row in steps)
    alarms = _rows(stack, _station_target("Alarm transitions"), ONE_EXPERIMENT)
    assert any(row["alarm"] == "ch1-safety" and row["severity"] == "critical" for row in alarms), alarms


def test_device_panels_read_each_state_kind_where_it_is_kept(stack: FilledStack) -> None:
    """Battery station states live in their own retention policy: the panels over every device's
    states still see the station."""
    overview = stack.dashboards["labdcs-overview"]
    [last_state] = [t for t in targets(overview.data) if t.panel_title == "Last state received"]
    assert {"hv1", "env1", STATION} <= {row["device"] for row in _rows(stack, last_state, {})}


def test_trend_continuous_query_exists(stack: FilledStack) -> None:
    names = [row[0] for row in stack.client.series_values("SHOW CONTINUOUS QUERIES")]
    assert retention.TREND_CQ in names


def test_interlock_panels_show_which_rules_are_in_force(stack: FilledStack) -> None:
    overview = stack.dashboards["labdcs-overview"]
    titles = ("Rules in force", "Interlock rules", "Rules over time")
    panels = {t.panel_title: t for t in targets(overview.data) if t.panel_title in titles}
    assert set(panels) == set(titles)
    [[count]] = [
        [row[1] for row in series["values"]]
        for result in stack.client.query(overview.interpolate(panels["Rules in force"].query, {}))
        for series in result.get("series", [])
    ]
    assert count == 1
    table = {
        series["tags"]["channel"]: dict(zip(series["columns"], series["values"][0], strict=True))
        for result in stack.client.query(overview.interpolate(panels["Interlock rules"].query, {}))
        for series in result.get("series", [])
    }
    assert table["box-above-zero"]["status"] == "active" and table["box-above-zero"]["condition"] is True
    assert table["box-above-zero"]["detail"].startswith("env1/box/temperature = ")
    assert table["box-boiling"]["status"] == "ok" and table["box-boiling"]["active"] is False


def _active_alarms(stack: FilledStack) -> list[tuple[str, str]]:
    overview = stack.dashboards["labdcs-overview"]
    [table] = [t for t in targets(overview.data) if t.panel_title == "Active alarms" and "message" in t.query]
    found = []
    for result in stack.client.query(overview.interpolate(table.query, {})):
        for series in result.get("series", []):
            found.append((series["tags"]["device"], series["tags"]["alarm"]))
    return found


def test_active_alarms_follow_the_last_transition(stack: FilledStack) -> None:
    """Runs last: clears the alarm the other tests need."""
    # Another active alarm (the interlock's) may have filled the panels before hv1's was raised.
    wait_until(lambda: ("hv1", "instrument") in _active_alarms(stack), 60, "hv1's instrument alarm")
    stack.hv.write("SIM:MUTE OFF")
    wait_until(lambda: ("hv1", "instrument") not in _active_alarms(stack), 60, "the cleared alarm to leave")
    history = stack.client.series_values(
        'SELECT "active" FROM "events"."alarm" WHERE "device" = \'hv1\' AND "alarm" = \'instrument\''
    )
    assert [row[1] for row in history][-1] is False and True in [row[1] for row in history]
