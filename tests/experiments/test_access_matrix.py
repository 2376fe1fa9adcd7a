# ruff: noqa: E501  (the table of routes keeps one route per entry)
"""Every route's access by role and team: role x team x route, against the in-process app.

Two teams share the lab: ``anodes`` (its data readable lab-wide, the default) and ``cathodes``
(members only). Each has an operator and a viewer; ``erin`` is a viewer of the whole lab's team and
``admin`` the admin. Every route the app serves is classified here (a new route fails the test until
it is), each person calls it on each team's data, and the answer must be what the policy says:
allowed (not 401/403/404), or refused (403 for what one may read but not change, 404 for what one
may not even see). Lists are checked for their content: a members-only team's data is in nobody
else's list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from labdcs.experiments import (
    api,
    battery_api,
    compare,
    data_api,
    docs,
    identity,
    labcontext,
    monitor,
    people_api,
    people_web,
    plots,
    static,
    web,
)
from labdcs.experiments.accounts import Account, Directory, Role, Scope, Team
from labdcs.experiments.api import Services
from labdcs.experiments.battery_api import number
from labdcs.experiments.documents import CellIn, ExperimentIn
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from labdcs.protocols import parse
from tests.experiments.conftest import CYCLING, populate
from tests.experiments.lab import ADMIN, accounts

PEOPLE = {  # login: (role, teams)
    "admin": (Role.ADMIN, ["lab"]),
    "alice": (Role.OPERATOR, ["anodes"]),
    "bob": (Role.OPERATOR, ["cathodes"]),
    "carol": (Role.VIEWER, ["anodes"]),
    "dave": (Role.VIEWER, ["cathodes"]),
    "erin": (Role.VIEWER, ["lab"]),
}
TEAMS = {"anodes": "lab", "cathodes": "team"}  # team: visibility
PASSWORDS = {name: f"{name}-password-{i:04d}" for i, name in enumerate(PEOPLE)} | {"admin": ADMIN[1]}


class World:
    """The two teams' documents and the app."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        populate(store)
        self.app = create_app(Services(store=store, work_dir=tmp_path / "work"), accounts=accounts())
        self.directory: Directory = self.app.state.directory
        for team, visibility in TEAMS.items():
            self.directory.add_team(Team(id=team, visibility=visibility), by="tests")
        for login, (role, teams) in PEOPLE.items():
            if login != "admin":
                self.directory.add_account(
                    Account(id=login, role=role, teams=teams), PASSWORDS[login], "tests"
                )
        self.directory.add_account(Account(id="victim", role=Role.VIEWER), "victim-password-1", "tests")
        self.cell, self.protocol, self.experiment = {}, {}, {}
        for team in TEAMS:
            self.cell[team] = store.add_cell(CellIn(serial=f"{team}-cell", type="lg-mj1"), team=team).id
            self.protocol[team] = store.add_protocol(parse(CYCLING), team=team)[0].id
            self.experiment[team] = self.queue(store, team)
        self.serial = 0

    def queue(self, store: Store, team: str) -> str:
        data = ExperimentIn(name=f"{team} run", cell=self.cell[team], station="station1",
                            protocol=self.protocol[team])  # fmt: skip
        return store.create_experiment(data, user="tests", team=team).id

    def unique(self) -> str:
        self.serial += 1
        return f"n{self.serial}"


Request = tuple[str, str, dict[str, Any]]
Builder = Callable[[World, str, str], Request]  # (world, person, team) -> (method, url, httpx kwargs)


def get(url: str) -> Builder:
    return lambda w, who, team: ("GET", url.format(w=w, team=team, who=who), {})


def exp(suffix: str = "") -> Builder:
    return lambda w, who, team: ("GET", f"/api/experiments/{w.experiment[team]}{suffix}", {})


