"""The monitor page in headless Chromium against the real service: a run watched live (values advance,
the step's text changes at a step boundary), a click that opens the experiment, a station that goes
offline standing out; nothing cut off at 1280-1920 px."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.experiments.browser import ARTIFACTS, cut_off, needs_chromium, wait_js
from tests.experiments.lab import ADMIN, Lab, cycling

pytestmark = needs_chromium

LONG_NAME = "watched live: " + "a long name that does not fit on a card " * 3
CARD = "a.chan[data-key='station1/ch1']"
_STEP = f"(document.querySelector(\"{CARD} .step\")?.textContent ?? '')"


def _text(page: Any, selector: str) -> str:
    return str(page.evaluate(f"document.querySelector(\"{CARD} {selector}\")?.textContent ?? ''"))


def test_a_run_watched_live_and_a_station_going_offline(lab: Callable[..., Lab], browser: Any) -> None:
    lab_ = lab(speed=40)
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(2, 3)}).raise_for_status().json()
    page = browser.new_page(
        http_credentials={"username": ADMIN[0], "password": ADMIN[1]}, viewport={"width": 1366, "height": 800}
    )
    page.set_default_timeout(60_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{lab_.url}/monitor")
    page.wait_for_selector(f"{CARD}[data-state='idle']")
    assert "1 station channel" in page.inner_text("#summary")

    with lab_.client() as http:
        experiment = http.post(
            "/api/experiments",
            json={"name": LONG_NAME, "cell": "mj1-0001", "station": "station1",
                  "protocol": protocol["protocol"]["id"], "operator": "alice"},
        ).raise_for_status().json()  # fmt: skip
    page.wait_for_selector(f"{CARD}[data-state='running']")
    assert "watched live" in _text(page, ".exp") and "alice" in _text(page, ".exp")
    wait_js(
        page,
        f"document.querySelector(\"{CARD} .step\")?.textContent.startsWith('Discharge at 1C for 3 minutes')",
    )
    first_v, first_t = _text(page, ".v"), _text(page, ".steptime")
    wait_js(page, f'document.querySelector("{CARD} .steptime")?.textContent !== {first_t!r}')
    wait_js(page, f'document.querySelector("{CARD} .v")?.textContent !== {first_v!r}')
    assert _text(page, ".v").endswith("V") and "e" not in _text(page, ".v").replace("V", "")
    assert "next end:" in _text(page, ".end")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitor-running.png"), full_page=True)
    # The step boundary: the text of the next step, as the protocol writes it.
    wait_js(page, f"{_STEP} === 'Charge at 1C for 3 minutes or until 4.1 V'")
    for width in (1280, 1366, 1920):
        page.set_viewport_size({"width": width, "height": 800})
        assert cut_off(page) == [], f"at {width} px"

    # A click opens the experiment.
    page.click(CARD)
    page.wait_for_url(f"**/experiments/{experiment['id']}")
    page.go_back()
    page.wait_for_selector(f"{CARD}[data-state='running']")

    # The station dies: its last will makes it offline, and it stands out.
    lab_.station.kill()
    page.wait_for_selector(f"{CARD}[data-state='offline']", timeout=30_000)
    assert "OFFLINE" in _text(page, ".flag") and "station offline" in _text(page, ".why")
    background = page.evaluate(f'getComputedStyle(document.querySelector("{CARD}")).backgroundColor')
    assert background != "rgb(255, 255, 255)"
    assert "1 offline" in page.inner_text("#summary")
    page.screenshot(path=str(ARTIFACTS / "monitor-offline.png"), full_page=True)

    # The manager itself goes away: the page says in words that its values are no longer live.
    lab_.server.kill()
    page.wait_for_selector("#streamproblem:not([hidden])", timeout=30_000)
    said = page.inner_text("#streamproblem")
    assert "Live updates stopped (the experiments service did not answer)" in said
    assert page.inner_text("#summary").startswith("Not live")
    assert not [p for p in problems if "Content Security Policy" in p], problems
