"""Ingest benchmark: broker -> ingester -> InfluxDB on this machine, against two baselines measured
in the same run: Mosquitto's own ceiling with its C clients, and a deliberately minimal Python
ingester (bench/minimal_ingest.py: paho QoS 1 -> line protocol -> /write, no validation, no spool).

    .venv/bin/python bench/ingest.py [--repeats 3] [--seconds 6] [--members 1,2,3]

For the minimal ingester and for ``labdcs ingest`` with 1, 2 and 3 members sharing the stream
(``share_group``), prints as medians over the repeats:
- the highest publish rate sustained with zero loss (every per-device sequence number stored once in
  InfluxDB, the backlog gone within 2 s of the end of publishing);
- publish-to-queryable latency p50/p99 at 100, 1000 and 10000 msg/s (a marker device at 20 Hz
  polled in InfluxDB while the load runs);
- CPU time per 1000 messages at 1000 msg/s (all members together), and its ratio to the minimal
  ingester's;
- the ratios to Mosquitto's ceiling (the burst's BURST_DEVICES mosquitto_pub -l into one
  mosquitto_sub, QoS 1) and to the minimal ingester.
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
from labdcs.contract import encode, examples, topics

RATES = (100, 1000, 3000, 6000, 10000)
LATENCY_RATES = (100, 1000, 10000)
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
    declare(client, [f"{prefix}{device}" for device in range(DEVICES)])
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


def declare(client: paho.Client, devices: list[str]) -> None:
    """Retained metas declaring each device's ``ch1`` as a power channel (the ingester refuses states
    of channels no meta declares, once its start-up grace has passed)."""
    info = None
    for device in devices:
        meta = examples.hv1_meta().model_copy(update={"device": device})
        info = client.publish(topics.meta(device), encode(meta), qos=1, retain=True)
    if info is not None:
        info.wait_for_publish(30)


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
    """A marker device at 20 Hz (100 samples in 5 s: a p99 worth the name); a poller notes when
    each of its points becomes queryable."""

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
        declare(self.client, [device])

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
            time.sleep(0.05)
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


#: The burst: this many devices, each with its own mosquitto_pub, BURST messages in all.
BURST_DEVICES = 4
BURST = 40_000


def broker_ceiling(port: int, password: str, messages: int = BURST) -> float:
    """Messages/s through Mosquitto with its own C clients, in the burst's shape: BURST_DEVICES
    mosquitto_pub processes (QoS 1, the same ~300-byte states) into one mosquitto_sub (QoS 1)."""
    pub, sub = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if pub is None or sub is None:
        return float("nan")
    each = messages // BURST_DEVICES
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lines:
        lines.write((_state(0, 0) + "\n") * each)
    # The subscriber registers a persistent session first, so no message is published before it
    # listens (a race a fixed delay cannot exclude on a loaded machine).
    login = ["-u", BENCH_USER, "-P", password]
    session = ["-p", str(port), *login, "-q", "1", "-t", "bench/ceiling/#", "-c", "-i", "bench-ceiling-sub"]
    subprocess.run([sub, *session, "-E"], check=True, timeout=30)
    receiver = subprocess.Popen([sub, *session, "-C", str(each * BURST_DEVICES)], stdout=subprocess.DEVNULL)
    start = time.monotonic()
    publishers = [
        subprocess.Popen(
            [pub, "-p", str(port), *login, "-q", "1", "-t", f"bench/ceiling/{n}", "-l"],
            stdin=open(lines.name, "rb"),  # noqa: SIM115 (closed with the process below)
        )
        for n in range(BURST_DEVICES)
    ]
    for publisher in publishers:
        publisher.wait(300)
        if publisher.stdin is not None:
            publisher.stdin.close()
    try:
        receiver.wait(300)
    except subprocess.TimeoutExpired:
        receiver.kill()
        Path(lines.name).unlink()
        return float("nan")
    elapsed = time.monotonic() - start
    Path(lines.name).unlink()
    return each * BURST_DEVICES / elapsed


def start_target(stack: Servers, target: str) -> list[int]:
    """Start the minimal ingester (``minimal``) or ``labdcs ingest`` with N members (``oursN``);
    their process ids."""
    if target == "minimal":
        password_file = stack.folder / "bench-password"
        password_file.write_text(stack.password)
        env = stack.influx_env("writer")
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("minimal_ingest.py")),
                str(stack.mqtt_port),
                BENCH_USER,
                str(password_file),
                env["LABDCS_INFLUX__URL"],
                "writer",
                env["LABDCS_INFLUX__PASSWORD_FILE"],
                str(stack.folder / "minimal.ready"),
            ],
        )
        stack.processes.append(process)
        wait_for((stack.folder / "minimal.ready").exists, 30, "the minimal ingester to subscribe")
        return [process.pid]
    members = int(target.removeprefix("ours"))
    pids = []
    for member in range(members):
        env = {
            **stack.influx_env("writer"),
            "LABDCS_APPLY_RETENTION": "false",  # done by the admin, as `labdcs up` does
            "LABDCS_SPOOL_DIR": str(stack.folder / f"spool-{member}"),
            "LABDCS_CLIENT_ID": f"ingest-{member}",
        }
        if members > 1:
            env["LABDCS_SHARE_GROUP"] = "bench"
        pids.append(stack.labdcs("ingest", env=env).pid)
    # Every member logs its connection (and subscribes right after): all in one log file.
    wait_for(lambda: _connected(stack) >= members, 30, "the ingesters to connect")
    return pids


def _connected(stack: Servers) -> int:
    log = stack.folder / "ingest.log"
    return log.read_text(errors="replace").count("connected to") if log.exists() else 0


def ladder(stack: Servers, target: str, pids: list[int], run: int, seconds: float) -> dict[str, float]:
    """Offered rates from low to high until one is not kept up with losslessly."""
    figures: dict[str, float] = {}
    sustained = 0.0
    for rate in RATES:
        prefix = f"r{run}{target}x{rate}d"
        results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        publisher = multiprocessing.Process(
            target=publish, args=(stack.mqtt_port, stack.password, prefix, rate, seconds, results)
        )
        marker = MarkerLatency(stack, f"m{run}{target}x{rate}") if rate in LATENCY_RATES else None
        publisher.start()
        if marker is not None:
            marker.run(seconds)
        sent, elapsed = results.get(timeout=seconds * 10 + 60)
        publisher.join()
        ended = time.monotonic()
        try:
            wait_for(lambda p=prefix, s=sent: stored(stack, p) >= s, 60, f"{sent} points")
        except TimeoutError:
            print(f"  run {run} {target}: {rate} msg/s: points missing ({stored(stack, prefix)}/{sent})")
            break
        drain = time.monotonic() - ended
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        lossless = stored(stack, prefix) == sent and distinct_per_device(stack, prefix) == sent
        achieved = sent / elapsed
        kept_up = drain <= 2.0 and achieved >= 0.95 * rate
        line = (
            f"  run {run} {target:>7}: offered {rate:>6} msg/s, published {achieved:6.0f}, stored {sent} "
            f"(lossless {lossless}), drained {drain:4.1f} s after, CPU {1e6 * cpu / sent:6.1f} ms/1000"
        )
        if marker is not None:
            lat = marker.latencies_ms()
            figures[f"p50_{rate}"] = percentile(lat, 50)
            figures[f"p99_{rate}"] = percentile(lat, 99)
            line += f", latency p50 {figures[f'p50_{rate}']:4.0f} p99 {figures[f'p99_{rate}']:4.0f} ms"
        print(line, flush=True)
        if rate == 1000:
            figures["cpu_ms_per_1000"] = 1e6 * cpu / sent  # s per message x 1000 messages x 1000 ms
        if not (lossless and kept_up):
            break
        sustained = achieved
    figures["sustained"] = sustained
    return figures


def burst(stack: Servers, target: str, pids: list[int], run: int) -> dict[str, float]:
    """Throughput at C speed: BURST sequence-numbered states published by mosquitto_pub (QoS 1, one
    process per device, as fast as the broker takes them); the rate is messages over the time from
    the first publish until InfluxDB holds every one of them."""
    pub = shutil.which("mosquitto_pub")
    if pub is None:
        return {}
    prefix = f"b{run}{target}d"
    devices = [f"{prefix}{n}" for n in range(BURST_DEVICES)]
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    stack.login(client)
    client.connect("127.0.0.1", stack.mqtt_port)
    client.loop_start()
    declare(client, devices)
    client.loop_stop()
    client.disconnect()
    each = BURST // BURST_DEVICES
    base = time.time_ns() // 1_000_000 - 10 * each
    files = []
    for device in devices:
        path = stack.folder / f"{device}.txt"
        path.write_text("".join(_state(seq, base + seq) + "\n" for seq in range(each)))
        files.append(path)
    login = ["-u", BENCH_USER, "-P", stack.password]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    start = time.monotonic()
    publishers = [
        subprocess.Popen(
            [pub, "-p", str(stack.mqtt_port), *login, "-q", "1", "-t", topics.state(device, "ch1"), "-l"],
            stdin=path.open("rb"),
        )
        for device, path in zip(devices, files, strict=True)
    ]
    for publisher in publishers:
        publisher.wait(300)
    published = time.monotonic() - start
    total = each * BURST_DEVICES
    try:
        wait_for(lambda: stored(stack, prefix) >= total, 120, f"{total} burst points")
    except TimeoutError:
        print(f"  run {run} {target:>7}: burst: points missing ({stored(stack, prefix)}/{total})")
        return {}
    elapsed = time.monotonic() - start
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    lossless = stored(stack, prefix) == total and distinct_per_device(stack, prefix) == total
    print(
        f"  run {run} {target:>7}: burst of {total} (C publishers, {total / published:6.0f} msg/s in): "
        f"stored {total / elapsed:6.0f} msg/s (lossless {lossless}), CPU {1e6 * cpu / total:6.1f} ms/1000",
        flush=True,
    )
    return {"burst": total / elapsed if lossless else 0.0, "burst_cpu": 1e6 * cpu / total}


def one_run(run: int, seconds: float, targets: list[str]) -> dict[str, dict[str, float]]:
    """Every target on a fresh broker and InfluxDB (no session of a previous target left behind)."""
    figures: dict[str, dict[str, float]] = {}
    for target in targets:
        with servers() as stack:
            if not figures:
                ceiling = broker_ceiling(stack.mqtt_port, stack.password)
                figures["broker"] = {"sustained": ceiling}
                print(f"  run {run}  broker: {ceiling:6.0f} msg/s (C clients, QoS 1)", flush=True)
            pids = start_target(stack, target)
            figures[target] = ladder(stack, target, pids, run, seconds)
            figures[target].update(burst(stack, target, pids, run))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="publishing time per offered rate")
    parser.add_argument("--members", default="1,2,3", help="ingesters sharing the stream, per target")
    args = parser.parse_args()
    targets = ["minimal", *(f"ours{n}" for n in args.members.split(","))]
    runs = [one_run(run, args.seconds, targets) for run in range(args.repeats)]

    def median(target: str, key: str) -> float:
        values = [r[target][key] for r in runs if key in r.get(target, {})]
        return statistics.median(values) if values else float("nan")

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    ceiling, minimal = median("broker", "sustained"), median("minimal", "burst")
    print(
        f"\ningest benchmark, median of {args.repeats} runs ({DEVICES} devices, QoS 1, "
        f"offered {', '.join(map(str, RATES))} msg/s for {args.seconds:g} s each):"
    )
    print(f"  broker ceiling (C clients)  {ceiling:7.0f} msg/s")
    minimal_cpu = median("minimal", "cpu_ms_per_1000")
    print(
        f"  {'':9} {'burst':>7} {'/broker':>7} {'/minimal':>8} {'CPU ms/1000':>11} {'paced':>6} "
        f"{'CPU ms/1000':>11} {'/minimal':>8}  " + "  ".join(f"p50/p99 @{rate:<5}" for rate in LATENCY_RATES)
    )
    print(f"  {'':9} {'(C load, lossless)':>36} {'(Python publisher, at 1000/s)':>39}")
    for target in targets:
        rate, cpu = median(target, "burst"), median(target, "cpu_ms_per_1000")
        latencies = "  ".join(
            f"{median(target, f'p50_{r}'):5.0f}/{median(target, f'p99_{r}'):<5.0f}ms" for r in LATENCY_RATES
        )
        print(
            f"  {target:9} {rate:7.0f} {ratio(rate, ceiling):7.2f} {ratio(rate, minimal):8.2f} "
            f"{median(target, 'burst_cpu'):11.1f} {median(target, 'sustained'):6.0f} "
            f"{cpu:11.1f} {ratio(cpu, minimal_cpu):8.2f}  {latencies}"
        )
    print(
        "  burst: msg/s from the first publish until InfluxDB holds all; paced: highest offered rate "
        "kept up with losslessly (the Python publisher reaches ~6000/s)"
    )


if __name__ == "__main__":
    main()
