"""Benchmark of the battery station: how fast a simulated 100-cycle test runs, and what a sample costs.

1. Engine alone (in process, stepped clock, no MQTT): simulated seconds per wall second and CPU per
   sample of a 1 Hz record (sample period 1 s), 1C CC-CV charge / 1C CC discharge / rests.
2. The real device service (``labdcs device run --speed max``) on a real Mosquitto, one state per
   sample (1 Hz record), twice: publishing every state in its own message (``batch_max_states: 1``:
   the path of every release before contract 2.1.0) and in batches on ``.../states``
   (``batch_max_states: 200``, the default). Simulated seconds per wall second and CPU time of the
   service process per state, from the states a subscriber receives (each ``seq`` counted once; a
   missing one is reported).

Each figure is the median of ``--runs`` runs, all in the same run of this script; the ratios to the
engine show what MQTT costs. Usage: ``.venv/bin/python bench/cycler.py [--cycles 100] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labdcs.clock import SteppedClock  # noqa: E402
from labdcs.contract import now_ms, topics  # noqa: E402
from labdcs.devices.cycler.config import CyclerChannelConfig  # noqa: E402
from labdcs.devices.cycler.service import CyclerChannel  # noqa: E402
from labdcs.drivers.registry import DriverSettings, create_source_driver  # noqa: E402
from tests.support import PROBE_USER, Broker, DeviceProcess, wait_until  # noqa: E402

CELL = {
    "capacity_ah": 2.5,
    "v_min": 2.5,
    "v_max": 4.2,
    "i_charge_max": 5.0,
    "i_discharge_max": 5.0,
    "t_max_c": 60.0,
}


def protocol(cycles: int) -> str:
    return (
        "Protocol: bench\nRecord: every 1 second\nDischarge at 1C until 2.75 V\n"
        f"Cycle {cycles} times:\n"
        "    Charge at 1C and hold at 4.2 V for 4 hours or until C/20\n    Rest for 5 minutes\n"
        "    Discharge at 1C until 2.75 V or 2 hours\n    Rest for 5 minutes\n"
    )


def engine_run(cycles: int) -> tuple[float, float, int]:
    """(simulated s per wall s, CPU us per sample, samples)."""
    clock = SteppedClock()
    driver = create_source_driver(DriverSettings(name="psb", simulate=True), clock)
    driver.open()
    channel = CyclerChannel(CyclerChannelConfig(id="ch1", cell=CELL), driver, clock, "bench")
    channel.ratings = driver.ratings(1)
    channel.load(protocol(cycles), "bench")
    channel.start(None)
    wall, cpu = time.perf_counter(), time.process_time()
    samples = 0
    while channel.run_state.value == "running":
        assert channel.engine is not None
        clock.advance(channel.engine.period_hint(1.0))
        channel.sample(True)
        channel.state(samples, "bench", None).model_dump_json()
        samples += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return clock.monotonic() / wall, cpu / samples * 1e6, samples


def service_run(cycles: int, folder: Path, batch_max_states: int) -> tuple[float, float, int]:
    """(simulated s per wall s, service CPU us per state, distinct running states received)."""
    broker = Broker(folder / "mosquitto")
    broker.start()
    received = {"first_ts": 0, "last_ts": 0, "done": False}
    seqs: set[int] = set()
    lock = threading.Lock()

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        with lock:
            for state in body["states"] if message.topic.endswith("/states") else [body]:
                if state.get("run_state") == "running":
                    seqs.add(state["seq"])
                    received["first_ts"] = received["first_ts"] or state["ts"]
                    received["last_ts"] = max(received["last_ts"], state["ts"])
                if state.get("run_state") in ("finished", "aborted", "error"):
                    received["done"] = True

    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-cycler")
    client.on_message = on_message
    client.username_pw_set(PROBE_USER, broker.password(PROBE_USER))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.subscribe("labdcs/v1/bench1/ch1/state", qos=1)
    client.subscribe("labdcs/v1/bench1/ch1/states", qos=1)
    config = {
        "device": "bench1",
        "kind": "cycler",
        "model": "simulated",
        "driver": {"name": "psb", "simulate": True},
        "channels": [{"id": "ch1", "cell": CELL}],
        "speed": "max",
        "sample_period": 1.0,
        "batch_max_states": batch_max_states,
        "log_level": "WARNING",
    }
    process = DeviceProcess(folder, config, broker.port).start()
    try:
        acks: list[dict[str, object]] = []
        client.subscribe("labdcs/v1/bench1/ack", qos=1)
        client.message_callback_add(
            "labdcs/v1/bench1/ack", lambda c, u, m: acks.append(json.loads(m.payload))
        )
        time.sleep(0.5)
        wait_until(lambda: process.alive(), 10, "device process")
        time.sleep(1.5)
        for verb, body in (("load_protocol", {"protocol": protocol(cycles)}), ("start", {})):
            client.publish(
                topics.command("bench1", "ch1", verb, PROBE_USER),
                json.dumps({"id": verb, "ts": now_ms(), **body}),
                qos=1,
            )
            wait_until(lambda verb=verb: any(a.get("id") == verb for a in acks), 30, f"ack of {verb}")
        pid = process.process.pid if process.process else 0
        cpu_start = _cpu_of(pid)
        wall = time.perf_counter()
        last_report = wall
        while not received["done"]:
            time.sleep(0.2)
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                print(f"  ... {len(seqs)} states", file=sys.stderr, flush=True)
            if time.perf_counter() - wall > 3600:
                raise RuntimeError("the run did not finish within an hour")
        wall = time.perf_counter() - wall
        cpu = _cpu_of(pid) - cpu_start
    finally:
        process.kill()
        client.loop_stop()
        broker.stop()
    simulated = (received["last_ts"] - received["first_ts"]) / 1000
    missing = max(seqs) - min(seqs) + 1 - len(seqs)
    if missing:
        print(f"  {missing} running states missing (seq gaps)", file=sys.stderr, flush=True)
    return simulated / wall, cpu / len(seqs) * 1e6, len(seqs)


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-service", action="store_true")
    args = parser.parse_args()
    engine = []
    for run in range(args.runs):
        engine.append(engine_run(args.cycles))
        print(
            f"engine run {run + 1}: {engine[-1][0]:.0f} sim s/wall s, {engine[-1][1]:.0f} us/sample, "
            f"{engine[-1][2]} samples",
            flush=True,
        )
    e_speed = statistics.median(r[0] for r in engine)
    e_cpu = statistics.median(r[1] for r in engine)
    print(
        f"ENGINE  (in process, {args.cycles} cycles, 1 Hz): median {e_speed:.0f} simulated s per wall s, "
        f"{e_cpu:.0f} us CPU per sample"
    )
    if args.skip_service:
        return 0
    results: dict[str, tuple[float, float]] = {}
    for label, batch_max_states in (("per-state", 1), ("batched", 200)):
        service = []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                service.append(service_run(args.cycles, Path(folder), batch_max_states))
            print(
                f"service {label} run {run + 1}: {service[-1][0]:.0f} sim s/wall s, "
                f"{service[-1][1]:.0f} us CPU/state, {service[-1][2]} states",
                flush=True,
            )
        s_speed = statistics.median(r[0] for r in service)
        s_cpu = statistics.median(r[1] for r in service)
        results[label] = (s_speed, s_cpu)
        print(
            f"SERVICE {label} (process + Mosquitto, {args.cycles} cycles, 1 Hz record, batch_max_states "
            f"{batch_max_states}): median {s_speed:.0f} simulated s per wall s, {s_cpu:.0f} us service "
            "CPU per state"
        )
    for label, (s_speed, s_cpu) in results.items():
        print(f"ratio {label}/engine: speed {s_speed / e_speed:.2f}, CPU per sample {s_cpu / e_cpu:.2f}")
    batched, single = results["batched"], results["per-state"]
    print(
        f"ratio batched/per-state: speed {batched[0] / single[0]:.2f}, "
        f"CPU per state {batched[1] / single[1]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