#: (method, path) -> (kind, request). Kinds: lab (everyone), lab-write (operators and admins),
#: self (everyone, for themselves), admin, team-read, operator-read (a POST that only reads: as
#: team-read, but viewers only GET), team-write (the team's operators and admins).
ROUTES: dict[tuple[str, str], tuple[str, Builder]] = {
    ("GET", "/api/formats"): ("lab", get("/api/formats")),
    ("GET", "/api/cell-types"): ("lab", get("/api/cell-types")),
    ("POST", "/api/cell-types"): ("lab-write", lambda w, who, team: ("POST", "/api/cell-types", {"json": {
        "manufacturer": "X", "model": w.unique(), "technology": "other", "nominal_capacity_ah": 1,
        "nominal_voltage_v": 1, "limits": {"v_min": 1, "v_max": 2, "i_charge_max": 1, "i_discharge_max": 1}}})),
    ("GET", "/api/cell-types/{type_id}"): ("lab", get("/api/cell-types/lg-mj1")),
    ("GET", "/api/cells"): ("lab", get("/api/cells")),
    ("POST", "/api/cells"): ("team-write", lambda w, who, team: (
        "POST", "/api/cells", {"json": {"serial": w.unique(), "type": "lg-mj1", "team": team}})),
    ("GET", "/api/cells/{cell_id}"): ("team-read", lambda w, who, team: ("GET", f"/api/cells/{w.cell[team]}", {})),
    ("GET", "/api/stations"): ("lab", get("/api/stations")),
    ("GET", "/api/stations/{station_id}"): ("lab", get("/api/stations/station1")),
    ("GET", "/api/protocols"): ("lab", get("/api/protocols")),
    ("POST", "/api/protocols"): ("team-write", lambda w, who, team: (
        "POST", "/api/protocols", {"json": {"text": CYCLING.replace("short-cycling", w.unique()), "team": team}})),
    ("GET", "/api/protocols/{protocol_id}"): ("team-read", lambda w, who, team: (
        "GET", f"/api/protocols/{w.protocol[team]}", {})),
    ("POST", "/api/protocols/check"): ("operator-read", lambda w, who, team: ("POST", "/api/protocols/check", {"json": {
        "protocol": w.protocol[team], "cell": w.cell[team], "station": "station1"}})),
    ("GET", "/api/compatible-protocols"): ("team-read", lambda w, who, team: (
        "GET", "/api/compatible-protocols", {"params": {"cell": w.cell[team], "station": "station1"}})),
    ("GET", "/api/experiments"): ("lab", get("/api/experiments")),
    ("POST", "/api/experiments"): ("team-write", lambda w, who, team: ("POST", "/api/experiments", {"json": {
        "name": "x", "cell": w.cell[team], "station": "station1", "protocol": w.protocol[team], "team": team}})),
    ("GET", "/api/experiments/{experiment_id}"): ("team-read", exp()),
    ("POST", "/api/experiments/{experiment_id}/{action}"): ("team-write", lambda w, who, team: (
        "POST", f"/api/experiments/{w.experiment[team]}/pause", {})),
    ("GET", "/api/experiments/{experiment_id}/cycles"): ("team-read", exp("/cycles")),
    ("GET", "/api/experiments/{experiment_id}/series"): ("team-read", exp("/series")),
    ("GET", "/api/experiments/{experiment_id}/export.csv"): ("team-read", exp("/export.csv")),
    ("GET", "/api/experiments/{experiment_id}/report.html"): ("team-read", exp("/report.html")),
    ("GET", "/api/experiments/{experiment_id}/lab"): ("team-read", exp("/lab")),
    ("GET", "/api/experiments/{experiment_id}/export.parquet"): ("team-read", exp("/export.parquet")),
    ("GET", "/api/harvested-files"): ("lab", get("/api/harvested-files")),
    ("GET", "/api/experiments/{experiment_id}/plot"): ("team-read", exp("/plot")),
    ("GET", "/api/experiments/{experiment_id}/view.csv"): ("team-read", exp("/view.csv")),
    ("GET", "/api/experiments/{experiment_id}/cycle-curves"): ("team-read", exp("/cycle-curves?cycle=1")),
    ("GET", "/api/monitor"): ("lab", get("/api/monitor")),
    ("GET", "/api/monitor/stream"): ("lab", get("/api/monitor/stream")),
    ("POST", "/api/imports"): ("team-write", lambda w, who, team: (
        "POST", "/api/imports", {"files": {"file": ("a.csv", b"t,U\n")}, "data": {"team": team}})),
    ("GET", "/api/imports/{job_id}"): ("lab", get("/api/imports/imp-000000000000")),
    ("GET", "/api/data-files"): ("lab", get("/api/data-files")),
    ("GET", "/api/audit"): ("team-read", lambda w, who, team: (
        "GET", "/api/audit", {"params": {"target": w.experiment[team]}})),
    ("GET", "/api/me"): ("lab", get("/api/me")),
    ("GET", "/auth/check"): ("lab", get("/auth/check")),
    ("POST", "/api/me/password"): ("self", lambda w, who, team: (
        "POST", "/api/me/password", {"json": {"current": PASSWORDS[who], "new": PASSWORDS[who]}})),
    ("GET", "/api/users"): ("admin", get("/api/users")),
    ("POST", "/api/users"): ("admin", lambda w, who, team: ("POST", "/api/users", {"json": {"id": w.unique()}})),
    ("GET", "/api/users/{user_id}"): ("admin", get("/api/users/victim")),
    ("PATCH", "/api/users/{user_id}"): ("admin", lambda w, who, team: (
        "PATCH", "/api/users/victim", {"json": {"name": who}})),
    ("POST", "/api/users/{user_id}/password"): ("admin", lambda w, who, team: (
        "POST", "/api/users/victim/password", {})),
    ("GET", "/api/teams"): ("lab", get("/api/teams")),
    ("POST", "/api/teams"): ("admin", lambda w, who, team: ("POST", "/api/teams", {"json": {"id": w.unique()}})),
    ("PATCH", "/api/teams/{team_id}"): ("admin", lambda w, who, team: (
        "PATCH", f"/api/teams/{team}", {"json": {"visibility": TEAMS[team]}})),
    ("GET", "/api/tokens"): ("self", get("/api/tokens")),
    ("POST", "/api/tokens"): ("self", lambda w, who, team: ("POST", "/api/tokens", {"json": {"scopes": ["read"]}})),
    ("DELETE", "/api/tokens/{token_id}"): ("self", lambda w, who, team: (
        "DELETE", f"/api/tokens/{w.directory.create_token(who, [Scope.READ], 'x', 'tests')[0].id}", {})),
    ("GET", "/battery-api/dataset"): ("lab", get("/battery-api/dataset")),
    ("GET", "/battery-api/dataset/{id}"): ("team-read", lambda w, who, team: (
        "GET", f"/battery-api/dataset/{number(w.experiment[team])}", {})),
    ("GET", "/battery-api/dataset/{id}/{column_id}"): ("team-read", lambda w, who, team: (
        "GET", f"/battery-api/dataset/{number(w.experiment[team])}/1", {})),
    ("GET", "/battery-api/cell"): ("lab", get("/battery-api/cell")),
    ("GET", "/battery-api/cell/{id}"): ("team-read", lambda w, who, team: (
        "GET", f"/battery-api/cell/{number(w.cell[team])}", {})),
    ("GET", "/battery-api/user"): ("lab", get("/battery-api/user")),
    ("GET", "/battery-api/user/{id}"): ("lab", lambda w, who, team: ("GET", f"/battery-api/user/{number(who)}", {})),
    ("GET", "/battery-api/equipment"): ("lab", get("/battery-api/equipment")),
    ("GET", "/battery-api/equipment/{id}"): ("lab", lambda w, who, team: (
        "GET", f"/battery-api/equipment/{number('station1')}", {})),
    ("GET", "/"): ("lab", get("/")),
    ("GET", "/cells/new"): ("lab", get("/cells/new")),
    ("GET", "/experiments/new"): ("lab", get("/experiments/new")),
    ("GET", "/experiments/{experiment_id}"): ("lab", get("/experiments/x")),
    ("GET", "/stations"): ("lab", get("/stations")),
    ("GET", "/stations/{station_id}"): ("lab", get("/stations/station1")),
    ("GET", "/import"): ("lab", get("/import")),
    ("GET", "/favicon.ico"): ("lab", get("/favicon.ico")),
    ("GET", "/favicon.svg"): ("lab", get("/favicon.svg")),
    ("GET", "/people"): ("lab", get("/people")),
    ("GET", "/monitor"): ("lab", get("/monitor")),
    ("GET", "/harvest"): ("lab", get("/harvest")),
    ("GET", "/compare"): ("lab", get("/compare")),
    ("GET", "/ui/labcontext.js"): ("lab", get("/ui/labcontext.js")),
    ("GET", "/static/{name}"): ("lab", get("/static/plots.js")),
    ("GET", "/docs"): ("lab", get("/docs")),
    ("GET", "/docs/docs.js"): ("lab", get("/docs/docs.js")),
    ("GET", "/docs/assets/{name}"): ("lab", get("/docs/assets/swagger-ui.css")),
    ("GET", "/openapi.json"): ("lab", get("/openapi.json")),
}  # fmt: skip


