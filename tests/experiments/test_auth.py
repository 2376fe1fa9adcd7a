"""The experiments manager's logins: nothing is answered without one, viewers only read, a write from
another site's page is refused, the audit names the login; and the service does not start open."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from labdcs.experiments import api, battery_api, people_api, people_web, web
from labdcs.experiments.api import Services
from labdcs.experiments.auth import AuthSettings
from labdcs.experiments.documents import ExperimentIn
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from labdcs.stack.paths import free_port
from tests.experiments.conftest import populate
from tests.experiments.lab import ADMIN, VIEWER, accounts


@pytest.fixture
def app(embedded: Store, tmp_path: Path) -> Any:
    populate(embedded)
    return create_app(Services(store=embedded, work_dir=tmp_path / "work"), accounts=accounts())


@pytest.fixture
def anonymous(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as http:
        yield http


def _every_path(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, path parameters filled with a plausible id."""
    found = []
    routes = [
        (route, "") for module in (api, people_api, web, people_web) for route in module.router().routes
    ]
    routes += [(route, battery_api.PREFIX) for route in battery_api.router().routes]
    for route, prefix in [*((route, "") for route in app.routes), *routes]:
        if isinstance(route, APIRoute | Route) and route.path != "/healthz":
            path = prefix + route.path.replace("{", "").replace("}", "")
            for method in sorted(route.methods or {"GET"}):
                found.append((method, path))
    return found


def test_every_route_refuses_a_request_without_a_login(app: Any, anonymous: TestClient) -> None:
    paths = _every_path(app)
    assert len(paths) > 50 and ("GET", "/") in paths and ("GET", "/openapi.json") in paths
    assert ("GET", "/battery-api/dataset") in paths and ("POST", "/api/users") in paths
    answers = {(method, path): anonymous.request(method, path) for method, path in paths}
    open_ = {key: answer.status_code for key, answer in answers.items() if answer.status_code != 401}
    assert open_ == {}, f"answered without a login: {open_}"
    assert all(a.headers["www-authenticate"] == 'Basic realm="labdcs experiments"' for a in answers.values())


@pytest.mark.parametrize(
    "authorization",
    [
        httpx.BasicAuth("admin", "wrong"),
        httpx.BasicAuth("nobody", "anything"),
        httpx.BasicAuth("admin", ""),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Bearer abc"},
    ],
    ids=["wrong password", "unknown user", "empty password", "malformed", "other scheme"],
)
def test_a_bad_login_is_refused(anonymous: TestClient, authorization: Any) -> None:
    if isinstance(authorization, dict):
        answer = anonymous.get("/api/cells", headers=authorization)
    else:
        answer = anonymous.get("/api/cells", auth=authorization)
    assert answer.status_code == 401 and answer.json()["detail"] == "a login is needed"


def test_the_healthcheck_is_open_and_says_nothing(anonymous: TestClient) -> None:
    answer = anonymous.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_a_viewer_reads_but_changes_nothing(anonymous: TestClient, embedded: Store) -> None:
    before = embedded.col("cells").count_documents({})
    listed = anonymous.get("/api/cells", auth=VIEWER)
    assert listed.status_code == 200 and listed.json()["total"] == before
    assert anonymous.get("/", auth=VIEWER).status_code == 200
    created = anonymous.post("/api/cells", auth=VIEWER, json={"serial": "MJ1-0099", "type": "lg-mj1"})
    assert created.status_code == 403 and created.json()["detail"] == "user viewer may only read"
    assert embedded.col("cells").count_documents({}) == before
    by_admin = anonymous.post("/api/cells", auth=ADMIN, json={"serial": "MJ1-0099", "type": "lg-mj1"})
    assert by_admin.status_code == 201, by_admin.text
    assert embedded.col("cells").count_documents({}) == before + 1


def test_a_write_from_another_sites_page_is_refused(anonymous: TestClient, embedded: Store) -> None:
    cell = {"serial": "MJ1-0100", "type": "lg-mj1"}
    forged = anonymous.post("/api/cells", auth=ADMIN, json=cell, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "https://evil.example" in forged.json()["detail"]
    sandboxed = anonymous.post("/api/cells", auth=ADMIN, json=cell, headers={"Origin": "null"})
    assert sandboxed.status_code == 403
    # Same host, another port (Node-RED, Grafana, a dev server) or scheme: another site.
    for other in ("http://testserver:1880", "https://testserver", "http://testserver:8443"):
        forged = anonymous.post("/api/cells", auth=ADMIN, json=cell, headers={"Origin": other})
        assert forged.status_code == 403, (other, forged.text)
    referred = anonymous.post(
        "/api/cells", auth=ADMIN, json=cell, headers={"Referer": "http://testserver:1880/x"}
    )
    assert referred.status_code == 403
    assert embedded.col("cells").count_documents({"serial": "MJ1-0100"}) == 0
    # The UI's own page may: directly, and behind the gateway (which says the origin the browser saw).
    own = anonymous.post("/api/cells", auth=ADMIN, json=cell, headers={"Origin": "http://testserver"})
    assert own.status_code == 201, own.text
    gateway = {"Origin": "https://lab.example:8443", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "lab.example:8443"}  # fmt: skip
    cell2 = {"serial": "MJ1-0101", "type": "lg-mj1"}
    assert anonymous.post("/api/cells", auth=ADMIN, json=cell2, headers=gateway).status_code == 201


def test_the_audit_names_the_login_and_the_person_at_it(anonymous: TestClient, embedded: Store) -> None:
    """The web login is the principal; the person a request names is kept next to it as a claim."""
    data = {"name": "to dequeue", "cell": "mj1-0001", "station": "station1", "protocol": "short-cycling-v1"}
    created = anonymous.post("/api/experiments", auth=ADMIN, json=data | {"operator": "bob"})
    assert created.status_code == 201, created.text
    queued = embedded.experiment(created.json()["id"])
    answer = anonymous.post(f"/api/experiments/{queued.id}/stop", auth=ADMIN, params={"user": "alice"})
    assert answer.status_code == 200 and answer.json()["result"] == "dequeued", answer.text
    entries = [(entry.action, entry.principal, entry.user) for entry in embedded.audit_entries(queued.id)]
    assert sorted(entries) == [("create", "admin", "bob"), ("dequeue", "admin", "alice")]
    assert embedded.experiment(queued.id).end_reason == "removed from the queue by admin (claims alice)"
    unnamed = embedded.create_experiment(ExperimentIn(**data))
    anonymous.post(f"/api/experiments/{unnamed.id}/stop", auth=ADMIN)
    (dequeued,) = [entry for entry in embedded.audit_entries(unnamed.id) if entry.action == "dequeue"]
    assert (dequeued.principal, dequeued.user) == ("admin", None)


def test_the_service_does_not_start_without_its_login(tmp_path: Path) -> None:
    env = {"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", "LABDCS_HTTP_PORT": str(free_port())}
    started = subprocess.run(
        [sys.executable, "-m", "labdcs", "experiments", "serve", "--no-queue"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("LABDCS_")} | env,
    )  # fmt: skip
    assert started.returncode != 0
    assert "needs its logins: run `labdcs init`" in started.stderr, started.stderr


def test_a_password_file_that_cannot_be_read_is_named() -> None:
    with pytest.raises(ValueError, match="cannot read experiments admin password from /nonexistent"):
        AuthSettings(admin_password_file=Path("/nonexistent"))
