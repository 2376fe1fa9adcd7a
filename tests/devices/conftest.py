"""Simulated instruments for device-service tests: real TCP SCPI servers, queried like hardware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer
from tests.support import ScpiLink


@pytest.fixture
def scpi_sim() -> Iterator[Callable[[str], tuple[ScpiServer, ScpiLink]]]:
    servers: list[ScpiServer] = []

    def make(model: str, **options: Any) -> tuple[ScpiServer, ScpiLink]:
        server = ScpiServer(create_model(model, **options))
        port = server.start()
        servers.append(server)
        return server, ScpiLink(port)

    yield make
    for server in servers:
        server.stop()


def hv_config(port: int, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "device": "hv1",
        "kind": "hv",
        "model": "Keithley 2410",
        "driver": {"name": "keithley2410", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "timeout_s": 1.0},
        "channels": [
            {"id": "ch1", "max_voltage": 500.0, "max_current": 1e-4, "ramp_rate": 20.0, "max_ramp_rate": 50.0}
        ],
        "publish_period": 0.5,
        "ramp_tick": 0.05,
        "mqtt": {"keepalive": 2},
        "reconnect_max_s": 1.0,
    }
    config.update(overrides)
    return config
