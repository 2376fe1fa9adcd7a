"""The web UI's pages as people see them, in headless Chromium against the real service (no Grafana
configured, as in the native stack): the run's start on every page as soon as it runs, times and
numbers as people read them, nothing cut off at 1280-1920 px, no Grafana link, the favicon, and a
sentence where a plot or table would be when there are no data or they cannot be loaded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labdcs.experiments.web_base import JS
from tests.experiments.browser import ARTIFACTS, cut_off, needs_chromium, settled, wait_js
from tests.experiments.lab import ADMIN, Lab, cycling

LONG_NAME = "thermal soak " + "x" * 70 + " at 45 degC before the calendar ageing series of batch 2025-11"
LONG_DESCRIPTION = " ".join(["Cell from the second delivery, stored at 25 degC for six weeks."] * 20)
LONG_SERIAL = "MJ1-2025-11-DELIVERY-B-" + "7" * 24
LONG_PROTOCOL = "calendar-ageing-reference-cycling-at-one-c-with-rests"
WIDTHS = (1280, 1366, 1920)
STATIC = Path(__file__).resolve().parents[2] / "services/labdcs/experiments/static"


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _note(page: Any, canvas: str) -> str:
    """The sentence shown in place of a plot ('' when the plot is shown)."""
    note = page.locator(f"figure:has({canvas}) .nodata")
    return "" if note.is_hidden() else str(note.inner_text())


def _rows(page: Any, table: str) -> dict[str, str]:
    """A key-value table's rows: {heading: text}."""
    keys = page.locator(f"{table} th").all_inner_texts()
    return dict(zip(keys, page.locator(f"{table} td").all_inner_texts(), strict=True))