def served_routes() -> set[tuple[str, str]]:
    found = {("GET", "/openapi.json")}
    routers = [
        (api.router, ""),
        (data_api.router, ""),
        (people_api.router, ""),
        (identity.router, ""),
        (battery_api.router, battery_api.PREFIX),
        (web.router, ""),
        (people_web.router, ""),
        (docs.router, ""),
        (monitor.router, ""),
        (labcontext.router, ""),
        (labcontext.script_router, ""),
        (plots.router, ""),
        (static.router, ""),
        (compare.router, ""),
    ]
    for make, prefix in routers:
        for route in make().routes:
            if isinstance(route, Route):
                found |= {(method, prefix + route.path) for method in route.methods or ()}
    return found - {("HEAD", path) for _, path in found}


def readable(who: str, team: str) -> bool:
    role, teams = PEOPLE[who]
    return role is Role.ADMIN or team in teams or TEAMS[team] == "lab"


def expected(kind: str, who: str, team: str) -> str:
    """allowed, forbidden (403) or hidden (404)."""
    role, teams = PEOPLE[who]
    if kind in ("lab", "self"):
        return "allowed"
    if kind == "lab-write":
        return "allowed" if role is not Role.VIEWER else "forbidden"
    if kind == "admin":
        return "allowed" if role is Role.ADMIN else "forbidden"
    if kind == "operator-read" and role is Role.VIEWER:
        return "forbidden"
    if kind in ("team-read", "operator-read"):
        return "allowed" if readable(who, team) else "hidden"
    writes = role is Role.ADMIN or (role is Role.OPERATOR and team in teams)
    return "allowed" if writes else "forbidden"


