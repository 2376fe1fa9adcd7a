"""Node-RED's doors, on a real Node-RED with the project's settings and flows: the editor and admin
API need the admin login, the dashboard (pages and socket) the operator or admin login, and the
broker login reaches the flows from the environment only."""

from __future__ import annotations

import base64
import getpass
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from labdcs.nodered.runtime import DASHBOARD_PATH
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import mosquitto_binary
from labdcs.stack.paths import free_port, port_open
from tests.nodered.conftest import AdminApi, bcrypt_hash, nodered_process
from tests.support import Broker, wait_until


def get(url: str, *, basic: tuple[str, str] | None = None, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if basic is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(basic).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def socket_connect(url: str, basic: tuple[str, str] | None) -> str:
    """Open the dashboard's socket.io connection over HTTP long-polling (as the browser does first)
    and return the server's answer to the connect packet: "40..." accepted, "44..." refused."""
    base = f"{url}/dashboard/socket.io/?EIO=4&transport=polling"
    status, handshake = get(base, basic=basic)
    assert status == 200 and handshake.startswith("0{"), handshake
    sid = handshake.split('"sid":"', 1)[1].split('"', 1)[0]
    status, _ = get(f"{base}&sid={sid}", basic=basic, data=b"40")
    assert status == 200
    return get(f"{base}&sid={sid}", basic=basic)[1]


def test_editor_and_dashboard_refuse_without_login_and_accept_the_configured_ones(
    tmp_path: Path, broker: Broker
) -> None:
    (tmp_path / "admin-hash").write_text(bcrypt_hash("correct horse battery") + "\n")
    env = {
        "NODERED_ADMIN_USER": "engineer",
        "NODERED_ADMIN_PASSWORD_HASH_FILE": str(tmp_path / "admin-hash"),
        "NODERED_OPERATOR_USER": "shift",
        "NODERED_OPERATOR_PASSWORD_HASH": bcrypt_hash("staple"),
        "NODERED_CREDENTIAL_SECRET": "configured-credential-secret",
    }
    mqtt = broker.mqtt("nodered")
    with nodered_process(tmp_path, mqtt, env) as (url, log):
        api = AdminApi(url)
        # The admin API: nothing without a token, no token without the admin's password.
        assert api.request("GET", "/flows")[0] == 401
        assert api.token("engineer", "wrong")[1] is None
        assert api.token("shift", "staple")[1] is None, "the operator must not reach the editor"
        status, token = api.token("engineer", "correct horse battery")
        assert status == 200 and token
        status, flows = api.request("GET", "/flows", token=token)
        assert status == 200
        labels = {node.get("label") for node in flows if node.get("type") == "tab"}
        assert {"Control UI", "Example: power-up sequence", "Example: alarm notifications"} <= labels

        # The dashboard: pages and socket need the operator (or admin) login.
        page = f"{url}{DASHBOARD_PATH}"
        assert get(page)[0] == 401
        assert get(page, basic=("shift", "wrong"))[0] == 401
        assert get(page, basic=("shift", "staple"))[0] == 200
        assert get(page, basic=("engineer", "correct horse battery"))[0] == 200
        assert socket_connect(url, None).startswith("44"), "socket without login accepted"
        assert socket_connect(url, ("shift", "wrong")).startswith("44")
        assert socket_connect(url, ("shift", "staple")).startswith("40")
    assert not (tmp_path / "secrets").exists(), "configured logins must not generate any"
    assert "correct horse" not in log.read_text()


def test_editor_in_the_browser_asks_for_the_login_then_shows_the_flows(
    tmp_path: Path, broker: Broker, chromium: Any
) -> None:
    env = {"NODERED_ADMIN_PASSWORD_HASH": bcrypt_hash("editor-pass")}
    mqtt = broker.mqtt("nodered")
    with nodered_process(tmp_path, mqtt, env) as (url, _):
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(60_000)
        page = context.new_page()
        try:
            page.goto(url)
            page.locator("#node-dialog-login-username").fill("admin")
            page.locator("#node-dialog-login-password").fill("wrong")
            page.locator("#node-dialog-login-submit").click()
            page.locator("#node-dialog-login-failed").wait_for()
            page.locator("#node-dialog-login-password").fill("editor-pass")
            page.locator("#node-dialog-login-submit").click()
            for tab in ("Control UI", "Example: power-up sequence", "Example: alarm notifications"):
                page.locator(".red-ui-tab-label", has_text=tab).first.wait_for()
            # Every node of the flows is known to the editor: none is drawn as an unknown type.
            page.locator(".red-ui-flow-node-group").first.wait_for()
            assert page.locator(".red-ui-flow-node-unknown").count() == 0
        finally:
            context.close()


def test_broker_login_comes_from_the_environment(tmp_path: Path) -> None:
    """A broker that refuses anonymous clients: the flows connect with the login from the
    environment (the password from a file); neither appears in Node-RED's files or log."""
    binary = mosquitto_binary()
    assert binary, "mosquitto is not installed: run scripts/setup"
    port = free_port()
    passwords = tmp_path / "mosquitto.passwd"
    subprocess.run(
        [
            str(Path(binary).parent.parent / "bin" / "mosquitto_passwd"),
            "-c",
            "-b",
            str(passwords),
            "nr",
            "pw-1234",
        ],
        check=True,
        capture_output=True,
    )
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"log_dest stdout\nconnection_messages true\nuser {getpass.getuser()}\n"
    )
    with (tmp_path / "mosquitto.log").open("wb") as out:
        server = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), 10, "mosquitto to listen")
        (tmp_path / "mqtt-password").write_text("pw-1234\n")
        mqtt = MqttSettings(host="127.0.0.1", port=port, username="nr")
        env = {"LABDCS_MQTT__PASSWORD_FILE": str(tmp_path / "mqtt-password")}
        with nodered_process(tmp_path, mqtt, env) as (_, log):
            wait_until(lambda: "Connected to broker" in log.read_text(), 60, "the flows to connect")
        for path in [log, *(tmp_path / "userdir").rglob("*")]:
            if path.is_file():
                assert b"pw-1234" not in path.read_bytes(), f"the broker password is in {path}"
    finally:
        server.terminate()
        server.wait(10)
    broker_log = (tmp_path / "mosquitto.log").read_text()  # complete once it stopped (buffered)
    assert "u'nr')" in broker_log and "not authorised" not in broker_log