def _readable_at_every_width(page: Any, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        settled(page)
        found = cut_off(page)
        assert found == [], f"{name} at {width} px: " + "; ".join(found)
    page.set_viewport_size({"width": 1366, "height": 900})


@needs_chromium
def test_helpers_format_for_people_and_plot_whole_cycles(browser: Any) -> None:
    """The page helpers themselves, in Chromium: the values of the issue and their neighbours."""
    page = browser.new_page()
    page.set_content("<main><p id='problem' hidden></p></main>")
    page.add_script_tag(content=JS)
    values = page.evaluate(
        """() => ({
      duration: [fmtDuration(0.00075), fmtDuration(125), fmtDuration(3600), fmtDuration(100000)],
      number: [fmtNum(2.09e-7, 3), fmtNum(0.4172345), fmtNum(12345.6), fmtNum(0.000123456), fmtNum(-2.5),
               fmtNum(null)],
      about: [fmtAbout(120), fmtAbout(40), fmtAbout(3600), fmtAbout(7200), fmtAbout(3.5 * 3600),
              fmtAbout(4.2 * 86400)],
    })"""
    )
    assert values["duration"] == ["0:00:00", "0:02:05", "1:00:00", "1 d 03:46:40"]
    assert values["number"] == ["0", "0.4172", "12346", "0.000123", "-2.500", ""]
    assert values["about"] == ["2 min", "40 s", "60 min", "2 h", "3.5 h", "4.2 days"]

    # The plots (uPlot from the package, static/plots.js): whole cycles once each, plain decimals.
    page.set_content(
        "<main><p id='problem' hidden></p>"
        + "".join(
            f"<figure class='panel' style='width:700px'><div id='{host}'></div>"
            "<p class='nodata' hidden></p></figure>"
            for host in ("c3", "c7", "c500", "cap", "none")
        )
        + "</main>"
    )
    page.add_script_tag(content=JS)
    for name in ("uPlot.iife.min.js", "plots.js"):
        page.add_script_tag(content=(STATIC / name).read_text())
    ticks = page.evaluate(
        """async () => {
      const chart = (id, xs, ys) =>
        LabPlots.cycleChart($('#' + id), 'cycle', 'Ah', [{label: 'Ah'}]).set(xs, [ys], 'No data yet.');
      const n = k => Array.from({length: k}, (_, i) => i + 1);
      chart('c3', [1, 2, 3], [0.41, 0.42, 0.43]);
      chart('c7', n(7), n(7).map(i => 1 + i / 100));
      chart('c500', n(500), n(500).map(i => 1 - i / 1e4));
      chart('cap', [1, 2, 3], [0.41665, 0.417, 0.41735]);
      chart('none', [], []);
      await new Promise(done => setTimeout(done, 0));  // uPlot draws after the current task
      const get = (id, key) => $('#' + id).dataset[key].split(' ');
      const clock = LabPlots.fmtClock;
      return {c3: get('c3', 'xticks'), c7: get('c7', 'xticks'), c500: get('c500', 'xticks'),
              cap: get('cap', 'yticks'),
              quarter: LabPlots.tickLabels([0, 0.025, 0.05, 0.075], 0.025),
              clock: [clock(0), clock(125), clock(90061), clock(1.5, 0.5)]};
    }"""
    )
    assert ticks["c3"] == ["1", "2", "3"] and ticks["c7"][:2] in (["1", "2"], ["2", "4"]), ticks
    assert ticks["clock"] == ["0:00:00", "0:02:05", "1 d 01:01:01", "0:00:01.5"]
    for labels in (ticks["c3"], ticks["c7"], ticks["c500"], ticks["cap"]):
        assert len(labels) == len(set(labels)) and not any("e" in label for label in labels), labels
    assert all(label == str(int(label)) for label in ticks["c500"]), ticks["c500"]
    # Each label is its tick's value: 0.075 is not written 0.07 (nor 0.08).
    assert ticks["quarter"] == ["0.000", "0.025", "0.050", "0.075"], ticks["quarter"]
    assert all(re.fullmatch(r"0\.41\d+", label) for label in ticks["cap"]), ticks["cap"]
    assert page.inner_text("figure:has(#none) .nodata") == "No data yet."
    assert page.get_attribute("#c3", "data-points") == "3"


@needs_chromium
def test_pages_show_the_run_readably_and_say_what_they_cannot_show(
    lab: Callable[..., Lab], browser: Any
) -> None:
    lab_ = lab(speed=100, grafana_url=None)
    with lab_.client() as http:
        cell = http.post("/api/cells", json={"serial": LONG_SERIAL, "type": "lg-mj1"}).raise_for_status()
        text = cycling(20, 30).replace("cycling-20x30", LONG_PROTOCOL)
        stored = http.post("/api/protocols", json={"text": text}).raise_for_status()
        ids = []
        for name, description in ((LONG_NAME, LONG_DESCRIPTION), ("waiting", "")):
            created = http.post(
                "/api/experiments",
                json={"name": name, "description": description, "cell": cell.json()["id"],
                      "station": "station1", "protocol": stored.json()["protocol"]["id"]},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
    running, waiting = ids
    started = lab_.wait_status(running, {"running"})["started"]
    assert started is not None
    page = browser.new_page(
        http_credentials={"username": ADMIN[0], "password": ADMIN[1]}, viewport={"width": 1366, "height": 900}
    )
    page.set_default_timeout(30_000)
    ARTIFACTS.mkdir(exist_ok=True)

    # The running experiment: its start, test time as a clock reads it, no Grafana, nothing cut off.
    page.goto(f"{lab_.url}/experiments/{running}")
    page.wait_for_selector("#live .status.running")
    wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 3")
    live = _rows(page, "#live")
    assert live["started"] == _utc(started), live
    assert live["test time"].count(":") == 2 and "e" not in live["test time"], live
    assert page.locator("#grafana").count() == 0 and "Grafana" not in page.inner_text("main")
    assert page.get_attribute("#meta .clamp", "title") == LONG_DESCRIPTION
    assert _note(page, "#plot-v") == ""
    assert page.get_attribute("link[rel=icon]", "href") == "/favicon.svg"
    for path in ("/favicon.ico", "/favicon.svg"):
        icon = page.request.get(lab_.url + path)
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml"), path
        assert icon.body().startswith(b"<svg") and len(icon.body()) < 2000
    _readable_at_every_width(page, "the experiment page")
    page.screenshot(path=str(ARTIFACTS / "experiments-running.png"), full_page=True)

    # The station page and the table show the same start; the queued one has none.
    page.goto(f"{lab_.url}/stations/station1")
    page.wait_for_selector(f"#active a[href='/experiments/{running}']")
    assert page.inner_text("#active tbody tr td:nth-child(6)") == _utc(started)
    assert page.locator(f"#queued a[href='/experiments/{waiting}']").count() == 1
    _readable_at_every_width(page, "the station page")
    page.screenshot(path=str(ARTIFACTS / "experiments-station.png"), full_page=True)
    page.goto(lab_.url)
    page.wait_for_selector(f"#experiments tr[data-id='{waiting}']")
    assert page.inner_text(f"tr[data-id='{running}'] td:nth-child(10)") == _utc(started)
    assert page.inner_text(f"tr[data-id='{waiting}'] td:nth-child(10)") == ""
    assert page.get_attribute(f"tr[data-id='{running}'] td:nth-child(2)", "title") == LONG_NAME
    _readable_at_every_width(page, "the experiments table")
    page.screenshot(path=str(ARTIFACTS / "experiments-table.png"), full_page=True)

    # A queued experiment has no data yet, and says so where the plots would be.
    page.goto(f"{lab_.url}/experiments/{waiting}")
    page.wait_for_selector("#live .status.queued")
    for canvas in ("#plot-v", "#plot-i", "#plot-t", "#plot-q", "#plot-e"):
        assert _note(page, canvas) == "No data yet: the experiment waits in the queue.", canvas
    assert page.inner_text("#cycles tbody") == "No cycle completed yet."
    page.goto(f"{lab_.url}/experiments/exp-nothing-here")
    page.wait_for_selector("section:has(#meta) .nodata.failed")
    assert page.inner_text("section:has(#meta) .nodata") == (
        "Could not load the experiment: no experiment 'exp-nothing-here'"
    )

    # A 2-minute protocol's estimate.
    page.goto(f"{lab_.url}/experiments/new")
    page.wait_for_selector("#cell option[value='mj1-0001']", state="attached")
    page.select_option("#cell", "mj1-0001")
    page.fill("#prototext", "Protocol: two-minutes\nRest for 2 minutes")
    page.click("#check")
    page.wait_for_selector("#checkout.ok")
    assert page.inner_text("#checkout").startswith("valid; about 2 min, 0 cycles")
    _readable_at_every_width(page, "the new experiment page")

    # InfluxDB stopped: the plots say why they are empty; what the store holds is still shown.
    lab_.influx.stop()
    page.goto(f"{lab_.url}/experiments/{running}")
    page.wait_for_selector("figure:has(#plot-v) .nodata.failed")
    for canvas in ("#plot-v", "#plot-i", "#plot-t"):
        note = _note(page, canvas)
        assert note.startswith("Could not load the data: InfluxDB at ") and "not reachable" in note, note
        assert page.get_attribute(canvas, "data-points") == "0"
    assert page.locator("#live .status.running").count() == 1
    page.screenshot(path=str(ARTIFACTS / "experiments-influx-down.png"), full_page=True)

    # The service itself gone: the table says so at its next refresh.
    page.goto(lab_.url)
    page.wait_for_selector(f"#experiments tr[data-id='{running}']")
    lab_.server.kill()
    page.wait_for_selector("#experiments td.nodata.failed", timeout=15_000)
    assert page.inner_text("#experiments td.nodata").startswith(
        "Could not load the experiments: the experiments service did not answer"
    )


@pytest.mark.parametrize("value", ["grafana.example:3000", "ftp://grafana", "//grafana.example"])
def test_a_grafana_url_the_browser_cannot_follow_is_refused(value: str) -> None:
    from pydantic import ValidationError

    from labdcs.experiments.settings import ExperimentsSettings

    with pytest.raises(ValidationError, match="neither an http\\(s\\):// address nor a path on this site"):
        ExperimentsSettings(grafana_url=value)
    assert ExperimentsSettings(grafana_url=" ").grafana_url is None
    assert ExperimentsSettings(grafana_url="/grafana/").grafana_url == "/grafana"
    assert (
        ExperimentsSettings(grafana_url="https://lab.example/grafana").grafana_url
        == "https://lab.example/grafana"
    )
    assert ExperimentsSettings().grafana_url is None


def test_the_favicon_is_package_data() -> None:
    """The icon is served from the installed package, so the build must ship it."""
    import tomllib
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["labdcs"]
    assert (root / "services/labdcs/experiments/favicon.svg").exists()
    assert any(fnmatch("experiments/favicon.svg", pattern.replace("**/", "*/")) for pattern in globs), globs
