"""The shared MQTT connection (labdcs.mqtt) against a real, secured Mosquitto: what its on-connect
hooks may rely on, and a clean stop."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from labdcs.mqtt import MqttConnection
from tests.support import PROBE_USER, Broker, wait_until

CLI_RUNS = 10


def _connection(broker: Broker, client_id: str) -> MqttConnection:
    return MqttConnection(broker.mqtt(PROBE_USER), client_id=client_id)


def test_on_connect_hooks_run_once_the_subscriptions_are_in_force(broker: Broker) -> None:
    """A hook that announces readiness runs only after the SUBACK: even a message the connection
    publishes to itself there (the broker takes one client's packets in order) is received, on the
    first connect and after every broker restart."""
    received: list[bytes] = []
    connection = _connection(broker, "t-ready")
    connection.subscribe("t/dev/cmd/#", lambda topic, payload, retained: received.append(payload))
    connection.add_on_connect(
        lambda: connection.publish("t/dev/cmd/ping", f"connect {connection.connect_count}".encode())
    )
    connection.start()
    try:
        for count in range(1, 4):
            expected = f"connect {count}".encode()
            wait_until(lambda want=expected: want in received, 10, f"the hook's message #{count}")
            broker.restart()
    finally:
        connection.stop()


def test_a_clean_stop_logs_no_error(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    """paho's network thread used to log 'Client is not connected' at ERROR on a clean stop."""
    caplog.set_level(logging.DEBUG, logger="labdcs.mqtt")
    for run in range(20):
        connection = _connection(broker, f"t-stop-{run}")
        connection.subscribe("t/#", lambda *_: None)
        connection.start()
        assert connection.wait_connected(10)
        connection.publish("t/x", b"1")
        connection.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], f"{len(errors)} warnings or errors in 20 clean stops"
    assert any("Sending DISCONNECT" in r.getMessage() for r in caplog.records), "paho's log is captured"


def test_cli_commands_print_nothing_on_stderr_when_they_disconnect(broker: Broker) -> None:
    """``labdcs status`` (a snapshot, then a clean stop of its connection) leaves stderr empty."""
    env = {**os.environ, **broker.env("cli")}
    for _ in range(CLI_RUNS):
        done = subprocess.run(
            [sys.executable, "-m", "labdcs", "status", "--timeout", "0.3"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "no devices on the broker" in done.stdout
        assert done.stderr == ""


def test_routes_follow_subscriptions_made_after_a_topic_was_seen(broker: Broker) -> None:
    """Handlers are looked up once per topic (issue 16) and the lookup is redone when the
    subscriptions change: a handler added after a topic's first message gets the next ones."""
    first: list[bytes] = []
    second: list[bytes] = []
    connection = _connection(broker, "t-routes")
    connection.subscribe("t/a/#", lambda topic, payload, retained: first.append(payload))
    connection.start()
    try:
        assert connection.wait_connected(10)
        connection.publish("t/a/x", b"1")
        wait_until(lambda: first == [b"1"], 10, "the first message")
        connection.subscribe("t/+/x", lambda topic, payload, retained: second.append(payload))
        wait_until(lambda: connection.publish("t/a/x", b"2") and second, 10, "the second handler called")
        assert first[:2] == [b"1", b"2"]
    finally:
        connection.stop()
