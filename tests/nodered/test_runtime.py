"""Node-RED as ``labdcs up`` runs it: the flows load cleanly, the generated logins work, and the
example power-up sequence drives the dummy devices."""

from __future__ import annotations

import re
import stat

from labdcs.contract import topics
from tests.nodered.conftest import AdminApi, NodeRedStack
from tests.support import wait_until

SEQUENCE_START = "1abdc5b70c3e2010"  # the "start" inject node of the power-up sequence example


def test_flows_load_without_missing_nodes_or_warnings(nodered_stack: NodeRedStack) -> None:
    log = wait_until(
        lambda: (text := nodered_stack.log.read_text()) and "Connected to broker" in text and text,
        60,
        "the flows to connect",
    )
    start_up = log.split("Started flows", 1)[0]
    assert "Started flows" in log
    assert "missing" not in log.lower(), log
    warnings = [
        line
        for line in start_up.splitlines()
        # Node-RED's own notice that the projects feature is off (labdcs keeps flows in git itself).
        if re.search(r"\[(warn|error)\]", line) and "Projects disabled" not in line
    ]
    assert warnings == [], "\n".join(warnings)
    assert "Dashboard 2.0 (v1.31.0) started at /dashboard" in log


def test_generated_logins_are_private_and_the_editor_accepts_them(nodered_stack: NodeRedStack) -> None:
    admin = nodered_stack.logins["admin"]
    assert admin.password_file is not None
    folder = admin.password_file.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    api = AdminApi(nodered_stack.url)
    assert api.request("GET", "/flows")[0] == 401
    status, token = api.token(admin.user, nodered_stack.password("admin"))
    assert status == 200 and token
    assert api.request("GET", "/flows", token=token)[0] == 200
    assert nodered_stack.password("admin") not in nodered_stack.log.read_text()


def test_power_up_sequence_example_switches_lv_on_then_ramps_hv(nodered_stack: NodeRedStack) -> None:
    watch = nodered_stack.probe(topics.ALL_COMMANDS, "labdcs/v1/+/+/state")
    try:
        api = AdminApi(nodered_stack.url)
        _, token = api.token(nodered_stack.logins["admin"].user, nodered_stack.password("admin"))
        assert api.request("POST", f"/inject/{SEQUENCE_START}", token=token)[0] == 200

        def state(channel: str) -> dict[str, object]:
            messages = watch.on(f"labdcs/v1/{channel}/state")
            return messages[-1].json() if messages else {}

        def settled(channel: str, volts: float) -> bool:
            now = state(channel)
            v_mon = now.get("v_mon")
            return (
                isinstance(v_mon, float)
                and abs(v_mon - volts) <= 0.02 * volts
                and now.get("output") is True
                and now.get("ramping") is False
            )

        wait_until(lambda: settled("hv1/ch1", 50.0), 90, "hv1/ch1 to settle at 50 V")
        assert settled("lv1/ch1", 1.5)
        wait_until(
            lambda: "done: hv1/ch1 is at 50 V" in nodered_stack.log.read_text(), 30, "the sequence to end"
        )

        sent = [(m.topic, m.at) for m in watch.on(topics.ALL_COMMANDS)]
        order = [topic.split("/", 2)[2] for topic, _ in sent]
        assert order == [
            "lv1/ch1/cmd/set_current_limit/nodered",
            "lv1/ch1/cmd/set_voltage/nodered",
            "lv1/ch1/cmd/on/nodered",
            "hv1/ch1/cmd/set_voltage/nodered",
            "hv1/ch1/cmd/on/nodered",
        ]
        # HV was only commanded once the LV readback had arrived at its voltage.
        first_hv = sent[3][1]
        lv_ready = [
            m.at
            for m in watch.on("labdcs/v1/lv1/ch1/state")
            if abs(m.json().get("v_mon", 0.0) - 1.5) <= 0.03 and m.json().get("output")
        ]
        assert lv_ready and lv_ready[0] <= first_hv
    finally:
        watch.stop()
