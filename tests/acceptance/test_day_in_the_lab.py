"""A day in the lab, in the browser, on the stack as the README starts it (issue 11).

Lab staff register a cell (and its type), write a short protocol that fits the cell and station1,
queue the experiment and watch it run in real time; afterwards the CSV download holds every point
InfluxDB holds for the run and the report holds its plots; then a real cycler file is imported
through the ``/import`` page. Only public interfaces: the pages in Chromium with the admin login,
the REST API with the admin login (to cross-check what a page shows), and InfluxDB as its
``reader`` login over HTTP, as Grafana reads it.

The run is watched once (a module fixture records what the page and the API showed while it ran)
and judged by several tests, so a bug in one verdict (``started`` unset while running) does not
hide the others.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from PIL import Image

from labdcs.experiments.export import HEADER
from labdcs.stack.paths import project_root
from tests.acceptance.conftest import ARTIFACTS, UserStack
from tests.experiments.browser import wait_js
from tests.support import wait_until

#: The documented default database (`labdcs up` says "database 'labdcs'").
DATABASE = "labdcs"
VIEWPORT = {"width": 1366, "height": 900}
#: The real cycler files (``../shared/vendor-files`` beside the checkout); never copied into it.
VENDOR = project_root().parent / "shared" / "vendor-files"
#: One the importer reads today: the peer reader (pandas) finds the same rows, and the same data's
#: generic export has 2 cycles (MANIFEST.tsv).
VENDOR_FILE = "bdf/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"
VENDOR_CYCLES = 2

CELL_TYPE = {
    "manufacturer": "Acceptance", "model": "AT-18650-25", "chemistry": "NMC/graphite",
    "form_factor": "cylindrical 18650", "nominal_capacity_ah": "2.5", "nominal_voltage_v": "3.6",
    "t_v_min": "2.5", "t_v_max": "4.2", "t_i_charge_max": "2.5", "t_i_discharge_max": "5",
    "t_t_min_c": "0", "t_t_max_c": "60",
}  # fmt: skip
SERIAL = "ACC-DAY-0001"
NAME = "acceptance: a day in the lab"
#: About 45 s on the dummy station (real time, 1 s samples): two short cycles.
PROTOCOL_S = 45
PROTOCOL = """Protocol: acceptance-day
Rest for 5 s
Cycle 2 times:
    Charge at 1 A for 8 s or until 4.1 V
    Rest for 3 s
    Discharge at 1 A for 8 s or until 3.0 V
"""
#: From "queued" to "running": the queue claims the idle station, loads the protocol, starts it.
START_S = 60
#: Time allowed for the run beyond the protocol's own length (commands, acks, the last state).
MARGIN_S = 60

# The run takes real time by design (the station is not sped up in the shipped stack); the first
# test also pays for `labdcs up`.
pytestmark = pytest.mark.timeout(PROTOCOL_S + START_S + MARGIN_S + 180)


@dataclass
class Sample:
    """What the API and the experiment page showed at one of the page's plot fetches while running."""

    at_s: float
    api_status: str
    api_started: int | None
    page_status: str
    page_started: str
    http_status: int
    fetched: int | None
    """voltage points the page has fetched so far (the run once, then what came since)"""
    canvas: int | None
    """points the voltage plot drew from it (its ``data-points``)"""
    error: str = ""
    """the answer to a failed fetch"""


@dataclass
class Run:
    experiment: str
    protocol: str
    samples: list[Sample] = field(default_factory=list, repr=False)
    final: dict[str, Any] = field(default_factory=dict, repr=False)
    csv_text: str | None = field(default=None, repr=False)
    report: str | None = field(default=None, repr=False)
    problems: dict[str, str] = field(default_factory=dict)
    """download -> why the browser got no file"""
    blue_pixels: int = 0
    totals: list[int] = field(default_factory=list, repr=False)
    """voltage points the page had fetched after each of its plot fetches"""


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"acceptance-{name}.png"), full_page=True)


