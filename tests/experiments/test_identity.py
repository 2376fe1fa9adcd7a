"""The manager as the stack's identity source: ``/auth/check`` (what Node-RED and the gateway's
``auth_request`` ask) names the person and their roles, and refuses what the login middleware
refuses; the gateway and Grafana are configured to trust only that answer (checked statically:
neither nginx nor Grafana is installed here; Node-RED asking the real manager is tested in
tests/nodered/test_identity.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from labdcs.experiments import identity
from labdcs.experiments.accounts import Role
from labdcs.experiments.api import Services
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from labdcs.stack.paths import project_root
from tests.experiments.lab import ADMIN, VIEWER, accounts

ROOT = project_root()


@pytest.fixture
def http(embedded: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Services(store=embedded, work_dir=tmp_path / "work"), accounts=accounts())
    with TestClient(app) as client:
        yield client


def add_person(http: TestClient, login: str, role: str) -> tuple[str, str]:
    answer = http.post("/api/users", auth=ADMIN, json={"id": login, "role": role, "name": "Alice Liddell"})
    assert answer.status_code == 201, answer.text
    return login, answer.json()["password"]


def test_the_check_names_the_person_their_role_and_grafana_role(http: TestClient) -> None:
    alice = add_person(http, "alice", "operator")
    for login, user, role, grafana in [
        (alice, "alice", "operator", "Editor"),
        (ADMIN, "admin", "admin", "Admin"),
        (VIEWER, "viewer", "viewer", "Viewer"),
    ]:
        answer = http.get(identity.PATH, auth=login)
        assert answer.status_code == 200, answer.text
        assert (answer.headers["x-labdcs-user"], answer.headers["x-labdcs-role"]) == (user, role)
        assert answer.headers["x-grafana-role"] == grafana
        assert answer.json()["user"] == user and answer.json()["grafana_role"] == grafana
        assert answer.headers["cache-control"] == "no-store"
    assert http.get(identity.PATH, auth=alice).json()["name"] == "Alice Liddell"


def test_the_check_takes_tokens_and_refuses_what_the_manager_refuses(http: TestClient) -> None:
    alice = add_person(http, "alice", "operator")
    token = http.post("/api/tokens", auth=alice, json={"scopes": ["read"], "name": "grafana script"})
    secret = token.json()["secret"]
    answer = http.get(identity.PATH, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and answer.headers["x-labdcs-user"] == "alice"

    refused = http.get(identity.PATH, auth=("alice", "not-her-password"))
    # The gateway hands a 401 and its WWW-Authenticate back to the browser: a login box.
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic ")
    assert "x-labdcs-user" not in refused.headers
    assert http.get(identity.PATH).status_code == 401
    assert http.patch("/api/users/alice", auth=ADMIN, json={"disabled": True}).status_code == 200
    assert http.get(identity.PATH, auth=alice).status_code == 401
    assert http.get(identity.PATH, headers={"Authorization": f"Bearer {secret}"}).status_code == 401


# --- the gateway and Grafana, statically ----------------------------------------------------------


def locations(conf: str) -> dict[str, list[list[str]]]:
    """nginx ``location`` blocks (not nested in ours): their argument -> directives as word lists."""
    found = {}
    for match in re.finditer(r"location\s+([^{]+?)\s*\{([^{}]*)\}", conf):
        body = re.sub(r"#[^\n]*", "", match.group(2))
        found[match.group(1)] = [d.split() for d in body.split(";") if d.strip()]
    return found


def directive(block: list[list[str]], name: str, *first: str) -> list[str]:
    hits = [d[1 + len(first) :] for d in block if d[0] == name and d[1 : 1 + len(first)] == list(first)]
    assert len(hits) == 1, f"one {name} {' '.join(first)} expected, found {hits}"
    return hits[0]


def grafana_environment() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    result: dict[str, Any] = compose["services"]["grafana"]["environment"]
    return result


def test_the_gateway_asks_the_manager_before_grafana_and_sets_only_its_answer() -> None:
    blocks = locations((ROOT / "gateway" / "nginx.conf").read_text(encoding="utf-8"))
    grafana = blocks["/grafana/"]
    (subrequest,) = directive(grafana, "auth_request")
    check = blocks[f"= {subrequest}"]
    assert ["internal"] in check, "the check is not reachable from outside"
    assert directive(check, "proxy_pass") == [f"http://experiments:8000{identity.PATH}"]
    assert directive(check, "proxy_set_header", "Authorization") == ["$http_authorization"]
    assert directive(check, "proxy_pass_request_body") == ["off"]
    # The manager throttles refused logins per browser address: the check must carry it.
    assert directive(check, "proxy_set_header", "X-Forwarded-For") == ["$remote_addr"]
    # The variables come from the headers /auth/check sets (nginx: $upstream_http_<lower_snake>).
    sets = {d[1]: d[2] for d in grafana if d[0] == "auth_request_set"}
    user_var = next(v for v, src in sets.items() if src == "$upstream_http_x_labdcs_user")
    role_var = next(v for v, src in sets.items() if src == "$upstream_http_x_grafana_role")
    env = grafana_environment()
    assert directive(grafana, "proxy_set_header", env["GF_AUTH_PROXY_HEADER_NAME"]) == [user_var]
    role_header = dict(pair.split(":") for pair in env["GF_AUTH_PROXY_HEADERS"].split())["Role"]
    assert directive(grafana, "proxy_set_header", role_header) == [role_var]
    assert directive(grafana, "proxy_set_header", "Authorization") == ['""']
    assert directive(grafana, "proxy_pass") == ["http://grafana:3000"]
    # nginx: a location with a proxy_set_header of its own inherits none of the server's.
    for header in ("Host", "X-Forwarded-For", "Upgrade", "Connection"):
        directive(grafana, "proxy_set_header", header)


def test_grafana_trusts_the_auth_proxy_and_has_no_login_of_its_own() -> None:
    env = grafana_environment()
    assert env["GF_AUTH_PROXY_ENABLED"] == "true"
    assert env["GF_AUTH_PROXY_HEADER_PROPERTY"] == "username"
    assert env["GF_AUTH_PROXY_AUTO_SIGN_UP"] == "true"
    assert env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert int(env["GF_AUTH_PROXY_SYNC_TTL"]) <= 5, "a role changed in the manager reaches Grafana soon"
    assert set(identity.GRAFANA_ROLES) == set(Role)
    assert set(identity.GRAFANA_ROLES.values()) == {"Admin", "Editor", "Viewer"}


def test_nodered_asks_the_same_manager_in_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["services"]["nodered"]["environment"]["LABDCS_IDENTITY_URL"] == "http://experiments:8000"
