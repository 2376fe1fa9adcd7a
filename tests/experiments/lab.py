"""A whole battery lab for end-to-end tests: broker, InfluxDB, the ingester, a simulated station at
high speed and ``labdcs experiments serve`` as a real process, and a small HTTP client."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from labdcs.experiments.auth import AuthSettings
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from labdcs.stack.paths import free_port
from tests.devices.test_cycler import station_config
from tests.support import Broker, DeviceProcess, Influx, LabdcsProcess, wait_for_manager, wait_until

#: The service's logins in these tests (generated per run, as `labdcs init` would).
ADMIN = ("admin", secrets.token_urlsafe(18))
VIEWER = ("viewer", secrets.token_urlsafe(18))


def basic(login: tuple[str, str]) -> dict[str, str]:
    """The Authorization header of a login (for clients that take headers, not ``auth``)."""
    return {"Authorization": "Basic " + base64.b64encode(":".join(login).encode()).decode()}


def accounts() -> AuthSettings:
    """The same logins for an in-process app (they become its first accounts)."""
    return AuthSettings(admin_password=ADMIN[1], viewer_password=VIEWER[1])


CELL_TYPE = {
    "manufacturer": "LG", "model": "MJ1", "technology": "li-ion", "chemistry": "NMC/graphite",
    "form_factor": "cylindrical 18650", "nominal_capacity_ah": 2.5, "nominal_voltage_v": 3.6,
    "limits": {"v_min": 2.5, "v_max": 4.2, "i_charge_max": 2.5, "i_discharge_max": 5.0, "t_max_c": 60},
}  # fmt: skip


def cycling(cycles: int, minutes: int) -> str:
    return (
        f"Protocol: cycling-{cycles}x{minutes}\nRecord: every 10 seconds\nCycle {cycles} times:\n"
        f"    Discharge at 1C for {minutes} minutes or until 2.8 V\n"
        f"    Charge at 1C for {minutes} minutes or until 4.1 V\n"
    )


@dataclass
class Lab:
    url: str
    server: LabdcsProcess
    station: DeviceProcess
    influx: Influx

    def client(self, login: tuple[str, str] | None = ADMIN) -> httpx.Client:
        """An HTTP client of the service, logged in as admin unless told otherwise (None: no login)."""
        return httpx.Client(base_url=self.url, timeout=30, auth=login)

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        with self.client() as http:
            result: dict[str, Any] = http.get(f"/api/experiments/{experiment_id}").raise_for_status().json()
            return result

    def wait_status(self, experiment_id: str, statuses: set[str], timeout: float = 90) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            experiment = self.experiment(experiment_id)
            return experiment if experiment["status"] in statuses else None

        return wait_until(reached, timeout, f"experiment {experiment_id} to be {statuses}", interval=0.2)


@pytest.fixture
def lab(
    tmp_path: Path, broker: Broker, influx: Influx, device_process: Callable[..., DeviceProcess]
) -> Iterator[Callable[..., Lab]]:
    made: list[LabdcsProcess] = []

    def make(
        speed: float = 300.0,
        grafana_url: str | None = "http://grafana.example:3000",
        env: dict[str, str] | None = None,
    ) -> Lab:
        """The lab; ``grafana_url=None`` runs the manager without a Grafana, as the native stack does;
        ``env``: more of the manager's settings."""
        retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
        ingest = LabdcsProcess(
            ["ingest"], tmp_path / "ingest.log", broker.port,
            env={**influx.env(influx_auth.WRITER), "LABDCS_SPOOL_DIR": str(tmp_path / "spool"),
                 "LABDCS_APPLY_RETENTION": "false", "LABDCS_BATCH_INTERVAL_S": "0.2",
                 # The station runs 300x faster and stamps samples in its simulated time (hours
                 # ahead): the ingester's clock-skew refusal would keep them out.
                 "LABDCS_MAX_CLOCK_SKEW_S": "1e9"},
        ).start()  # fmt: skip
        made.append(ingest)
        station = device_process(station_config(speed=speed, publish_period=0.5))
        port = free_port()
        server = LabdcsProcess(
            ["experiments", "serve"], tmp_path / "experiments.log", broker.port,
            env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", **influx.env(influx_auth.EXPERIMENTS),
                 "LABDCS_HTTP_PORT": str(port), "LABDCS_WORK_DIR": str(tmp_path / "work"),
                 "LABDCS_AUTH__ADMIN_PASSWORD": ADMIN[1], "LABDCS_AUTH__VIEWER_PASSWORD": VIEWER[1],
                 **({"LABDCS_GRAFANA_URL": grafana_url} if grafana_url else {}), **(env or {})},
        ).start()  # fmt: skip
        made.append(server)
        lab = Lab(f"http://127.0.0.1:{port}", server, station, influx)

        def ready() -> bool:
            assert server.alive(), server.log_text()[-3000:]
            try:
                with lab.client() as http:
                    return http.get("/api/stations/station1").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "the experiments service to see station1", interval=0.2)
        with lab.client() as http:
            http.post("/api/cell-types", json=CELL_TYPE).raise_for_status()
            http.post("/api/cells", json={"serial": "MJ1-0001", "type": "lg-mj1"}).raise_for_status()
        return lab

    yield make
    for process in made:
        process.kill()


@pytest.fixture
def manager(tmp_path: Path, influx: Influx) -> Iterator[str]:
    """`labdcs experiments serve --no-queue` with InfluxDB (no broker, no station): its URL."""
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    port = free_port()
    server = LabdcsProcess(
        ["experiments", "serve", "--no-queue"], tmp_path / "serve.log", free_port(),
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", "LABDCS_HTTP_PORT": str(port),
             "LABDCS_WORK_DIR": str(tmp_path / "work"), "LABDCS_AUTH__ADMIN_PASSWORD": ADMIN[1],
             **influx.env(influx_auth.EXPERIMENTS)},
    ).start()  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    wait_for_manager(server, url)
    yield url
    server.kill()
