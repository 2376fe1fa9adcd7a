"""Test helpers: real servers started on free ports in temporary folders, and condition waits."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxSettings
from labdcs.ingest.mapping import DATABASE
from labdcs.security import influx as influx_auth
from labdcs.security import secrets
from labdcs.security.mosquitto import SERVICE_USERS
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import influxd_binary, mosquitto_binary, render_influxdb_conf, render_mosquitto_conf
from labdcs.stack.paths import free_port, port_open, project_root

T = TypeVar("T")

#: Debian's Chromium, driven by Playwright (never a browser download), with the flags this machine's
#: closed network needs; one browser for the whole session (tests/conftest.py: ``chromium``).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def wait_until(
    predicate: Callable[[], T], timeout: float, message: str = "condition", interval: float = 0.02
) -> T:
    """Poll until ``predicate`` returns something truthy; fail the test with ``message`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(interval)


def docker_problem() -> str | None:
    """Why tests on real images cannot run here (no docker package, no engine), or None."""
    try:
        import docker  # testcontainers' dependency
    except ImportError:
        return "the docker/testcontainers packages are not installed"
    try:
        docker.from_env().ping()
    except Exception as exc:
        return f"no Docker engine reachable ({type(exc).__name__})"
    return None


def compose_image(service: str) -> str:
    """The image a service of docker-compose.yml is pinned to."""
    compose = yaml.safe_load((project_root() / "docker-compose.yml").read_text())
    return str(compose["services"][service]["image"])


#: The test harness's own broker user: reads and writes everything (never made by `labdcs init`).
PROBE_USER = "probe"


def add_probe_user(secrets_dir: Path) -> str:
    """Give a secrets folder the harness's ``probe`` user (through acl.local); its password."""
    secrets.add_mqtt_user(secrets_dir, PROBE_USER)
    local = secrets.SecretsDir(secrets_dir).path(secrets.LOCAL_ACL)
    local.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    local.write_text(f"user {PROBE_USER}\ntopic readwrite #\ntopic read $SYS/#\n")
    return secrets.SecretsDir(secrets_dir).read(f"mqtt/{PROBE_USER}")


class Broker:
    """A real Mosquitto with the project's configuration, secured as in production (password file,
    ACL, TLS listener; secrets made by ``labdcs init`` in the temporary folder), on free ports."""

    #: Running test brokers by port, so clients given only a port find their credentials.
    by_port: dict[int, Broker] = {}

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        devices: tuple[str, ...] = (),
        overrides: dict[str, str] | None = None,
        tls: bool = False,
    ) -> None:
        """``overrides``: configuration lines replaced by key (a fault test's smaller queue);
        ``tls``: with the TLS listener on ``tls_port``. Off by default: with it, Mosquitto 2.0.11
        notices a hung client up to ~1 s later (measured 8.9-9.0 s instead of <= 8.5 s at a 2 s
        keep-alive), which the keep-alive test bounds for the plain listener."""
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed: run scripts/setup")
        self.binary = binary
        self.folder = folder
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.data = folder / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.secrets_dir = folder / "secrets"
        secrets.init(self.secrets_dir, devices=devices)
        self.secrets = secrets.SecretsDir(self.secrets_dir)
        add_probe_user(self.secrets_dir)
        secrets.render_broker_files(self.secrets)
        self.conf = folder / "mosquitto.conf"
        conf = render_mosquitto_conf(
            project_root() / "mosquitto" / "mosquitto.conf",
            port=self.port,
            tls_port=self.tls_port,
            data_dir=self.data,
            secrets=self.secrets.native_paths(),
        )
        for key, value in (overrides or {}).items():
            lines = conf.splitlines()
            conf = (
                "\n".join(f"{key} {value}" if line.split(" ", 1)[0] == key else line for line in lines) + "\n"
            )
        self.conf.write_text(conf)
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        Broker.by_port[self.port] = self

    def add_user(self, user: str) -> None:
        """A broker user (a device id) the ACL treats like any device; reloaded if running."""
        if not secrets.add_mqtt_user(self.secrets_dir, user):
            return
        secrets.render_broker_files(self.secrets)
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)
            password = self.password(user)
            wait_until(lambda: self._accepts(user, password), 10, "mosquitto to reload its users")

    def _accepts(self, user: str, password: str) -> bool:
        """Whether the broker takes this login; a connection reset while it reloads is "not yet"
        (seen once in ~1,200 reloads under a full suite)."""
        try:
            return mqtt_connack(self.port, user, password) == 0
        except ConnectionResetError:
            return False

    def password(self, user: str) -> str:
        return self.secrets.read(f"mqtt/{user}")

    def mqtt(self, user: str = "cli", **overrides: Any) -> MqttSettings:
        """Settings of a client logging in as ``user`` (a service user, a device id or ``probe``)."""
        self.add_user(user)
        return MqttSettings(
            host="127.0.0.1",
            port=self.port,
            username=user,
            password_file=self.secrets.mqtt_password_file(user),
            **overrides,
        )

    def env(self, user: str) -> dict[str, str]:
        """The environment giving a labdcs process the login of ``user`` (the password as a file)."""
        self.add_user(user)
        return {
            "LABDCS_MQTT__HOST": "127.0.0.1",
            "LABDCS_MQTT__PORT": str(self.port),
            "LABDCS_MQTT__USERNAME": user,
            "LABDCS_MQTT__PASSWORD_FILE": str(self.secrets.mqtt_password_file(user)),
        }

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(lambda: port_open("127.0.0.1", self.port), 10, "mosquitto to listen")

    def stop(self) -> None:
        """Graceful stop: Mosquitto saves its persistence database on SIGTERM."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        wait_until(lambda: not port_open("127.0.0.1", self.port), 10, "mosquitto to close its port")

    def restart(self) -> None:
        self.stop()
        self.start()


def _mqtt_string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def mqtt_connack(
    port: int,
    user: str | None = None,
    password: str | None = None,
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = 5.0,
) -> int:
    """The return code of the broker's CONNACK to an MQTT 3.1.1 CONNECT (0: accepted, 4: bad user
    name or password, 5: not authorised); raises OSError/ssl.SSLError when no CONNACK comes."""
    flags = 0x02 | (0x80 if user is not None else 0) | (0x40 if password is not None else 0)
    body = _mqtt_string("MQTT") + bytes([4, flags]) + (10).to_bytes(2, "big")
    body += _mqtt_string(f"connack-{os.getpid()}-{time.monotonic_ns()}")
    body += (_mqtt_string(user) if user is not None else b"") + (
        _mqtt_string(password) if password is not None else b""
    )
    packet = bytes([0x10, len(body)]) + body  # bodies here stay below 128 bytes
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        sock = tls.wrap_socket(raw, server_hostname="localhost") if tls else raw
        sock.sendall(packet)
        answer = b""
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            if not chunk:
                raise ConnectionError("the broker closed the connection without a CONNACK")
            answer += chunk
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    assert answer[0] == 0x20, f"not a CONNACK: {answer!r}"
    return answer[3]


def mqtt_connect_as(
    port: int, user: str, password: str, client_id: str, *, clean: bool = True, timeout: float = 5.0
) -> tuple[int, bool]:
    """(return code, session present) of the broker's CONNACK to an MQTT 3.1.1 CONNECT with this
    client id, then DISCONNECT: what a client taking another's id (or persistent session) gets."""
    flags = 0xC0 | (0x02 if clean else 0)
    body = _mqtt_string("MQTT") + bytes([4, flags]) + (10).to_bytes(2, "big")
    body += _mqtt_string(client_id) + _mqtt_string(user) + _mqtt_string(password)
    assert len(body) < 128, "one-byte remaining length only"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(bytes([0x10, len(body)]) + body)
        answer = b""
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            if not chunk:
                raise ConnectionError("the broker closed the connection without a CONNACK")
            answer += chunk
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    assert answer[0] == 0x20, f"not a CONNACK: {answer!r}"
    return answer[3], bool(answer[2] & 0x01)


class Influx:
    """A real InfluxDB 1.x on free ports with its data in a temporary folder, prepared as `labdcs up`
    prepares it: authentication on, the users of ``labdcs init`` (secrets in ``folder/secrets``) with
    their grants, the database and its retention policies, made once by the admin. ``client`` is the
    test's own eyes (the admin); a service logs in as its own user through :meth:`env` or
    :meth:`login`."""

    def __init__(self, folder: Path, prepared: bool = True) -> None:
        """``prepared=False``: only authentication on, no user and no database, as the compose
        image starts an empty volume (for the test of its init scripts)."""
        binary = influxd_binary()
        if binary is None:
            raise RuntimeError("influxd is not installed: run scripts/setup")
        self.binary = binary
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = folder / "influxdb.conf"
        self.conf.write_text(render_influxdb_conf(port=self.port, rpc_port=free_port(), data_dir=folder))
        self.log = folder / "influxd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.secrets_dir = folder / "secrets"
        secrets.init(self.secrets_dir)
        self.secrets = secrets.SecretsDir(self.secrets_dir)
        self.prepared = prepared
        self.client = self.login(influx_auth.ADMIN)

    def login(self, user: str, database: str = DATABASE) -> InfluxClient:
        """A client logged in as ``user`` (admin, writer, reader, experiments)."""
        return InfluxClient(influx_auth.settings(self.url, database, self.secrets, user))

    def env(self, user: str) -> dict[str, str]:
        """The environment giving a labdcs process the login of ``user`` (the password as a file)."""
        return {
            "LABDCS_INFLUX__URL": self.url,
            "LABDCS_INFLUX__DATABASE": DATABASE,
            "LABDCS_INFLUX__USERNAME": user,
            "LABDCS_INFLUX__PASSWORD_FILE": str(self.secrets.require(f"influxdb/{user}")),
        }

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-config", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        anonymous = InfluxClient(InfluxSettings(url=self.url))
        wait_until(anonymous.ping, 30, "InfluxDB to answer /ping")
        if self.prepared:
            admin = influx_auth.ensure_users(self.url, DATABASE, self.secrets)
            retention.apply(admin, retention.RetentionSettings())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        wait_until(lambda: not port_open("127.0.0.1", self.port), 10, "InfluxDB to close its port")

    def count(self, measurement_regex: str, field: str, where: str = "") -> dict[str, int]:
        """count(field) per device tag."""
        clause = f" WHERE {where}" if where else ""
        q = f'SELECT count("{field}") FROM /^({measurement_regex})$/{clause} GROUP BY "device"'
        counts: dict[str, int] = {}
        for result in self.client.query(q, database="labdcs"):
            for series in result.get("series", []):
                device = series["tags"]["device"]
                counts[device] = counts.get(device, 0) + int(series["values"][0][1])
        return counts


@dataclass
class Received:
    topic: str
    payload: bytes
    retained: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Probe:
    """A plain paho subscriber that records everything it receives (the test's own eyes)."""

    port: int
    client_id: str = ""
    clean_session: bool = True
    username: str | None = PROBE_USER
    """Logs in as this user (None: anonymously) ..."""
    password: str | None = None
    """... with this password (default: the user's on the test broker on ``port``)."""
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client_id = self.client_id or f"probe-{os.getpid()}-{id(self)}"
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=self.clean_session,
        )
        self.client.reconnect_delay_set(1, 2)
        broker = Broker.by_port.get(self.port)
        if broker is not None and self.username is not None and self.password is None:
            broker.add_user(self.username)
            self.password = broker.password(self.username)
        if self.username is not None and self.password is not None:
            self.client.username_pw_set(self.username, self.password)
        self.filters: list[str] = []
        self.connected = threading.Event()

        def on_connect(client: paho.Client, *_: Any) -> None:
            if self.clean_session:
                for topic in self.filters:
                    client.subscribe(topic, qos=1)
            self.connected.set()

        def on_disconnect(*_: Any) -> None:
            self.connected.clear()

        def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
            with self.lock:
                self.messages.append(
                    Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
                )

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.on_message = on_message

    def start(self, *filters: str) -> Probe:
        self.filters = list(filters)
        self.client.connect("127.0.0.1", self.port, keepalive=5)
        self.client.loop_start()
        wait_until(self.connected.is_set, 5, "probe to connect")
        for topic in filters:
            self.client.subscribe(topic, qos=1)
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def on(self, topic: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if paho.topic_matches_sub(topic, m.topic)]

    def wait_for(
        self,
        topic: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        timeout: float = 10.0,
        after: float = float("-inf"),
    ) -> Received:
        """The first message on ``topic`` (received after ``after``) whose JSON satisfies ``predicate``."""

        def found() -> Received | None:
            for message in self.on(topic):
                if message.at >= after and message.payload and predicate(message.json()):
                    return message
            return None

        return wait_until(found, timeout, f"a message on {topic}")


class LabdcsProcess:
    """A ``labdcs`` command as a real child process, with its log kept for the test report."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        broker_port: int,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        """``user``: its broker login (default: the service user named by the command, else ``cli``)."""
        self.args = args
        self.log = log
        broker = Broker.by_port.get(broker_port)
        login = (
            broker.env(user or (args[0] if args[0] in SERVICE_USERS else "cli"))
            if broker is not None
            else {"LABDCS_MQTT__HOST": "127.0.0.1", "LABDCS_MQTT__PORT": str(broker_port)}
        )
        self.env = {**os.environ, **login, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LabdcsProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "labdcs", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for_manager(process: LabdcsProcess, url: str, interval: float = 0.1) -> None:
    """Until the experiments manager ``process`` answers ``/healthz`` at ``url`` (60 s at most); one
    that exits on the way fails the test at once, with the end of its log."""

    def up() -> bool:
        assert process.alive(), process.log_text()[-3000:]
        try:
            return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, 60, "the experiments manager to answer", interval=interval)


def ingest_process(folder: Path, broker_port: int, influx: Influx, **env: str) -> LabdcsProcess:
    """``labdcs ingest`` (not started) logged in as `labdcs up` logs it in (broker user ``ingest``,
    InfluxDB user ``writer``; the admin applied the policies), its spool in ``folder``, reporting
    every 0.3 s; more settings as environment variables."""
    return LabdcsProcess(
        ["ingest"],
        folder / "ingest.log",
        broker_port,
        env={
            **influx.env(influx_auth.WRITER),
            "LABDCS_APPLY_RETENTION": "false",
            "LABDCS_SPOOL_DIR": str(folder / "spool"),
            "LABDCS_STATS_PERIOD_S": "0.3",
            **env,
        },
    )


class DeviceProcess(LabdcsProcess):
    """``labdcs device run`` (or another service run with ``--config``: ``command``) for a
    configuration written to ``folder``."""

    def __init__(
        self,
        folder: Path,
        config: dict[str, Any],
        broker_port: int,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("device", "run"),
    ):
        self.config_path = folder / f"{config['device']}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        super().__init__(
            [*command, "--config", str(self.config_path)],
            folder / f"{config['device']}.log",
            broker_port,
            env,
            user=config["device"],
        )


class ScpiLink:
    """A raw SCPI connection to a simulator, for the test to check what the instrument really does."""

    def __init__(self, port: int) -> None:
        self.port = port

    def query(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as sock:
            sock.sendall(command.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode().strip()

    def write(self, command: str, confirm: bool = True) -> None:
        """Send a command; with ``confirm``, wait for ``*OPC?`` so it has been processed on return
        (a muted instrument answers nothing, so muting is sent unconfirmed)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as sock:
            sock.sendall(command.encode() + b"\n")
            if confirm:
                sock.sendall(b"*OPC?\n")
                assert sock.recv(64).strip() == b"1"


def hv_config(port: int, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "device": "hv1",
        "kind": "hv",
        "model": "Keithley 2410",
        "driver": {"name": "keithley2410", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "timeout_s": 1.0},
        "channels": [
            {"id": "ch1", "max_voltage": 500.0, "max_current": 1e-4, "ramp_rate": 20.0, "max_ramp_rate": 50.0}
        ],
        "publish_period": 0.5,
        "ramp_tick": 0.05,
        "mqtt": {"keepalive": 2},
        "reconnect_max_s": 1.0,
    }
    config.update(overrides)
    return config
