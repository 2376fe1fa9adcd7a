"""The REST API fuzzed by schemathesis against its own OpenAPI document (in-process ASGI app on the
embedded store, with a real InfluxDB and broker behind it): no request, however odd, gets a 5xx,
and every answer matches the schema, content type and status codes the document promises. It logs
in as scripts do: with an admin's token (every scope), the battery-api included."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from labdcs.experiments.accounts import Scope
from labdcs.experiments.api import Services
from labdcs.experiments.documents import CellIn, ExperimentIn
from labdcs.experiments.live import MonitorHub
from labdcs.experiments.queue import QueueWorker
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from tests.experiments.conftest import populate
from tests.experiments.lab import accounts
from tests.support import Broker, Influx

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


STORE = Store("montydb://:memory:")
STORE.prepare()
populate(STORE)
STORE.add_cell(CellIn(serial="pack-1", type="lg-mj1", series=2))
STORE.create_experiment(
    ExperimentIn(name="queued one", cell="mj1-0001", station="station1", protocol="short-cycling-v1")
)
SERVICES = Services(store=STORE)
APP = create_app(SERVICES, accounts=accounts(), start_queue=False)
_, SECRET = APP.state.directory.create_token("admin", set(Scope), "schemathesis", by="tests")
LOGIN = {"Authorization": f"Bearer {SECRET}"}
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=LOGIN)
#: An event stream never ends: its answers are checked in tests/experiments/test_monitor.py.
schema = schema.exclude(path="/api/monitor/stream")


@pytest.fixture(scope="module", autouse=True)
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """InfluxDB and a broker behind the app (the schema is loaded at import, the servers now)."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    influx, broker = Influx(folder / "influx"), Broker(folder / "mosquitto")
    influx.start()
    broker.start()
    queue = QueueWorker(STORE, broker.mqtt("experiments"), command_timeout=1.0)
    SERVICES.series, SERVICES.queue, SERVICES.work_dir = (
        ExperimentSeries(influx.client),
        queue,
        folder / "work",
    )
    SERVICES.monitor = MonitorHub(STORE)
    queue.taps.append(SERVICES.monitor.on_message)
    queue.client.start()
    yield
    queue.client.stop()
    SERVICES.series = SERVICES.queue = SERVICES.monitor = None
    for server in (influx, broker):
        if server.process is not None:
            server.process.kill()
            server.process.wait(10)


#: Examples per operation; LABDCS_FUZZ_EXAMPLES=500 for a deep run before a release.
EXAMPLES = int(os.environ.get("LABDCS_FUZZ_EXAMPLES", "25"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=LOGIN, checks=CHECKS)


def test_openapi_is_published() -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP, headers=LOGIN) as http:
        document = http.get("/openapi.json").json()
    paths = document["paths"]
    expected = [
        "/api/experiments",
        "/api/experiments/{experiment_id}/export.csv",
        "/api/imports",
        "/api/cells",
        "/api/stations/{station_id}",
        "/api/compatible-protocols",
        "/api/protocols/check",
        "/api/users",
        "/api/tokens",
        "/battery-api/dataset/{id}/{column_id}",
    ]
    assert [path for path in expected if path not in paths] == []
    sort = next(p for p in paths["/api/experiments"]["get"]["parameters"] if p["name"] == "sort")
    assert set(sort["schema"]["enum"]) >= {"name", "status", "created", "cycles"}


def test_a_field_name_the_database_cannot_store_is_refused_by_name() -> None:
    """Found by the fuzzer: a "$" key in a cell type's free-form fields made a 500."""
    from fastapi.testclient import TestClient

    datasheet = {"manufacturer": "X", "model": "Y", "technology": "other", "nominal_capacity_ah": 1,
                 "nominal_voltage_v": 1,
                 "limits": {"v_min": 1, "v_max": 2, "i_charge_max": 1, "i_discharge_max": 1}}  # fmt: skip
    with TestClient(APP, headers=LOGIN) as http:
        for key in ("$where", "a.b"):
            answer = http.post("/api/cell-types", json={**datasheet, "extra": {key: 1.0}})
            assert answer.status_code == 422, answer.text
            assert any("may not start with '$' or contain '.'" in p for p in answer.json()["problems"])
