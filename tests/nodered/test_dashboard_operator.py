"""What the control dashboard tells an operator, in a real browser against the dummy stack: why a
channel is inhibited (the rule and its reason), each rule in words, a protocol loaded from a text
box, readings in sensible units, Clear trip only on a tripped channel, and a navigation drawer
that never covers the page at desktop widths."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from labdcs.contract import encode, now_ms, topics
from labdcs.contract.models import (
    ChannelKind,
    ChannelMeta,
    DeviceKind,
    DeviceMeta,
    Online,
    PowerChannelState,
    PowerStatus,
    QuantityMeta,
    RuleAction,
    RuleState,
    RuleStatus,
    RuleTarget,
    SensorChannelState,
    SensorStatus,
)
from labdcs.ingest.service import _QUANTITIES as INGEST_QUANTITIES
from labdcs.nodered.runtime import DASHBOARD_PATH
from tests.nodered.conftest import ARTIFACTS, NodeRedStack
from tests.nodered.test_dashboard import SLOW, channel, commands, last_command
from tests.support import PROBE_USER, Probe, ScpiLink, wait_until

RULE = "hv-needs-lv"  # dummy/interlock.yaml: in force while lv1/ch1 is off, on hv1/ch1 and hv2/ch1


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"nodered-dashboard-{name}.png"), full_page=True)


def text(locator: Any) -> str:
    """The element's text with its white space (line breaks, narrow no-break spaces) as single spaces."""
    return " ".join(str(locator.inner_text()).split())


def ack(probe: Probe, device: str, channel_id: str, verb: str, **body: Any) -> dict[str, Any]:
    """Send a contract command as the test harness; its ack (the probe subscribes to acks)."""
    command_id = f"t-{time.monotonic_ns()}"
    body = {"id": command_id, "user": "test", "ts": now_ms(), **body}
    probe.publish(topics.command(device, channel_id, verb, PROBE_USER), json.dumps(body))
    found: dict[str, Any] = probe.wait_for(
        topics.ack(device), lambda a: a.get("id") == command_id, timeout=10
    ).json()
    return found


@pytest.fixture
def watch(nodered_stack: NodeRedStack) -> Iterator[Probe]:
    """The harness's eyes: acks, channel and rule states, commands the dashboard sends."""
    probe = nodered_stack.probe("labdcs/v1/+/ack", "labdcs/v1/+/+/state", topics.ALL_COMMANDS)
    yield probe
    probe.stop()


def rule_in_force(watch: Probe) -> dict[str, Any]:
    """Bring the dummy rule hv-needs-lv into force (front-end LV off): its retained state.

    An LV `off` waits until the bias it feeds is down (the rule's ordering); the bias is sent down
    fast so that a bias left high by another test does not take minutes."""
    for device in ("hv1", "hv2"):
        assert ack(watch, device, "ch1", "set_ramp_rate", value=50.0)["result"] == "accepted"
        assert ack(watch, device, "ch1", "off")["result"] == "accepted"
    assert ack(watch, "lv1", "ch1", "off")["result"] == "accepted"
    message = watch.wait_for(topics.state("interlock", RULE), lambda s: s["active"], timeout=SLOW / 1000)
    found: dict[str, Any] = message.json()
    return found


def test_inhibited_channel_names_the_rule_and_the_reason_from_its_state(dashboard: Any, watch: Probe) -> None:
    rule = rule_in_force(watch)
    watch.wait_for(topics.state("hv2", "ch1"), lambda s: s["status"] == "inhibited", timeout=SLOW / 1000)
    line = channel(dashboard, "hv2/ch1").locator(f'[data-test="inhibit"][data-rule="{RULE}"]')
    line.wait_for(timeout=SLOW)
    assert rule["reason"], "a rule in force says why"
    # The reason as the rule's own retained state gives it now (not the device's copy of it).
    reasons = {m.json().get("reason") for m in watch.on(topics.state("interlock", RULE)) if m.payload}
    assert text(line) in {f"inhibited by {RULE}: {reason}" for reason in reasons if reason}
    assert text(channel(dashboard, "hv2/ch1").locator('[data-test="status"]')) == "inhibited"
    screenshot(dashboard, "inhibited")


