"""Ingest benchmark: broker -> labdcs ingest -> InfluxDB on this machine, with the broker's own
ceiling measured in the same run for comparison.

    .venv/bin/python bench/ingest.py [--repeats 3] [--seconds 8]

Prints, as medians over the repeats:
- the highest publish rate the ingester sustains with zero loss (every per-device sequence number
  stored once in InfluxDB, the backlog gone within 2 s of the end of publishing);
- publish-to-queryable latency p50/p99 at 1000 msg/s (a marker device polled in InfluxDB);
- the ingester's CPU time per 1000 messages;
- Mosquitto's loopback ceiling with its C clients (mosquitto_pub -l | mosquitto_sub, QoS 1), and the
  ratio of the sustained ingest rate to it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

# Run as a script (`.venv/bin/python bench/ingest.py`): the checkout's root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._stack import BENCH_USER, Servers, cpu_seconds, servers, wait_for

RATES = (1000, 3000, 6000, 10000)
DEVICES = 20


def _state(seq: int, ts: int) -> str:
    return json.dumps(
        {
            "ts": ts,
            "seq": seq,
            "boot": "bench",
            "kind": "power",
            "status": "on",
            "output": True,
            "ramping": False,
            "v_set": 100.0,
            "v_target": 100.0,
            "i_limit": 1e-4,
            "ramp_rate": 10.0,
            "v_mon": 99.97,
            "i_mon": 1.0e-7,
            "compliance": False,
            "device_kind": "hv",
        }
    )


def publish(
    port: int,
    password: str,
    prefix: str,
    rate: float,
    seconds: float,
    result: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """Open-loop publisher in its own process: `rate` state messages/s spread over DEVICES devices."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-{prefix}")
    client.max_inflight_messages_set(200)
    client.username_pw_set(BENCH_USER, password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    seqs = [0] * DEVICES
    last_ts = [0] * DEVICES
    total = int(rate * seconds)
    start = time.monotonic()
    info = None
    for n in range(total):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        device = n % DEVICES
        ts = max(time.time_ns() // 1_000_000, last_ts[device] + 1)
        last_ts[device] = ts
        info = client.publish(f"labdcs/v1/{prefix}{device}/ch1/state", _state(seqs[device], ts), qos=1)
        seqs[device] += 1
    if info is not None:
        info.wait_for_publish(60)
    elapsed = time.monotonic() - start
    client.loop_stop()
    client.disconnect()
    result.put((total, elapsed))


def stored(stack: Servers, prefix: str) -> int:
    rows = stack.influx.series_values(f'SELECT count("seq") FROM "power" WHERE "device" =~ /^{prefix}/')
    return int(rows[0][1]) if rows else 0


def distinct_per_device(stack: Servers, prefix: str) -> int:
    q = f'SELECT count(distinct("seq")) FROM "power" WHERE "device" =~ /^{prefix}/ GROUP BY "device"'
    total = 0
    for result in stack.influx.query(q):
        for series in result.get("series", []):
            total += int(series["values"][0][1])
    return total


class MarkerLatency:
    """A marker device at 5 Hz; a poller notes when each of its points becomes queryable."""

    def __init__(self, stack: Servers, device: str) -> None:
        self.stack = stack
        self.device = device
        self.sent: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        stack.login(self.client)
        self.client.connect("127.0.0.1", stack.mqtt_port)
        self.client.loop_start()

    def run(self, seconds: float) -> None:
        poller = threading.Thread(target=self._poll, daemon=True)
        poller.start()
        end = time.monotonic() + seconds
        seq = 0
        while time.monotonic() < end:
            self.sent[seq] = time.monotonic()
            self.client.publish(
                f"labdcs/v1/{self.device}/ch1/state", _state(seq, time.time_ns() // 1_000_000), qos=1
            )
            seq += 1
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while len(self.seen) < len(self.sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        poller.join()
        self.client.loop_stop()

    def _poll(self) -> None:
        q = f'SELECT last("seq") FROM "power" WHERE "device" = \'{self.device}\''
        while not self._stop.is_set():
            rows = self.stack.influx.series_values(q)
            if rows:
                latest = int(rows[0][1])
                now = time.monotonic()
                for seq in range(latest + 1):
                    self.seen.setdefault(seq, now)
            time.sleep(0.025)

    def latencies_ms(self) -> list[float]:
        return sorted((self.seen[s] - self.sent[s]) * 1000 for s in self.sent if s in self.seen)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return sorted(values)[index]


def broker_ceiling(port: int, password: str, messages: int = 30_000) -> float:
    """Messages/s through Mosquitto with its own C clients (QoS 1, ~300-byte payloads)."""
    pub, sub = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if pub is None or sub is None:
        return float("nan")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lines:
        payload = _state(0, 0)
        lines.write((payload + "\n") * messages)
    # The subscriber registers a persistent session first, so no message is published before it
    # listens (a race a fixed delay cannot exclude on a loaded machine).
    login = ["-u", BENCH_USER, "-P", password]
    session = ["-p", str(port), *login, "-q", "1", "-t", "bench/ceiling", "-c", "-i", "bench-ceiling-sub"]
    subprocess.run([sub, *session, "-E"], check=True, timeout=30)
    receiver = subprocess.Popen([sub, *session, "-C", str(messages)], stdout=subprocess.DEVNULL)
    start = time.monotonic()
    with open(lines.name, "rb") as source:
        subprocess.run(
            [pub, "-p", str(port), *login, "-q", "1", "-t", "bench/ceiling", "-l"], stdin=source, check=True
        )
    try:
        receiver.wait(300)
    except subprocess.TimeoutExpired:
        receiver.kill()
        Path(lines.name).unlink()
        return float("nan")
    elapsed = time.monotonic() - start
    Path(lines.name).unlink()
    return messages / elapsed


def one_run(run: int, seconds: float) -> dict[str, float]:
    with servers() as stack:
        ingester = stack.labdcs(
            "ingest",
            env={
                **stack.influx_env("writer"),
                "LABDCS_APPLY_RETENTION": "false",  # done by the admin, as `labdcs up` does
                "LABDCS_SPOOL_DIR": str(stack.folder / "spool"),
            },
        )
        figures: dict[str, float] = {"broker_ceiling": broker_ceiling(stack.mqtt_port, stack.password)}
        sustained = 0.0
        for rate in RATES:
            prefix = f"r{run}x{rate}d"
            results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            cpu_before = cpu_seconds(ingester.pid)
            publisher = multiprocessing.Process(
                target=publish, args=(stack.mqtt_port, stack.password, prefix, rate, seconds, results)
            )
            marker = MarkerLatency(stack, f"marker{run}x{rate}") if rate == 1000 else None
            publisher.start()
            if marker is not None:
                marker.run(seconds)
            sent, elapsed = results.get(timeout=seconds * 10 + 60)
            publisher.join()
            ended = time.monotonic()
            try:
                wait_for(lambda p=prefix, s=sent: stored(stack, p) >= s, 60, f"{sent} points")
            except TimeoutError:
                print(f"  run {run}: {rate} msg/s: points missing ({stored(stack, prefix)}/{sent})")
                break
            drain = time.monotonic() - ended
            cpu = cpu_seconds(ingester.pid) - cpu_before
            lossless = stored(stack, prefix) == sent and distinct_per_device(stack, prefix) == sent
            achieved = sent / elapsed
            kept_up = drain <= 2.0 and achieved >= 0.95 * rate
            print(
                f"  run {run}: offered {rate:>6} msg/s, published {achieved:8.0f} msg/s, stored {sent} "
                f"(lossless {lossless}), backlog drained {drain:4.1f} s after the end, "
                f"ingester CPU {1e6 * cpu / sent:6.1f} ms per 1000 msgs"
            )
            if rate == 1000:
                figures["cpu_ms_per_1000"] = 1e6 * cpu / sent  # s per message x 1000 messages x 1000 ms
            if marker is not None:
                lat = marker.latencies_ms()
                figures["latency_p50_ms"] = percentile(lat, 50)
                figures["latency_p99_ms"] = percentile(lat, 99)
            if lossless and kept_up:
                sustained = achieved
            else:
                break
        figures["sustained"] = sustained
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="publishing time per offered rate")
    args = parser.parse_args()
    runs = [one_run(run, args.seconds) for run in range(args.repeats)]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs if key in r)

    sustained, ceiling = median("sustained"), median("broker_ceiling")
    print(
        f"\nlabdcs ingest benchmark, median of {args.repeats} runs "
        f"({DEVICES} devices, QoS 1, batches of 5000 or 1 s):"
    )
    print(
        f"  sustained lossless ingest rate  {sustained:8.0f} msg/s (highest offered rate fully kept up with)"
    )
    print(
        f"  publish-to-queryable at 1000/s  p50 {median('latency_p50_ms'):6.0f} ms"
        f"   p99 {median('latency_p99_ms'):6.0f} ms"
    )
    print(f"  ingester CPU per 1000 messages  {median('cpu_ms_per_1000'):8.1f} ms (at 1000 msg/s)")
    print(f"  broker ceiling (C clients)      {ceiling:8.0f} msg/s")
    print(f"  ratio ingest / broker ceiling   {sustained / ceiling:8.2f}")


if __name__ == "__main__":
    main()
