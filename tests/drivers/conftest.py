"""Fixtures for driver tests: simulated instruments on real sockets and a real virtual CAN bus.

Nothing is mocked: drivers talk through pyvisa + pyvisa-py to :class:`ScpiServer` on a loopback
port, through pyvisa-sim to the YAML definitions, and through python-can's virtual interface to
:class:`CanPsuNode`.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from labdcs_dummy.can_node import CanPsuNode
from labdcs_dummy.instruments import EnvMonModel, HMP4040Model, Keithley2410Model
from labdcs_dummy.scpi_server import ScpiServer

T = TypeVar("T")

#: Driver timeout used in tests: short, so that "not answering" tests stay fast.
TIMEOUT_S = 0.3


def _wait_until(
    predicate: Callable[[], T], timeout: float = 2.0, interval: float = 0.01, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def _scpi(server: ScpiServer, message: str, timeout: float = 2.0) -> str | None:
    """Send one line to a simulator over its own TCP connection, like a second client on the LAN.

    Returns the reply line for a query (a message containing ``?``), None otherwise.
    """
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(message.encode() + b"\n")
        if "?" not in message:
            # A query afterwards proves the setting was processed before we hang up
            # (SIM: queries are answered even by a muted instrument).
            sock.sendall(b"SIM:MUTE?\n")
            reply = sock.makefile("rb").readline()
            assert reply.strip() in (b"0", b"1"), f"simulator did not confirm {message!r}: {reply!r}"
            return None
        return sock.makefile("rb").readline().decode().rstrip("\r\n")


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, timeout=2.0, what="...")``: poll instead of sleeping."""
    return _wait_until


@pytest.fixture
def scpi() -> Callable[..., str | None]:
    """``scpi(server, "SIM:LOAD 1e6")``: a second client for test control (SIM: commands)."""
    return _scpi


@pytest.fixture
def keithley_server() -> Iterator[ScpiServer]:
    server = ScpiServer(Keithley2410Model(seed=2410))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hmp_server() -> Iterator[ScpiServer]:
    server = ScpiServer(HMP4040Model(seed=4040))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def envmon_server() -> Iterator[ScpiServer]:
    server = ScpiServer(EnvMonModel(seed=31, channels=2))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def can_channel() -> str:
    """A virtual CAN channel name private to one test (virtual buses are process-global)."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def can_node(can_channel: str) -> Iterator[CanPsuNode]:
    node = CanPsuNode(channel=can_channel, node_id=7, seed=7)
    node.start()
    yield node
    node.stop()
