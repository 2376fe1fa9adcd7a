"""The same acceptance checks against the compose files: the dummy stack as docs/deployment.md
starts it (`labdcs init --dummy`, then `docker compose ... up`), the README walkthrough on it, the
experiments manager with its admin login, and the points Telegraf wrote, read as Grafana's `reader`.
Runs where a Docker engine is reachable; skips with the reason otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import pytest

from labdcs.stack.paths import port_open
from tests.acceptance.conftest import FLAGS, UserStack, fresh_checkout
from tests.acceptance.test_docs import Session, walk_readme
from tests.support import docker_problem, wait_until

FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.dev.yml", "-f", "docker-compose.dummy.yml"]
#: docker-compose.dev.yml publishes these on the host's loopback, at the documented ports.
PUBLISHED = (*FLAGS, 3000, 27017)


def _compose(
    folder: Path, project: str, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-p", project, *FILES, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserStack]:
    problem = docker_problem()
    if problem is not None:
        pytest.skip(f"the compose stack is not run: {problem}")
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    if version.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    busy = [port for port in PUBLISHED if port != 8883 and port_open("127.0.0.1", port)]
    if busy:
        pytest.skip(f"the dev compose file publishes fixed ports, in use here: {busy}")
    folder = tmp_path_factory.mktemp("compose-folder")
    fresh_checkout(folder)
    init = subprocess.run([".venv/bin/labdcs", "init", "--dummy"], cwd=folder, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    project = f"labdcs-acceptance-{os.getpid()}"
    up = _compose(folder, project, "up", "-d", "--build", "--wait")
    stack = UserStack(folder, {port: port for port in FLAGS}, None, folder / "compose-up.out")
    stack.output.write_text(up.stdout + up.stderr)
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        yield stack
    finally:
        logs = _compose(folder, project, "logs", "--no-color", timeout=120)
        (folder / "compose.log").write_text(logs.stdout)
        down = _compose(folder, project, "down", "-v", "--timeout", "120", timeout=600)
        assert down.returncode == 0, down.stderr[-2000:]


@pytest.mark.docker
def test_the_readme_walkthrough_on_the_compose_dummy_stack(compose_stack: UserStack) -> None:
    session = Session(compose_stack)
    try:
        walk_readme(compose_stack, session)
    finally:
        session.close()


@pytest.mark.docker
def test_the_manager_and_the_time_series_answer_with_their_own_logins(compose_stack: UserStack) -> None:
    admin = "Basic " + b64encode(":".join(compose_stack.admin()).encode()).decode()
    request = urllib.request.Request(
        f"{compose_stack.experiments_url}/api/stations/station1", headers={"Authorization": admin}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.load(answer)["id"] == "station1"
    reader = "Basic " + b64encode(f"reader:{compose_stack.secret('influxdb/reader')}".encode()).decode()
    query = urllib.parse.urlencode({"db": "labdcs", "q": 'SELECT count("v_mon") FROM "power"'})

    def stored() -> bool:
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:8086/query?{query}", headers={"Authorization": reader}),
            timeout=30,
        ) as answer:
            return bool(json.load(answer)["results"][0].get("series"))

    wait_until(stored, 120, "Telegraf's points, read as Grafana's reader", interval=1)
