"""Fixtures shared by the whole suite: a real broker per test, device services as real processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer
from tests.support import CHROMIUM, CHROMIUM_ARGS, Broker, DeviceProcess, Influx, Probe, ScpiLink


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, one for the session: Playwright's sync API allows one
    instance per thread, so every browser test shares this one (each opens its own context)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        message = f"{CHROMIUM} is not installed: run scripts/setup (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    server = Broker(tmp_path / "mosquitto")
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture
def scpi_sim() -> Iterator[Callable[..., tuple[ScpiServer, ScpiLink]]]:
    """Simulated SCPI instruments on free ports (real TCP servers, queried like hardware)."""
    servers: list[ScpiServer] = []

    def make(model: str, **options: Any) -> tuple[ScpiServer, ScpiLink]:
        server = ScpiServer(create_model(model, **options))
        port = server.start()
        servers.append(server)
        return server, ScpiLink(port)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[Influx]:
    server = Influx(tmp_path / "influxdb")
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture
def probe(broker: Broker) -> Iterator[Callable[..., Probe]]:
    made: list[Probe] = []

    def make(*filters: str, **options: Any) -> Probe:
        client = Probe(broker.port, **options).start(*filters)
        made.append(client)
        return client

    yield make
    for client in made:
        client.stop()


@pytest.fixture
def device_process(
    tmp_path: Path, broker: Broker, request: pytest.FixtureRequest
) -> Iterator[Callable[..., DeviceProcess]]:
    made: list[DeviceProcess] = []

    def make(
        config: dict[str, Any],
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("device", "run"),
    ) -> DeviceProcess:
        process = DeviceProcess(tmp_path, config, broker.port, env, command).start()
        made.append(process)
        return process

    yield make
    for process in made:
        process.kill()
    failed = request.node.stash.get(_FAILED, False)
    if failed:
        for process in made:
            print(f"\n--- log of {process.config_path.stem} ---\n{process.log_text()[-4000:]}")


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report
