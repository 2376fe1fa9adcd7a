"""Benchmark of the live monitor (``GET /monitor``) with 8 battery stations running experiments.

The stack as it ships, on free ports in a temporary folder: the secured broker, InfluxDB with its
users, 8 simulated stations (``labdcs device run``, real time, a state every second), and
``labdcs experiments serve`` behind its login; Debian's Chromium through Playwright opens the page.

1. **First paint**: from the navigation's start until the page shows all 8 stations running with
   their values (the first ``snapshot`` event drawn), in ms; also the browser's first contentful
   paint (the frame before any value).
2. **Update latency station -> page**: for every row pushed while the page stays open
   (``--seconds``), the page's clock when it drew the row minus the state's timestamp (the
   station's clock, the same machine): p50 and p99 in ms.

Each figure is the median of ``--runs`` page loads. Usage:
``PYTHONPATH=services:dummy .venv/bin/python bench/monitor.py [--runs 3] [--seconds 30]``.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/cycler.py would shadow matplotlib's `cycler`

from bench._stack import Servers, servers, wait_for  # noqa: E402
from labdcs.stack.paths import free_port  # noqa: E402
from tests.devices.test_cycler import station_config  # noqa: E402
from tests.experiments.lab import CELL_TYPE, cycling  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

STATIONS = 8
ADMIN_PASSWORD = secrets.token_urlsafe(16)  # a throwaway login of a throwaway service, made per run


def start(stack: Servers) -> str:
    """8 stations and the manager; returns its address once all 8 run an experiment."""
    for n in range(1, STATIONS + 1):
        config = station_config(device=f"station{n}", speed=1.0, publish_period=1.0, sample_period=1.0)
        path = stack.folder / f"station{n}.yaml"
        path.write_text(yaml.safe_dump(config))
        stack.labdcs("device", "run", "--config", str(path), user=f"station{n}")
    port = free_port()
    stack.labdcs(
        "experiments", "serve",
        env={"LABDCS_DATABASE_URL": f"montydb://{stack.folder / 'db'}", "LABDCS_HTTP_PORT": str(port),
             "LABDCS_WORK_DIR": str(stack.folder / "work"), "LABDCS_AUTH__ADMIN_PASSWORD": ADMIN_PASSWORD,
             "LABDCS_AUTH__VIEWER_PASSWORD": ADMIN_PASSWORD + "-viewer", **stack.influx_env("experiments")},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=30)

    def stations_known() -> bool:
        try:
            return http.get("/api/stations").json().get("total") == STATIONS
        except (httpx.HTTPError, ValueError):
            return False

    wait_for(stations_known, 60, "the manager to know the 8 stations")
    http.post("/api/cell-types", json=CELL_TYPE).raise_for_status()
    text = cycling(50, 60).replace("every 10 seconds", "every 1 second")  # a state per second
    protocol = http.post("/api/protocols", json={"text": text}).raise_for_status().json()
    for n in range(1, STATIONS + 1):
        http.post("/api/cells", json={"serial": f"MJ1-{n:04d}", "type": "lg-mj1"}).raise_for_status()
        http.post(
            "/api/experiments",
            json={"name": f"bench {n}", "cell": f"mj1-{n:04d}", "station": f"station{n}",
                  "protocol": protocol["protocol"]["id"], "operator": "bench"},
        ).raise_for_status()  # fmt: skip

    def all_running() -> bool:
        rows = http.get("/api/monitor").json()
        return sum(1 for r in rows if r["run_state"] == "running") == STATIONS

    wait_for(all_running, 60, "8 experiments running")
    return url


def measure(browser: Any, url: str, seconds: float) -> tuple[float, float, list[float]]:
    """(first paint with values, first contentful paint, latencies) of one page load, all in ms."""
    page = browser.new_page(
        http_credentials={"username": "admin", "password": ADMIN_PASSWORD},
        viewport={"width": 1366, "height": 900},
    )
    began = time.perf_counter()
    page.goto(f"{url}/monitor", wait_until="commit")
    page.wait_for_selector(f"a.chan[data-state='running'] >> nth={STATIONS - 1}", timeout=30_000)
    painted = (time.perf_counter() - began) * 1000
    fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1")
    page.evaluate(
        "window.__latency = []; "
        "window.addEventListener('monitor-row', e => window.__latency.push(Date.now() - e.detail.ts))"
    )
    time.sleep(seconds)  # the page runs on its own: rows arrive as the stations publish
    latencies: list[float] = page.evaluate("window.__latency")
    page.close()
    return painted, float(fcp), latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each page watches")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with servers() as stack, sync_playwright() as playwright:
        url = start(stack)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        paints, fcps, p50s, p99s, counts = [], [], [], [], []
        for run in range(args.runs):
            painted, fcp, latencies = measure(browser, url, args.seconds)
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            print(
                f"run {run + 1}: first paint with 8 running stations {painted:.0f} ms (first contentful "
                f"paint {fcp:.0f} ms); {len(latencies)} updates, latency p50 {p50:.0f} ms, p99 {p99:.0f} ms"
            )
            (
                paints.append(painted),
                fcps.append(fcp),
                p50s.append(p50),
                p99s.append(p99),
                counts.append(len(latencies)),
            )
        browser.close()
    print(
        f"median of {args.runs}: first paint {statistics.median(paints):.0f} ms "
        f"(first contentful paint {statistics.median(fcps):.0f} ms); update latency station -> page "
        f"p50 {statistics.median(p50s):.0f} ms, p99 {statistics.median(p99s):.0f} ms "
        f"({statistics.median(counts):.0f} updates in {args.seconds:g} s)"
    )


if __name__ == "__main__":
    main()
