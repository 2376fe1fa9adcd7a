"""Real servers for benchmarks: Mosquitto, InfluxDB and labdcs processes in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labdcs.ingest.influx import InfluxClient, InfluxSettings
from labdcs.security import secrets
from labdcs.stack.brokers import influxd_binary, mosquitto_binary, render_influxdb_conf, render_mosquitto_conf
from labdcs.stack.paths import free_port, port_open, project_root


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


BENCH_USER = "bench"


def _secrets(folder: Path, devices: tuple[str, ...]) -> secrets.SecretsDir:
    """The broker secured as in production (labdcs init), plus a `bench` user allowed everything."""
    root = folder / "secrets"
    secrets.init(root, devices=devices)
    secrets.add_mqtt_user(root, BENCH_USER)
    store = secrets.SecretsDir(root)
    local = store.path(secrets.LOCAL_ACL)
    local.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    local.write_text(f"user {BENCH_USER}\ntopic readwrite #\ntopic read $SYS/#\n")
    secrets.render_broker_files(store)
    return store


@dataclass
class Servers:
    folder: Path
    mqtt_port: int
    influx: InfluxClient
    processes: list[subprocess.Popen[bytes]]
    store: secrets.SecretsDir

    @property
    def bench_password(self) -> str:
        return self.store.read(f"mqtt/{BENCH_USER}")

    def login(self, user: str) -> dict[str, str]:
        """Environment of a labdcs process logging in to the broker as ``user``."""
        password = str(self.store.mqtt_password_file(user))
        return {"LABDCS_MQTT__USERNAME": user, "LABDCS_MQTT__PASSWORD_FILE": password}

    def labdcs(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{args[0]}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "labdcs", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "LABDCS_MQTT__HOST": "127.0.0.1",
                "LABDCS_MQTT__PORT": str(self.mqtt_port),
                **(env or {}),
            },
        )
        self.processes.append(process)
        return process


@contextmanager
def servers(devices: tuple[str, ...] = ()) -> Iterator[Servers]:
    mosquitto, influxd = mosquitto_binary(), influxd_binary()
    if mosquitto is None or influxd is None:
        raise SystemExit("needs mosquitto and influxd: run scripts/setup")
    with tempfile.TemporaryDirectory(prefix="labdcs-bench-") as name:
        folder = Path(name)
        mqtt_port, influx_port = free_port(), free_port()
        (folder / "mq").mkdir()
        conf = folder / "mosquitto.conf"
        store = _secrets(folder, devices)
        template = project_root() / "mosquitto" / "mosquitto.conf"
        conf.write_text(
            render_mosquitto_conf(
                template, port=mqtt_port, data_dir=folder / "mq", secrets=store.native_paths()
            )
        )
        # The benchmarks measure throughput, not InfluxDB's authentication: auth off there.
        (folder / "influx.conf").write_text(
            render_influxdb_conf(
                port=influx_port, rpc_port=free_port(), data_dir=folder / "influx", auth=False
            )
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
        client = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{influx_port}"))
        stack = Servers(folder, mqtt_port, client, processes, store)
        try:
            wait_for(lambda: port_open("127.0.0.1", mqtt_port), 10, "mosquitto")
            wait_for(client.ping, 30, "influxd")
            yield stack
        finally:
            for process in reversed(stack.processes):
                process.terminate()
            for process in stack.processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
