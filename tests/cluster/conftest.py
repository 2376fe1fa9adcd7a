"""A three-node nats-server cluster (MQTT gateway, JetStream) on loopback, in a temp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.nats_cluster import NATS_MISSING, NatsCluster

DEVICES = ("hv1", "env1", "can1")


def _cluster(folder: Path, request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
    if NATS_MISSING:
        pytest.skip(NATS_MISSING)
    cluster = NatsCluster(folder, devices=DEVICES)
    failed_before = request.session.testsfailed
    cluster.start()
    yield cluster
    cluster.stop()
    if request.session.testsfailed > failed_before:
        print(f"\n--- nats logs (tail) ---\n{cluster.log_text()[-6000:]}")


@pytest.fixture(scope="module")
def shared_cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[NatsCluster]:
    """One cluster for the tests that leave every node running."""
    yield from _cluster(tmp_path_factory.mktemp("nats"), request)


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
    """A cluster of the test's own (it may kill nodes)."""
    yield from _cluster(tmp_path / "nats", request)
