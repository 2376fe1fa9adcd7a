"""The web UI in headless Chromium (Debian's, through Playwright) against the real service: register
a cell, write and save a protocol, queue an experiment and watch it run on the simulated station
with its plot updating, sort and filter the experiments table, download the CSV and the report."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labdcs.experiments.export import HEADER
from tests.experiments.browser import ARTIFACTS, needs_chromium, wait_js
from tests.experiments.lab import ADMIN, Lab, cycling

pytestmark = needs_chromium


def _points(page: Any) -> int:
    return int(page.get_attribute("#plot-v", "data-points") or 0)


def test_a_day_in_the_lab(lab: Callable[..., Lab], browser: Any, tmp_path: Path) -> None:
    lab_ = lab(speed=250)
    page = browser.new_page(
        accept_downloads=True,
        http_credentials={"username": ADMIN[0], "password": ADMIN[1]},
        viewport={"width": 1366, "height": 900},
    )
    page.set_default_timeout(60_000)

    # Register a cell of a known type.
    page.goto(f"{lab_.url}/cells/new")
    page.wait_for_selector("#type option[value='lg-mj1']", state="attached")
    page.select_option("#type", "lg-mj1")
    page.fill("#serial", "MJ1-0002")
    page.click("#save")
    page.wait_for_selector("#message.ok")
    assert "registered cell mj1-0002" in page.inner_text("#message")

    # Write a protocol, validate it for this cell and station, save it, queue the experiment.
    page.goto(f"{lab_.url}/experiments/new")
    page.wait_for_selector("#cell option[value='mj1-0002']", state="attached")
    page.select_option("#cell", "mj1-0002")
    page.fill("#prototext", "Protocol: too-fast\nCharge at 5 A for 10 minutes")
    page.click("#check")
    page.wait_for_selector("#checkout.error")
    assert "exceeds the allowed 2.5 A" in page.inner_text("#checkout")
    page.fill("#prototext", cycling(3, 10))
    page.click("#check")
    page.wait_for_selector("#checkout.ok")
    page.click("#saveproto")
    wait_js(page, "document.querySelector('#checkout').textContent.startsWith('saved as')")
    assert page.input_value("#protocol") == "cycling-3x10-v1"
    page.fill("#name", "ui cycling run")
    page.fill("#description", "queued from the browser")
    page.click("#create")
    page.wait_for_url("**/experiments/exp-*")
    experiment_id = page.url.rsplit("/", 1)[1]

    # Watch it run: status, live values and a plot that grows while it runs.
    page.wait_for_selector("#live .status.running")
    wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 3")
    first = _points(page)
    wait_js(page, f"Number(document.querySelector('#plot-v').dataset.points || 0) > {first}")
    page.wait_for_selector("#live .status.finished", timeout=120_000)
    wait_js(page, "document.querySelectorAll('#cycles tbody tr').length === 3")
    # Whole cycles on the cycle axes, each once; test time as a clock reads it.
    wait_js(page, "document.querySelector('#plot-e').dataset.xticks === '1 2 3'")
    assert page.get_attribute("#plot-q", "data-xticks") == "1 2 3"
    keys, values = page.locator("#live th").all_inner_texts(), page.locator("#live td").all_inner_texts()
    live = dict(zip(keys, values, strict=True))
    assert re.fullmatch(r"\d+:\d\d:\d\d", live["test time"]), live
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "experiments-ui-experiment.png"), full_page=True)
    grafana = page.get_attribute("#grafana", "href") or ""
    assert grafana.startswith("http://grafana.example:3000/d/labdcs-station/")
    assert f"var-station=station1&var-experiment={experiment_id}" in grafana

    # Downloads: the CSV with BDF columns and the self-contained report.
    with page.expect_download() as csv_download:
        page.click("#csv")
    csv_text = Path(csv_download.value.path()).read_text()
    assert csv_text.startswith(HEADER) and csv_text.count("\n") > 100
    with page.expect_download() as report_download:
        page.click("#report")
    report = Path(report_download.value.path()).read_text()
    assert "ui cycling run" in report and report.count("data:image/png;base64,") >= 3

    # The table: sort by name both ways, filter by status, search the description.
    with lab_.client() as http:
        for name in ("alpha check", "zeta check"):
            http.post(
                "/api/experiments",
                json={"name": name, "cell": "mj1-0001", "station": "station1", "protocol": "cycling-3x10-v1"},
            ).raise_for_status()
        zeta = http.get("/api/experiments", params={"q": "zeta"}).json()["items"][0]["id"]
        http.post(f"/api/experiments/{zeta}/stop").raise_for_status()
    page.goto(lab_.url)
    page.wait_for_selector("#experiments tbody tr")

    def names() -> list[str]:
        return [n.strip() for n in page.locator("#experiments tbody tr td:nth-child(2)").all_inner_texts()]

    page.click("th[data-sort='name']")
    page.wait_for_selector("th[data-sort='name'].asc")
    wait_js(
        page, "document.querySelector('#experiments tbody tr td:nth-child(2)').textContent === 'alpha check'"
    )
    assert names() == ["alpha check", "ui cycling run", "zeta check"]
    page.click("th[data-sort='name']")
    wait_js(
        page, "document.querySelector('#experiments tbody tr td:nth-child(2)').textContent === 'zeta check'"
    )
    assert names() == ["zeta check", "ui cycling run", "alpha check"]
    page.select_option("#f-status", "aborted")
    wait_js(page, "document.querySelectorAll('#experiments tbody tr').length === 1")
    assert names() == ["zeta check"]
    page.select_option("#f-status", "")
    page.fill("#q", "from the browser")
    # Wait for the search's own result: the status filter before it also left one row.
    wait_js(
        page,
        "(() => { const rows = document.querySelectorAll('#experiments tbody tr');"
        " return rows.length === 1 && rows[0].querySelector('td:nth-child(2)').textContent.trim()"
        " === 'ui cycling run' })()",
    )
    assert names() == ["ui cycling run"]
    page.screenshot(path=str(ARTIFACTS / "experiments-ui-table.png"), full_page=True)

    # The station page shows what runs and what waits.
    page.goto(f"{lab_.url}/stations/station1")
    page.wait_for_selector("#info b")
    assert "station1" in page.inner_text("#info")
