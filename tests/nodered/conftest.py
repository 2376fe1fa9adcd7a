"""Node-RED tests: the real Node-RED with the project's settings and flows, real Mosquitto, the dummy
devices, and Debian's Chromium driven by Playwright.

One stack (``labdcs up --dummy`` in-process, Node-RED included, no InfluxDB) serves the whole
package: starting it takes the longest. Tests that change a channel leave it in a state any other
test copes with (they wait for conditions, never for a previous test's values).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labdcs.nodered import runtime
from labdcs.nodered.runtime import DASHBOARD_PATH, Login
from labdcs.settings import MqttSettings
from labdcs.stack.paths import free_port, project_root
from labdcs.stack.processes import ManagedProcess, tail
from labdcs.stack.runner import Stack, StackOptions
from tests.support import PROBE_USER, Probe, add_probe_user

ARTIFACTS = project_root() / "test-artifacts"


class AdminApi:
    """The few calls of Node-RED's admin API the tests make (OAuth password grant, as the editor)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def request(
        self, method: str, path: str, *, token: str | None = None, form: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")

    def token(self, user: str, password: str) -> tuple[int, str | None]:
        status, body = self.request(
            "POST",
            "/auth/token",
            form={
                "client_id": "node-red-editor",
                "grant_type": "password",
                "scope": "",
                "username": user,
                "password": password,
            },
        )
        return status, body.get("access_token") if isinstance(body, dict) else None


@dataclass
class Webhook:
    """An HTTP endpoint on loopback recording the JSON bodies posted to it (alarm notifications)."""

    port: int = field(default_factory=free_port)
    posts: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> ThreadingHTTPServer:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with hook.lock:
                    hook.posts.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def texts(self) -> list[str]:
        with self.lock:
            return [str(post.get("text")) for post in self.posts]


@dataclass
class NodeRedStack:
    stack: Stack
    url: str
    logins: dict[str, Login]
    webhook: Webhook

    @property
    def mqtt_port(self) -> int:
        return self.stack.options.mqtt_port

    @property
    def log(self) -> Path:
        return self.stack.options.data_dir / "logs" / "nodered.log"

    def probe(self, *filters: str) -> Probe:
        """The test harness's subscriber/publisher on this stack's broker (user ``probe``)."""
        secrets_dir = self.stack.secrets_dir
        return Probe(self.mqtt_port, password=(secrets_dir / "mqtt" / PROBE_USER).read_text()).start(*filters)

    def password(self, role: str) -> str:
        password = self.logins[role].password()
        assert password, f"no generated {role} password"
        return password

    def simulator_port(self, device: str) -> int:
        for process in self.stack.infrastructure:
            if process.name == f"sim-{device}":
                return int(process.address.rsplit(":", 1)[1])
        raise KeyError(device)


@pytest.fixture(scope="package")
def nodered_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeRedStack]:
    """The dummy stack with Node-RED, as ``labdcs up --dummy`` starts it, on free ports."""
    webhook = Webhook()
    server = webhook.start()
    options = StackOptions(
        data_dir=tmp_path_factory.mktemp("nodered-stack"),
        dummy=True,
        mqtt_port=free_port(),
        influx=False,
        nodered=True,
        nodered_port=free_port(),
        experiments_port=free_port(),  # not the default 8000: another stack on the machine may hold it
        start_timeout=90.0,
    )
    stack = Stack(options)
    add_probe_user(stack.secrets_dir)
    with pytest.MonkeyPatch.context() as patch:
        # The alarm notification flow posts here (its URL comes from the environment).
        patch.setenv("LABDCS_NOTIFY_WEBHOOK_URL", webhook.url)
        for name in list(os.environ):
            if name.startswith("NODERED_"):
                patch.delenv(name)
        stack.start()
    try:
        assert stack.nodered_url and stack.nodered_first_start
        yield NodeRedStack(
            stack, stack.nodered_url, {login.role: login for login in stack.nodered_logins}, webhook
        )
    finally:
        stack.stop()
        server.shutdown()


@pytest.fixture
def dashboard(chromium: Any, nodered_stack: NodeRedStack, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context logged in as the operator, on the control page with its devices."""
    context = chromium.new_context(
        http_credentials={
            "username": nodered_stack.logins["operator"].user,
            "password": nodered_stack.password("operator"),
        },
        viewport={"width": 1280, "height": 1000},
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    failed_before = request.session.testsfailed
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{nodered_stack.url}{DASHBOARD_PATH}")
    page.locator("[data-device]").first.wait_for()
    yield page
    if request.session.testsfailed > failed_before:  # this test failed: keep what the page showed
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"nodered-failed-{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"errors in the page: {errors}"


def node_binary() -> str:
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup"
    return node


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash made with Node-RED's own bcryptjs (cost 4: fast, still a valid hash)."""
    script = "console.log(require(process.argv[1]).hashSync(process.argv[2], 4))"
    bcryptjs = runtime.nodered_dir() / "node_modules" / "bcryptjs"
    result = subprocess.run(
        [node_binary(), "-e", script, str(bcryptjs), password], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@contextmanager
def nodered_process(folder: Path, mqtt: MqttSettings, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A Node-RED of its own with the project's settings and flows: (its URL, its log file)."""
    port = free_port()
    process = ManagedProcess(
        "nodered",
        runtime.command(user_dir=folder / "userdir", port=port),
        folder / "nodered.log",
        env={**runtime.environment(mqtt=mqtt, secrets_dir=folder / "secrets"), **env},
    )
    url = f"http://127.0.0.1:{port}"
    process.start()
    try:
        process.wait_ready(lambda: runtime.ready(url), 90)
        yield url, process.log_file
    except BaseException:
        print(f"--- Node-RED log ---\n{tail(process.log_file, 40)}")
        raise
    finally:
        process.stop()
