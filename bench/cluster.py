"""Clustered broker benchmark: QoS 1 throughput through the three-node NATS cluster (publisher on
one node, subscriber on another, streams replicated to all three) against one Mosquitto, the same
paho clients and messages, in the same run (docs/scaling.md).

    .venv/bin/python bench/cluster.py [--repeats 3] [--messages 5000]

Prints medians over the repeats: messages per second delivered end to end on each broker (every
message received once) and the ratio cluster / Mosquitto.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

# Run as a script: the checkout's root makes `bench` and `tests` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stack import BENCH_USER, secured_broker, wait_for
from labdcs.stack.brokers import mosquitto_binary
from labdcs.stack.paths import free_port, port_open
from tests.cluster.nats_cluster import NATS_MISSING, NatsCluster
from tests.support import PROBE_USER

TOPIC = "labdcs/v1/bench{n}/ch1/state"


def _client(name: str, user: str, password: str) -> paho.Client:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
    client.username_pw_set(user, password)
    client.max_inflight_messages_set(100)
    return client


def throughput(pub_port: int, sub_port: int, user: str, password: str, messages: int) -> float:
    """Messages per second from the first publish to the last delivery, QoS 1 both ways."""
    received: set[int] = set()
    done = threading.Event()
    subscribed = threading.Event()
    subscriber = _client(f"bench-sub-{time.monotonic_ns()}", user, password)
    subscriber.on_subscribe = lambda *_: subscribed.set()

    def on_message(client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        received.add(json.loads(msg.payload)["seq"])
        if len(received) >= messages:
            done.set()

    subscriber.on_message = on_message
    subscriber.connect("127.0.0.1", sub_port, keepalive=30)
    subscriber.loop_start()
    topic = TOPIC.format(n=time.monotonic_ns())
    subscriber.subscribe(topic, qos=1)
    wait_for(subscribed.is_set, 30, "the SUBACK")
    publisher = _client(f"bench-pub-{time.monotonic_ns()}", user, password)
    publisher.connect("127.0.0.1", pub_port, keepalive=30)
    publisher.loop_start()
    payload = {"ts": 0, "boot": "bench", "kind": "power", "status": "on", "v_mon": 99.97}
    start = time.monotonic()
    for seq in range(messages):
        publisher.publish(topic, json.dumps({**payload, "seq": seq}), qos=1)
    if not done.wait(300):
        raise TimeoutError(f"only {len(received)} of {messages} messages arrived")
    elapsed = time.monotonic() - start
    for client in (publisher, subscriber):
        client.disconnect()
        client.loop_stop()
    return messages / elapsed


def mosquitto_run(folder: Path, messages: int) -> float:
    binary = mosquitto_binary()
    assert binary is not None, "mosquitto is not installed"
    port = free_port()
    conf, store = secured_broker(folder, port)
    (folder / "mosquitto.conf").write_text(conf)
    broker = subprocess.Popen(
        [binary, "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: port_open("127.0.0.1", port), 10, "mosquitto")
        return throughput(port, port, BENCH_USER, store.read(f"mqtt/{BENCH_USER}"), messages)
    finally:
        broker.terminate()
        broker.wait(10)


def cluster_run(folder: Path, messages: int) -> float:
    cluster = NatsCluster(folder)
    cluster.start()
    try:
        ports = cluster.mqtt_ports
        return throughput(ports[0], ports[1], PROBE_USER, cluster.password(PROBE_USER), messages)
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    if NATS_MISSING:
        raise SystemExit(NATS_MISSING)
    runs: list[tuple[float, float]] = []
    for run in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            mosquitto = mosquitto_run(Path(tmp) / "mosquitto", args.messages)
            cluster = cluster_run(Path(tmp) / "nats", args.messages)
        runs.append((mosquitto, cluster))
        print(
            f"run {run + 1}: Mosquitto {mosquitto:8.0f} msg/s   NATS cluster {cluster:8.0f} msg/s", flush=True
        )
    mosquitto = statistics.median(r[0] for r in runs)
    cluster = statistics.median(r[1] for r in runs)
    ratio = statistics.median(r[1] / r[0] for r in runs)
    print(f"\nQoS 1 end to end, {args.messages} messages, median of {args.repeats} runs")
    print(f"  one Mosquitto                     {mosquitto:8.0f} msg/s (baseline)")
    print(f"  NATS cluster (3 nodes, R3)        {cluster:8.0f} msg/s")
    print(f"  ratio cluster / Mosquitto         {ratio:8.2f}")


if __name__ == "__main__":
    main()
