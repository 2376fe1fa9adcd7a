"""Accounts for people in the experiments manager: argon2 hashes, the first logins migrated, an
admin managing people (API and `labdcs users`), disabled accounts, tokens (scopes, shown once,
stored hashed, revocable) and the audit of every login and change."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from labdcs.experiments.api import Services
from labdcs.experiments.auth import AuthSettings
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from labdcs.stack.paths import free_port
from tests.experiments.conftest import populate
from tests.experiments.lab import ADMIN, VIEWER, accounts
from tests.support import LabdcsProcess, wait_for_manager


@pytest.fixture
def http(embedded: Store, tmp_path: Path) -> Iterator[TestClient]:
    populate(embedded)
    app = create_app(Services(store=embedded, work_dir=tmp_path / "work"), accounts=accounts())
    with TestClient(app) as client:
        yield client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_person(http: TestClient, login: str, role: str, teams: list[str] | None = None) -> tuple[str, str]:
    body: dict[str, Any] = {"id": login, "role": role, "name": login.title()}
    if teams:
        body["teams"] = teams
    answer = http.post("/api/users", auth=ADMIN, json=body)
    assert answer.status_code == 201, answer.text
    return login, answer.json()["password"]


def make_token(http: TestClient, login: tuple[str, str], scopes: list[str], **extra: Any) -> dict[str, Any]:
    answer = http.post("/api/tokens", auth=login, json={"scopes": scopes, "name": "script", **extra})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def audit(http: TestClient, target: str) -> list[tuple[str, str | None, str]]:
    entries = http.get("/api/audit", auth=ADMIN, params={"target": target}).json()
    return [(e["action"], e["user"], e["result"]) for e in entries]


def test_the_first_logins_become_accounts_with_argon2_hashes(embedded: Store, tmp_path: Path) -> None:
    populate(embedded)
    create_app(Services(store=embedded), accounts=accounts())
    stored = {doc["_id"]: doc for doc in embedded.col("accounts").find({})}
    assert {name: doc["role"] for name, doc in stored.items()} == {"admin": "admin", "viewer": "viewer"}
    for name, password in (ADMIN, VIEWER):
        assert stored[name]["password_hash"].startswith("$argon2id$")
        assert password not in str(stored[name])
    # From then on the database decides: another configured password changes no account.
    app = create_app(
        Services(store=embedded), accounts=AuthSettings(admin_password="something-else-entirely")
    )
    with TestClient(app) as http:
        assert http.get("/api/me", auth=ADMIN).json()["account"]["role"] == "admin"
        assert http.get("/api/me", auth=("admin", "something-else-entirely")).status_code == 401
    assert [e.action for e in embedded.audit_entries("user:admin")].count("user.add") == 1


def test_an_admin_adds_a_person_who_logs_in_and_every_step_is_audited(http: TestClient) -> None:
    alice = add_person(http, "alice", "operator")
    assert len(alice[1]) >= 16
    me = http.get("/api/me", auth=alice).json()
    assert me["account"]["id"] == "alice" and me["account"]["role"] == "operator" and me["token"] is None
    assert "password_hash" not in str(http.get("/api/users", auth=ADMIN).json())
    refused = http.get("/api/me", auth=("alice", "not her password"))
    assert refused.status_code == 401
    changed = http.patch("/api/users/alice", auth=ADMIN, json={"role": "viewer"})
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    reset = http.post("/api/users/alice/password", auth=ADMIN).json()["password"]
    assert http.get("/api/me", auth=alice).status_code == 401  # the old password is gone at once
    assert http.get("/api/me", auth=("alice", reset)).status_code == 200
    entries = audit(http, "user:alice")
    assert ("user.add", "admin", "ok") in entries and ("user.role", "admin", "ok") in entries
    assert ("user.password", "admin", "ok") in entries
    assert ("login", "alice", "ok") in entries and ("login", "alice", "refused") in entries
    # Only admins manage accounts and read the accounts' audit.
    assert http.get("/api/users", auth=("alice", reset)).status_code == 403
    assert http.post("/api/users", auth=VIEWER, json={"id": "mallory"}).status_code == 403
    assert http.get("/api/audit", auth=VIEWER, params={"target": "user:alice"}).status_code == 403


def test_a_person_changes_their_own_password(http: TestClient) -> None:
    bob = add_person(http, "bob", "viewer")
    wrong = http.post("/api/me/password", auth=bob, json={"current": "guess", "new": "a-new-long-password"})
    assert wrong.status_code == 403
    done = http.post("/api/me/password", auth=bob, json={"current": bob[1], "new": "a-new-long-password"})
    assert done.status_code == 204, done.text
    assert http.get("/api/me", auth=("bob", "a-new-long-password")).status_code == 200
    assert ("user.password", "bob", "ok") in audit(http, "user:bob")


def test_a_disabled_account_cannot_log_in_nor_use_its_tokens(http: TestClient) -> None:
    carol = add_person(http, "carol", "operator")
    token = make_token(http, carol, ["read"])["secret"]
    assert http.get("/api/cells", headers=bearer(token)).status_code == 200
    assert http.patch("/api/users/carol", auth=ADMIN, json={"disabled": True}).status_code == 200
    assert http.get("/api/cells", auth=carol).status_code == 401
    assert http.get("/api/cells", headers=bearer(token)).status_code == 401
    assert http.get("/battery-api/dataset", headers=bearer(token)).status_code == 401
    assert ("user.disabled", "admin", "ok") in audit(http, "user:carol")
    assert http.patch("/api/users/carol", auth=ADMIN, json={"disabled": False}).status_code == 200
    assert http.get("/api/cells", headers=bearer(token)).status_code == 200


def test_the_last_admin_cannot_be_disabled_or_demoted(http: TestClient) -> None:
    for change in ({"disabled": True}, {"role": "operator"}):
        answer = http.patch("/api/users/admin", auth=ADMIN, json=change)
        assert answer.status_code == 409 and "last enabled admin" in answer.json()["detail"]


def test_tokens_are_scoped_shown_once_stored_hashed_and_revocable(http: TestClient, embedded: Store) -> None:
    dave = add_person(http, "dave", "operator")
    reader = make_token(http, dave, ["read"])
    controller = make_token(http, dave, ["read", "control"])
    secret = reader["secret"]
    assert secret.startswith("labdcs_") and secret not in str(list(embedded.col("tokens").find({})))
    listed = http.get("/api/tokens", auth=dave).json()
    assert {t["id"] for t in listed} == {reader["token"]["id"], controller["token"]["id"]}
    assert "secret" not in str(listed) and secret not in str(listed)
    cell = {"serial": "MJ1-0200", "type": "lg-mj1"}
    assert http.get("/api/cells", headers=bearer(secret)).status_code == 200
    refused = http.post("/api/cells", headers=bearer(secret), json=cell)
    assert refused.status_code == 403 and "lacks the scope 'control'" in refused.json()["detail"]
    made = http.post("/api/cells", headers=bearer(controller["secret"]), json=cell)
    assert made.status_code == 201, made.text
    # An import token imports (here: no InfluxDB, so 503 after the login let it through) and reads
    # the import jobs, nothing else.
    importer = make_token(http, dave, ["import"])["secret"]
    upload = http.post("/api/imports", headers=bearer(importer), files={"file": ("a.csv", b"t,U\n")})
    assert upload.status_code == 503, upload.text
    assert http.get("/api/cells", headers=bearer(importer)).status_code == 403
    # A token cannot widen itself, a viewer cannot hold control, a person makes only their own.
    wider = http.post("/api/tokens", headers=bearer(controller["secret"]), json={"scopes": ["import"]})
    assert wider.status_code == 403
    viewer_control = http.post("/api/tokens", auth=VIEWER, json={"scopes": ["control"]})
    assert (
        viewer_control.status_code == 422 and "cannot hold scope control" in viewer_control.json()["detail"]
    )
    assert (
        http.post("/api/tokens", auth=dave, json={"scopes": ["read"], "account": "admin"}).status_code == 403
    )
    revoked = http.delete(f"/api/tokens/{reader['token']['id']}", auth=dave)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is not None
    assert http.get("/api/cells", headers=bearer(secret)).status_code == 401
    assert http.get("/api/cells", headers=bearer(secret[:-1] + "x")).status_code == 401
    assert http.get("/api/cells", headers=bearer("labdcs_nonsense")).status_code == 401
    entries = audit(http, "user:dave")
    assert ("token.create", "dave", "ok") in entries and ("token.revoke", "dave", "ok") in entries
    assert ("login", "dave", "ok") in entries  # the first use of each token


def test_a_harvester_account_has_tokens_only(http: TestClient) -> None:
    made = http.post(
        "/api/users", auth=ADMIN, json={"id": "harvester-1", "kind": "harvester", "role": "operator"}
    )
    assert made.status_code == 201 and made.json()["password"] is None
    token = make_token(http, ADMIN, ["read", "import"], account="harvester-1")
    assert http.get("/api/me", headers=bearer(token["secret"])).json()["account"]["kind"] == "harvester"
    control = http.post("/api/tokens", auth=ADMIN, json={"scopes": ["control"], "account": "harvester-1"})
    assert control.status_code == 422
    reset = http.post("/api/users/harvester-1/password", auth=ADMIN)
    assert reset.status_code == 422 and "tokens only" in reset.json()["detail"]


def test_labdcs_users_manages_people_through_the_manager(tmp_path: Path) -> None:
    """`labdcs users` against a real `labdcs experiments serve`: logged in as the admin of `labdcs
    init` (the secret file), then with a token it made; secrets go to 0600 files, never the screen."""
    secrets_dir = tmp_path / "secrets"
    (secrets_dir / "experiments").mkdir(parents=True)
    (secrets_dir / "experiments" / "admin").write_text(ADMIN[1] + "\n")
    port = free_port()
    server = LabdcsProcess(
        ["experiments", "serve", "--no-queue"], tmp_path / "serve.log", free_port(),
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", "LABDCS_HTTP_PORT": str(port),
             "LABDCS_AUTH__ADMIN_PASSWORD_FILE": str(secrets_dir / "experiments" / "admin")},
    ).start()  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_manager(server, url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABDCS_")}
        env |= {"LABDCS_SECRETS_DIR": str(secrets_dir), "LABDCS_MANAGER_URL": url}

        def users(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "labdcs", "users", *args], capture_output=True, text=True,
                timeout=60, env=env | (extra or {}),
            )  # fmt: skip

        team = users("team", "add", "anodes", "--visibility", "team")
        assert team.returncode == 0, team.stderr
        added = users(
            "add", "erin", "--role", "operator", "--team", "anodes", "--out", str(tmp_path / "erin")
        )
        assert added.returncode == 0, added.stderr
        password = (tmp_path / "erin").read_text().strip()
        assert password not in added.stdout and (tmp_path / "erin").stat().st_mode & 0o777 == 0o600
        assert httpx.get(f"{url}/api/me", auth=("erin", password)).json()["account"]["teams"] == ["anodes"]
        unsaid = users("add", "frank", "--role", "viewer")  # a password is never printed: --out is needed
        assert unsaid.returncode != 0 and "never printed" in unsaid.stderr, unsaid
        token = users(
            "token", "create", "--scope", "read", "--scope", "control", "--out", str(tmp_path / "tok")
        )
        assert token.returncode == 0, token.stderr
        with_token = {"LABDCS_TOKEN_FILE": str(tmp_path / "tok")}
        assert users("role", "erin", "viewer", extra=with_token).returncode == 0
        assert users("disable", "erin", extra=with_token).returncode == 0
        listed = users("list", extra=with_token)
        assert listed.returncode == 0 and any(
            line.split()[:3] == ["erin", "person", "viewer"] and "disabled" in line
            for line in listed.stdout.splitlines()
        ), listed.stdout
        assert httpx.get(f"{url}/api/me", auth=("erin", password)).status_code == 401
        bad = users("role", "nobody", "viewer", extra=with_token)
        assert bad.returncode != 0 and "answered 404: no account 'nobody'" in bad.stderr
        down = users("list", extra={"LABDCS_MANAGER_URL": f"http://127.0.0.1:{free_port()}"})
        assert down.returncode != 0 and "did not answer" in down.stderr
        entries = httpx.get(f"{url}/api/audit", auth=ADMIN, params={"target": "user:erin"}).json()
        assert {(e["action"], e["user"]) for e in entries} >= {
            ("user.add", "admin"),
            ("user.disabled", "admin"),
        }
    finally:
        server.kill()


def test_documents_from_before_teams_belong_to_the_lab(embedded: Store) -> None:
    """Schema 1 documents (no team) are the whole lab's after the migration to schema 2."""
    embedded.col("cells").insert_one({"_id": "old-cell", "schema": 1, "serial": "OLD", "type": "x",
                                      "technology": "li-ion"})  # fmt: skip
    embedded.col("stations").insert_one({"_id": "old-station", "schema": 1})
    assert embedded.migrate() == 2
    assert embedded.col("cells").find_one({"_id": "old-cell"})["team"] == "lab"
    assert "team" not in embedded.col("stations").find_one({"_id": "old-station"})
