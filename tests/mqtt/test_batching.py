"""The ingester's batching connection (labdcs.mqtt.batching) against a real, secured Mosquitto:
messages are read several to a batch, and a batch is acknowledged only after its batch-end hooks
succeeded (the ingester's spool write): otherwise the broker sends it again."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as paho

from labdcs.mqtt import MqttConnection
from labdcs.settings import MqttSettings
from tests.support import PROBE_USER, Broker, wait_until


class Receiver:
    """A batching connection with a persistent session that notes every message and every batch."""

    def __init__(
        self, broker: Broker, client_id: str, coalesce_s: float = 0.0, settings: MqttSettings | None = None
    ) -> None:
        self.payloads: list[bytes] = []
        self.current: list[bytes] = []
        self.batches: list[list[bytes]] = []
        self.fail_batches = 0
        self.subscribed = threading.Event()
        self.connection = MqttConnection(
            settings or broker.mqtt(PROBE_USER),
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
            batch_reads=True,
            coalesce_s=coalesce_s,
        )
        self.connection.subscribe_acking("t/batch/#", self._on_message)
        self.connection.add_on_batch_end(self._on_batch_end)
        self.connection.add_on_connect(self.subscribed.set)

    def _on_message(self, message: paho.MQTTMessage) -> bool:
        payload = bytes(message.payload)
        self.payloads.append(payload)
        self.current.append(payload)
        return True

    def _on_batch_end(self) -> None:
        batch, self.current = self.current, []
        if not batch:
            return
        self.batches.append(batch)
        if self.fail_batches:
            self.fail_batches -= 1
            raise OSError("the spool's disk is full (a test)")

    def start(self) -> None:
        self.subscribed.clear()
        self.connection.start()
        wait_until(self.subscribed.is_set, 10, "the subscription to be in force")

    def stop(self) -> None:
        self.connection.stop()


def _publish(broker: Broker, payloads: list[bytes]) -> None:
    publisher = MqttConnection(broker.mqtt(PROBE_USER), client_id="t-batch-pub")
    publisher.start()
    try:
        assert publisher.wait_connected(10)
        for payload in payloads[:-1]:
            publisher.publish("t/batch/x", payload)
        assert publisher.publish_and_wait("t/batch/x", payloads[-1], timeout=30)
    finally:
        publisher.stop()


def _backlog(broker: Broker, receiver: Receiver, sent: list[bytes], what: str) -> None:
    """Register the receiver's persistent session, queue ``sent`` in it while it is away, then
    connect again and wait until it has received as many messages."""
    receiver.start()
    receiver.stop()
    _publish(broker, sent)
    receiver.start()
    try:
        wait_until(lambda: len(receiver.payloads) >= len(sent), 30, what)
    finally:
        receiver.stop()


def test_a_backlog_is_read_in_batches_and_each_is_acknowledged(broker: Broker) -> None:
    """300 messages queued in the session arrive several to a batch (the broker's in-flight window
    is 20), every one once; once all are acknowledged, a new connection gets only what came since
    (an unacknowledged message would come again, before it)."""
    receiver = Receiver(broker, "t-batch-backlog")
    sent = [f"m{n}".encode() for n in range(300)]
    _backlog(broker, receiver, sent, "the backlog")
    assert receiver.payloads == sent
    assert sum(map(len, receiver.batches)) == len(sent)
    assert len(receiver.batches) < len(sent) / 3, f"{len(receiver.batches)} batches for {len(sent)} messages"
    _publish(broker, [b"after"])
    receiver.start()
    try:
        wait_until(lambda: b"after" in receiver.payloads, 30, "the message published after")
    finally:
        receiver.stop()
    assert receiver.payloads == [*sent, b"after"], "messages acknowledged in their batch came again"


def test_a_batch_whose_hook_fails_is_not_acknowledged(broker: Broker) -> None:
    """The hook is where the ingester makes a batch durable: when it fails, the batch is not
    acknowledged, the connection starts again and the broker sends the batch again."""
    receiver = Receiver(broker, "t-batch-fail")
    receiver.start()
    receiver.fail_batches = 1
    sent = [f"m{n}".encode() for n in range(50)]
    try:
        _publish(broker, sent)
        wait_until(lambda: receiver.batches, 30, "the first batch")
        wait_until(lambda: set(sent) <= set(receiver.payloads[len(receiver.batches[0]) :]), 30, "all again")
        wait_until(lambda: receiver.connection.connect_count >= 2, 10, "a new connection")
    finally:
        receiver.stop()
    failed = receiver.batches[0]
    assert all(receiver.payloads.count(payload) >= 2 for payload in failed), "the failed batch came again"


def test_a_steady_stream_is_read_several_messages_per_wake_up(broker: Broker) -> None:
    """After a small batch the reader waits ``coalesce_s`` (10 ms here) before reading again: 200
    messages published at a steady pace (one every ~2 ms) come in batches of several."""
    receiver = Receiver(broker, "t-batch-steady", coalesce_s=0.01)
    receiver.start()
    publisher = MqttConnection(broker.mqtt(PROBE_USER), client_id="t-batch-steady-pub")
    publisher.start()
    sent = [f"m{n}".encode() for n in range(200)]
    try:
        assert publisher.wait_connected(10)
        pace = threading.Event()
        for payload in sent:
            publisher.publish("t/batch/x", payload)
            pace.wait(0.002)  # the publisher's pace, not a wait for a result
        wait_until(lambda: len(receiver.payloads) >= len(sent), 30, "the stream")
    finally:
        publisher.stop()
        receiver.stop()
    assert receiver.payloads == sent
    assert len(sent) / len(receiver.batches) >= 3, f"{len(receiver.batches)} batches for {len(sent)} messages"


def test_every_kind_of_packet_arrives_whole(broker: Broker) -> None:
    """The reader takes QoS 1 PUBLISH packets from its buffer itself and leaves everything else to
    paho: a retained message (flag kept), a QoS 0 message, a payload bigger than one read (256 KiB
    against 64 KiB reads) and a UTF-8 topic arrive whole and in order among ordinary messages."""
    received: list[tuple[str, bytes, bool, int]] = []
    subscribed = threading.Event()
    connection = MqttConnection(
        broker.mqtt(PROBE_USER), client_id="t-batch-kinds", manual_ack=True, batch_reads=True
    )

    def on_message(message: paho.MQTTMessage) -> bool:
        received.append((message.topic, bytes(message.payload), bool(message.retain), message.qos))
        return True

    connection.subscribe_acking("t/kinds/#", on_message)
    connection.add_on_connect(subscribed.set)
    publisher = MqttConnection(broker.mqtt(PROBE_USER), client_id="t-batch-kinds-pub")
    publisher.start()
    big = bytes(range(256)) * 1024
    try:
        assert publisher.wait_connected(10)
        assert publisher.publish_and_wait("t/kinds/retained", b"kept", retain=True)
        connection.start()
        wait_until(subscribed.is_set, 10, "the subscription to be in force")
        sent = [
            ("t/kinds/a", b"1", 1),
            ("t/kinds/big", big, 1),
            ("t/kinds/a", b"2", 1),
            ("t/kinds/q0", b"3", 0),
            ("t/kinds/température", "°C".encode(), 1),
            ("t/kinds/a", b"4", 1),
        ]
        for topic, payload, qos in sent:
            assert publisher.publish_and_wait(topic, payload, qos=qos)
        wait_until(lambda: len(received) >= len(sent) + 1, 30, "every message")
    finally:
        publisher.stop()
        connection.stop()
    assert received[0] == ("t/kinds/retained", b"kept", True, 1)
    assert received[1:] == [(topic, payload, False, qos) for topic, payload, qos in sent]


def test_a_backlog_arrives_whole_over_tls(tmp_path: Path) -> None:
    """Over TLS a read returns at most one TLS record (16 KiB) and the rest waits in the TLS layer:
    a backlog of 300 messages and a 256 KiB payload arrive whole, in order, each once."""
    broker = Broker(tmp_path / "mosquitto", tls=True)
    broker.start()
    try:
        assert broker.tls_port is not None
        ca_file = broker.secrets.require("tls/ca.crt")
        settings = broker.mqtt(PROBE_USER).model_copy(
            update={"port": broker.tls_port, "tls": True, "ca_file": ca_file}
        )
        receiver = Receiver(broker, "t-batch-tls", settings=settings)
        sent = [f"m{n}".encode() for n in range(150)] + [bytes(range(256)) * 1024] + [b"last"] * 150
        _backlog(broker, receiver, sent, "the backlog over TLS")
    finally:
        broker.stop()
    assert receiver.payloads == sent
    assert len(receiver.batches) < len(sent) / 3, f"{len(receiver.batches)} batches for {len(sent)} messages"
