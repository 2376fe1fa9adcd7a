"""The operator's bench in the Node-RED control dashboard (issue 11), on the stack as `labdcs up --dummy`
starts it: one flow in headless Chromium at 1366x900, logged in as the ``operator`` login whose
password file `labdcs up` names. HV on without its LV is refused with the rule and its reason; LV on;
HV to 100 V after its confirmations, ramping on the page; a real trip in the simulated world raises
an alarm that the operator acknowledges; the bench is left as found (HV off, LV off, no trip).

The page is driven through the same DOM the dashboard tests use (tests/nodered/test_dashboard*.py):
``data-channel``, ``data-switch``, ``data-field``/``data-value``, ``data-test`` and the alarm list's
``data-alarm``/``data-acknowledge``.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.acceptance.conftest import ARTIFACTS, UserStack
from tests.support import ScpiLink, wait_until

RULE = "hv-needs-lv"  # dummy/interlock.yaml: in force while lv1/ch1 is off, on hv1/ch1 and hv2/ch1
HV, LV = "hv1/ch1", "lv1/ch1"
LV_VOLTAGE = 1.5  # V: lv1/ch1 "Analog 1.5 V", its nominal_voltage in dummy/devices/lv1.yaml
TARGET = 100.0  # V, the README walkthrough's bias; 10 s of ramp at the dummy's 10 V/s
BREAKDOWN_OHM = 1e6  # a sensor breaking down: 100 V into 1 MOhm hits the 100 uA compliance, trip at 50 uA
SLOW = 60_000  # ms: ramps, trips and acks on a loaded 2-core machine
VIEWPORT = {"width": 1366, "height": 900}


# --- what `labdcs up` printed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Printed:
    """The operator's row of `labdcs up`'s login table, and the simulated HV supply's address."""

    dashboard: str
    login: str
    password_file: str
    mosquitto_sub: str
    hv_simulator: int


def printed(stack: UserStack) -> Printed:
    """Read from `labdcs up`'s output, as an operator reads it; a drift between it and the
    product (another login, no password file, no simulator row) fails here."""
    text = stack.up_output()
    row = re.search(r"(http://\S+/dashboard/control)\s.*?\s(\S+)\s+cat (\S+)\s*$", text, re.M)
    assert row, f"`labdcs up` printed no control dashboard row with a password file:\n{text}"
    raw = re.search(r"^The raw contract: (mosquitto_sub .*)$", text, re.M)
    assert raw, f"`labdcs up` printed no mosquitto_sub command:\n{text}"
    sim = re.search(r"^sim-hv1\s+\d+\s+tcp://127\.0\.0\.1:(\d+)", text, re.M)
    assert sim, f"sim-hv1 is not in the table `labdcs up` printed:\n{text}"
    return Printed(row.group(1), row.group(2), row.group(3), raw.group(1), int(sim.group(1)))


def rule_reason(stack: UserStack, raw_contract: str) -> str:
    """Why the rule is in force, from its own retained state, read with the mosquitto_sub command
    `labdcs up` printed (the cli login), limited to that one topic and one message."""
    command = raw_contract.replace(
        "-v -t 'labdcs/v1/#'", f"-C 1 -W 10 -t {shlex.quote(f'labdcs/v1/interlock/{RULE}/state')}"
    )
    assert command != raw_contract, f"unexpected form of the printed command: {raw_contract}"
    done = stack.shell(command)
    assert done.returncode == 0, f"`{command}`: {done.stdout}{done.stderr}"
    state = json.loads(done.stdout)
    assert state["active"] and state["reason"], f"{RULE} is not in force: {state}"
    return str(state["reason"])


# --- the page ------------------------------------------------------------------------------------


def text(locator: Any) -> str:
    """The element's text with its white space (line breaks, narrow no-break spaces) as single spaces."""
    return " ".join(str(locator.inner_text()).split())


def channel(page: Any, name: str) -> Any:
    return page.locator(f'[data-channel="{name}"]')


def status(page: Any, name: str, expected: str) -> None:
    """Wait until the channel's status chip says ``expected``."""
    page.locator(
        f'[data-channel="{name}"] [data-test="status"]', has_text=re.compile(rf"^\s*{expected}\s*$")
    ).wait_for(timeout=SLOW)


def value(page: Any, name: str, field: str) -> float | None:
    found = channel(page, name).locator(f'[data-field="{field}"]').get_attribute("data-value")
    return None if found in (None, "") else float(found)


