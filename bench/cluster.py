"""Clustered broker benchmark: QoS 1 throughput through a NATS cluster of 1, 2 and 3 nodes (publisher
on the first node, subscriber on the second, streams replicated to every node) against one
Mosquitto, the same paho clients and messages, in the same run (docs/scaling.md).

    .venv/bin/python bench/cluster.py [--repeats 3] [--messages 5000] [--nodes 1 2 3]

Prints medians over the repeats: messages per second delivered end to end on each broker (every
message received once) and the ratio cluster / Mosquitto (per run, then the median).
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
from labdcs.cluster import nats
from labdcs.stack.brokers import mosquitto_binary
from labdcs.stack.paths import free_port, port_open
from tests.cluster.nats_cluster import NATS_MISSING, NATS_SERVER, NatsCluster
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


def cluster_run(folder: Path, messages: int, size: int, binary: str | None = None) -> float:
    """A cluster of ``size`` nodes: published on the first, received on the second (if any)."""
    cluster = NatsCluster(folder, size=size, binary=binary)
    cluster.start()
    try:
        ports = cluster.mqtt_ports
        return throughput(
            ports[0], ports[min(1, size - 1)], PROBE_USER, cluster.password(PROBE_USER), messages
        )
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--nats-server", help="another nats-server binary (default: the venv's)")
    args = parser.parse_args()
    if NATS_MISSING:
        raise SystemExit(NATS_MISSING)
    binary = args.nats_server or str(NATS_SERVER)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version} ({binary}); tested release {nats.SERVER_VERSION}", flush=True)
    mosquitto_rates: list[float] = []
    rates: dict[int, list[float]] = {size: [] for size in args.nodes}
    ratios: dict[int, list[float]] = {size: [] for size in args.nodes}
    for run in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            mosquitto = mosquitto_run(Path(tmp) / "mosquitto", args.messages)
            mosquitto_rates.append(mosquitto)
            line = [f"run {run + 1}: Mosquitto {mosquitto:8.0f} msg/s"]
            for size in args.nodes:
                rate = cluster_run(Path(tmp) / f"nats{size}", args.messages, size, binary)
                rates[size].append(rate)
                ratios[size].append(rate / mosquitto)
                line.append(f"NATS x{size} {rate:7.0f}")
        print("   ".join(line), flush=True)
    print(f"\nQoS 1 end to end, {args.messages} messages, median of {args.repeats} runs")
    print(f"  one Mosquitto                      {statistics.median(mosquitto_rates):8.0f} msg/s (baseline)")
    for size in args.nodes:
        print(
            f"  NATS, {size} node(s), R{size}               {statistics.median(rates[size]):8.0f} msg/s"
            f"   ratio {statistics.median(ratios[size]):5.2f}"
        )


if __name__ == "__main__":
    main()
