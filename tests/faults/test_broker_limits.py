"""The broker's message-size limit, derived from the contract (issue 12, point 3): a device
publishing more than the largest legitimate message is cut off before the broker reads the payload,
and the largest legitimate message still passes."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from labdcs.contract import encode, topics
from labdcs.contract.limits import MAX_MESSAGE_BYTES
from labdcs.stack.brokers import size_limits
from labdcs.stack.paths import project_root
from tests.contract.test_contract_limits import largest_metas
from tests.support import Broker, Probe, wait_until

MB = 1024 * 1024


def _rss_mb(broker: Broker) -> float:
    assert broker.process is not None
    status = Path(f"/proc/{broker.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def _publish_as(broker: Broker, user: str, topic: str, payload: bytes) -> bool:
    """Publish once (QoS 1, retained) as ``user``; True when the broker acknowledged it, False when
    it closed the connection instead."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"{user}:size-test")
    client.username_pw_set(user, broker.password(user))
    done = threading.Event()
    outcome: list[bool] = []
    client.on_publish = lambda *_: (outcome.append(True), done.set())
    client.on_disconnect = lambda *_: (outcome.append(False), done.set())
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True)
        assert done.wait(60), "neither an acknowledgement nor a disconnect"
    finally:
        client.disconnect()
        client.loop_stop()
    return outcome[0]


def test_the_broker_limits_are_the_contracts() -> None:
    conf = (project_root() / "mosquitto" / "mosquitto.conf").read_text()
    found = {
        key: int(value)
        for key, value in re.findall(r"^(max_packet_size|message_size_limit) (\d+)$", conf, re.M)
    }
    assert found == size_limits()
    assert size_limits()["message_size_limit"] == MAX_MESSAGE_BYTES


def test_a_device_publishing_over_the_limit_is_cut_off_and_the_largest_meta_passes(
    broker: Broker, probe, fault_report
) -> None:
    broker.add_user("env1")
    watcher: Probe = probe(topics.meta("env1"))
    before = _rss_mb(broker)
    sizes = {"just over the limit": size_limits()["max_packet_size"] + 1, "100 MB": 100 * MB}
    accepted = {
        name: _publish_as(broker, "env1", topics.meta("env1"), b"x" * size) for name, size in sizes.items()
    }
    after = _rss_mb(broker)
    largest = max((encode(meta) for meta in largest_metas().values()), key=len)
    # The broker does not read payloads: the largest meta the contract allows, on env1's topic.
    passed = _publish_as(broker, "env1", topics.meta("env1"), largest)
    received = wait_until(
        lambda: [m for m in watcher.on(topics.meta("env1")) if m.payload == largest], 10, "the largest meta"
    )
    fault_report(
        "a device publishes a retained message just over the broker limit "
        f"({sizes['just over the limit']:,} B) and one of 100 MB",
        f"cut off: {sum(not a for a in accepted.values())}/{len(accepted)}; "
        f"broker RSS {before:.1f} -> {after:.1f} MB; the largest legitimate "
        f"meta ({len(largest):,} B) delivered: {bool(received)}",
    )
    assert not any(accepted.values()), accepted
    assert after - before < 10, f"the broker's memory grew from {before:.1f} to {after:.1f} MB"
    assert passed and received
    assert not [m for m in watcher.on(topics.meta("env1")) if len(m.payload) > MAX_MESSAGE_BYTES]
