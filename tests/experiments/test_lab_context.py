"""The lab around a run, end to end: the station's environment sensor and an interlock rule reading it
(real processes on the secured broker, the ingester into real InfluxDB, the manager as it ships). The
monitor shows them live; after the run its page and its report list the environment readings and the
interlock's alarm raised and cleared during the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from labdcs.experiments.settings import ExperimentsSettings
from tests.experiments.browser import ARTIFACTS, cut_off, needs_chromium, wait_js
from tests.experiments.lab import ADMIN, Lab, cycling
from tests.safety.conftest import INTERLOCK, env, rules
from tests.support import DeviceProcess, wait_until

HOT = {
    "name": "box-hot",
    "severity": "error",
    "latch": False,
    "when": [{"above": "env1/box/temperature", "limit": 30.0}],
    "actions": {"ramp_down": ["hv9/ch1"]},
}
ENVIRONMENT = {"LABDCS_STATION_ENVIRONMENT": json.dumps({"station1": ["env1/box"]})}


def test_a_station_area_names_contract_ids() -> None:
    with pytest.raises(ValueError, match="neither a sensor channel 'device/channel' nor a device id"):
        ExperimentsSettings(station_environment={"station1": ["env1/box/temperature"]})
    with pytest.raises(ValueError, match="is not a valid id"):
        ExperimentsSettings(station_environment={"Station 1": ["env1"]})


def _row(http: httpx.Client) -> dict[str, Any]:
    rows = http.get("/api/monitor").raise_for_status().json()
    row: dict[str, Any] = next(r for r in rows if r["key"] == "station1/ch1")
    return row


@needs_chromium
def test_the_lab_around_a_run_on_the_monitor_the_page_and_the_report(
    lab: Callable[..., Lab],
    scpi_sim: Callable[..., Any],
    device_process: Callable[..., DeviceProcess],
    browser: Any,
) -> None:
    _, climate = scpi_sim("envmon")
    for setting in ("SIM:NOISE OFF", "SIM:TEMP 22", "SIM:HUM 40"):
        climate.write(setting)
    # speed 1: the station stamps its states in real time, like the sensor and the interlock.
    lab_ = lab(speed=1, env=ENVIRONMENT)
    device_process(env(climate.port))
    device_process(rules(HOT), command=INTERLOCK)
    http = httpx.Client(base_url=lab_.url, auth=ADMIN, timeout=30)
    protocol = http.post("/api/protocols", json={"text": cycling(1, 30)}).raise_for_status().json()
    experiment = (
        http.post(
            "/api/experiments",
            json={
                "name": "in its lab",
                "cell": "mj1-0001",
                "station": "station1",
                "protocol": protocol["protocol"]["id"],
            },
        )
        .raise_for_status()
        .json()
    )
    lab_.wait_status(experiment["id"], {"running"})

    # Live: the area's readings and the rule reading them are on the station's card.
    wait_until(
        lambda: _row(http)["environment"] and _row(http)["interlocks"],
        30,
        "environment and rule on the monitor",
    )
    assert _row(http)["environment"][0]["values"]["temperature"] == pytest.approx(22, abs=0.5)
    climate.write("SIM:TEMP 33")
    hot = wait_until(
        lambda: next((r for r in [_row(http)] if any(a["active"] for a in r["alarms"])), None),
        30,
        "the rule's alarm on the monitor",
    )
    assert hot["interlocks"][0]["rule"] == "box-hot" and hot["interlocks"][0]["active"]
    page = browser.new_page(
        http_credentials={"username": ADMIN[0], "password": ADMIN[1]}, viewport={"width": 1366, "height": 800}
    )
    page.set_default_timeout(30_000)
    page.goto(f"{lab_.url}/monitor")
    page.wait_for_selector("a.chan[data-key='station1/ch1'].alarm")
    assert "interlock/box-hot (error)" in page.inner_text("a.chan[data-key='station1/ch1'] .lab")
    assert "env1/box: temperature 33" in page.inner_text("a.chan[data-key='station1/ch1'] .lab")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitor-interlock.png"), full_page=True)
    climate.write("SIM:TEMP 22")
    wait_until(lambda: not any(a["active"] for a in _row(http)["alarms"]), 30, "the rule's alarm cleared")
    http.post(f"/api/experiments/{experiment['id']}/stop").raise_for_status()
    lab_.wait_status(experiment["id"], {"aborted"})

    # The record: what the area was like and what happened, from InfluxDB.
    def recorded() -> dict[str, Any] | None:
        context: dict[str, Any] = (
            http.get(f"/api/experiments/{experiment['id']}/lab").raise_for_status().json()
        )
        texts = [e["text"] for e in context["events"] if e["name"] == "box-hot"]
        return (
            context
            if any(t.startswith("raised") for t in texts) and any(t.startswith("cleared") for t in texts)
            else None
        )

    context = wait_until(recorded, 30, "the alarm raised and cleared in the record")
    assert context["sensors"] == ["env1/box"] and context["rules"] == ["interlock/box-hot"]
    temperature = next(q for q in context["environment"] if q["quantity"] == "temperature")
    assert temperature["min"] == pytest.approx(22, abs=0.5) and temperature["max"] == pytest.approx(
        33, abs=0.5
    )
    assert len(temperature["t"]) == len(temperature["values"]) >= 2
    assert not any(q["quantity"] in ("seq", "ts") for q in context["environment"])

    page.goto(f"{lab_.url}/experiments/{experiment['id']}")
    wait_js(page, "document.querySelectorAll('#lab-events tbody tr:not(:has(.nodata))').length >= 2")
    events = page.inner_text("#lab-events")
    assert "interlock/box-hot (error)" in events and "raised" in events and "cleared" in events
    env_table = page.inner_text("#lab-env")
    assert "temperature" in env_table and "33" in env_table and "°C" in env_table
    assert page.locator("#lab-env svg polyline").count() >= 1
    page.locator("#labcontext").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "experiment-lab-context.png"), full_page=True)
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 800})
        assert cut_off(page) == [], f"at {width} px"

    report = http.get(f"/api/experiments/{experiment['id']}/report.html").raise_for_status().text
    assert "Lab around the run" in report and "box-hot" in report and "raised" in report
    http.close()


@needs_chromium
def test_a_panel_says_in_words_when_the_lab_cannot_load(lab: Callable[..., Lab], browser: Any) -> None:
    lab_ = lab(speed=100)
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(1, 1)}).raise_for_status().json()
        experiment = (
            http.post(
                "/api/experiments",
                json={
                    "name": "no lab",
                    "cell": "mj1-0001",
                    "station": "station1",
                    "protocol": protocol["protocol"]["id"],
                },
            )
            .raise_for_status()
            .json()
        )
    lab_.wait_status(experiment["id"], {"finished"})
    page = browser.new_page(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    page.goto(f"{lab_.url}/experiments/{experiment['id']}")
    page.wait_for_selector("#lab-env td.nodata")
    assert "No environment sensors are configured for station station1" in page.inner_text("#lab-env")
    lab_.influx.process.kill()  # InfluxDB gone: the panels say so
    lab_.influx.process.wait(10)
    page.reload()
    page.wait_for_selector("#lab-events td.nodata.failed")
    assert "Could not load the events: InfluxDB" in page.inner_text("#lab-events")
