"""The operators' control dashboard in a real browser: it lists every dummy device from the contract,
ramps HV after a confirmation, refuses out-of-range values with the reason, shows acks, alarms and
offline devices."""

from __future__ import annotations

import json
import re
from typing import Any

from labdcs.contract import now_ms, topics
from tests.nodered.conftest import ARTIFACTS, NodeRedStack
from tests.support import PROBE_USER, Probe, ScpiLink, wait_until

DUMMY_CHANNELS = {
    "can1": ["ch1", "ch2"],
    "env1": ["box"],
    "hv1": ["ch1"],
    "hv2": ["ch1"],
    "lv1": ["ch1", "ch2", "ch3", "ch4"],
    "station1": ["ch1"],
}
#: labdcs services of the dummy stack, listed apart: the interlock, one channel per rule.
DUMMY_SERVICES = {"interlock": ["dew-point", "box-temperature", "hv-needs-lv"]}
SLOW = 60_000  # ms: ramps and fault detection on a loaded machine


def channel(page: Any, name: str) -> Any:
    return page.locator(f'[data-channel="{name}"]')


def reading(page: Any, name: str, field: str) -> float:
    return float(channel(page, name).locator(f'[data-field="{field}"]').get_attribute("data-value"))


def wait_reading(page: Any, name: str, field: str, target: float, tolerance: float) -> None:
    """Wait, in the page, until the channel's reading is within ``tolerance`` of ``target``."""
    page.wait_for_function(
        """([name, field, target, tolerance]) => {
            const e = document.querySelector(`[data-channel="${name}"] [data-field="${field}"]`)
            const value = e ? e.dataset.value : undefined
            return value !== undefined && Math.abs(Number(value) - target) <= tolerance
        }""",
        arg=[name, field, target, tolerance],
        timeout=SLOW,
    )


def request(page: Any, name: str, verb: str, text: str) -> None:
    form = channel(page, name).locator(f'form[data-verb="{verb}"]')
    form.locator("input").fill(text)
    form.locator("button").click()


def last_command(page: Any, name: str, result: str) -> Any:
    """The channel's last-command line once it shows ``result``."""
    line = channel(page, name).locator(f'[data-test="last-command"][data-result="{result}"]')
    line.wait_for(timeout=SLOW)
    return line


def commands(probe: Probe, device: str) -> list[dict[str, Any]]:
    sent = probe.on(topics.command(device, "+", "+", "+"))
    return [{"topic": m.topic, **m.json()} for m in sent if m.payload]


def test_every_dummy_device_is_listed_with_its_channels_units_and_limits(dashboard: Any) -> None:
    everything = {**DUMMY_CHANNELS, **DUMMY_SERVICES}
    dashboard.wait_for_function(
        "(n) => document.querySelectorAll('[data-device][data-online=true]').length === n",
        arg=len(everything),
        timeout=SLOW,
    )
    assert dashboard.locator("[data-device]").count() == len(everything)
    for device, channels in everything.items():
        card = dashboard.locator(f'[data-device="{device}"]')
        shown = card.locator("[data-channel]").evaluate_all("(es) => es.map((e) => e.dataset.channel)")
        assert shown == [f"{device}/{ch}" for ch in channels]
    summary = dashboard.locator('[data-test="summary"]').inner_text()
    assert f"{len(DUMMY_CHANNELS)}/{len(DUMMY_CHANNELS)} devices online" in summary
    assert f"{len(DUMMY_SERVICES)}/{len(DUMMY_SERVICES)} services online" in summary
    # Units and limits come from each device's meta.
    box = channel(dashboard, "env1/box").inner_text()
    assert "temperature" in box and "°C" in box and "%" in box
    assert (
        "0 V … 500 V" in channel(dashboard, "hv1/ch1").locator('form[data-verb="set_voltage"]').inner_text()
    )
    assert (
        "-1 kV … 0 V" in channel(dashboard, "hv2/ch1").locator('form[data-verb="set_voltage"]').inner_text()
    )
    assert "0 A … 100 µA" in channel(dashboard, "hv1/ch1").inner_text()
    assert dashboard.locator('[data-test="no-alarms"]').is_visible()