def _new_page(chromium: Any, stack: UserStack) -> Any:
    user, password = stack.admin()
    context = chromium.new_context(
        viewport=VIEWPORT, accept_downloads=True, http_credentials={"username": user, "password": password}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def _api(stack: UserStack) -> httpx.Client:
    return httpx.Client(base_url=stack.experiments_url, auth=stack.admin(), timeout=30)


def _influx_count(stack: UserStack, experiment: str, start_ms: int | None, end_ms: int | None) -> int:
    """Points of the experiment in InfluxDB, read as Grafana reads them: the ``reader`` login, both
    retention policies the battery dashboard queries (live runs in ``raw``, imports in
    ``experiments``), the run's time range."""
    clauses = [f"\"experiment\" = '{experiment}'"]
    if start_ms is not None:
        clauses.append(f"time >= {start_ms}ms")
    if end_ms is not None:
        clauses.append(f"time <= {end_ms}ms")
    sources = '"raw"."cycler", "experiments"."cycler"'
    query = f'SELECT count("voltage") FROM {sources} WHERE {" AND ".join(clauses)}'
    answer = httpx.get(
        f"http://127.0.0.1:{stack.ports[8086]}/query",
        params={"db": DATABASE, "q": query, "epoch": "ms"},
        auth=("reader", stack.secret("influxdb/reader")),
        timeout=30,
    )
    answer.raise_for_status()
    body = answer.json()
    total = 0
    for result in body["results"]:
        assert "error" not in result, result["error"]
        for series in result.get("series", []):
            total += sum(int(row[1]) for row in series["values"])
    return total


def _text(page: Any, selector: str) -> str:
    locator = page.locator(selector)
    return str(locator.inner_text()).strip() if locator.count() else ""


def _register_cell(page: Any, stack: UserStack) -> str:
    page.goto(f"{stack.experiments_url}/cells/new")
    # The form is ready once the technologies' own fields are shown (li-ion: cathode, anode).
    page.wait_for_selector("[data-extra='cathode']")
    page.select_option("#type", "")  # "new type...": its datasheet is entered here
    for name, value in CELL_TYPE.items():
        page.fill(f"#{name}", value)
    page.select_option("#technology", "li-ion")
    page.fill("[data-extra='cathode']", "NMC811")
    page.fill("[data-extra='anode']", "graphite")
    page.fill("#serial", SERIAL)
    page.fill("#notes", "registered by the acceptance suite")
    page.click("#save")
    page.wait_for_selector("#message.ok, #message.error")
    message = _text(page, "#message")
    _screenshot(page, "cell")
    found = re.fullmatch(r"registered cell (\S+)", message)
    assert found, f"registering the cell in the page: {message}"
    return found.group(1)


def _queue_experiment(page: Any, stack: UserStack, cell: str) -> tuple[str, str]:
    """Write the protocol in the page, validate it for the cell and station1, save it, and queue the
    experiment with it; (experiment id, protocol id)."""
    page.goto(f"{stack.experiments_url}/experiments/new")
    page.wait_for_selector(f"#cell option[value='{cell}']", state="attached")
    page.wait_for_selector("#station option[value='station1']", state="attached")
    page.select_option("#cell", cell)
    page.select_option("#station", "station1")
    page.select_option("#channel", "ch1")
    page.fill("#prototext", PROTOCOL)
    page.click("#check")
    page.wait_for_selector("#checkout.ok, #checkout.error")
    assert _text(page, "#checkout").startswith("valid"), f"protocol check: {_text(page, '#checkout')}"
    page.click("#saveproto")
    wait_js(page, "/^saved as |^(?!valid)/.test(document.querySelector('#checkout').textContent)")
    saved = re.match(r"saved as (\S+)", _text(page, "#checkout"))
    assert saved, f"saving the protocol: {_text(page, '#checkout')}"
    protocol = saved.group(1)
    # Only compatible protocols are offered, and the new one is chosen.
    offered = page.eval_on_selector_all("#protocol option", "os => os.map(o => o.value)")
    assert protocol in offered, f"{protocol} not offered for {cell} on station1/ch1: {offered}"
    assert page.input_value("#protocol") == protocol
    page.fill("#name", NAME)
    page.fill("#description", "queued from the browser by the acceptance suite")
    page.fill("#operator", "acceptance")
    _screenshot(page, "new-experiment")
    page.click("#create")
    page.wait_for_url(re.compile(r".*/experiments/exp-[^/]+$"))
    return page.url.rsplit("/", 1)[1], protocol


def _watch(page: Any, stack: UserStack, run: Run) -> None:
    """Record, at each plot fetch of the page while the experiment runs, what the page and the API
    show, until the API says it ended."""
    series_url = f"/api/experiments/{run.experiment}/plot"
    answers: list[Any] = []  # every plot answer, in order (the loop below may not see each one)
    page.on("response", lambda r: answers.append(r) if series_url in r.url else None)

    def count() -> int:
        """Voltage points fetched so far: the run once, then what came since, added."""
        while len(run.totals) < len(answers):
            answer = answers[len(run.totals)]
            new = len(answer.json()["fields"][0]["t"]) if answer.ok else 0
            before = run.totals[-1] if run.totals else 0
            run.totals.append(before + new if "since=" in answer.url else new)
        return run.totals[-1] if run.totals else 0

    page.reload()  # its first plot fetch (the run as it is), now with the listener in place
    page.wait_for_selector("#live .status.running", timeout=START_S * 1000)
    begun = time.monotonic()
    deadline = begun + PROTOCOL_S + MARGIN_S
    shot = False
    with _api(stack) as api:
        while True:
            experiment = api.get(f"/api/experiments/{run.experiment}").raise_for_status().json()
            if experiment["status"] not in ("running", "paused"):
                break
            assert time.monotonic() < deadline, f"still {experiment['status']} after {deadline - begun:.0f} s"
            # The page fetches the run once, then every 2 s the samples since its newest one.
            response = page.wait_for_event(
                "response", predicate=lambda r: series_url in r.url, timeout=10_000
            )
            fetched = canvas = None
            error = "" if response.ok else response.text()[:300]
            if response.ok:
                fetched = count()
                # The plot is drawn right after the fetch; a later fetch may only have more points.
                wait_js(
                    page,
                    f"Number(document.querySelector('#plot-v').dataset.points ?? -1) >= {fetched}",
                    timeout=5_000,
                )
                canvas = int(page.get_attribute("#plot-v", "data-points") or -1)
            run.samples.append(
                Sample(
                    at_s=time.monotonic() - begun,
                    api_status=experiment["status"],
                    api_started=experiment["started"],
                    page_status=_text(page, "#live .status"),
                    page_started=_text(page, "#live tr:has(th:text-is('started')) td"),
                    http_status=response.status,
                    fetched=fetched,
                    canvas=canvas,
                    error=error,
                )
            )
            if not shot and (fetched or 0) >= PROTOCOL_S // 2:
                _screenshot(page, "running")
                shot = True
        count()  # the answers that came while the page was last looked at
    run.final = experiment


def _blue_pixels(page: Any) -> int:
    """Pixels of the voltage line's colour on its canvas: the plot is drawn, not only counted."""
    count: int = page.evaluate(
        """() => { const c = document.querySelector('#plot-v canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
          for (let k = 0; k < d.length; k += 4)
            if (Math.abs(d[k] - 0x1f) < 40 && Math.abs(d[k+1] - 0x5f) < 40
                && Math.abs(d[k+2] - 0xa8) < 40) n++;
          return n; }"""
    )
    return count


def _download(page: Any, link: str, problems: dict[str, str]) -> str | None:
    """The file behind a download link, clicked as a user clicks it; None (and why, in ``problems``)
    when the browser got no file: Chromium cancels a download answered with an error status, so the
    answer is asked again through the page's own login to say what it was."""
    from playwright.sync_api import Error

    try:
        with page.expect_download() as download:
            page.click(link)
        return Path(download.value.path()).read_text()
    except Error as exc:
        href = urljoin(page.url, page.get_attribute(link, "href"))
        answer = page.request.get(href)
        problems[link] = f"{exc.message}; GET {href} answers {answer.status}: {answer.text()[:500]}"
        return None


@pytest.fixture(scope="module")
def run(user_stack: UserStack, chromium: Any) -> Iterator[Run]:
    page = _new_page(chromium, user_stack)
    try:
        cell = _register_cell(page, user_stack)
        experiment, protocol = _queue_experiment(page, user_stack, cell)
        result = Run(experiment, protocol)
        _watch(page, user_stack, result)
        # The page shows the end the API says (a wrong end is the first test's verdict).
        page.wait_for_selector(f"#live .status.{result.final['status']}")
        if result.final["status"] == "finished":
            wait_js(page, "document.querySelectorAll('#cycles tbody tr').length >= 2")
        result.blue_pixels = _blue_pixels(page)
        _screenshot(page, "finished")
        if result.final["finished"] is not None:
            # The manager learns the end from the broker; the ingester stores the last states up to a
            # batch (1 s) later: the CSV is fetched once the run's points in InfluxDB stop changing.
            start, end = result.final["started"], result.final["finished"]
            seen: list[tuple[float, int]] = []

            def settled() -> bool:
                seen.append((time.monotonic(), _influx_count(user_stack, experiment, start, end)))
                changed = [at for (at, n), (_, before) in zip(seen[1:], seen, strict=False) if n != before]
                return seen[-1][0] - max(changed, default=seen[0][0]) > 2.0

            wait_until(settled, 60, "the run's points in InfluxDB to stop changing", interval=0.25)
        result.csv_text = _download(page, "#csv", result.problems)
        result.report = _download(page, "#report", result.problems)
        if result.report is not None:
            page.set_content(result.report)
            _screenshot(page, "report")
        yield result
    finally:
        page.context.close()


def test_the_experiment_runs_to_its_end(run: Run) -> None:
    assert run.final["status"] == "finished", run.final
    assert run.final["started"] is not None and run.final["finished"] is not None, run.final
    assert run.final["progress"]["cycle_index"] >= 2, run.final["progress"]


def test_the_plots_receive_points_while_it_runs(run: Run) -> None:
    running = [s for s in run.samples if s.api_status == "running"]
    assert len(running) >= 5, f"only {len(running)} plot fetches seen while it ran: {run.samples}"
    failed = [s for s in running if s.http_status != 200]
    assert not failed, (
        f"the page's series fetch failed {len(failed)} times of {len(running)} while running, "
        f"first: {failed[0].http_status} {failed[0].error}"
    )
    fetched = [s.fetched or 0 for s in running]
    # The first fetch may come before the run's first point; the later ones must bring more.
    assert fetched == sorted(fetched) and fetched[-1] > fetched[0] >= 0, f"points fetched: {fetched}"
    assert len(set(fetched)) >= 3, f"the plots did not keep growing: {fetched}"
    drawn = set(run.totals)
    for sample in running:
        assert sample.canvas in drawn, f"the plot drew {sample.canvas} points, the page fetched {drawn}"
    assert run.blue_pixels > 100, f"the voltage plot has {run.blue_pixels} pixels of its line"


def test_started_is_set_while_it_runs(run: Run) -> None:
    """The API and the page show when the run started while it runs, not only once it ended."""
    running = [s for s in run.samples if s.api_status == "running"]
    assert running, "nothing seen while it ran"
    unset = [round(s.at_s) for s in running if s.api_started is None]
    assert not unset, f"API: started is null while running at {unset} s after it showed running"
    blank = [round(s.at_s) for s in running if s.page_status == "running" and not s.page_started]
    assert not blank, f"page: 'started' is empty while running at {blank} s"
    assert {s.api_started for s in running} == {run.final["started"]}, "started changed during the run"


def test_the_csv_has_every_point_influxdb_holds_for_the_run(run: Run, user_stack: UserStack) -> None:
    assert run.csv_text is not None, f"the CSV download: {run.problems['#csv']}"
    assert run.csv_text.startswith(HEADER), run.csv_text[:300]
    rows = list(csv.reader(io.StringIO(run.csv_text)))[1:]
    started, finished = run.final["started"], run.final["finished"]
    points = _influx_count(user_stack, run.experiment, started, finished)
    print(
        f"\nCSV rows {len(rows)}, InfluxDB points in the run {points} (the experiment's points at any "
        f"time: {_influx_count(user_stack, run.experiment, None, None)})"
    )
    assert len(rows) == points, f"CSV has {len(rows)} data rows, InfluxDB {points} points of the run"
    # 1 s samples: about one row per second of the run.
    duration_s = (finished - started) / 1000
    assert len(rows) >= 0.8 * duration_s >= 0.8 * (PROTOCOL_S - 20), (len(rows), duration_s)
    times = [float(row[0]) * 1000 for row in rows]
    assert started - 1 <= times[0] and times[-1] <= finished + 1, (started, times[0], times[-1], finished)
    assert times == sorted(times)


def test_the_report_holds_its_plots(run: Run) -> None:
    assert run.report is not None, f"the report download: {run.problems['#report']}"
    assert NAME in run.report and run.protocol in run.report
    images = dict(re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([^']+)'", run.report))
    expected = {"voltage and current against time", "capacity and efficiency", "dQ/dV"}
    assert expected <= set(images), f"report images: {sorted(images)}"
    for alt, data in images.items():
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        # A plot has axes, labels and lines: many colours (anti-aliasing), not a blank canvas.
        assert image.width >= 300 and image.height >= 200, (alt, image.size)
        assert colours is None or len(colours) > 20, f"{alt}: {len(colours)} colours, blank?"


def _manifest_rows(name: str) -> int:
    for line in (VENDOR / "MANIFEST.tsv").read_text().splitlines()[1:]:
        cells = line.split("\t")
        if cells[0] == name:
            return int(cells[6])
    raise AssertionError(f"{name} not in {VENDOR / 'MANIFEST.tsv'}")


def test_import_a_real_cycler_file_in_the_browser(user_stack: UserStack, chromium: Any) -> None:
    source = VENDOR / VENDOR_FILE
    if not source.is_file():
        pytest.skip(f"no real cycler files: {source} is absent (../shared/vendor-files beside the checkout)")
    page = _new_page(chromium, user_stack)
    try:
        page.goto(f"{user_stack.experiments_url}/import")
        page.wait_for_selector("#format option[value='bdf']", state="attached")
        page.set_input_files("#file", str(source))
        page.fill("#name", "acceptance: SINTEF Landt coin cell")
        page.click("#go")
        page.wait_for_selector("#result.ok, #result.error", timeout=60_000)
        _screenshot(page, "import")
        assert "imported as" in _text(page, "#result"), f"import refused: {_text(page, '#result')}"
        done = re.fullmatch(r"done: (\d+) rows \(bdf\)", _text(page, "#phase"))
        assert done, f"import progress: {_text(page, '#phase')}"
        rows, peer = int(done.group(1)), _manifest_rows(VENDOR_FILE)
        assert rows == peer, f"{rows} rows imported, the peer reader (MANIFEST.tsv) reads {peer}"
        page.click("#result a")
        page.wait_for_url(re.compile(r".*/experiments/exp-[^/]+$"))
        page.wait_for_selector("#live .status.finished")
        wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 100")
        wait_js(page, f"Number(document.querySelector('#plot-q').dataset.points || 0) === {VENDOR_CYCLES}")
        for plot in ("#plot-i", "#plot-e"):
            assert int(page.get_attribute(plot, "data-points") or 0) > 0, f"{plot} has no data"
        assert page.locator("#cycles tbody tr").count() == VENDOR_CYCLES
        assert _blue_pixels(page) > 100, "the voltage plot of the imported file is not drawn"
        _screenshot(page, "imported-experiment")
    finally:
        page.context.close()
