"""The People page in headless Chromium: an admin adds a person (the password shown once, on the
page), the person logs in with it, sees only their own account and tokens, and makes a token (shown
once) that works until the admin disables the account on the page."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.experiments.browser import ARTIFACTS, cut_off, needs_chromium, wait_js
from tests.experiments.lab import ADMIN


@needs_chromium
def test_an_admin_adds_a_person_who_makes_a_token_on_the_people_page(manager: str, browser: Any) -> None:
    admin = browser.new_page(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    admin.set_default_timeout(30_000)
    admin.goto(f"{manager}/people")
    admin.wait_for_selector("#users tbody tr[data-id=admin]")
    admin.fill("#uid", "frank")
    admin.fill("#uname", "Frank Operator")
    admin.select_option("#urole", "operator")
    admin.click("#uadd")
    admin.wait_for_selector("#users tbody tr[data-id=frank]")
    said = admin.inner_text("#umsg")
    found = re.search(r"password \(shown once\): (\S+)", said)
    assert found, said
    password = found.group(1)
    assert admin.input_value("#users tr[data-id=frank] .role") == "operator"
    assert cut_off(admin) == [], "the People page cuts something off"
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "people-admin.png"), full_page=True)

    person = browser.new_page(http_credentials={"username": "frank", "password": password})
    person.set_default_timeout(30_000)
    person.goto(f"{manager}/people")
    person.wait_for_selector("#me b")
    assert person.inner_text("#me").startswith("frank") and "operator" in person.inner_text("#me")
    assert person.is_hidden("#admin")
    person.fill("#tname", "my notebook")
    person.click("#tmake")
    person.wait_for_selector("#secret:not([hidden])")
    secret = re.search(r"(labdcs_\S+)", person.inner_text("#secret"))
    assert secret, person.inner_text("#secret")
    answer = httpx.get(f"{manager}/api/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert answer.status_code == 200 and answer.json()["account"]["id"] == "frank"
    person.reload()
    person.wait_for_selector("#tokens tbody tr")
    assert "labdcs_" not in person.inner_text("main")  # shown once: not on the page again
    # Disabled by the admin on the page: the token stops at once.
    admin.click("#users tr[data-id=frank] .toggle")
    wait_js(admin, "document.querySelector('#users tr[data-id=frank]').cells[5].textContent === 'disabled'")
    answer = httpx.get(f"{manager}/api/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert answer.status_code == 401
