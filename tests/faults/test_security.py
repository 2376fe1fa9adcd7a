"""Security checks on the real broker, secured as in production (password file, generated ACL,
TLS listener with the local CA of ``labdcs init``)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from labdcs.contract import topics
from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.security import influx as influx_auth
from labdcs.security import secrets, tls
from labdcs.stack.paths import free_port
from tests.support import Broker, Influx, LabdcsProcess, Probe, mqtt_connack, wait_for_manager, wait_until

ACCEPTED, BAD_LOGIN, NOT_AUTHORISED = 0, 4, 5


def refused(port: int, user: str | None = None, password: str | None = None, **tls: Any) -> bool:
    """The broker refuses this login: a refusing CONNACK, or the connection closed before the
    client could read it (the broker closes right after refusing; a reset may come first)."""
    try:
        return mqtt_connack(port, user, password, **tls) in (BAD_LOGIN, NOT_AUTHORISED)
    except ConnectionError:
        return True


def test_anonymous_and_wrong_password_are_refused(broker: Broker, fault_report: Callable[..., None]) -> None:
    broker.add_user("hv1")
    assert refused(broker.port)
    assert refused(broker.port, "hv1", "not-the-password")
    assert refused(broker.port, "nobody", "x")
    assert mqtt_connack(broker.port, "hv1", broker.password("hv1")) == ACCEPTED
    fault_report(
        "MQTT: anonymous, wrong password, unknown user", "all 3 refused at CONNACK; right password accepted"
    )


def test_a_device_cannot_write_another_devices_topics_or_any_command(
    broker: Broker, probe: Callable[..., Probe], fault_report: Callable[..., None]
) -> None:
    watcher = probe("labdcs/v1/#")
    device = Probe(broker.port, username="hv1").start()
    try:
        forbidden = [
            topics.state("hv2", "ch1"),
            topics.states("hv2", "ch1"),
            topics.online("hv2"),
            topics.alarm("hv2", "x"),
            topics.command("hv2", "ch1", "on", "hv1"),
            topics.command("hv1", "ch1", "on", "hv1"),  # not even its own commands
            topics.command("hv2", "ch1", "on", "cli"),  # nor under a commander's name
        ]
        for topic in forbidden:
            device.publish(topic, b'{"forged": true}')
        device.publish(topics.states("hv1", "ch1"), b'{"own": true}')  # allowed: its own batches
        device.publish(topics.state("hv1", "ch1"), b'{"own": true}')  # allowed: proves delivery works
        wait_until(lambda: watcher.on(topics.state("hv1", "ch1")), 10, "the device's own state")
        assert watcher.on(topics.states("hv1", "ch1")), "a device may publish its own batched states"
        time.sleep(0.2)  # anything forged would have arrived before or with the allowed message
        leaked = [m.topic for m in watcher.messages if m.topic in forbidden]
        assert leaked == []
        # A commander (the CLI user) may command; the device reads its own commands only.
        listener = Probe(broker.port, username="hv1").start(
            topics.commands_of("hv1"), topics.commands_of("hv2")
        )
        cli = Probe(broker.port, username="cli").start()
        try:
            cli.publish(topics.command("hv1", "ch1", "on", "cli"), b"{}")
            cli.publish(topics.command("hv2", "ch1", "on", "cli"), b"{}")
            own = topics.command("hv1", "ch1", "on", "cli")
            wait_until(lambda: listener.on(own), 10, "hv1's own command")
            time.sleep(0.2)
            assert listener.on(topics.command("hv2", "ch1", "on", "cli")) == []
        finally:
            cli.stop()
            listener.stop()
    finally:
        device.stop()
    fault_report(
        "ACL: device writes another device's topics or a command; reads another's commands",
        f"{len(forbidden)} forged publications, 0 delivered; other device's command not delivered",
    )


def _tls_context(ca_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    return context


def test_tls_listener_accepts_the_local_ca_and_refuses_an_unknown_one(
    tmp_path: Path, fault_report: Callable[..., None]
) -> None:
    broker = Broker(tmp_path / "mosquitto", tls=True)
    broker.start()
    try:
        _check_tls(broker)
    finally:
        broker.stop()
    fault_report("TLS: broker certificate from an unknown CA", "handshake refused; local CA accepted")


def _check_tls(broker: Broker) -> None:
    assert broker.tls_port is not None
    broker.add_user("hv1")
    trusted = _tls_context(broker.secrets.require("tls/ca.crt").read_bytes())
    assert mqtt_connack(broker.tls_port, "hv1", broker.password("hv1"), tls=trusted) == ACCEPTED
    assert refused(broker.tls_port, tls=trusted)  # TLS is no login
    stranger = _tls_context(tls.make_ca("somebody else's CA").cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError):
        mqtt_connack(broker.tls_port, "hv1", broker.password("hv1"), tls=stranger)


def test_each_web_service_refuses_unauthenticated_access(
    tmp_path: Path, fault_report: Callable[..., None]
) -> None:
    """The experiments manager as a real process with the logins `labdcs init` makes, and InfluxDB
    with authentication and the users `labdcs up` creates. (Node-RED: tests/nodered/test_security.py;
    Grafana is not installable here: its settings are checked in tests/test_compose.py.)"""
    store = secrets.SecretsDir(tmp_path / "secrets")
    secrets.init(store.root)
    admin = ("admin", store.read("experiments/admin"))
    port = free_port()
    server = LabdcsProcess(
        ["experiments", "serve", "--no-queue"], tmp_path / "experiments.log", free_port(),
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", "LABDCS_HTTP_PORT": str(port),
             "LABDCS_AUTH__ADMIN_PASSWORD_FILE": str(store.path("experiments/admin")),
             "LABDCS_AUTH__VIEWER_PASSWORD_FILE": str(store.path("experiments/viewer"))},
    ).start()  # fmt: skip
    influx = Influx(tmp_path / "influxdb")
    influx.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with pytest.raises(InfluxError, match=r"401|authoriz"):
            InfluxClient(InfluxSettings(url=influx.url)).query("SHOW DATABASES")
        reader = influx.login(influx_auth.READER)
        assert reader.query("SHOW MEASUREMENTS") is not None
        wait_for_manager(server, url)
        paths = ("/", "/experiments/new", "/api/experiments", "/api/cells", "/docs", "/openapi.json")
        anonymous = {path: httpx.get(f"{url}{path}", timeout=10).status_code for path in paths}
        assert set(anonymous.values()) == {401}, anonymous
        write = httpx.post(f"{url}/api/cells", json={"serial": "x", "type": "y"}, timeout=10)
        assert write.status_code == 401
        wrong = httpx.get(f"{url}/api/experiments", auth=("admin", "guess"), timeout=10).status_code
        viewer = ("viewer", store.read("experiments/viewer"))
        viewer_write = httpx.post(f"{url}/api/cells", json={}, auth=viewer, timeout=10).status_code
        assert (wrong, viewer_write) == (401, 403)
        assert httpx.get(f"{url}/api/experiments", auth=admin, timeout=10).status_code == 200
        wait_until(lambda: "refused login for 'admin'" in server.log_text(), 10, "the refusal in the log")
        assert admin[1] not in server.log_text()
    finally:
        server.kill()
        influx.stop()
    fault_report(
        "Web services without a login",
        f"experiments manager: {len(paths)} pages/API paths and a write answered 401 without a login, "
        "401 with a wrong password, 403 for a viewer's write, 200 for admin; InfluxDB: anonymous query "
        "401, reader accepted; Node-RED editor/admin API: tests/nodered/test_security.py",
    )
