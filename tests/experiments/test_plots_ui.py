"""The plots as people use them, in headless Chromium against the shipped manager (a real process,
secured broker, authenticated InfluxDB): dragging a zoom and choosing a range change what is asked
of the server, and a zoomed window is drawn from every sample; the CSV of that view has exactly its
rows; a live run's new samples are appended without reading the run again; the compare page
overlays two finished experiments and keeps its selection in the address."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from labdcs.experiments.series import SOURCES, where
from tests.experiments.browser import ARTIFACTS, cut_off, needs_chromium, settled, wait_js
from tests.experiments.lab import ADMIN, Lab, cycling
from tests.experiments.plotdata import bdf_file, import_file

pytestmark = needs_chromium

ROWS, HALF = 20_000, 600


def _page(browser: Any, downloads: bool = False) -> Any:
    page = browser.new_page(
        accept_downloads=downloads,
        http_credentials={"username": ADMIN[0], "password": ADMIN[1]},
        viewport={"width": 1366, "height": 900},
    )
    page.set_default_timeout(30_000)
    # What the browser refused or failed to run (a CSP violation is said on the console).
    page.complaints = []
    page.on("console", lambda m: page.complaints.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.complaints.append(str(e)))
    return page


def _queries(page: Any) -> list[dict[str, list[str]]]:
    """The query strings of every plot request the page makes, in order (filled as it makes them)."""
    seen: list[dict[str, list[str]]] = []
    page.on(
        "request",
        lambda r: (
            seen.append(parse_qs(urlparse(r.url).query)) if urlparse(r.url).path.endswith("/plot") else None
        ),
    )
    return seen


def _data(page: Any, host: str) -> dict[str, int]:
    values = page.evaluate(f"() => ({{...document.querySelector('{host}').dataset}})")
    return {k: int(values[k]) for k in ("points", "bucket", "start", "end") if values.get(k)}


def _samples(lab_: Lab, experiment: str, start: int, end: int) -> int:
    """What InfluxDB holds in the window (the test's own count, as admin)."""
    q = f'SELECT count("voltage") FROM {SOURCES} WHERE {where(experiment, start, end)}'
    return sum(int(row[1]) for row in lab_.influx.client.series_values(q))


def _drag(page: Any, host: str, a: float, b: float) -> None:
    """A drag across the plot from fraction ``a`` to ``b`` of its width."""
    box = page.locator(f"{host} .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + a * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + (a + b) / 2 * box["width"], y, steps=3)
    page.mouse.move(box["x"] + b * box["width"], y, steps=3)
    page.mouse.up()


def test_zoom_and_range_change_the_query_and_the_csv_has_the_windows_rows(
    lab: Callable[..., Lab], browser: Any, tmp_path: Path
) -> None:
    lab_ = lab(grafana_url=None)
    with lab_.client() as http:
        experiment = import_file(http, bdf_file(tmp_path / "long.csv", ROWS, HALF), "long run")
    run = lab_.experiment(experiment)
    t0, last = run["started"], run["finished"]
    page = _page(browser, downloads=True)
    queries = _queries(page)
    page.goto(f"{lab_.url}/experiments/{experiment}")
    wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 0")

    # The whole run: one request without a window, drawn as min/max buckets.
    assert len(queries) == 1 and not {"start", "end", "since"} & set(queries[0]), queries
    whole = _data(page, "#plot-v")
    assert whole["bucket"] > 0 and (whole["start"], whole["end"]) == (t0, last), whole
    assert page.inner_text("#resolution").startswith("min/max per ")
    labels = page.get_attribute("#plot-v", "data-xticks").split(" ")
    assert len(labels) == len(set(labels)) >= 3 and all(":" in x and "e" not in x for x in labels), labels

    # Dragging across 2 % of the plot asks for that window and draws every sample in it.
    _drag(page, "#plot-v", 0.40, 0.42)
    wait_js(page, "document.querySelector('#plot-v').dataset.bucket === '0'")
    asked = queries[-1]
    start, end = int(asked["start"][0]), int(asked["end"][0])
    assert 0.015 * (last - t0) < end - start < 0.025 * (last - t0), (start, end)
    zoomed = _data(page, "#plot-v")
    assert (zoomed["start"], zoomed["end"]) == (start, end)
    assert zoomed["points"] == _samples(lab_, experiment, start, end) > 300
    assert page.inner_text("#resolution") == "every sample"
    page.screenshot(path=str(ARTIFACTS / "plots-zoomed.png"), full_page=True)

    # The CSV of this view: exactly the window's rows, at full resolution.
    href = page.get_attribute("#view-csv", "href")
    assert href.endswith(f"/view.csv?start={start}&end={end}"), href
    with page.expect_download() as download:
        page.click("#view-csv")
    rows = Path(download.value.path()).read_text().splitlines()[1:]
    times = [round(float(row.split(",")[0]) * 1000) for row in rows]
    assert len(rows) == zoomed["points"] and times == sorted(times)
    assert start <= times[0] < start + 1000 and end - 1000 < times[-1] <= end

    # Ranges: the last 5 minutes of the data, a typed window, panning, the whole run again.
    page.click("[data-range='5']")
    wait_js(page, f"document.querySelector('#plot-v').dataset.start === '{last - 300_000}'")
    assert queries[-1]["start"] == [str(last - 300_000)] and "end" not in queries[-1]
    assert (
        _data(page, "#plot-v")["points"] == 301
        and page.get_attribute("[data-range='5']", "class") == "secondary on"
    )
    page.fill("#win-from", "1:00:00")
    page.fill("#win-to", "1:10:00")
    page.click("#win-go")
    wait_js(page, f"document.querySelector('#plot-v').dataset.start === '{t0 + 3_600_000}'")
    assert (queries[-1]["start"], queries[-1]["end"]) == ([str(t0 + 3_600_000)], [str(t0 + 4_200_000)])
    assert _data(page, "#plot-i")["points"] == 601
    page.click("#pan-right")
    wait_js(page, f"document.querySelector('#plot-t').dataset.start === '{t0 + 3_900_000}'")
    page.fill("#win-to", "0:30:00")
    page.click("#win-go")
    assert page.inner_text("#resolution") == "the window must end after it starts"
    page.click("[data-range='whole']")
    wait_js(page, "document.querySelector('#plot-v').dataset.bucket !== '0'")
    assert not {"start", "end"} & set(queries[-1])
    assert page.complaints == []
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        settled(page)
        assert cut_off(page) == [], width


def test_a_live_run_is_appended_without_reading_it_again(lab: Callable[..., Lab], browser: Any) -> None:
    lab_ = lab(speed=100, grafana_url=None)
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(20, 30)}).raise_for_status().json()
        experiment = http.post(
            "/api/experiments",
            json={"name": "live", "cell": "mj1-0001", "station": "station1",
                  "protocol": protocol["protocol"]["id"]},
        ).raise_for_status().json()["id"]  # fmt: skip
    lab_.wait_status(experiment, {"running"})
    page = _page(browser)
    queries = _queries(page)
    page.goto(f"{lab_.url}/experiments/{experiment}")
    wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 3")
    for _ in range(2):  # grows twice, from two appends
        before = _data(page, "#plot-v")["points"]
        wait_js(page, f"Number(document.querySelector('#plot-v').dataset.points) > {before}")
    # One read of the run, then only "since the last sample" (each newer than the one before).
    assert not {"start", "end", "since"} & set(queries[0]), queries[0]
    follows = [int(q["since"][0]) for q in queries[1:]]
    assert len(follows) == len(queries) - 1 >= 2 and follows == sorted(follows) and follows[-1] > follows[0]
    assert _data(page, "#plot-v")["end"] >= follows[-1]

    # The last minute follows the run too: its window slides with the new samples.
    page.click("[data-range='1']")
    wait_js(page, "document.querySelector('[data-range=\"1\"]').classList.contains('on')")
    shown = _data(page, "#plot-v")
    assert shown["end"] - shown["start"] == 60_000
    count = len(queries)
    wait_js(page, f"Number(document.querySelector('#plot-v').dataset.start) > {shown['start']}")
    assert all("since" in q for q in queries[count:])
    page.screenshot(path=str(ARTIFACTS / "plots-live.png"), full_page=True)


