"""How fast the safety layer reacts, measured end to end on a real broker with simulated instruments.

    .venv/bin/python bench/safety_latency.py [--runs 5]

Starts Mosquitto, a simulated Keithley 2410 and environment monitor (in this process, over TCP),
the hv1 and env1 device services and the interlock (as processes, with the dummy stack's timing:
heartbeat every 0.5 s, watchdog timeout 3 s, states every 1 s, 10 V/s ramps) and measures, per run,
from the moment of the cause to what an observer on the broker sees:

* interlock SIGKILL -> hv1 shows the watchdog (last-will path) / hv1 output off;
* interlock SIGSTOP (a hung process: the socket stays open) -> hv1 ramping down / output off,
  counted from the last heartbeat seen;
* humidity step into the dew-point margin -> the rule in force / hv1 ramping down / output off;
* over-current (the load drops to 100 kOhm) -> hv1 tripped.

Then ``--trips`` over-currents alone (default 20): from the load step in the simulator to the output
off at the instrument (the simulator's own output flag, polled in this process) and to ``tripped``
in the published state; p50/p99. hv1 reads its live output every ``--protection-period`` s (the
device's ``protection_period``), independent of its 1 s publish period.

Prints every run as it goes, then the median, minimum and maximum of each figure, and the SIGSTOP
reaction as a ratio of the configured timeout. Ramps start from 10 V (1 s at 10 V/s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# Run as a script (`.venv/bin/python bench/safety_latency.py`): the checkout's root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stack import BENCH_USER, add_user, mqtt_env, secured_broker
from labdcs.contract import now_ms, topics
from labdcs.mqtt import MqttConnection
from labdcs.security.secrets import SecretsDir
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import mosquitto_binary
from labdcs.stack.paths import free_port, port_open, project_root
from labdcs.stack.processes import ManagedProcess
from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer

HEARTBEAT_S = 0.5
TIMEOUT_S = 3.0
VOLTS = 10.0


class Recorder:
    """Every contract message with its arrival time (monotonic), for waiting on conditions."""

    def __init__(self, store: SecretsDir, port: int) -> None:
        self.messages: list[tuple[float, str, Any]] = []
        self.lock = threading.Lock()
        self.connection = MqttConnection(
            MqttSettings(
                host="127.0.0.1",
                port=port,
                username=BENCH_USER,
                password_file=store.mqtt_password_file(BENCH_USER),
            ),
            client_id="bench-recorder",
        )
        self.connection.subscribe("labdcs/v1/#", self._on_message)
        self.connection.start()
        if not self.connection.wait_connected(10):
            raise SystemExit("cannot reach the broker")

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload:
            with self.lock:
                self.messages.append((time.monotonic(), topic, json.loads(payload)))

    def wait(
        self, topic: str, predicate: Callable[[Any], bool], after: float, timeout: float = 30.0
    ) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for at, seen, body in self.messages:
                    if at >= after and seen == topic and predicate(body):
                        return at
            time.sleep(0.005)
        raise TimeoutError(f"nothing on {topic} matching the condition within {timeout:g} s")

    def last(self, topic: str) -> float:
        with self.lock:
            return max(at for at, seen, _ in self.messages if seen == topic)

    def command(self, device: str, channel: str, verb: str, value: float | None = None) -> None:
        command_id = f"bench-{time.monotonic_ns()}"
        body: dict[str, Any] = {"id": command_id, "user": "bench", "ts": now_ms()}
        if value is not None:
            body["value"] = value
        since = time.monotonic()
        self.connection.publish(topics.command(device, channel, verb, BENCH_USER), json.dumps(body), qos=1)
        at = self.wait(topics.ack(device), lambda a: a.get("id") == command_id, since, 10)
        with self.lock:
            ack = next(b for t, s, b in self.messages if t == at and s == topics.ack(device))
        if ack["result"] != "accepted":
            raise RuntimeError(f"{device}/{channel} {verb}: {ack['result']}: {ack.get('reason')}")


def _service(
    folder: Path, name: str, command: list[str], config: dict[str, Any], port: int, store: SecretsDir
) -> ManagedProcess:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = mqtt_env(store, port, name)
    return ManagedProcess(
        name,
        [sys.executable, "-m", "labdcs", *command, "--config", str(path)],
        folder / f"{name}.log",
        env=env,
    )


def _hv_on(recorder: Recorder) -> None:
    since = time.monotonic()
    recorder.wait(topics.state("hv1", "ch1"), lambda s: "inhibit" not in s and s["status"] != "fault", since)
    recorder.command("hv1", "ch1", "set_voltage", VOLTS)
    recorder.command("hv1", "ch1", "on")
    recorder.wait(
        topics.state("hv1", "ch1"), lambda s: s["output"] and s["v_set"] == VOLTS and not s["ramping"], since
    )


def _trips(recorder: Recorder, bias: ScpiServer, count: int) -> dict[str, list[float]]:
    """``count`` over-currents: load step -> output off at the instrument / tripped in the state."""
    found: dict[str, list[float]] = {
        "load step -> output off at the instrument": [],
        "load step -> tripped state": [],
    }
    model: Any = bias.instrument
    for _ in range(count):
        _hv_on(recorder)
        shorted = time.monotonic()
        model.handle("SIM:LOAD 1e5")
        deadline = shorted + 10
        while model.state.output and time.monotonic() < deadline:
            time.sleep(0.001)
        off = time.monotonic()
        tripped = recorder.wait(topics.state("hv1", "ch1"), lambda s: s["status"] == "tripped", shorted)
        found["load step -> output off at the instrument"].append(off - shorted)
        found["load step -> tripped state"].append(tripped - shorted)
        model.handle("SIM:LOAD 1e9")
        recorder.command("hv1", "ch1", "clear_trip")
        recorder.wait(topics.state("hv1", "ch1"), lambda s: s["status"] != "tripped", off)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trips", type=int, default=20, help="over-current trips for the p50/p99")
    parser.add_argument("--protection-period", type=float, default=0.1, help="hv1's protection_period, s")
    args = parser.parse_args()
    binary = mosquitto_binary()
    if binary is None:
        raise SystemExit("mosquitto is not installed: run scripts/setup")
    folder = Path(tempfile.mkdtemp(prefix="labdcs-bench-safety-"))
    port = free_port()
    conf = folder / "mosquitto.conf"
    (folder / "data").mkdir()
    text, store = secured_broker(folder, port)
    for user in ("env1", "hv1"):  # the interlock's user is made by labdcs init
        add_user(store, user)
    conf.write_text(text)
    broker = ManagedProcess("mosquitto", [binary, "-c", str(conf)], folder / "mosquitto.log")
    broker.start()
    broker.wait_ready(lambda: port_open("127.0.0.1", port), 10)
    climate = ScpiServer(create_model("envmon", seed=1))
    bias = ScpiServer(create_model("keithley2410", seed=1))
    for setting in ("SIM:NOISE OFF", "SIM:TEMP 21", "SIM:HUM 40"):
        climate.instrument.handle(setting)
    climate_port, bias_port = climate.start(), bias.start()

    env1 = _service(
        folder,
        "env1",
        ["device", "run"],
        {
            "device": "env1",
            "kind": "env",
            "model": "environment monitor",
            "driver": {"name": "envmon", "resource": f"TCPIP::127.0.0.1::{climate_port}::SOCKET"},
            "channels": [{"id": "box"}],
        },
        port,
        store,
    )
    hv1 = _service(
        folder,
        "hv1",
        ["device", "run"],
        {
            "device": "hv1",
            "kind": "hv",
            "model": "Keithley 2410",
            "driver": {"name": "keithley2410", "resource": f"TCPIP::127.0.0.1::{bias_port}::SOCKET"},
            "channels": [
                {
                    "id": "ch1",
                    "max_voltage": 500.0,
                    "max_current": 1e-4,
                    "ramp_rate": 10.0,
                    "trip_current": 5e-5,
                }
            ],
            "protection_period": args.protection_period,
            "interlock": {
                "device": "interlock",
                "heartbeat_timeout_s": TIMEOUT_S,
                "safe_action": "ramp_down",
            },
        },
        port,
        store,
    )
    rules = yaml.safe_load((project_root() / "dummy" / "interlock.yaml").read_text())
    rules["rules"] = [rule for rule in rules["rules"] if rule["name"] == "dew-point"]
    rules["rules"][0]["actions"] = {"ramp_down": ["hv1/ch1"]}
    rules["mqtt"] = {"keepalive": 30}  # SIGSTOP: the last will comes late; the heartbeat must tell
    interlock = _service(folder, "interlock", ["interlock", "run"], rules, port, store)
    figures: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)
        print(f"  {name:<48} {value * 1000:8.0f} ms", flush=True)

    recorder = Recorder(store, port)
    try:
        for process in (env1, hv1, interlock):
            process.start()
        for run in range(1, args.runs + 1):
            print(f"run {run}/{args.runs}", flush=True)
            _hv_on(recorder)
            killed = time.monotonic()
            assert interlock.popen is not None
            interlock.popen.kill()
            interlock.popen.wait()
            record(
                "SIGKILL -> watchdog in hv1 state",
                recorder.wait(
                    topics.state("hv1", "ch1"), lambda s: "watchdog" in s.get("inhibit", ""), killed
                )
                - killed,
            )
            record(
                "SIGKILL -> hv1 off (10 V ramp)",
                recorder.wait(topics.state("hv1", "ch1"), lambda s: not s["output"], killed) - killed,
            )
            interlock.start()

            _hv_on(recorder)
            assert interlock.popen is not None
            interlock.popen.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            down = recorder.wait(topics.state("hv1", "ch1"), lambda s: bool(s.get("switching_off")), stopped)
            off = recorder.wait(topics.state("hv1", "ch1"), lambda s: not s["output"], stopped)
            last_beat = recorder.last(topics.heartbeat("interlock"))
            record("SIGSTOP: last heartbeat -> hv1 ramping down", down - last_beat)
            record("SIGSTOP: last heartbeat -> hv1 off (10 V ramp)", off - last_beat)
            interlock.popen.send_signal(signal.SIGCONT)

            _hv_on(recorder)
            humid = time.monotonic()
            climate.instrument.handle("SIM:HUM 95")
            record(
                "humidity step -> dew-point rule in force",
                recorder.wait(topics.state("interlock", "dew-point"), lambda s: s["active"], humid) - humid,
            )
            record(
                "humidity step -> hv1 ramping down",
                recorder.wait(topics.state("hv1", "ch1"), lambda s: bool(s.get("switching_off")), humid)
                - humid,
            )
            record(
                "humidity step -> hv1 off (10 V ramp)",
                recorder.wait(topics.state("hv1", "ch1"), lambda s: not s["output"], humid) - humid,
            )
            climate.instrument.handle("SIM:HUM 40")
            recorder.wait(topics.state("interlock", "dew-point"), lambda s: s["status"] == "latched", humid)
            recorder.command("interlock", "dew-point", "reset")

            _hv_on(recorder)
            shorted = time.monotonic()
            bias.instrument.handle("SIM:LOAD 1e5")
            record(
                "over-current -> hv1 tripped",
                recorder.wait(topics.state("hv1", "ch1"), lambda s: s["status"] == "tripped", shorted)
                - shorted,
            )
            bias.instrument.handle("SIM:LOAD 1e9")
            recorder.command("hv1", "ch1", "clear_trip")
        trips = _trips(recorder, bias, args.trips)
    finally:
        recorder.connection.stop()
        for process in (interlock, hv1, env1):
            if process.popen is not None and process.popen.poll() is None:
                process.popen.send_signal(signal.SIGCONT)
            process.stop(timeout=30)
        climate.stop()
        bias.stop()
        broker.stop()

    print(
        f"\n{args.runs} runs; heartbeat every {HEARTBEAT_S:g} s, watchdog timeout {TIMEOUT_S:g} s, "
        "states every 1 s"
    )
    print(f"{'figure':<48} {'median':>8} {'min':>8} {'max':>8}")
    for name, values in figures.items():
        print(
            f"{name:<48} {statistics.median(values) * 1000:6.0f} ms {min(values) * 1000:6.0f} ms "
            f"{max(values) * 1000:6.0f} ms"
        )
    print(
        f"\nover-current, {args.trips} trips (protection_period {args.protection_period:g} s, "
        "publish_period 1 s):"
    )
    for name, values in trips.items():
        values.sort()
        p99 = values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)]
        print(f"  {name:<46} p50 {statistics.median(values) * 1000:6.0f} ms  p99 {p99 * 1000:6.0f} ms")
    ratio = statistics.median(figures["SIGSTOP: last heartbeat -> hv1 ramping down"]) / TIMEOUT_S
    print(f"SIGSTOP: safe action started after {ratio:.3f} x the configured timeout")
    print(f"(logs in {folder})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
