"""One identity across the stack: a person the experiments manager knows logs in to the Node-RED
dashboard with the same password (real Node-RED asking the real manager, Chromium as the browser),
and a command they send from the dashboard is audited by the device as Node-RED's broker login
claiming that person; a viewer is kept out of the control dashboard, a wrong password too."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from labdcs.contract import topics
from labdcs.nodered.runtime import DASHBOARD_PATH
from tests.nodered.conftest import AdminApi, NodeRedStack
from tests.nodered.test_dashboard import SLOW, commands, last_command, request
from tests.support import wait_until


def manager(stack: NodeRedStack) -> httpx.Client:
    """The stack's experiments manager as its first admin (``labdcs init``'s login)."""
    password = (stack.stack.secrets_dir / "experiments" / "admin").read_text(encoding="utf-8").strip()
    url = stack.stack.experiments_url
    assert url, "the stack runs the experiments manager"
    return httpx.Client(base_url=url, auth=("admin", password), timeout=30)


def add_person(client: httpx.Client, login: str, role: str) -> tuple[str, str]:
    answer = client.post("/api/users", json={"id": login, "role": role, "name": login.title()})
    assert answer.status_code == 201, answer.text
    return login, str(answer.json()["password"])


@pytest.fixture(scope="module")
def people(nodered_stack: NodeRedStack) -> Iterator[dict[str, tuple[str, str]]]:
    with manager(nodered_stack) as client:
        yield {
            "operator": add_person(client, "alice", "operator"),
            "viewer": add_person(client, "vera", "viewer"),
        }


def status(url: str, login: tuple[str, str]) -> int:
    manager_password = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager_password.add_password(None, url, *login)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager_password))
    try:
        with opener.open(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_managers_person_is_recognised_by_the_dashboard_and_named_in_the_audit(
    chromium: Any, nodered_stack: NodeRedStack, people: dict[str, tuple[str, str]]
) -> None:
    alice = people["operator"]
    with manager(nodered_stack) as client:
        me = client.get("/api/me", auth=alice)
        assert me.status_code == 200 and me.json()["account"]["id"] == "alice"
    context = chromium.new_context(http_credentials={"username": alice[0], "password": alice[1]})
    context.set_default_timeout(30_000)
    watch = nodered_stack.probe(topics.ALL_COMMANDS, topics.ack("hv2"))
    try:
        page = context.new_page()
        page.goto(f"{nodered_stack.url}{DASHBOARD_PATH}")
        page.locator("[data-device]").first.wait_for()
        request(page, "hv2/ch1", "set_ramp_rate", "12")
        assert "set_ramp_rate" in last_command(page, "hv2/ch1", "accepted").inner_text()
        (sent,) = [c for c in commands(watch, "hv2") if c["id"].startswith("ui-")]
        assert sent["topic"] == "labdcs/v1/hv2/ch1/cmd/set_ramp_rate/nodered" and sent["user"] == "alice"

        def acks() -> list[dict[str, Any]]:
            return [m.json() for m in watch.on(topics.ack("hv2")) if m.json().get("id") == sent["id"]]

        wait_until(lambda: bool(acks()), 10, "the ack of alice's command")
        (ack,) = acks()
        assert (ack["principal"], ack["user"]) == ("nodered", "alice")
        log = nodered_stack.stack.options.data_dir / "logs" / "hv2.log"
        audit = (
            f"command id={sent['id']} hv2/ch1 set_ramp_rate value=12.0 by nodered (claims alice) -> accepted"
        )
        wait_until(lambda: audit in log.read_text(encoding="utf-8"), SLOW / 1000, "the device's audit line")
    finally:
        watch.stop()
        context.close()


def test_viewers_and_wrong_passwords_are_kept_out_of_the_dashboard(
    nodered_stack: NodeRedStack, people: dict[str, tuple[str, str]]
) -> None:
    url = f"{nodered_stack.url}{DASHBOARD_PATH}"
    assert status(url, people["operator"]) == 200
    assert status(url, people["viewer"]) == 403
    assert status(url, (people["operator"][0], "not-her-password")) == 401
    assert status(url, ("nobody", "nobody-password")) == 401


def test_the_managers_admins_log_in_to_the_editor(
    nodered_stack: NodeRedStack, people: dict[str, tuple[str, str]]
) -> None:
    admin_password = (nodered_stack.stack.secrets_dir / "experiments" / "admin").read_text().strip()
    api = AdminApi(nodered_stack.url)
    code, token = api.token("admin", admin_password)
    assert code == 200 and token
    assert api.request("GET", "/flows", token=token)[0] == 200
    # Node-RED cannot ask the manager about a session: it ends within the hour (default: a week).
    form = {"client_id": "node-red-editor", "grant_type": "password", "scope": "",
            "username": "admin", "password": admin_password}  # fmt: skip
    status, body = api.request("POST", "/auth/token", form=form)
    assert status == 200 and body["expires_in"] == 3600
    assert api.token(*people["operator"])[1] is None, "an operator is no editor"
