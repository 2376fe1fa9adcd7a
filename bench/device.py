"""Device service figures on this machine: command round trip, last-will latency, ramp accuracy.

    .venv/bin/python -m bench.device [--repeats 5]

One Keithley 2410 simulator (TCP), one `labdcs device run` process, the real Mosquitto; medians of
the repeats:
- command -> ack round trip (p50/p99 over 200 commands, rejected ones, so the instrument is idle);
- last will after SIGKILL (the socket closes: immediate) and after SIGSTOP (only the broker's
  keep-alive check can tell, keep-alive 2 s: the bound is 1.5 x keep-alive plus Mosquitto's check
  period);
- the ramp rate measured from the published setpoints against the configured 20 V/s.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

# Run as a script (`.venv/bin/python bench/device.py`): the checkout's root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stack import Servers, servers, wait_for
from labdcs.contract import now_ms, topics
from labdcs_dummy.instruments import create_model
from labdcs_dummy.scpi_server import ScpiServer

KEEPALIVE = 2


def _no_delay(client: paho.Client, userdata: object, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Watch:
    def __init__(self, stack: Servers) -> None:
        self.messages: list[tuple[float, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_socket_open = lambda c, u, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        stack.login(self.client)
        self.client.connect("127.0.0.1", stack.mqtt_port)
        self.client.subscribe("labdcs/v1/hv1/#", qos=1)
        self.client.loop_start()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if message.payload:
            with self.lock:
                self.messages.append((time.monotonic(), message.topic, json.loads(message.payload)))

    def find(self, topic: str, predicate: Any, after: float) -> float | None:
        with self.lock:
            for at, t, body in self.messages:
                if t == topic and at >= after and predicate(body):
                    return at
        return None

    def command(self, verb: str, value: Any, command_id: str) -> None:
        body = {"id": command_id, "ts": now_ms()} | ({"value": value} if value is not None else {})
        self.client.publish(topics.command("hv1", "ch1", verb, "bench"), json.dumps(body), qos=1)


def start_device(stack: Servers, sim_port: int) -> Any:
    config = {
        "device": "hv1",
        "kind": "hv",
        "model": "Keithley 2410",
        "driver": {"name": "keithley2410", "resource": f"TCPIP::127.0.0.1::{sim_port}::SOCKET"},
        "channels": [{"id": "ch1", "max_voltage": 500.0, "max_current": 1e-4, "ramp_rate": 20.0}],
        "publish_period": 0.5,
        "ramp_tick": 0.05,
        "mqtt": {"keepalive": KEEPALIVE},
        "on_exit": "keep",
    }
    path = stack.folder / "hv1.yaml"
    path.write_text(yaml.safe_dump(config))
    return stack.labdcs("device", "run", "--config", str(path), user="hv1")


def one_run() -> dict[str, float]:
    simulator = ScpiServer(create_model("keithley2410"))
    sim_port = simulator.start()
    figures: dict[str, float] = {}
    try:
        with servers() as stack:
            watch = Watch(stack)
            device = start_device(stack, sim_port)
            wait_for(
                lambda: watch.find(topics.state("hv1", "ch1"), lambda s: s["status"] != "fault", 0),
                30,
                "device up",
            )
            # Command round trip (rejected: out of range, so nothing moves).
            trips = []
            for n in range(200):
                sent = time.monotonic()
                watch.command("set_voltage", 1000.0, f"rt-{n}")
                wait_for(
                    lambda n=n, s=sent: watch.find(
                        topics.ack("hv1"), lambda a, n=n: a.get("id") == f"rt-{n}", s
                    ),
                    10,
                    "ack",
                )
                acked = watch.find(topics.ack("hv1"), lambda a, n=n: a.get("id") == f"rt-{n}", sent)
                assert acked is not None
                trips.append((acked - sent) * 1000)
            trips.sort()
            figures["ack_p50_ms"] = trips[len(trips) // 2]
            figures["ack_p99_ms"] = trips[int(len(trips) * 0.99) - 1]
            # Ramp accuracy.
            watch.command("on", None, "on-1")
            started = time.monotonic()
            watch.command("set_voltage", 100.0, "sv-1")
            wait_for(
                lambda: watch.find(
                    topics.state("hv1", "ch1"), lambda s: s["v_set"] == 100.0 and not s["ramping"], started
                ),
                30,
                "ramp",
            )
            with watch.lock:
                ramp = [
                    (b["ts"] / 1000, b["v_set"])
                    for at, t, b in watch.messages
                    if t == topics.state("hv1", "ch1") and at >= started and 10 <= b["v_set"] <= 90
                ]
            figures["ramp_rate_error_pct"] = 100 * (
                (ramp[-1][1] - ramp[0][1]) / (ramp[-1][0] - ramp[0][0]) / 20 - 1
            )
            # Last will after SIGKILL.
            killed = time.monotonic()
            device.send_signal(signal.SIGKILL)
            wait_for(lambda: watch.find(topics.online("hv1"), lambda m: not m["online"], killed), 15, "will")
            figures["will_after_kill_ms"] = (
                watch.find(topics.online("hv1"), lambda m: not m["online"], killed) - killed
            ) * 1000
            # Last will after SIGSTOP (hung process, socket open).
            device = start_device(stack, sim_port)
            back = time.monotonic()
            wait_for(lambda: watch.find(topics.online("hv1"), lambda m: m["online"], back), 30, "restart")
            time.sleep(1.0)  # let it publish a state: the keep-alive counts from its last packet
            with watch.lock:
                last_packet = max(at for at, t, _ in watch.messages if t.startswith("labdcs/v1/hv1/"))
            device.send_signal(signal.SIGSTOP)
            wait_for(
                lambda: watch.find(topics.online("hv1"), lambda m: not m["online"], last_packet), 20, "will"
            )
            figures["will_after_stop_s"] = (
                watch.find(topics.online("hv1"), lambda m: not m["online"], last_packet) - last_packet
            )
            device.send_signal(signal.SIGCONT)
    finally:
        simulator.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.repeats)]
    for run in runs:
        print("  " + "  ".join(f"{k} {v:.2f}" for k, v in run.items()))

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"\nlabdcs device service, median of {args.repeats} runs:")
    print(
        f"  command -> ack round trip      p50 {median('ack_p50_ms'):.1f} ms,"
        f" p99 {median('ack_p99_ms'):.1f} ms"
    )
    print(f"  ramp rate vs configured        {median('ramp_rate_error_pct'):+.1f} %")
    print(f"  last will after SIGKILL        {median('will_after_kill_ms'):.0f} ms")
    print(
        f"  last will after SIGSTOP        {median('will_after_stop_s'):.2f} s "
        f"(keep-alive {KEEPALIVE} s; 1.5 x = {1.5 * KEEPALIVE:.1f} s)"
    )


if __name__ == "__main__":
    main()