def test_inhibit_reason_is_the_rules_present_one_and_the_watchdog_is_named(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    """A device's inhibit text keeps the reason it saw when the rule came into force; the page shows
    each rule's present reason from the rule's own state, and says when the watchdog inhibits."""
    boot, now = "b-ui", int(time.time() * 1000)
    rules = {
        "ui-frost": RuleState(
            ts=now, seq=1, boot=boot, status=RuleStatus.LATCHED, condition=False, active=True, latch=True,
            since=now, reason="box at -3 °C (the reason now)", detail="box at 20 °C",
            targets=[RuleTarget(device="ui-psu", channel="out", action=RuleAction.RAMP_DOWN)],
        ),
    }  # fmt: skip
    meta = DeviceMeta(
        device="ui-psu", kind=DeviceKind.LV, model="test", driver="none", software="0", boot=boot,
        started=now, publish_period=1.0,
        channels=[ChannelMeta(id="out", kind=ChannelKind.POWER, quantities=[], commands=[])],
    )  # fmt: skip
    inhibit = "interlock rule 'ui-frost' in force (box at 1 °C, an old reason); watchdog: silent for 9 s"
    state = PowerChannelState(
        ts=now, seq=1, boot=boot, status=PowerStatus.INHIBITED, output=False, ramping=False, v_set=0.0,
        v_target=0.0, i_limit=0.1, ramp_rate=1.0, inhibit=inhibit,
    )  # fmt: skip
    retained = {
        topics.meta("ui-psu"): encode(meta),
        topics.online("ui-psu"): encode(Online(online=True, boot=boot, ts=now)),
        topics.state("ui-psu", "out"): encode(state),
        **{topics.state("ui-interlock", name): encode(rule) for name, rule in rules.items()},
    }
    publisher = nodered_stack.probe()
    try:
        for topic, payload in retained.items():
            publisher.publish(topic, payload, retain=True)
        lines = channel(dashboard, "ui-psu/out").locator('[data-test="inhibit"]')
        lines.nth(1).wait_for()
        expected = [
            "inhibited by ui-frost: box at -3 °C (the reason now) "
            "(latched: reset the rule once the cause is gone)",
            "inhibited by the watchdog: silent for 9 s",
        ]
        # The device's state may reach the page before the rule's ("the rule's state has not arrived").
        shown: list[str] = []

        def settled() -> bool:
            shown[:] = [text(lines.nth(i)) for i in range(lines.count())]
            return shown == expected

        with contextlib.suppress(AssertionError):
            wait_until(settled, 15, "the rule's present reason on the page", interval=0.2)
        assert shown == expected
    finally:
        for topic in retained:
            publisher.publish(topic, b"", retain=True)
        publisher.stop()


def test_rules_say_in_words_whether_they_are_in_force_latched_and_why(dashboard: Any, watch: Probe) -> None:
    rule = rule_in_force(watch)
    card = channel(dashboard, f"interlock/{RULE}")
    card.locator('[data-test="rule"][data-active="true"]').wait_for(timeout=SLOW)
    assert text(card.locator('[data-test="status"]')) == "in force"
    force = text(card.locator('[data-test="rule-force"]'))
    assert force.startswith("In force since") and "releases by itself" in force  # latch: false
    assert text(card.locator('[data-test="rule-reason"]')) == f"reason: {rule['reason']}"
    assert "acts on hv1/ch1 (ramp down), hv2/ch1 (ramp down)" in text(card)
    # Reset releases a latched rule: offered on rules that latch, not on one that releases by itself.
    assert dashboard.locator(f'[data-action="interlock/{RULE}/reset"]').count() == 0
    assert dashboard.locator('[data-action="interlock/dew-point/reset"]').count() == 1
    # A rule not in force: says so, and what its condition is now (as one of its states said it).
    dew = channel(dashboard, "interlock/dew-point")
    assert text(dew.locator('[data-test="status"]')) == "not in force"
    force = text(dew.locator('[data-test="rule-force"]'))
    assert force == "Not in force (it latches when it comes into force)"
    detail = text(dew.locator('[data-test="rule-detail"]'))
    published = topics.state("interlock", "dew-point")
    wait_until(
        lambda: detail in {f"now: {m.json()['detail']}" for m in watch.on(published)},
        10,
        f"a state of dew-point with the detail the page shows ({detail!r})",
    )
    for shown in (text(card), text(dew)):
        assert "condition 0" not in shown and "active 1" not in shown and "condition 1" not in shown


def test_load_protocol_takes_a_text_sends_it_and_shows_the_ack(dashboard: Any, watch: Probe) -> None:
    station = channel(dashboard, "station1/ch1")
    form = station.locator('form[data-verb="load_protocol"]')
    button = form.locator("button")
    box = form.get_by_role("textbox")  # the text box (an auto-growing one has a hidden twin)
    # No bare button: a text box, and nothing to send while it is empty.
    assert station.locator('[data-action="station1/ch1/load_protocol"]').count() == 0
    assert box.count() == 1 and box.evaluate("(e) => e.tagName") == "TEXTAREA" and button.is_disabled()
    box.fill("   \n  ")
    assert button.is_disabled()

    # A protocol beyond the cell's limits: sent, refused by the station with its reason.
    box.fill("Protocol: ui-too-fast\nCharge at 50 A for 1 minute")
    button.click()
    refused = last_command(dashboard, "station1/ch1", "rejected")
    assert "load_protocol (protocol ui-too-fast)" in text(refused) and "50 A" in text(refused)

    protocol = "Protocol: ui-check\nCharge at 0.5C for 10 minutes\nRest for 5 minutes\n"
    box.fill(protocol)
    button.click()
    dashboard.locator('[data-test="command-log"] [data-result="accepted"]', has_text="ui-check").wait_for(
        timeout=SLOW
    )
    last = text(station.locator('[data-test="last-command"]'))
    assert "load_protocol (protocol ui-check): accepted" in last
    station.locator('[data-field="protocol"][data-value="ui-check v1"]').wait_for(timeout=SLOW)
    # Start now applies; pause, resume and stop do not (nothing runs).
    station.locator('[data-action="station1/ch1/start"]').wait_for()
    for verb in ("pause", "resume", "stop"):
        assert station.locator(f'[data-action="station1/ch1/{verb}"]').count() == 0
    screenshot(dashboard, "protocol")

    sent = [c for c in commands(watch, "station1") if c["topic"].endswith("/cmd/load_protocol/nodered")]
    assert [c["protocol"] for c in sent] == ["Protocol: ui-too-fast\nCharge at 50 A for 1 minute", protocol]
    assert all("value" not in c and c["user"] == "ui:operator" for c in sent)


def test_readings_have_sensible_units_and_precision(dashboard: Any, nodered_stack: NodeRedStack) -> None:
    """The ingester's statistics as it publishes them (its own quantity list): a fill of a few
    millionths of a percent is "< 0.01 %", not 0.0002049 %; sizes in kB; counts in full."""
    boot, now = "b-ui", int(time.time() * 1000)
    meta = DeviceMeta(
        device="ui-ingest", kind=DeviceKind.SERVICE, model="labdcs ingest", driver="ingest", software="0",
        boot=boot, started=now, publish_period=1.0,
        channels=[ChannelMeta(
            id="stats", kind=ChannelKind.SENSOR,
            quantities=[QuantityMeta(name=n, unit=u, description=d) for n, u, d in INGEST_QUANTITIES],
        )],
    )  # fmt: skip
    base = {name: 0.0 for name, _, _ in INGEST_QUANTITIES}

    def publish(publisher: Probe, seq: int, **values: float) -> None:
        state = SensorChannelState(
            ts=now + seq, seq=seq, boot=boot, status=SensorStatus.OK, values={**base, **values}
        )
        publisher.publish(topics.state("ui-ingest", "stats"), encode(state), retain=True)

    def shown(field: str, value: float) -> str:
        as_js = str(int(value)) if value.is_integer() else repr(value)  # the number as the page writes it
        cell = channel(dashboard, "ui-ingest/stats").locator(f'[data-field="{field}"][data-value="{as_js}"]')
        cell.wait_for()
        return text(cell.locator("b"))

    publisher = nodered_stack.probe()
    retained = [topics.meta("ui-ingest"), topics.online("ui-ingest"), topics.state("ui-ingest", "stats")]
    try:
        publisher.publish(retained[0], encode(meta), retain=True)
        publisher.publish(retained[1], encode(Online(online=True, boot=boot, ts=now)), retain=True)
        publish(publisher, 1, buffer_fill=0.0002049, buffer_bytes=2149.0, received=1234567.0, lag=0.25)
        assert shown("buffer_fill", 0.0002049) == "< 0.01 %"
        assert shown("buffer_bytes", 2149.0) == "2.149 kB"
        assert shown("received", 1234567.0) == "1 234 567"
        assert shown("lag", 0.25) == "0.25 s"
        card = text(channel(dashboard, "ui-ingest/stats"))
        assert "buffer fill < 0.01 %" in card and "0.0002049" not in card
        screenshot(dashboard, "units")
        publish(publisher, 2, buffer_fill=4.32187)
        assert shown("buffer_fill", 4.32187) == "4.32 %"
        publish(publisher, 3, buffer_fill=37.56789)
        assert shown("buffer_fill", 37.56789) == "37.6 %"
    finally:
        for topic in retained:
            publisher.publish(topic, b"", retain=True)
        publisher.stop()


def test_clear_trip_is_offered_only_on_a_tripped_channel(
    dashboard: Any, nodered_stack: NodeRedStack, watch: Probe
) -> None:
    """lv1/ch3 (trip level 1.8 A) on into 1 Ohm trips; only then a Clear trip button, which asks
    first and sends clear_trip; once cleared the button is gone again."""
    clear = dashboard.locator('[data-action="lv1/ch3/clear_trip"]')
    dashboard.locator('[data-channel="lv1/ch3"] [data-test="status"]').wait_for()
    assert dashboard.locator('[data-action$="/clear_trip"]').count() == 0, "no channel is tripped yet"
    simulator = ScpiLink(nodered_stack.simulator_port("lv1"))
    load = simulator.query("SIM:LOAD? (@3)")
    dialog = dashboard.locator('[data-test="confirm-dialog"]')
    try:
        for verb, value in (("set_current_limit", 2.0), ("set_voltage", 5.0)):
            assert ack(watch, "lv1", "ch3", verb, value=value)["result"] == "accepted"
        assert ack(watch, "lv1", "ch3", "on")["result"] == "accepted"
        watch.wait_for(topics.state("lv1", "ch3"), lambda s: s["v_mon"] and s["v_mon"] > 4.5, timeout=30)
        simulator.write("SIM:LOAD 1,(@3)")  # 5 V into 1 Ohm: the 2 A limit, above the 1.8 A trip level
        clear.wait_for(timeout=SLOW)
        assert "over-current" in text(channel(dashboard, "lv1/ch3").locator('[data-test="trip"]'))
        assert text(channel(dashboard, "lv1/ch3").locator('[data-test="status"]')) == "tripped"
        assert dashboard.locator('[data-action$="/clear_trip"]').count() == 1, "only the tripped channel"
        screenshot(dashboard, "tripped")

        simulator.write(f"SIM:LOAD {load},(@3)")
        clear.click()
        dialog.wait_for()
        assert "stays off" in dialog.inner_text()
        dashboard.locator('[data-test="confirm-cancel"]').click()
        dialog.wait_for(state="hidden")
        clear.click()
        dashboard.locator('[data-test="confirm-ok"]').click()
        assert "clear_trip" in last_command(dashboard, "lv1/ch3", "accepted").inner_text()
        clear.wait_for(state="detached", timeout=SLOW)
        assert text(channel(dashboard, "lv1/ch3").locator('[data-test="status"]')) == "off"
        sent = [c["topic"] for c in commands(watch, "lv1") if c["id"].startswith("ui-")]
        assert sent == ["labdcs/v1/lv1/ch3/cmd/clear_trip/nodered"], "the cancelled request was not sent"
        # The device audits the broker login the dashboard sends under, next to the operator it claims.
        (command_id,) = [c["id"] for c in commands(watch, "lv1") if c["id"].startswith("ui-")]
        (answer,) = [m.json() for m in watch.on(topics.ack("lv1")) if m.json().get("id") == command_id]
        assert (answer["principal"], answer["user"]) == ("nodered", "ui:operator")
    finally:
        simulator.write(f"SIM:LOAD {load},(@3)")
        state = watch.on(topics.state("lv1", "ch3"))[-1].json()
        if state["status"] == "tripped":
            ack(watch, "lv1", "ch3", "clear_trip")
        ack(watch, "lv1", "ch3", "off")


@pytest.mark.parametrize("width", [900, 1280, 1400, 1920])
def test_navigation_drawer_never_covers_the_content(
    chromium: Any, nodered_stack: NodeRedStack, width: int
) -> None:
    """The navigation is a rail beside the page (visible without a click, never over it); expanded,
    it pushes the page aside, also below 960 px, where Vuetify's drawer would otherwise float over
    the page. Nothing is cut on the right either."""
    context = chromium.new_context(
        http_credentials={
            "username": nodered_stack.logins["operator"].user,
            "password": nodered_stack.password("operator"),
        },
        viewport={"width": width, "height": 900},
    )
    try:
        page = context.new_page()
        page.goto(f"{nodered_stack.url}{DASHBOARD_PATH}")
        page.locator("[data-device]").first.wait_for(timeout=SLOW)
        drawer = page.locator('[data-el="nav-drawer"]')

        def layout() -> dict[str, Any]:
            found: dict[str, Any] = page.evaluate(
                """() => {
                    const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.right] }
                    return {
                        drawer: box(document.querySelector('[data-el="nav-drawer"]')),
                        content: box(document.querySelector('.labdcs')),
                        cards: [...document.querySelectorAll('[data-device]')].map(box),
                        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth
                    }
                }"""
            )
            return found

        def settled(condition: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
            """The layout once the drawer's transition is over (unchanged between two looks)."""
            before: list[dict[str, Any]] = [layout()]

            def stable() -> dict[str, Any] | None:
                now = layout()
                same, before[0] = now == before[0], now
                return now if same and condition(now) else None

            found: dict[str, Any] = wait_until(stable, 10, what, interval=0.2)
            return found

        def width_of(state: dict[str, Any]) -> float:
            left, right = state["drawer"]
            return float(right - left)

        rail = settled(lambda _: True, "the page to settle")
        if width == 1400:
            screenshot(page, "1400")
        page.locator(".v-app-bar-nav-icon").click()
        expanded = settled(lambda s: s["drawer"][0] >= 0 and width_of(s) > 200, "the drawer to open")
        if width == 1400:
            screenshot(page, "1400-expanded")
        for state in (rail, expanded):
            drawer_right = max(state["drawer"][1], 0)
            assert state["content"][0] >= drawer_right, f"the drawer covers the page at {width} px: {state}"
            assert all(card[0] >= drawer_right and card[1] <= width for card in state["cards"]), state
            assert state["overflow"] <= 0, f"the page is wider than the window at {width} px: {state}"
        assert rail["drawer"][0] >= 0 and width_of(rail) > 0, (
            f"at {width} px the navigation is beside the page without a click: {rail}"
        )
        assert drawer.is_visible()
    finally:
        context.close()
