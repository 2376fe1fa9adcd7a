"""CPU and memory of device services against a bare paho publisher of the same JSON, in the same run.

    .venv/bin/python bench/devices.py [--services 25] [--rates 1,10] [--seconds 10] [--repeats 3]

Per repeat and per rate: Mosquitto (secured, as shipped), ``--services`` simulated R&S HMP4040s
(4 channels each, served from one child process over TCP) and as many ``labdcs device run``
processes publishing every channel's state at the rate (outputs off: no trip reads). Measured over
``--seconds`` after a warm-up:

- states/s that arrive at a subscriber, against the configured services x 4 x rate;
- CPU per published state (user + system of the service processes / states arrived) and the
  cores the services use;
- RSS and PSS per service (``/proc/<pid>/smaps_rollup``).

Baselines in the same run, at the same rate, publishing a state captured from the services (QoS 1,
retained, like a device): a bare paho publisher in one process for every topic, and one per
service (``--services`` processes, 4 topics each). Prints every run, then medians and the ratios.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

# Run as a script (`.venv/bin/python bench/devices.py`): the checkout's root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stack import BENCH_USER, add_user, mqtt_env, secured_broker, wait_for
from labdcs.security.secrets import SecretsDir
from labdcs.stack.brokers import mosquitto_binary
from labdcs.stack.paths import free_port, port_open

CHANNELS = 4
WARMUP_S = 3.0

#: The bare publisher: paho, QoS 1, retained, the given payload on the given topics at the rate.
BARE_PUBLISHER = r"""
import sys, time, paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
port, user, password, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5]
period, topics = float(sys.argv[4]), sys.argv[6:]
client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
client.username_pw_set(user, password)
client.connect("127.0.0.1", port)
client.loop_start()
next_at = time.monotonic()
while True:
    for topic in topics:
        client.publish(topic, payload, qos=1, retain=True)
    next_at += period
    time.sleep(max(0.0, next_at - time.monotonic()))