@pytest.fixture
def world(embedded: Store, tmp_path: Path) -> Iterator[World]:
    yield World(embedded, tmp_path)


def test_every_route_is_classified() -> None:
    served = served_routes()
    assert len(served) > 50
    assert sorted(served - set(ROUTES)) == [], "routes without an access rule in ROUTES"
    assert sorted(set(ROUTES) - served) == []


@pytest.mark.parametrize("who", list(PEOPLE))
def test_every_route_answers_each_role_and_team_as_the_policy_says(world: World, who: str) -> None:
    wrong = []
    with TestClient(world.app) as http:
        for (method, path), (kind, build) in ROUTES.items():
            for team in TEAMS:
                verb, url, kwargs = build(world, who, team)
                answer = http.request(verb, url, auth=(who, PASSWORDS[who]), **kwargs)
                want = expected(kind, who, team)
                status = answer.status_code
                ok = {
                    "allowed": status not in (401, 403, 404),
                    "forbidden": status == 403 or (status == 404 and kind == "team-write"),
                    "hidden": status == 404,
                }[want]
                if not ok:
                    wrong.append(
                        f"{who:6} {team:9} {method} {path}: {status}, wanted {want} ({answer.text[:120]})"
                    )
    assert wrong == [], "\n".join(wrong)


