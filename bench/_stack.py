"""Real servers for benchmarks: Mosquitto, InfluxDB and labdcs processes in a temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho

from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxSettings
from labdcs.ingest.mapping import DATABASE
from labdcs.security import influx as influx_auth
from labdcs.security import secrets
from labdcs.stack.brokers import influxd_binary, mosquitto_binary, render_influxdb_conf, render_mosquitto_conf
from labdcs.stack.paths import free_port, port_open, project_root

#: The benchmarks' own broker user, reading and writing everything (like the tests' probe user).
BENCH_USER = "bench"


def secured_broker(folder: Path, port: int) -> tuple[str, secrets.SecretsDir]:
    """The project's mosquitto.conf rendered with the secrets of ``labdcs init`` in ``folder``
    (benchmarks measure the broker as it runs in production: password file, ACL), plus a
    ``bench`` user allowed everything; returns the configuration and the secrets."""
    store = secrets.SecretsDir(folder / "secrets")
    secrets.init(store.root)
    secrets.add_mqtt_user(store.root, BENCH_USER)
    local = store.path(secrets.LOCAL_ACL)
    local.write_text(f"user {BENCH_USER}\ntopic readwrite #\ntopic read $SYS/#\n")
    secrets.render_broker_files(store)
    (folder / "mq").mkdir(exist_ok=True)
    conf = render_mosquitto_conf(
        project_root() / "mosquitto" / "mosquitto.conf",
        port=port,
        data_dir=folder / "mq",
        secrets=store.native_paths(),
    )
    return conf, store


def add_user(store: secrets.SecretsDir, user: str, broker: subprocess.Popen[bytes] | None = None) -> None:
    """A broker user (a device id); a running broker reloads its users on SIGHUP (a client that
    comes before the reload is refused and retries)."""
    if secrets.add_mqtt_user(store.root, user):
        secrets.render_broker_files(store)
        if broker is not None:
            broker.send_signal(signal.SIGHUP)


def mqtt_env(store: secrets.SecretsDir, port: int, user: str) -> dict[str, str]:
    """A labdcs process's broker login as environment variables (the password as a file)."""
    return {
        "LABDCS_MQTT__HOST": "127.0.0.1",
        "LABDCS_MQTT__PORT": str(port),
        "LABDCS_MQTT__USERNAME": user,
        "LABDCS_MQTT__PASSWORD_FILE": str(store.mqtt_password_file(user)),
    }


def login(client: paho.Client, store: secrets.SecretsDir) -> None:
    """Let a benchmark's own paho client log in as the ``bench`` user."""
    client.username_pw_set(BENCH_USER, store.read(f"mqtt/{BENCH_USER}"))


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Servers:
    folder: Path
    mqtt_port: int
    influx: InfluxClient
    processes: list[subprocess.Popen[bytes]]
    secrets: secrets.SecretsDir

    def login(self, client: paho.Client) -> None:
        login(client, self.secrets)

    @property
    def password(self) -> str:
        return self.secrets.read(f"mqtt/{BENCH_USER}")

    def influx_env(self, user: str) -> dict[str, str]:
        """A labdcs process's InfluxDB login (``writer``, ``experiments``...) as environment variables."""
        return {
            "LABDCS_INFLUX__URL": self.influx.url,
            "LABDCS_INFLUX__USERNAME": user,
            "LABDCS_INFLUX__PASSWORD_FILE": str(self.secrets.require(f"influxdb/{user}")),
        }

    def labdcs(
        self, *args: str, env: dict[str, str] | None = None, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        """``labdcs <args>`` logged in as ``user`` (default: the service named by the command)."""
        login_as = user or args[0]
        add_user(self.secrets, login_as, self.processes[0])
        log = (self.folder / f"{args[0]}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "labdcs", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **mqtt_env(self.secrets, self.mqtt_port, login_as), **(env or {})},
        )
        self.processes.append(process)
        return process


@contextmanager
def servers() -> Iterator[Servers]:
    mosquitto, influxd = mosquitto_binary(), influxd_binary()
    if mosquitto is None or influxd is None:
        raise SystemExit("needs mosquitto and influxd: run scripts/setup")
    with tempfile.TemporaryDirectory(prefix="labdcs-bench-") as name:
        folder = Path(name)
        mqtt_port, influx_port = free_port(), free_port()
        conf = folder / "mosquitto.conf"
        text, store = secured_broker(folder, mqtt_port)
        conf.write_text(text)
        # InfluxDB as shipped: authentication on, the users of `labdcs init` (ingest writes as `writer`).
        (folder / "influx.conf").write_text(
            render_influxdb_conf(port=influx_port, rpc_port=free_port(), data_dir=folder / "influx")
        )
        processes = [
            subprocess.Popen(
                [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ),
            subprocess.Popen(
                [influxd, "-config", str(folder / "influx.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        url = f"http://127.0.0.1:{influx_port}"
        client = InfluxClient(influx_auth.settings(url, DATABASE, store, influx_auth.ADMIN))
        stack = Servers(folder, mqtt_port, client, processes, store)
        try:
            wait_for(lambda: port_open("127.0.0.1", mqtt_port), 10, "mosquitto")
            wait_for(InfluxClient(InfluxSettings(url=url)).ping, 30, "influxd")
            retention.apply(influx_auth.ensure_users(url, DATABASE, store), retention.RetentionSettings())
            yield stack
        finally:
            for process in reversed(stack.processes):
                process.terminate()
            for process in stack.processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
