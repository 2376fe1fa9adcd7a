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


@dataclass
class Servers:
    folder: Path
    mqtt_port: int
    influx: InfluxClient
    processes: list[subprocess.Popen[bytes]]

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
def servers() -> Iterator[Servers]:
    mosquitto, influxd = mosquitto_binary(), influxd_binary()
    if mosquitto is None or influxd is None:
        raise SystemExit("needs mosquitto and influxd: run scripts/setup")
    with tempfile.TemporaryDirectory(prefix="labdcs-bench-") as name:
        folder = Path(name)
        mqtt_port, influx_port = free_port(), free_port()
        (folder / "mq").mkdir()
        conf = folder / "mosquitto.conf"
        conf.write_text(
            render_mosquitto_conf(
                project_root() / "mosquitto" / "mosquitto.conf", port=mqtt_port, data_dir=folder / "mq"
            )
        )
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
        client = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{influx_port}"))
        stack = Servers(folder, mqtt_port, client, processes)
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