def _ids(http: TestClient, who: str, url: str) -> set[str]:
    body = http.get(url, auth=(who, PASSWORDS[who])).json()
    items = body["items"] if isinstance(body, dict) else body
    return {str(item["id"]) for item in items}


def test_lists_hold_only_what_each_person_may_read(world: World) -> None:
    hidden_exp, open_exp = world.experiment["cathodes"], world.experiment["anodes"]
    with TestClient(world.app) as http:
        for who in PEOPLE:
            sees_cathodes = readable(who, "cathodes")
            experiments = _ids(http, who, "/api/experiments")
            assert open_exp in experiments and (hidden_exp in experiments) == sees_cathodes, who
            cells = _ids(http, who, "/api/cells")
            assert (world.cell["cathodes"] in cells) == sees_cathodes and world.cell["anodes"] in cells, who
            assert (world.protocol["cathodes"] in _ids(http, who, "/api/protocols")) == sees_cathodes, who
            datasets = _ids(http, who, "/battery-api/dataset")
            assert (str(number(hidden_exp)) in datasets) == sees_cathodes, who
            station = http.get("/api/stations/station1", auth=(who, PASSWORDS[who])).json()
            assert (hidden_exp in {e["id"] for e in station["queued"]}) == sees_cathodes, who
        # A team's visibility is its setting: opened to the lab, alice reads bob's run but cannot stop it.
        assert http.patch("/api/teams/cathodes", auth=ADMIN, json={"visibility": "lab"}).status_code == 200
        assert hidden_exp in _ids(http, "alice", "/api/experiments")
        stop = http.post(f"/api/experiments/{hidden_exp}/stop", auth=("alice", PASSWORDS["alice"]))
        assert stop.status_code == 403 and "belongs to team 'cathodes'" in stop.json()["detail"]


def test_a_stop_from_the_manager_is_audited_with_the_persons_name(world: World) -> None:
    run = world.experiment["cathodes"]
    with TestClient(world.app) as http:
        stopped = http.post(f"/api/experiments/{run}/stop", auth=("bob", PASSWORDS["bob"]))
        assert stopped.status_code == 200 and stopped.json()["result"] == "dequeued", stopped.text
        entries = http.get("/api/audit", auth=("dave", PASSWORDS["dave"]), params={"target": run}).json()
    assert [e["principal"] for e in entries if e["action"] == "dequeue"] == ["bob"]
    assert "removed from the queue by bob" in world.app.state.services.store.experiment(run).end_reason


def test_new_data_belongs_to_the_writers_team(world: World) -> None:
    with TestClient(world.app) as http:
        made = http.post(
            "/api/cells", auth=("alice", PASSWORDS["alice"]), json={"serial": "A-2", "type": "lg-mj1"}
        )
        assert made.status_code == 201 and made.json()["team"] == "anodes"
        elsewhere = http.post("/api/cells", auth=("alice", PASSWORDS["alice"]),
                              json={"serial": "A-3", "type": "lg-mj1", "team": "cathodes"})  # fmt: skip
        assert elsewhere.status_code == 403 and "not in team 'cathodes'" in elsewhere.json()["detail"]
        queued = http.post("/api/experiments", auth=("alice", PASSWORDS["alice"]), json={
            "name": "mine", "cell": made.json()["id"], "station": "station1", "protocol": world.protocol["anodes"]})  # fmt: skip
        assert queued.status_code == 201 and queued.json()["team"] == "anodes", queued.text
        # Not on another team's cell, even one alice may read.
        assert http.patch("/api/teams/cathodes", auth=ADMIN, json={"visibility": "lab"}).status_code == 200
        theirs = http.post("/api/experiments", auth=("alice", PASSWORDS["alice"]), json={
            "name": "not mine", "cell": world.cell["cathodes"], "station": "station1",
            "protocol": world.protocol["anodes"]})  # fmt: skip
        assert theirs.status_code == 403, theirs.text