def wait_reading(page: Any, name: str, field: str, target: float, tolerance: float) -> None:
    """Wait, in the page, until the channel's reading is within ``tolerance`` of ``target``."""
    page.wait_for_function(
        """([name, field, target, tolerance]) => {
            const e = document.querySelector(`[data-channel="${name}"] [data-field="${field}"]`)
            const value = e ? e.dataset.value : undefined
            return value !== undefined && value !== '' && Math.abs(Number(value) - target) <= tolerance
        }""",
        arg=[name, field, target, tolerance],
        timeout=SLOW,
    )


def outcome(page: Any, name: str, verb: str, result: str) -> str:
    """The channel's last-command line once it shows ``verb`` with ``result``: its text."""
    line = channel(page, name).locator(f'[data-test="last-command"][data-result="{result}"]', has_text=verb)
    line.wait_for(timeout=SLOW)
    return text(line)


def confirm(page: Any, title: str) -> str:
    """Confirm the dialog the page opened (it must have ``title``): the dialog's text."""
    dialog = page.locator('[data-test="confirm-dialog"]')
    dialog.wait_for()
    shown = text(dialog)
    assert title in shown, f"expected a confirmation {title!r}, the page asks: {shown}"
    page.locator('[data-test="confirm-ok"]').click()
    dialog.wait_for(state="hidden")
    return shown


def set_value(page: Any, name: str, verb: str, number: float) -> None:
    form = channel(page, name).locator(f'form[data-verb="{verb}"]')
    form.locator("input").fill(f"{number:g}")
    form.locator("button").click()


def switch(page: Any, name: str) -> Any:
    return page.locator(f'[data-switch="{name}"] input')


def covered(locator: Any) -> list[str]:
    """What is drawn over the element's middle and corners (2 px inside): empty when it is
    in the window and nothing covers it, so the operator sees all of it and can click it."""
    found: list[str] = locator.evaluate(
        """(e) => {
            const r = e.getBoundingClientRect()
            const points = [[(r.left + r.right) / 2, (r.top + r.bottom) / 2], [r.left + 2, r.top + 2],
                            [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2], [r.right - 2, r.bottom - 2]]
            return points.flatMap(([x, y]) => {
                const top = document.elementFromPoint(x, y)
                if (top === null) return [`(${x}, ${y}) is outside the window`]
                return e.contains(top) ? [] : [`(${x}, ${y}) under ${top.className || top.tagName}`]
            })
        }"""
    )
    return found


def shoot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"acceptance-bench-{step}.png"), full_page=True)


def sample(page: Any) -> dict[str, Any]:
    """What the HV channel shows now: readback, status chip, ramping chip."""
    found: dict[str, Any] = page.evaluate(
        """(name) => {
            const card = document.querySelector(`[data-channel="${name}"]`)
            const v = card.querySelector('[data-field="v_mon"]')
            return {
                v: v && v.dataset.value ? Number(v.dataset.value) : null,
                status: card.querySelector('[data-test="status"]').innerText.trim(),
                ramping: card.querySelector('[data-test="ramping"]') !== null,
            }
        }""",
        HV,
    )
    return found


# --- the flow ------------------------------------------------------------------------------------


