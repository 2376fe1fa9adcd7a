"""Dashboard query benchmark: what a panel costs InfluxDB over short and long ranges, raw vs trend.

    .venv/bin/python -m bench.dashboards [--days 7] [--repeats 5]

Fills a fresh InfluxDB (this machine's influxd, temporary folder) with the dummy bench's channels
and one battery-station channel at one state per second for ``--days`` days (points shaped by the
time-series mapping: every field a power, sensor or cycler state carries; the station runs one
experiment a day, with step statistics every 30 minutes and cycle statistics every 2 hours),
downsamples them as the trend's continuous query does, then runs every panel query of the
committed dashboards the way Grafana would and prints, as medians over the repeats:
- the slowest and the total of all panels for the last hour (raw, 1 s buckets): a dashboard refresh;
- the station panels that ignore the time range (last state, per-cycle statistics) for All
  experiments and for one;
- per time-series panel over the whole range (Grafana's bucket for ~1000 px: range / 1000), raw and
  trend, and the ratio raw / trend measured in the same run;
- the station's time-series panels over the whole range (its states are kept whole, no trend), for
  All experiments and for one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxSettings
from labdcs.ingest.lineprotocol import Point
from labdcs.ingest.mapping import DATABASE
from labdcs.security import influx as influx_auth
from labdcs.security import secrets
from labdcs.stack.brokers import influxd_binary, render_influxdb_conf
from labdcs.stack.paths import free_port, project_root

sys.path.insert(0, str(project_root()))
from tests.grafana.grafana_queries import Dashboard, targets

#: (device, kind, channels) as in dummy/devices: 9 channels.
BENCH = (
    ("hv1", "hv", ("ch1",)),
    ("hv2", "hv", ("ch1",)),
    ("lv1", "lv", ("ch1", "ch2", "ch3", "ch4")),
    ("can1", "lv", ("ch1", "ch2")),
    ("env1", "env", ("box",)),
)
#: The battery station: one channel cycling, a new experiment every day.
STATION = ("station1", "ch1")
STEP_S = 1800
CYCLE_S = 7200
BATCH = 20_000


def _experiment(day: int) -> str:
    return f"exp-bench-{day:03d}"


def _station_points(ts: int, second: int, day: int) -> list[str]:
    """The station's state at ``second`` (of the whole fill), and its statistics when a step or a
    cycle ends."""
    device, channel = STATION
    tags = {"device": device, "channel": channel, "kind": "cycler", "experiment": _experiment(day)}
    charging = (second // STEP_S) % 2 == 0
    current = 1.25 if charging else -1.25
    fields: dict[str, float | int | bool | str] = {
        "run_state": "running",
        "output": True,
        "mode": "cc",
        "voltage": 3.6 + (second % STEP_S) / STEP_S * (0.5 if charging else -0.5),
        "current": current,
        "power": current * 3.7,
        "temperature": 25.0 + (second % 600) / 300,
        "protocol": "bench v1",
        "step_index": second // STEP_S % 4 + 1,
        "step_type": "cc",
        "cycle_index": second // CYCLE_S + 1,
        "test_time": float(second % 86_400),
        "step_time": float(second % STEP_S),
        "charge_capacity": second % 86_400 / 7200,
        "discharge_capacity": second % 86_400 / 7300,
        "charge_energy": second % 86_400 / 1900,
        "discharge_energy": second % 86_400 / 2000,
        "seq": second,
        "boot": "bench",
    }
    lines = [Point("cycler", tags, fields, ts).line()]
    ends = [scope for scope, length in (("step", STEP_S), ("cycle", CYCLE_S)) if (second + 1) % length == 0]
    for scope in ends:
        stats: dict[str, float | int | bool | str] = {
            "boot": "bench",
            "cycle_index": second // CYCLE_S + 1,
            "start": ts - STEP_S * 1000,
            "end": ts,
            "duration": float(STEP_S),
            "end_reason": "time >= 1800 s",
            "charge_capacity": 0.62,
            "discharge_capacity": 0.61,
            "charge_energy": 2.3,
            "discharge_energy": 2.2,
            "v_min": 3.1,
            "v_max": 4.1,
            "t_min": 25.0,
            "t_max": 27.0,
            "cv_time": 0.0,
            "cv_capacity": 0.0,
            "dc_resistance": 0.02,
        }
        if scope == "cycle":
            stats.update(coulombic_efficiency=0.995, energy_efficiency=0.94)
        else:
            stats.update(step_index=second // STEP_S % 4 + 1, step_type="cc")
        lines.append(Point("cycler_stats", {**tags, "scope": scope}, stats, ts).line())
    return lines


def _points(start_ms: int, first_second: int, seconds: int) -> dict[str, list[str]]:
    """Retention policy -> lines, for ``seconds`` seconds from ``first_second`` of the fill; each
    measurement goes where the ingester writes it."""
    by_policy: dict[str, list[str]] = {}
    lines = by_policy.setdefault(retention.RAW, [])
    seq = 0
    for second in range(first_second, first_second + seconds):
        ts = start_ms + second * 1000
        for line in _station_points(ts, second, second // 86_400):
            policy = retention.retention_policy_of(line.split(",", 1)[0])
            by_policy.setdefault(policy, []).append(line)
        for device, kind, channels in BENCH:
            for channel in channels:
                tags = {"device": device, "channel": channel, "kind": kind}
                if kind == "env":
                    fields: dict[str, float | int | bool | str] = {
                        "temperature": 21.0 + (second % 600) / 600,
                        "humidity": 40.0 + (second % 900) / 90,
                        "dew_point": 7.5,
                        "status": "ok",
                    }
                    measurement = "sensor"
                else:
                    fields = {
                        "v_set": 100.0,
                        "v_target": 100.0,
                        "i_limit": 1e-4,
                        "ramp_rate": 10.0,
                        "v_mon": 99.9 + (second % 7) / 100,
                        "i_mon": 1e-7,
                        "output": True,
                        "ramping": False,
                        "compliance": False,
                        "status": "on",
                    }
                    measurement = "power"
                fields.update(seq=seq, boot="bench")
                seq += 1
                lines.append(Point(measurement, tags, fields, ts).line())
    return by_policy


def _fill(client: InfluxClient, days: int) -> int:
    now_ms = int(time.time()) // 60 * 60 * 1000
    start = now_ms - days * 86_400_000
    total = 0
    chunk_s = 3600
    for hour in range(days * 24):
        for policy, lines in _points(start, hour * chunk_s, chunk_s).items():
            for offset in range(0, len(lines), BATCH):
                client.write(lines[offset : offset + BATCH], policy)
            total += len(lines)
        print(f"\r  written {total:,} points ({hour + 1}/{days * 24} h)", end="", flush=True)
    print()
    select = retention.trend_select(retention.RetentionSettings())
    for day in range(days + 1):
        lower, upper = start + day * 86_400_000, start + (day + 1) * 86_400_000
        window = f" WHERE time >= {lower}ms AND time < {upper}ms GROUP BY "
        client.query(select.replace(" GROUP BY ", window, 1))
    return total


def _median_s(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: shards opened, caches filled
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    binary = influxd_binary()
    if binary is None:
        raise SystemExit("influxd is not installed: run scripts/setup")
    dashboards = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((project_root() / "grafana" / "dashboards").glob("*.json"))
    }
    with tempfile.TemporaryDirectory(prefix="labdcs-bench-") as folder:
        port = free_port()
        conf = Path(folder) / "influxdb.conf"
        # As shipped: authentication on; filled by the admin, queried as Grafana's `reader`.
        conf.write_text(render_influxdb_conf(port=port, rpc_port=free_port(), data_dir=Path(folder)))
        store = secrets.SecretsDir(Path(folder) / "secrets")
        secrets.init(store.root)
        with (Path(folder) / "influxd.log").open("wb") as log:
            server = subprocess.Popen([binary, "-config", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while not InfluxClient(InfluxSettings(url=url)).ping():
                if time.monotonic() > deadline:
                    raise SystemExit("influxd did not start")
                time.sleep(0.1)
            admin = influx_auth.ensure_users(url, DATABASE, store)
            admin.settings.timeout_s = 120
            retention.apply(admin, retention.RetentionSettings())
            print(f"filling {args.days} days of 10 channels (9 power/sensor, 1 battery station) at 1 Hz ...")
            started = time.monotonic()
            total = _fill(admin, args.days)
            print(f"  {total:,} points and their trend in {time.monotonic() - started:.0f} s\n")
            reader = influx_auth.settings(url, DATABASE, store, influx_auth.READER)
            reader.timeout_s = 120
            _report(InfluxClient(reader), dashboards, args.days, args.repeats)
        finally:
            server.terminate()
            server.wait(30)


def _choice(dashboard: Dashboard, query: str, **fixed: str) -> dict[str, str]:
    """The first variable values for which the query has data (what an operator would look at)."""
    choices = [c for c in dashboard.single_choices(query) if fixed.items() <= c.items()]
    return next((c for c in choices if dashboard.rows(query, c)), choices[0])


def _all_and_one(station: Dashboard, query: str, days: int, repeats: int) -> list[float]:
    """Median seconds of a station query for All experiments and for the last day's one."""
    chosen = _choice(station, query)
    queries = [
        station.interpolate(query, c) for c in (chosen, {**chosen, "experiment": _experiment(days - 1)})
    ]
    return [_median_s(lambda query=query: station.client.query(query), repeats) for query in queries]