def test_compare_overlays_two_finished_experiments(
    lab: Callable[..., Lab], browser: Any, tmp_path: Path
) -> None:
    lab_ = lab(grafana_url=None)
    with lab_.client() as http:
        fresh = import_file(http, bdf_file(tmp_path / "a.csv", 6 * 2 * HALF, HALF), "fresh cell")
        aged = import_file(http, bdf_file(tmp_path / "b.csv", 6 * 2 * HALF, HALF, fade=0.03), "aged cell")
        fading = [c["discharge_capacity"] for c in http.get(f"/api/experiments/{aged}/cycles").json()]
    assert len(fading) == 6 and fading[-1] < fading[0] * 0.9
    page = _page(browser)
    page.goto(f"{lab_.url}/compare?e={fresh}&e={aged}&cycle=2")
    for host in ("#cmp-capacity", "#cmp-ce", "#cmp-ee"):
        wait_js(page, f"document.querySelector('{host}').dataset.points === '6'")  # cycles
    legend = page.locator("#cmp-capacity .u-legend .u-series").all_inner_texts()
    assert [text.strip() for text in legend] == [fresh, aged], legend
    wait_js(page, "Number(document.querySelector('#cmp-vq').dataset.points || 0) > 100")
    curves = [t.strip() for t in page.locator("#cmp-vq .u-legend .u-series").all_inner_texts()]
    assert curves == [f"{fresh} charge", f"{fresh} discharge", f"{aged} charge", f"{aged} discharge"]
    # Resistance is not in imported files: the panel says so instead of drawing nothing.
    assert (
        page.inner_text("figure:has(#cmp-resistance) .nodata")
        == "No cycle values for the chosen experiments."
    )
    assert page.locator(f"#picker input[value='{aged}']").is_checked()
    for width in (1280, 1920, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        settled(page)
        assert cut_off(page) == [], width
    page.screenshot(path=str(ARTIFACTS / "plots-compare.png"), full_page=True)

    # Unticking one takes it out of the plots and of the address, which opens the same view.
    page.uncheck(f"#picker input[value='{aged}']")
    wait_js(page, "document.querySelectorAll('#cmp-capacity .u-legend .u-series').length === 1")
    assert urlparse(page.url).query == f"e={fresh}&cycle=2"
    page.fill("#cmp-cycle", "3")
    page.click("#cmp-cycle-go")
    assert urlparse(page.url).query == f"e={fresh}&cycle=3"
    shared = _page(browser)
    shared.goto(page.url)
    wait_js(shared, "document.querySelectorAll('#cmp-capacity .u-legend .u-series').length === 1")
    assert shared.locator(f"#picker input[value='{fresh}']").is_checked()
    assert not shared.locator(f"#picker input[value='{aged}']").is_checked()
    assert page.complaints == [] and shared.complaints == []
    # Filters narrow the list (the chosen stay listed) and are part of the address too.
    page.select_option("#f-status", "running")
    wait_js(page, "document.querySelectorAll('#picker input').length === 1")
    assert page.locator(f"#picker input[value='{fresh}']").is_checked()
    assert urlparse(page.url).query == f"e={fresh}&status=running&cycle=3"
    page.select_option("#f-status", "finished")
    page.select_option("#f-type", "lg-mj1")
    wait_js(page, "document.querySelectorAll('#picker input').length === 2")

    # InfluxDB gone: the curves say so in words; the cycle values (from the store) stay.
    lab_.influx.stop()
    shared.reload()
    shared.wait_for_selector("figure:has(#cmp-vq) .nodata.failed")
    assert shared.inner_text("figure:has(#cmp-vq) .nodata").startswith(
        "Could not load the data: InfluxDB at "
    )
    wait_js(shared, "document.querySelector('#cmp-capacity').dataset.points === '6'")
