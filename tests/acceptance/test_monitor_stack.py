"""The monitor on the stack as the README starts it (`labdcs up --dummy`): station1 is on it, online,
with its area's climate sensor (the dummy lab's station environment) and the interlock rules that
read it, and the page draws its card in Chromium with the admin login."""

from __future__ import annotations

from typing import Any

import httpx

from tests.acceptance.conftest import ARTIFACTS, UserStack
from tests.support import wait_until


def test_the_dummy_lab_on_the_monitor(user_stack: UserStack, chromium: Any) -> None:
    http = httpx.Client(base_url=user_stack.experiments_url, auth=user_stack.admin(), timeout=30)

    def station1() -> dict[str, Any] | None:
        rows = http.get("/api/monitor").raise_for_status().json()
        row = next((r for r in rows if r["key"] == "station1/ch1"), None)
        return row if row and row["online"] and row["run_state"] and row["environment"] else None

    row = wait_until(station1, 60, "station1 with its environment on the monitor", interval=0.5)
    assert [s["sensor"] for s in row["environment"]] == ["env1/box"]
    assert "temperature" in row["environment"][0]["values"]
    assert {r["rule"] for r in row["interlocks"]} >= {"dew-point", "box-temperature"}
    http.close()

    context = chromium.new_context(
        http_credentials={"username": "admin", "password": user_stack.admin()[1]},
        viewport={"width": 1366, "height": 800},
    )
    page = context.new_page()
    page.goto(f"{user_stack.experiments_url}/monitor")
    page.wait_for_selector("a.chan[data-key='station1/ch1']", timeout=30_000)
    assert "env1/box: temperature" in page.inner_text("a.chan[data-key='station1/ch1'] .lab")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "acceptance-monitor.png"), full_page=True)
    context.close()
