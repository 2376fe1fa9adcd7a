"""Benchmark of the experiment page's plots: how long a person waits for a 30-day run at 1 Hz.

A 30-day experiment, one sample per second (2,592,000 points of each of voltage, current and
temperature), is written to a real InfluxDB (authenticated, prepared as ``labdcs up`` does) and its
document to the embedded store; the manager (``create_app``, as ``labdcs experiments serve`` builds
it) runs under uvicorn; Debian's Chromium opens the experiment page. Measured, each the median of
``--runs``:

1. whole run: the click on "whole run" until V, I and T are drawn (the request, InfluxDB's min/max
   per bucket, JSON, uPlot's drawing), and the page's first load until its first drawing;
2. a zoomed window of 30 minutes at full resolution (1,801 samples per quantity), the same way;
3. the plot API alone (no browser) for both, to show where the time goes.

"read": InfluxDB is asked (the manager's kept answers cleared first); "kept": the same window again,
answered from the manager's memory (a finished run's windows cannot change). The first plot of the
ended run starts its roll-up (minute extremes written to InfluxDB once, ``rollup.py``); its time is
printed, and the browser figures are measured with it in place, as every later visit sees the run.

Usage: ``.venv/bin/python bench/plots.py [--days 30] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from labdcs.experiments.api import Services  # noqa: E402
from labdcs.experiments.documents import Experiment, Status  # noqa: E402
from labdcs.experiments.downsample import KEPT, ROLLUPS  # noqa: E402
from labdcs.experiments.series import ExperimentSeries  # noqa: E402
from labdcs.experiments.server import create_app  # noqa: E402
from labdcs.experiments.store import Store  # noqa: E402
from labdcs.security import influx as influx_auth  # noqa: E402
from labdcs.stack.paths import free_port  # noqa: E402
from tests.experiments.lab import ADMIN, accounts  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_ARGS, Influx  # noqa: E402

EXPERIMENT = "exp-bench-30d"
START_MS = 1_750_000_000_000
WIDTH = 1366

#: Clicks a control of the page and resolves with the ms until the V/I/T plots have drawn again.
TIMED = """async (selector) => {
  const host = document.querySelector('#plot-v'), before = Number(host.dataset.draws || 0);
  const started = performance.now();
  const [kind, a, b] = selector.split(':');
  if (kind === 'zoom') explorer.zoomTo(Number(a), Number(b));
  else document.querySelector(selector).click();
  while (Number(host.dataset.draws || 0) === before) await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => requestAnimationFrame(r));  // the frame uPlot painted in
  return performance.now() - started;
}"""


#: Resolves when the page has drawn its V/I/T plots once (evaluate: the page's CSP forbids Playwright's
#: wait_for_function, which compiles code in the page).
FIRST_DRAWING = """async () => {
  const host = () => document.querySelector('#plot-v');
  while (!Number(host()?.dataset.draws || 0)) await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => requestAnimationFrame(r));
}"""


def write_run(series: ExperimentSeries, seconds: int) -> None:
    """Cycling at 1 Hz: 1 A for an hour, -1 A for an hour, voltage and temperature following."""
    batch: list[str] = []
    for n in range(seconds):
        phase = (n % 7200) / 3600
        charging = phase < 1
        soc = phase if charging else 2 - phase
        volts = 3.2 + 0.9 * soc + (0.05 if charging else -0.05) + 0.002 * math.sin(n / 7)
        batch.append(
            f"cycler,experiment={EXPERIMENT} voltage={volts:.4f},current={1.0 if charging else -1.0},"
            f"temperature={25 + 2 * soc:.3f} {START_MS + n * 1000}"
        )
        if len(batch) >= 50_000:
            series.write_imported(batch)
            batch = []
    if batch:
        series.write_imported(batch)


def http_get(url: str, params: dict[str, int]) -> None:
    with httpx.Client(base_url=url, auth=ADMIN, timeout=120) as http:
        http.get(f"/api/experiments/{EXPERIMENT}/plot", params={"width": 1250, **params}).raise_for_status()


def report(name: str, seconds: list[float]) -> None:
    runs = ", ".join(f"{x:.2f}" for x in seconds)
    print(f"{name}: {statistics.median(seconds):.2f} s (median; runs {runs})")


def serve(services: Services) -> tuple[str, uvicorn.Server]:
    port = free_port()
    app = create_app(services, accounts=accounts(), start_queue=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the manager did not start")
        time.sleep(0.05)
    return url, server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    seconds = int(args.days * 86400)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="labdcs-bench-plots-") as tmp:
        folder = Path(tmp)
        influx = Influx(folder / "influxdb")
        influx.start()
        try:
            series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
            started = time.perf_counter()
            write_run(series, seconds)
            count = series.count(EXPERIMENT)
            assert count == seconds, count
            print(
                f"written: {seconds:,} points per quantity (V, I, T) in {time.perf_counter() - started:.0f} s"
            )
            store = Store(f"montydb://{folder / 'db'}")
            store.prepare()
            end_ms = START_MS + (seconds - 1) * 1000
            store.insert_experiment(
                Experiment(
                    id=EXPERIMENT, name="30 days at 1 Hz", cell="bench", station="import", channel="file",
                    protocol="none", status=Status.FINISHED, source="import", started=START_MS,
                    finished=end_ms, end_reason="imported", rows=seconds,
                )
            )  # fmt: skip
            url, server = serve(Services(store=store, series=series, work_dir=folder / "work"))
            middle = START_MS + seconds // 2 * 1000
            zoom = (middle, middle + 1_800_000)
            fresh = KEPT.items.clear  # each "read" figure scans InfluxDB; "kept" ones do not
            api: dict[str, list[float]] = {
                "whole run, read": [],
                "whole run, kept": [],
                "30-min window, read": [],
            }
            first_asked = time.perf_counter()
            with httpx.Client(base_url=url, auth=ADMIN, timeout=120) as http:
                for _ in range(args.runs):
                    window = {"start": zoom[0], "end": zoom[1]}
                    cases = (
                        ("whole run, read", {}),
                        ("whole run, kept", {}),
                        ("30-min window, read", window),
                    )
                    for name, params in cases:
                        if name.endswith("read"):
                            fresh()
                        t = time.perf_counter()
                        answer = http.get(
                            f"/api/experiments/{EXPERIMENT}/plot", params={"width": 1250, **params}
                        )
                        api[name].append(time.perf_counter() - t)
                        answer.raise_for_status()
                whole = http.get(f"/api/experiments/{EXPERIMENT}/plot", params={"width": 1250}).json()
                if "fields" not in whole:
                    raise RuntimeError(f"the plot API answered {whole}")
            volts = whole["fields"][0]
            buckets = f"{len(volts['t'])} buckets of {volts['bucket_ms'] / 1000:.0f} s"
            print(f"whole run: {buckets}, min and max of each")
            for name, values in api.items():
                report(f"plot API alone, {name}", values)
            if not ROLLUPS.wait(EXPERIMENT, 600):
                raise RuntimeError("the run was not rolled up")
            print(f"roll-up of the ended run (minute extremes, once, in the background): done "
                  f"{time.perf_counter() - first_asked:.1f} s after the first plot asked for it")  # fmt: skip
            for _ in range(args.runs):
                fresh()
                t = time.perf_counter()
                http_get(url, {})
                api.setdefault("whole run, read from the roll-up", []).append(time.perf_counter() - t)
            report(
                "plot API alone, whole run, read from the roll-up", api["whole run, read from the roll-up"]
            )
            drawn: dict[str, list[float]] = {
                "page load to first drawing, whole run from the roll-up": [],
                "whole run, click to drawn, from the roll-up": [],
                "whole run, click to drawn, kept": [],
                "30-min window at full resolution (raw), zoom to drawn, read": [],
            }
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(
                    http_credentials={"username": ADMIN[0], "password": ADMIN[1]},
                    viewport={"width": WIDTH, "height": 900},
                )
                for _ in range(args.runs):
                    fresh()
                    t = time.perf_counter()
                    page.goto(f"{url}/experiments/{EXPERIMENT}")
                    page.evaluate(FIRST_DRAWING)
                    loaded = time.perf_counter() - t
                    drawn["page load to first drawing, whole run from the roll-up"].append(loaded)
                    fresh()
                    seconds_ = page.evaluate(TIMED, f"zoom:{zoom[0]}:{zoom[1]}") / 1000
                    drawn["30-min window at full resolution (raw), zoom to drawn, read"].append(seconds_)
                    assert page.get_attribute("#plot-v", "data-bucket") == "0"
                    assert page.get_attribute("#plot-v", "data-points") == "1801"
                    fresh()
                    drawn["whole run, click to drawn, from the roll-up"].append(
                        page.evaluate(TIMED, "[data-range='whole']") / 1000
                    )
                    assert page.get_attribute("#plot-v", "data-bucket") != "0"
                    page.evaluate(TIMED, "[data-range='5']")
                    drawn["whole run, click to drawn, kept"].append(
                        page.evaluate(TIMED, "[data-range='whole']") / 1000
                    )
                browser.close()
            for name, values in drawn.items():
                report(name, values)
            server.should_exit = True
            store.close()
        finally:
            if influx.process is not None:
                influx.process.kill()
                influx.process.wait(30)


if __name__ == "__main__":
    main()