def _report(client: InfluxClient, dashboards: dict[str, dict[str, Any]], days: int, repeats: int) -> None:
    hour: list[tuple[float, str]] = []
    for data in dashboards.values():
        dashboard = Dashboard(data, client, "time > now() - 1h", 1)
        for target in targets(data):
            if target.requires:
                continue
            query = dashboard.interpolate(target.query, _choice(dashboard, target.query))
            hour.append((_median_s(lambda query=query: client.query(query), repeats), target.name))
    hour.sort(reverse=True)
    print(f"last hour, raw, 1 s buckets, {len(hour)} panel queries (median of {repeats}):")
    print(f"  all panels together {sum(t for t, _ in hour) * 1000:8.1f} ms")
    for seconds, name in hour[:3]:
        print(f"  slowest             {seconds * 1000:8.1f} ms  {name}")

    station = Dashboard(dashboards["labdcs-station"], client, "time > now() - 1h", 1)
    print("\nstation panels not limited to the time range (median ms), All experiments / one experiment:")
    for target in targets(dashboards["labdcs-station"]):
        if "$timeFilter" in target.query:
            continue
        timings = _all_and_one(station, target.query, days, repeats)
        print(f"  {target.name[:60]:<61}{timings[0] * 1000:8.1f}{timings[1] * 1000:8.1f}")

    interval_s = max(1, days * 86_400 // 1000)
    print(f"\nwhole {days} d range, {interval_s} s buckets (~1000 per series), raw vs trend:")
    print(f"  {'panel':<48}{'raw ms':>10}{'trend ms':>10}{'raw/trend':>11}")
    ratios = []
    for uid in ("labdcs-overview", "labdcs-device"):
        dashboard = Dashboard(dashboards[uid], client, f"time > now() - {days}d", interval_s)
        for target in targets(dashboards[uid]):
            if "$resolution" not in target.query:
                continue
            chosen = _choice(dashboard, target.query, resolution=retention.RAW)
            timings = []
            for resolution in (retention.RAW, retention.TREND):
                query = dashboard.interpolate(target.query, {**chosen, "resolution": resolution})
                timings.append(_median_s(lambda query=query: client.query(query), repeats))
            raw, trend = timings
            ratios.append(raw / trend)
            print(f"  {target.name[:47]:<48}{raw * 1000:10.1f}{trend * 1000:10.1f}{raw / trend:11.1f}")
    print(f"  median raw/trend over {len(ratios)} queries: {statistics.median(ratios):.1f}")

    print(f"\nstation time series over the whole {days} d range (full resolution, no trend), ms:")
    station = Dashboard(dashboards["labdcs-station"], client, f"time > now() - {days}d", interval_s)
    for target in targets(dashboards["labdcs-station"]):
        if "$__interval" not in target.query:
            continue
        timings = _all_and_one(station, target.query, days, repeats)
        print(f"  {target.name[:60]:<61}{timings[0] * 1000:8.1f}{timings[1] * 1000:8.1f}  (All / one)")


if __name__ == "__main__":
    main()