@pytest.fixture
def operator_page(chromium: Any, user_stack: UserStack) -> Iterator[tuple[Any, Printed]]:
    """The control dashboard at 1366x900, logged in with the login and password file `labdcs up` named."""
    shown = printed(user_stack)
    assert shown.dashboard.startswith(user_stack.nodered_url), shown
    stranger = chromium.new_context()
    try:  # the page is not open to anyone on the bench network
        refused = stranger.request.get(shown.dashboard)
        assert refused.status == 401, f"the dashboard without a login answered {refused.status}"
    finally:
        stranger.close()
    assert shown.login == "operator", f"the dashboard's login is {shown.login!r}, the docs say operator"
    done = user_stack.shell(f"cat {shown.password_file}")  # as the README says to read it
    assert done.returncode == 0 and done.stdout.strip(), f"cat {shown.password_file}: {done.stderr}"
    context = chromium.new_context(
        http_credentials={"username": shown.login, "password": done.stdout.strip()}, viewport=VIEWPORT
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(shown.dashboard)
    assert response is not None and response.ok, f"the dashboard answered {response and response.status}"
    page.locator(f'[data-device="hv1"][data-online="true"] [data-channel="{HV}"] [data-switch]').wait_for(
        timeout=SLOW
    )
    try:
        yield page, shown
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.mark.timeout(360)  # may start the session's stack (up to 180 s), then about a minute of flow
def test_operators_bench_lv_hv_ramp_interlock_and_alarm(
    user_stack: UserStack, operator_page: tuple[Any, Printed]
) -> None:
    page, shown = operator_page
    started = time.monotonic()
    hv_sim = ScpiLink(shown.hv_simulator)
    load = hv_sim.query("SIM:LOAD?")
    status(page, HV, "inhibited")  # the README's starting point: HV off, its LV off, the rule in force
    status(page, LV, "off")
    setpoint, lv_setpoint = value(page, HV, "v_target"), value(page, LV, "v_target")
    assert setpoint is not None and lv_setpoint is not None
    restored = False
    try:
        # 1. HV on while its LV is off: the operator confirms, the device refuses, the page says why.
        reason = rule_reason(user_stack, shown.mosquitto_sub)
        inhibit = channel(page, HV).locator(f'[data-test="inhibit"][data-rule="{RULE}"]')
        assert text(inhibit) == f"inhibited by {RULE}: {reason}"
        switch(page, HV).click()
        confirm(page, f"Switch {HV} on?")
        refused = outcome(page, HV, "on", "rejected")
        assert f"interlock rule '{RULE}' in force ({reason})" in refused, refused
        assert not switch(page, HV).is_checked(), "the switch shows the output on after the refusal"
        # Trying again (with the keyboard) asks again: the refused click left the switch off, not
        # half-on; the operator cancels.
        switch(page, HV).press("Space")
        page.locator('[data-test="confirm-dialog"]').wait_for(timeout=5_000)
        page.locator('[data-test="confirm-cancel"]').click()
        page.locator('[data-test="confirm-dialog"]').wait_for(state="hidden")
        assert not switch(page, HV).is_checked(), "the switch shows the output on after a cancel"
        log_row = page.locator('[data-test="command-log"] tr[data-result="rejected"]', has_text=RULE)
        assert log_row.count() >= 1 and HV in text(log_row.first)
        status(page, HV, "inhibited")
        shoot(page, "1-hv-refused")

        # 2. LV at its working point and on: accepted, the readback rises to the setpoint on the
        #    page, and the rule releases the HV.
        set_value(page, LV, "set_voltage", LV_VOLTAGE)
        outcome(page, LV, f"set_voltage {LV_VOLTAGE:g}", "accepted")
        wait_reading(page, LV, "v_target", LV_VOLTAGE, 1e-6)
        switch(page, LV).click()
        outcome(page, LV, "on", "accepted")
        wait_reading(page, LV, "v_mon", LV_VOLTAGE, 0.02 * LV_VOLTAGE)
        status(page, LV, "on")
        assert switch(page, LV).is_checked()
        inhibit.wait_for(state="detached", timeout=SLOW)
        status(page, HV, "off")
        shoot(page, "2-lv-on")

        # 3. HV to 100 V: the raise and the switch-on are confirmed first, then the readback ramps.
        if setpoint >= TARGET:  # left high by another test: lower it (no confirmation for a lowering)
            set_value(page, HV, "set_voltage", 0)
            outcome(page, HV, "set_voltage 0", "accepted")
        set_value(page, HV, "set_voltage", TARGET)
        asked = confirm(page, f"Raise {HV} to {TARGET:g} V?")
        assert f"is off; it will ramp to {TARGET:g} V when switched on" in asked, asked
        outcome(page, HV, f"set_voltage {TARGET:g}", "accepted")
        wait_reading(page, HV, "v_target", TARGET, 1e-6)
        switch(page, HV).click()
        asked = confirm(page, f"Switch {HV} on?")
        assert f"ramps from 0 V to its target {TARGET:g} V at 10 V/s" in asked, asked
        samples: list[dict[str, Any]] = []
        mid_ramp: list[dict[str, Any]] = []

        def at_target() -> bool:
            now = sample(page)
            samples.append(now)
            if now["ramping"] and now["v"] and 0.4 * TARGET < now["v"] < 0.7 * TARGET and not mid_ramp:
                mid_ramp.append(now)
                shoot(page, "3-hv-ramping")
            return now["v"] is not None and abs(now["v"] - TARGET) <= 0.01 * TARGET and now["status"] == "on"

        wait_until(at_target, SLOW / 1000, f"{HV} to reach {TARGET:g} V on the page", interval=0.1)
        outcome(page, HV, "on", "accepted")
        between = sorted(
            {s["v"] for s in samples if s["v"] is not None and 0.05 * TARGET < s["v"] < 0.95 * TARGET}
        )
        assert len(between) >= 3, f"the ramp was not visible, the page showed: {samples}"
        print(f"\nramp to {TARGET:g} V: {len(between)} readbacks between 5 and 95 % shown: {between}")
        readbacks = [s["v"] for s in samples if s["v"] is not None]
        assert all(b >= a - 1.0 for a, b in itertools.pairwise(readbacks)), readbacks
        assert any(s["ramping"] and s["status"] == "ramping" for s in samples), samples
        assert not sample(page)["ramping"] and switch(page, HV).is_checked()
        shoot(page, "3-hv-at-target")

        # 4. The sensor breaks down (the simulated world): the HV trips, the alarm is raised, the
        #    operator acknowledges it on the page, and the CLI agrees.
        hv_sim.write(f"SIM:LOAD {BREAKDOWN_OHM:g}")
        alarm = page.locator('[data-alarm="hv1/ch1-trip"]')
        alarm.wait_for(timeout=SLOW)
        assert alarm.get_attribute("data-severity") == "error"
        assert "over-current" in text(alarm) and "output off until clear_trip" in text(alarm), text(alarm)
        status(page, HV, "tripped")
        assert "over-current" in text(channel(page, HV).locator('[data-test="trip"]'))
        assert not switch(page, HV).is_checked()
        shoot(page, "4-alarm")
        # The operator goes to the alarm list at the top of the page, where the alarm's notification
        # pops up too: the button must be reachable there, not under the notification.
        page.evaluate("window.scrollTo(0, 0)")
        button = alarm.locator("[data-acknowledge]")
        hidden = covered(button)
        assert not hidden, f"the Acknowledge button is covered at the top of the page: {hidden}"
        button.click()
        alarm.locator('[data-test="acknowledged"]').wait_for(timeout=SLOW)
        assert "acknowledged by ui:operator" in text(alarm)
        assert alarm.locator("[data-acknowledge]").count() == 0
        page.locator(
            '[data-test="command-log"] tr[data-result="accepted"]', has_text="acknowledge"
        ).wait_for()
        listed = user_stack.shell(".venv/bin/labdcs alarm list")
        assert listed.returncode == 0, listed.stderr
        lines = [" ".join(line.split()) for line in listed.stdout.splitlines() if "hv1/ch1-trip" in line]
        assert len(lines) == 1 and lines[0].startswith("ACTIVE hv1/ch1-trip [error]"), listed.stdout
        assert lines[0].endswith("acknowledged by ui:operator"), listed.stdout
        shoot(page, "4-alarm-acknowledged")

        # 5. As found: the load back, the trip cleared from the page (the alarm clears with it),
        #    the HV setpoint back, LV off (the rule in force again).
        hv_sim.write(f"SIM:LOAD {load}")
        page.locator(f'[data-action="{HV}/clear_trip"]').click()
        confirm(page, f"Clear the trip of {HV}?")
        outcome(page, HV, "clear_trip", "accepted")
        alarm.wait_for(state="detached", timeout=SLOW)
        if setpoint != TARGET:
            set_value(page, HV, "set_voltage", setpoint)
            outcome(page, HV, f"set_voltage {setpoint:g}", "accepted")
        switch(page, LV).click()
        outcome(page, LV, "off", "accepted")
        status(page, LV, "off")
        if lv_setpoint != LV_VOLTAGE:
            set_value(page, LV, "set_voltage", lv_setpoint)
            outcome(page, LV, f"set_voltage {lv_setpoint:g}", "accepted")
        status(page, HV, "inhibited")
        inhibit.wait_for(timeout=SLOW)
        assert not switch(page, HV).is_checked() and not switch(page, LV).is_checked()
        listed = user_stack.shell(".venv/bin/labdcs alarm list")
        assert "hv1/ch1-trip" not in listed.stdout, listed.stdout
        shoot(page, "5-as-found")
        restored = True
    finally:
        hv_sim.write(f"SIM:LOAD {load}")
        if not restored:  # the flow stopped half-way: put the bench back as the README expects it
            for command in (
                "hv1 ch1 clear_trip",
                "hv1 ch1 off",
                f"hv1 ch1 set_voltage {setpoint:g}",
                "lv1 ch1 off",
                f"lv1 ch1 set_voltage {lv_setpoint:g}",
            ):
                done = user_stack.shell(f".venv/bin/labdcs cmd {command}")
                print(f"clean-up: labdcs cmd {command}: {done.stdout.strip()}{done.stderr.strip()}")
    print(f"\noperator's bench flow: {time.monotonic() - started:.1f} s")