def test_hv_target_asks_for_confirmation_and_the_readback_ramps_to_it(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    watch = nodered_stack.probe(topics.commands_of("hv1"))
    try:
        # The dummy interlock allows HV only with the front-end LV on (rule hv-needs-lv).
        lv_on = {"id": "test-lv-on", "user": "test", "ts": now_ms()}
        watch.publish(topics.command("lv1", "ch1", "on", PROBE_USER), json.dumps(lv_on))
        channel(dashboard, "lv1/ch1").locator('[data-test="status"]', has_text="on").wait_for(timeout=SLOW)
        target = min(reading(dashboard, "hv1/ch1", "v_target") + 30.0, 450.0)
        dialog = dashboard.locator('[data-test="confirm-dialog"]')

        # Cancelling sends nothing ...
        request(dashboard, "hv1/ch1", "set_voltage", f"{target:g}")
        dialog.wait_for()
        assert f"Raise hv1/ch1 to {target:g} V?" in dialog.inner_text()
        dashboard.locator('[data-test="confirm-cancel"]').click()
        dialog.wait_for(state="hidden")
        # ... confirming sends the command, and its ack is shown.
        request(dashboard, "hv1/ch1", "set_voltage", f"{target:g}")
        dashboard.locator('[data-test="confirm-ok"]').click()
        assert "set_voltage" in last_command(dashboard, "hv1/ch1", "accepted").inner_text()

        if not dashboard.locator('[data-switch="hv1/ch1"] input').is_checked():
            dashboard.locator('[data-switch="hv1/ch1"] input').click()
            dialog.wait_for()
            assert "Switch hv1/ch1 on?" in dialog.inner_text()
            assert f"to its target {target:g} V" in dialog.inner_text()
            dashboard.locator('[data-test="confirm-ok"]').click()
            switched = lambda: any(c["topic"].endswith("/cmd/on/nodered") for c in commands(watch, "hv1"))  # noqa: E731
            wait_until(switched, 10, "on")
        wait_reading(dashboard, "hv1/ch1", "v_mon", target, 0.01 * target)
        wait_reading(dashboard, "hv1/ch1", "v_target", target, 1e-6)
        channel(dashboard, "hv1/ch1").locator('[data-test="status"]', has_text="on").wait_for()
        assert dashboard.locator('[data-switch="hv1/ch1"] input').is_checked()

        ARTIFACTS.mkdir(exist_ok=True)
        dashboard.screenshot(path=str(ARTIFACTS / "nodered-dashboard.png"), full_page=True)

        sent = commands(watch, "hv1")
        # The cancelled request never left the browser: the first command is the confirmed one.
        assert sent[0]["topic"] == "labdcs/v1/hv1/ch1/cmd/set_voltage/nodered" and sent[0]["value"] == target
        for command in sent:
            assert re.fullmatch(r"ui-[a-z0-9]+-[a-z0-9]+", command["id"]) and command["user"] == "ui:operator"
            assert isinstance(command["ts"], int)
        log = dashboard.locator('[data-test="command-log"]')
        assert log.locator(f'[data-command="{sent[0]["id"]}"][data-result="accepted"]').count() == 1
    finally:
        watch.stop()


def test_out_of_range_value_is_refused_with_the_reason_and_never_sent(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    watch = nodered_stack.probe(topics.commands_of("hv1"))
    try:
        form = channel(dashboard, "hv1/ch1").locator('form[data-verb="set_voltage"]')
        form.locator("input").fill("900")
        assert "above the limit 500 V" in form.inner_text()  # flagged as it is typed
        form.locator("button").click()
        line = last_command(dashboard, "hv1/ch1", "refused")
        assert "value 900 V is above the channel's limit 500 V" in line.inner_text()
        assert not dashboard.locator('[data-test="confirm-dialog"]').is_visible(), "no confirmation for it"
        # A valid command afterwards is the first one on the broker: the refused one was not sent.
        request(dashboard, "hv1/ch1", "set_ramp_rate", "10")
        last_command(dashboard, "hv1/ch1", "accepted")
        sent = commands(watch, "hv1")
        assert [c["topic"] for c in sent] == ["labdcs/v1/hv1/ch1/cmd/set_ramp_rate/nodered"]
    finally:
        watch.stop()


def test_device_rejection_and_alarm_are_shown_and_notified(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    """An instrument that stops answering: alarm in the list and to the webhook, commands rejected
    by the device with its reason; all clears when it answers again."""
    simulator = ScpiLink(nodered_stack.simulator_port("hv2"))
    simulator.write("SIM:MUTE ON", confirm=False)
    try:
        alarm = dashboard.locator('[data-alarm^="hv2/"]')
        alarm.wait_for(timeout=SLOW)
        assert "instrument not answering" in alarm.inner_text()
        assert alarm.get_attribute("data-severity") == "error"
        # The operator acknowledges it from the list: a contract command, answered by the device.
        alarm.locator("[data-acknowledge]").click()
        alarm.locator('[data-test="acknowledged"]').wait_for(timeout=SLOW)
        assert "acknowledged by ui:operator" in alarm.inner_text()
        assert alarm.locator("[data-acknowledge]").count() == 0
        log = dashboard.locator('[data-test="command-log"]')
        log.locator('[data-result="accepted"]', has_text="acknowledge").first.wait_for(timeout=SLOW)
        channel(dashboard, "hv2/ch1").locator('[data-test="status"]', has_text="fault").wait_for(timeout=SLOW)

        request(dashboard, "hv2/ch1", "set_ramp_rate", "20")
        line = last_command(dashboard, "hv2/ch1", "rejected")
        assert "device offline: instrument not answering" in line.inner_text()

        wait_until(
            lambda: [t for t in nodered_stack.webhook.texts() if "hv2" in t and "(raised)" in t],
            30,
            "the alarm notification on the webhook",
        )
    finally:
        simulator.write("SIM:MUTE OFF")
    dashboard.locator('[data-alarm^="hv2/"]').wait_for(state="detached", timeout=SLOW)
    wait_until(
        lambda: [t for t in nodered_stack.webhook.texts() if "hv2" in t and "(cleared)" in t],
        30,
        "the cleared notification on the webhook",
    )
    (raised,) = [t for t in nodered_stack.webhook.texts() if "hv2" in t and "(raised)" in t]
    assert raised.startswith("[ERROR] hv2") and "instrument not answering" in raised


def test_offline_device_is_greyed_out_with_its_controls_disabled(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    (can1,) = [d for d in nodered_stack.stack.devices if d.config.device == "can1"]
    can1.process.terminate()
    try:
        card = dashboard.locator('[data-device="can1"][data-online="false"]')
        card.wait_for(timeout=SLOW)
        assert "labdcs-offline" in (card.get_attribute("class") or "")
        assert "offline: service stopped" in card.locator('[data-test="online"]').inner_text()
        assert card.locator('form[data-verb="set_voltage"] input').first.is_disabled()
        assert card.locator("[data-switch] input").first.is_disabled()
        total = len(DUMMY_CHANNELS)
        assert (
            f"{total - 1}/{total} devices online" in dashboard.locator('[data-test="summary"]').inner_text()
        )
    finally:
        assert can1.process.popen is not None
        can1.process.popen.wait(30)
        can1.process.start()
    dashboard.locator('[data-device="can1"][data-online="true"]').wait_for(timeout=SLOW)


def test_services_are_listed_apart_and_removed_devices_disappear(
    dashboard: Any, nodered_stack: NodeRedStack
) -> None:
    """A labdcs service reporting on itself (kind "service", e.g. the ingester) is listed under
    Services, not counted as a device; emptying its retained topics removes it from the page."""
    meta = {
        "contract": "labdcs/v1",
        "device": "ingest-x",
        "kind": "service",
        "model": "labdcs ingest",
        "driver": "ingest",
        "software": "0.1.0",
        "boot": "b1",
        "started": 1,
        "publish_period": 5.0,
        "channels": [
            {"id": "stats", "kind": "sensor", "quantities": [{"name": "lag", "unit": "s"}], "commands": []}
        ],
    }
    state = {"ts": 1, "seq": 0, "boot": "b1", "kind": "sensor", "status": "ok", "values": {"lag": 0.25}}
    topics = {
        "labdcs/v1/ingest-x/meta": json.dumps(meta),
        "labdcs/v1/ingest-x/online": json.dumps({"online": True, "boot": "b1", "ts": 1}),
        "labdcs/v1/ingest-x/stats/state": json.dumps(state),
    }
    publisher = nodered_stack.probe()
    try:
        for topic, payload in topics.items():
            publisher.publish(topic, payload, retain=True)
        card = dashboard.locator('[data-device="ingest-x"][data-kind="service"][data-online="true"]')
        card.wait_for()
        assert "lag 0.25 s" in " ".join(card.inner_text().split())
        summary = dashboard.locator('[data-test="summary"]').inner_text()
        services = 1 + len(DUMMY_SERVICES)
        assert f"{services}/{services} services online" in summary
        assert f"/{len(DUMMY_CHANNELS)} devices online" in summary
        for topic in topics:
            publisher.publish(topic, b"", retain=True)
        card.wait_for(state="detached")
        services -= 1
        assert (
            f"{services}/{services} services online"
            in dashboard.locator('[data-test="summary"]').inner_text()
        )
    finally:
        for topic in topics:
            publisher.publish(topic, b"", retain=True)
        publisher.stop()


def test_rule_reset_is_a_button_with_a_confirmation(dashboard: Any, nodered_stack: NodeRedStack) -> None:
    """Commands without a value that a channel's meta lists get a button; resetting an interlock
    rule asks first, and its ack is shown on the channel. (Clear trip, shown on a tripped channel
    only: test_dashboard_operator.py.)"""
    watch = nodered_stack.probe(topics.ALL_COMMANDS)
    dialog = dashboard.locator('[data-test="confirm-dialog"]')
    try:
        reset = dashboard.locator('[data-action="interlock/dew-point/reset"]')
        assert reset.inner_text().strip().lower() == "reset rule"
        reset.click()
        dialog.wait_for()
        assert "Reset interlock rule dew-point?" in dialog.inner_text()
        dashboard.locator('[data-test="confirm-cancel"]').click()
        dialog.wait_for(state="hidden")
        reset.click()
        dashboard.locator('[data-test="confirm-ok"]').click()
        assert "reset" in last_command(dashboard, "interlock/dew-point", "accepted").inner_text()
        wait_until(lambda: commands(watch, "interlock"), 10, "the reset command")
        # The cancelled request never left the browser: one reset.
        sent = commands(watch, "interlock")
        assert [c["topic"] for c in sent] == ["labdcs/v1/interlock/dew-point/cmd/reset/nodered"]
        assert sent[0]["user"] == "ui:operator"
        # Power channels keep on/off on the switch: no "on"/"off" buttons.
        assert dashboard.locator('[data-action$="/on"], [data-action$="/off"]').count() == 0
    finally:
        watch.stop()