"""


def serve_simulators(count: int, port_file: Path) -> None:
    """Child process: ``count`` HMP4040 simulators; their ports one per line in ``port_file``."""
    from labdcs_dummy.instruments import create_model
    from labdcs_dummy.scpi_server import ScpiServer

    servers = [ScpiServer(create_model("hmp4040", seed=n)) for n in range(count)]
    ports = [server.start() for server in servers]
    port_file.write_text("\n".join(str(port) for port in ports))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.stop()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process's live threads in ns precision (/proc/<pid>/task/*/schedstat): the
    clock-tick counters of /proc/<pid>/stat are too coarse for a bare publisher at 1 Hz."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1e9


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB from /proc/<pid>/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name.strip()] = int(value.split()[0])
    return fields["Rss"], fields["Pss"]


class Counter:
    """States arriving at a subscriber (and the last payload, for the baseline)."""

    def __init__(self, port: int, password: str) -> None:
        self.count = 0
        self.payload = b""
        self.lock = threading.Lock()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(BENCH_USER, password)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("labdcs/v1/+/+/state", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if not message.retain:
            with self.lock:
                self.count += 1
                self.payload = message.payload

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def measure(processes: list[subprocess.Popen[bytes]], counter: Counter, seconds: float) -> dict[str, float]:
    """States/s arrived, CPU per state and cores used by ``processes`` over ``seconds``."""
    time.sleep(WARMUP_S)
    cpu0 = sum(cpu_seconds(p.pid) for p in processes)
    with counter.lock:
        count0 = counter.count
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu0
    with counter.lock:
        states = counter.count - count0
    return {"rate": states / elapsed, "us_per_state": 1e6 * cpu / max(states, 1), "cores": cpu / elapsed}


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def one_rate(
    folder: Path, port: int, store: SecretsDir, sim_ports: list[int], rate: float, seconds: float
) -> dict[str, float]:
    period = 1.0 / rate
    services: list[subprocess.Popen[bytes]] = []
    password = store.read(f"mqtt/{BENCH_USER}")
    counter = Counter(port, password)
    figures: dict[str, float] = {}
    try:
        for n, sim_port in enumerate(sim_ports):
            device = f"lvb{n}"
            config = {
                "device": device,
                "kind": "lv",
                "model": "R&S HMP4040",
                "driver": {"name": "hmp4040", "resource": f"TCPIP::127.0.0.1::{sim_port}::SOCKET"},
                "channels": [
                    {"id": f"ch{hw}", "hw": hw, "max_voltage": 5.0, "max_current": 1.0, "ramp_rate": 5.0}
                    for hw in range(1, CHANNELS + 1)
                ],
                "publish_period": period,
                "restore_timeout_s": 1.0,
            }
            path = folder / f"{device}.yaml"
            path.write_text(yaml.safe_dump(config))
            log = (folder / f"{device}.log").open("ab")
            services.append(
                subprocess.Popen(
                    [sys.executable, "-m", "labdcs", "device", "run", "--config", str(path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **mqtt_env(store, port, device)},
                )
            )
        expected = len(sim_ports) * CHANNELS * rate
        wait_for(lambda: counter.count > expected * 2, 120, "every service publishing")
        figures |= {f"ours_{k}": v for k, v in measure(services, counter, seconds).items()}
        memory = [memory_kb(p.pid) for p in services]
        figures["rss_mb"] = statistics.median(m[0] for m in memory) / 1024
        figures["pss_mb"] = statistics.median(m[1] for m in memory) / 1024
        payload = counter.payload.decode()
    finally:
        stop_all(services)
        counter.stop()
    topics = [
        f"labdcs/v1/bare{n}/ch{hw}/state" for n in range(len(sim_ports)) for hw in range(1, CHANNELS + 1)
    ]
    for label, groups in (
        ("one", [topics]),
        ("many", [topics[i : i + CHANNELS] for i in range(0, len(topics), CHANNELS)]),
    ):
        counter = Counter(port, password)
        publishers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    BARE_PUBLISHER,
                    str(port),
                    BENCH_USER,
                    password,
                    str(period),
                    payload,
                    *group,
                ]
            )
            for group in groups
        ]
        try:
            wait_for(lambda c=counter: c.count > expected * 2, 120, "every bare publisher publishing")
            figures |= {f"{label}_{k}": v for k, v in measure(publishers, counter, seconds).items()}
        finally:
            stop_all(publishers)
            counter.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=25)
    parser.add_argument("--rates", default="1,10", help="state rates per channel, Hz, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serve-simulators", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulators:
        serve_simulators(args.serve_simulators, args.port_file)
        return 0
    binary = mosquitto_binary()
    if binary is None:
        raise SystemExit("mosquitto is not installed: run scripts/setup")
    rates = [float(rate) for rate in args.rates.split(",")]
    runs: dict[float, list[dict[str, float]]] = {rate: [] for rate in rates}
    with tempfile.TemporaryDirectory(prefix="labdcs-bench-devices-") as name:
        folder = Path(name)
        port = free_port()
        text, store = secured_broker(folder, port)
        for n in range(args.services):
            add_user(store, f"lvb{n}")
        (folder / "mosquitto.conf").write_text(text)
        broker = subprocess.Popen(
            [binary, "-c", str(folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = folder / "sim-ports"
        simulators = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-simulators",
                str(args.services),
                "--port-file",
                str(port_file),
            ]
        )
        try:
            wait_for(lambda: port_open("127.0.0.1", port), 10, "mosquitto")
            wait_for(port_file.exists, 30, "simulators")
            sim_ports = [int(line) for line in port_file.read_text().split()]
            for repeat in range(args.repeats):
                for rate in rates:
                    figures = one_rate(folder, port, store, sim_ports, rate, args.seconds)
                    runs[rate].append(figures)
                    print(
                        f"repeat {repeat + 1}, {rate:g} Hz: "
                        + "  ".join(f"{k} {v:.1f}" for k, v in figures.items()),
                        flush=True,
                    )
        finally:
            stop_all([simulators, broker])

    print(f"\n{args.services} HMP4040 services x {CHANNELS} channels, medians of {args.repeats}:")
    for rate, figures in runs.items():

        def median(key: str, figures: list[dict[str, float]] = figures) -> float:
            return statistics.median(f[key] for f in figures)

        expected = args.services * CHANNELS * rate
        ours = median("ours_us_per_state")
        print(f"  {rate:g} Hz per channel ({expected:g} states/s configured):")
        print(
            f"    labdcs services     {median('ours_rate'):7.0f} states/s arrived, {ours:6.0f} us CPU/state,"
            f" {median('ours_cores'):.2f} cores"
        )
        for label, what in (
            ("one", "bare paho, 1 process"),
            ("many", f"bare paho, {args.services} processes"),
        ):
            base = median(f"{label}_us_per_state")
            print(
                f"    {what:<19} {median(f'{label}_rate'):7.0f} states/s arrived, {base:6.0f} us CPU/state,"
                f" {median(f'{label}_cores'):.2f} cores  -> ours / baseline = {ours / base:.2f}"
            )
        print(f"    memory per service: RSS {median('rss_mb'):.1f} MB, PSS {median('pss_mb'):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
