"""The contract's broker promises on a three-node NATS cluster (MQTT gateway on JetStream), with
the logins and permissions generated from the same role table as Mosquitto's ACL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from labdcs.cluster import nats
from labdcs.contract import topics
from labdcs.security.mosquitto import Role
from tests.cluster.nats_cluster import NatsCluster
from tests.support import PROBE_USER, Probe, mqtt_connect_as, wait_until


def login(cluster: NatsCluster, node: int, user: str, *filters: str, **options: object) -> Probe:
    """A plain paho client logged in as ``user`` on node ``node`` (0-based)."""
    probe = Probe(cluster.mqtt_ports[node], username=user, password=cluster.password(user), **options)  # type: ignore[arg-type]
    return probe.start(*filters)


def test_permissions_are_the_acl_of_the_role_table() -> None:
    device = nats.permissions("hv1", Role.DEVICE)
    assert "labdcs.v1.hv1.*.state" in device.publish and "labdcs.v1.hv1.*.cmd.*.*" in device.subscribe
    assert not any(s.startswith("labdcs.v1.*") or s.endswith(".cmd.*.*") for s in device.publish)
    assert "labdcs.v1.>" not in device.subscribe, "a device reads only what the safety chain needs"
    commander = nats.permissions("nodered", Role.COMMANDER)
    assert "labdcs.v1.*.*.cmd.*.nodered" in commander.publish
    assert not any(s.endswith(".cmd.*.*") for s in commander.publish), "commands only in its own name"
    assert {"labdcs.v1", "labdcs.v1.>"} <= set(nats.permissions("ingest", Role.INGEST).subscribe)


def test_retained_messages_are_seen_from_every_node(shared_cluster: NatsCluster) -> None:
    device = login(shared_cluster, 0, "hv1")
    meta = json.dumps({"marker": time.monotonic_ns()}).encode()
    device.publish(topics.meta("hv1"), meta, retain=True)
    for node in (1, 2):
        reader = login(shared_cluster, node, "ingest", topics.ALL_META)
        got = wait_until(
            lambda r=reader: [m for m in r.on(topics.meta("hv1")) if m.payload == meta], 10, "meta"
        )
        assert got[0].retained, f"node {node + 1} delivers the retained meta as retained"
        reader.stop()
    device.stop()


def test_permissions_hold_on_every_node_and_commands_reach_the_device(shared_cluster: NatsCluster) -> None:
    device = login(shared_cluster, 0, "hv1", topics.commands_of("hv1"))
    watcher = login(shared_cluster, 2, PROBE_USER, f"{topics.PREFIX}/#")
    commander = login(shared_cluster, 1, "cli")
    device.publish(topics.meta("env1"), b'{"forged": true}', retain=True)  # another device's topic
    commander.publish(topics.command("hv1", "ch1", "on", "nodered"), b'{"id": "forged"}')  # another's name
    commander.publish(topics.command("hv1", "ch1", "on", "cli"), b'{"id": "c1"}')
    device.publish(topics.state("hv1", "ch1"), b'{"marker": 1}')
    wait_until(lambda: device.on(topics.command("hv1", "ch1", "on", "cli")), 10, "the command at the device")
    wait_until(lambda: watcher.on(topics.state("hv1", "ch1")), 10, "the device's own state")
    assert not watcher.on(topics.meta("env1")), "a device cannot write another device's topics"
    assert not watcher.on(topics.command("hv1", "ch1", "on", "nodered")), "nor a commander in another's name"
    assert not device.on(topics.command("hv1", "ch1", "on", "nodered"))
    for probe in (device, watcher, commander):
        probe.stop()


WILL_CLIENT = """
import sys, time
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
port, user, password, topic = sys.argv[1:5]
client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=user + ":will-test")
client.username_pw_set(user, password)
client.will_set(topic, b"false", qos=1, retain=True)
client.connect("127.0.0.1", int(port), keepalive=2)
client.loop_start()
client.publish(topic, b"true", qos=1, retain=True).wait_for_publish(10)
print("online", flush=True)
time.sleep(600)
"""


def test_a_dead_clients_last_will_is_retained_on_every_node(shared_cluster: NatsCluster) -> None:
    watcher = login(shared_cluster, 2, "ingest", topics.online("env1"))
    client = subprocess.Popen(
        [sys.executable, "-c", WILL_CLIENT, str(shared_cluster.mqtt_ports[1]), "env1",
         shared_cluster.password("env1"), topics.online("env1")],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == b"online"
        wait_until(lambda: watcher.on(topics.online("env1")), 10, "online true")
        client.kill()
        killed = time.monotonic()
        will = wait_until(
            lambda: [m for m in watcher.on(topics.online("env1")) if m.payload == b"false"], 10, "the will"
        )
        print(f"will seen {will[0].at - killed:.2f} s after the kill (keep-alive 2 s)")
    finally:
        client.kill()
        client.wait(10)
    late = login(shared_cluster, 0, "ingest", topics.online("env1"))
    got = wait_until(lambda: late.on(topics.online("env1")), 10, "retained online on node 1")
    assert got[-1].payload == b"false" and got[-1].retained
    watcher.stop()
    late.stop()


def test_a_persistent_session_keeps_its_queue_when_it_moves_to_another_node(
    shared_cluster: NatsCluster,
) -> None:
    password = shared_cluster.password("ingest")
    first = session_client(password)
    subscribed = threading.Event()
    first.on_subscribe = lambda *_: subscribed.set()
    first.connect("127.0.0.1", shared_cluster.mqtt_ports[0], keepalive=5)
    first.loop_start()
    first.subscribe(topics.ALL_STATE, qos=1)
    wait_until(subscribed.is_set, 15, "the SUBACK of the session's subscription")
    first.disconnect()  # a clean DISCONNECT: the session and its QoS 1 subscription stay
    first.loop_stop()
    device = login(shared_cluster, 2, "can1")
    for seq in range(20):
        device.publish(topics.state("can1", "ch1"), json.dumps({"seq": seq}).encode())
    device.stop()
    second = session_client(password)
    present: list[bool] = []
    seqs: list[int] = []
    second.on_connect = lambda client, userdata, flags, *_: present.append(flags.session_present)
    second.on_message = lambda client, userdata, msg: seqs.append(json.loads(msg.payload)["seq"])
    # No new SUBSCRIBE: what arrives comes from the session's own subscription.
    second.connect("127.0.0.1", shared_cluster.mqtt_ports[1], keepalive=5)
    second.loop_start()
    try:
        wait_until(lambda: len(seqs) >= 20, 15, "the queued states")
    finally:
        second.disconnect()
        second.loop_stop()
    assert present == [True], "the session is known on another node"
    assert sorted(set(seqs)) == list(range(20))


def session_client(password: str) -> paho.Client:
    """The ingester's kind of connection: a fixed client id and a persistent session."""
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="ingest:moving", clean_session=False
    )
    client.username_pw_set("ingest", password)
    return client


def test_another_login_can_take_a_client_id_on_nats(shared_cluster: NatsCluster) -> None:
    """What the cluster does not keep (docs/scaling.md): Mosquitto's client-id plugin refuses
    ``ingest:<name>`` to every login but ``ingest``; NATS has no such hook."""
    code, _ = mqtt_connect_as(shared_cluster.mqtt_ports[0], "hv1", shared_cluster.password("hv1"), "ingest:x")
    assert code == 0
