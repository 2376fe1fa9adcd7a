"""Every panel query of the committed dashboards against a real InfluxDB filled by the dummy stack.

Mosquitto, InfluxDB, the native ingester and three dummy devices (HV, environment, CAN LV) run once
for the module; commands, an instrument that stops answering (an alarm) and the trend's
downsampling give every panel something to show. Each target is then run the way Grafana runs it
(template variables resolved from the data, ``$timeFilter`` = the last 15 minutes,
``$__interval`` = 1 s) and must return at least one row with a value. Panels only the compose
stack can fill (Telegraf's own metrics) are marked in their JSON and reported as skipped with the
reason, after their query ran without error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labdcs.contract import topics
from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxError
from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer
from tests.grafana.grafana_queries import TIME_RANGE, Dashboard, Target, targets
from tests.ingest.test_ingest_e2e import can_config, env_config
from tests.support import Broker, DeviceProcess, Influx, LabdcsProcess, Probe, ScpiLink, hv_config, wait_until

# One stack for the module: its start and the wait for data count against the first test.
pytestmark = pytest.mark.timeout(300)

DASHBOARD_FILES = sorted((Path(__file__).resolve().parents[2] / "grafana" / "dashboards").glob("*.json"))
DASHBOARDS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}
HV1 = f"\"device\" = 'hv1' AND {TIME_RANGE}"
TARGETS = [target for dashboard in DASHBOARDS.values() for target in targets(dashboard)]


@dataclass
class FilledStack:
    client: InfluxClient
    dashboards: dict[str, Dashboard]
    hv: ScpiLink
    probe: Probe

    def downsample(self) -> None:
        """What the trend's continuous query has written by now (it runs once per interval)."""
        select = retention.trend_select(retention.RetentionSettings())
        self.client.query(select.replace(" GROUP BY ", f" WHERE {TIME_RANGE} GROUP BY ", 1))


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
                    "LABDCS_INFLUX__URL": influx.url,
                    "LABDCS_SPOOL_DIR": str(folder / "spool"),
                    "LABDCS_STATS_PERIOD_S": "0.3",
                },
            ).start()
        )
        for config in (hv_config(hv_port, publish_period=0.2), env_config(env_port), can_config()):
            processes.append(DeviceProcess(folder, config, broker.port).start())
        filled = FilledStack(
            influx.client,
            {uid: Dashboard(d, influx.client) for uid, d in DASHBOARDS.items()},
            ScpiLink(hv_port),
            probe,
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
            probe.publish(topics.command("can1", "ch1", command), json.dumps({"id": f"c{number}", **body}))
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


def test_trend_continuous_query_exists(stack: FilledStack) -> None:
    names = [row[0] for row in stack.client.series_values("SHOW CONTINUOUS QUERIES")]
    assert retention.TREND_CQ in names


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
    assert ("hv1", "instrument") in _active_alarms(stack)
    stack.hv.write("SIM:MUTE OFF")
    wait_until(lambda: ("hv1", "instrument") not in _active_alarms(stack), 60, "the cleared alarm to leave")
    history = stack.client.series_values(
        'SELECT "active" FROM "events"."alarm" WHERE "device" = \'hv1\' AND "alarm" = \'instrument\''
    )
    assert [row[1] for row in history][-1] is False and True in [row[1] for row in history]
