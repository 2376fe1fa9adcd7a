"""The interlock end to end: rules over live data, latches and resets, ordering, the watchdog.

Real Mosquitto, simulated instruments over TCP, device services and the interlock as processes.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from labdcs.contract import topics
from tests.safety.conftest import (
    PUBLISH_PERIOD_S,
    RAMP_TICK_S,
    WATCHDOG_TIMEOUT_S,
    Sim,
    Start,
    command,
    env,
    hv,
    interlock_link,
    lv,
    rules,
    state,
)
from tests.support import Probe, wait_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

DEW_POINT = {
    "name": "dew-point",
    "severity": "critical",
    "when": [{"dew_point": "env1/box/dew_point", "temperature": "env1/box/temperature", "margin": 3.0}],
    "actions": {"ramp_down": ["hv1/ch1"]},
}


def _ready(watcher: Probe, *channels: tuple[str, str]) -> None:
    """Every channel publishes, is not in fault and has nothing inhibiting it (heartbeat seen)."""
    for device, channel in channels:
        watcher.wait_for(
            topics.state(device, channel),
            lambda s: s["status"] not in ("fault", "inhibited") and "inhibit" not in s,
            timeout=30,
        )


def _switch_on(watcher: Probe, device: str, volts: float) -> None:
    assert command(watcher, device, "ch1", "set_voltage", volts).result == "accepted"
    assert command(watcher, device, "ch1", "on").result == "accepted"
    watcher.wait_for(
        topics.state(device, "ch1"),
        lambda s: s["output"] and s["v_set"] == volts and not s["ramping"],
        timeout=15,
    )


def test_dew_point_ramps_hv_down_latches_and_needs_a_reset_once_the_condition_is_gone(
    scpi_sim: Sim, device_process: Start, interlock_process: Start, probe: Any
) -> None:
    _, climate = scpi_sim("envmon")
    for setting in ("SIM:NOISE OFF", "SIM:TEMP 21", "SIM:HUM 40"):
        climate.write(setting)
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/#")
    device_process(env(climate.port))
    device_process(hv("hv1", bias.port, interlock=interlock_link()))
    interlock = interlock_process(rules(DEW_POINT))
    _ready(watcher, ("hv1", "ch1"))
    _switch_on(watcher, "hv1", 20.0)

    humid = time.monotonic()
    climate.write("SIM:HUM 95")  # dew point 20.2 degC at 21 degC: 0.8 K, inside the 3 K margin
    rule = watcher.wait_for(topics.state("interlock", "dew-point"), lambda s: s["active"], timeout=10)
    assert rule.json()["status"] == "active" and rule.json()["targets"][0]["device"] == "hv1"
    down = watcher.wait_for(
        topics.state("hv1", "ch1"),
        lambda s: "dew-point" in s.get("inhibit", "") and s["switching_off"],
        after=humid,
        timeout=10,
    )
    assert down.json()["status"] == "ramping"
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: not s["output"], after=down.at, timeout=10)
    assert bias.query(":OUTP?") in ("0", "OFF")
    ramp = [m.json()["v_set"] for m in watcher.on(topics.state("hv1", "ch1")) if m.at >= down.at]
    assert any(0.0 < v < 20.0 for v in ramp), f"ramped, not switched off at 20 V: {ramp}"
    alarm = watcher.wait_for(topics.alarm("interlock", "dew-point"), lambda a: a["active"], timeout=5)
    assert alarm.json()["severity"] == "critical" and "dew point" in alarm.json()["message"]

    refused = command(watcher, "hv1", "ch1", "on")
    assert refused.result == "rejected" and "dew-point" in (refused.reason or "")
    early = command(watcher, "interlock", "dew-point", "reset", user="alice")
    assert early.result == "rejected" and "condition still present" in (early.reason or "")

    climate.write("SIM:HUM 40")
    latched = watcher.wait_for(
        topics.state("interlock", "dew-point"), lambda s: s["status"] == "latched", timeout=10
    )
    assert latched.json()["active"] and not latched.json()["condition"]
    still = command(watcher, "hv1", "ch1", "on")
    assert still.result == "rejected" and "dew-point" in (still.reason or ""), "latched until reset"

    # A restart of the interlock releases nothing: the latch survives in the retained rule state.
    interlock.kill()
    restarted = interlock_process(rules(DEW_POINT))
    boot = latched.json()["boot"]
    again = watcher.wait_for(
        topics.state("interlock", "dew-point"), lambda s: s["boot"] != boot, timeout=20, after=latched.at
    )
    assert again.json()["status"] == "latched" and again.json()["since"] == latched.json()["since"]
    beat = watcher.wait_for(
        topics.heartbeat("interlock"), lambda h: h["boot"] == again.json()["boot"], timeout=20
    )
    watcher.wait_for(
        topics.state("hv1", "ch1"),
        lambda s: "watchdog" not in s.get("inhibit", ""),
        after=beat.at,
        timeout=10,
    )
    refused_after_restart = command(watcher, "hv1", "ch1", "on")
    assert refused_after_restart.result == "rejected" and "dew-point" in (refused_after_restart.reason or "")
    assert bias.query(":OUTP?") in ("0", "OFF"), "nothing switched on by the restart"

    reset = command(watcher, "interlock", "dew-point", "reset", user="alice")
    assert reset.result == "accepted", reset.reason
    watcher.wait_for(topics.state("interlock", "dew-point"), lambda s: s["status"] == "ok", timeout=5)
    cleared = watcher.wait_for(topics.alarm("interlock", "dew-point"), lambda a: not a["active"], timeout=5)
    assert cleared.json()["cleared"] >= alarm.json()["raised"]
    _ready(watcher, ("hv1", "ch1"))
    assert state(watcher, "hv1", "ch1")["output"] is False, "a reset switches nothing on"
    assert command(watcher, "hv1", "ch1", "on").result == "accepted"
    assert restarted.alive() and "reset by probe (claims alice)" in restarted.log_text()


def test_hv_needs_its_lv_on_and_lv_off_ramps_hv_down_first(
    scpi_sim: Sim, device_process: Start, interlock_process: Start, probe: Any
) -> None:
    _, front_end = scpi_sim("hmp4040")
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/#")
    device_process(lv(front_end.port, interlock=interlock_link(safe_action="none")))
    device_process(hv("hv1", bias.port, interlock=interlock_link()))
    interlock_process(
        rules(
            {
                "name": "hv-needs-lv",
                "latch": False,
                "alarm": False,
                "when": [{"channel_off": "lv1/ch1"}],
                "actions": {"ramp_down": ["hv1/ch1"], "hold": ["lv1/ch1"]},
            }
        )
    )
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: "hv-needs-lv" in s.get("inhibit", ""), timeout=30)
    rejected = command(watcher, "hv1", "ch1", "on")
    assert rejected.result == "rejected"
    assert "interlock rule 'hv-needs-lv'" in (rejected.reason or "") and "lv1/ch1 is off" in (
        rejected.reason or ""
    )
    assert state(watcher, "hv1", "ch1")["status"] == "inhibited"

    assert command(watcher, "lv1", "ch1", "set_voltage", 1.5).result == "accepted"
    assert command(watcher, "lv1", "ch1", "on").result == "accepted"
    _ready(watcher, ("hv1", "ch1"))
    _switch_on(watcher, "hv1", 25.0)

    asked = time.monotonic()
    off = command(watcher, "lv1", "ch1", "off")
    assert off.result == "accepted"
    hv_off = watcher.wait_for(topics.state("hv1", "ch1"), lambda s: not s["output"], after=asked, timeout=15)
    lv_off = watcher.wait_for(topics.state("lv1", "ch1"), lambda s: not s["output"], after=asked, timeout=15)
    held = [m.json() for m in watcher.on(topics.state("lv1", "ch1")) if asked <= m.at < lv_off.at]
    assert any(s["output"] and s.get("switching_off") for s in held), "LV shows it waits for the HV"
    assert hv_off.json()["ts"] < lv_off.json()["ts"], "HV off before LV off"
    ramp = [m.json()["v_set"] for m in watcher.on(topics.state("hv1", "ch1")) if asked <= m.at <= hv_off.at]
    assert any(0.0 < v < 25.0 for v in ramp), f"HV ramped down, not cut: {ramp}"
    assert front_end.query("INST:NSEL 1;OUTP:SEL?") in ("0", "OFF")
    assert bias.query(":OUTP?") in ("0", "OFF")

    # In force since LV began switching off; now that it is off, the rule and the refusal say so.
    rule = watcher.wait_for(
        topics.state("interlock", "hv-needs-lv"), lambda s: s["detail"] == "lv1/ch1 is off", after=lv_off.at
    ).json()
    assert rule["active"] and rule["reason"] == "lv1/ch1 is off", rule
    refused = command(watcher, "hv1", "ch1", "on")
    assert refused.result == "rejected" and "(lv1/ch1 is off)" in (refused.reason or ""), refused.reason


def test_watchdog_puts_every_dependent_hv_channel_in_its_safe_state_and_a_restart_switches_nothing_on(
    scpi_sim: Sim, device_process: Start, interlock_process: Start, probe: Any
) -> None:
    """SIGKILL of the interlock: each HV channel ramps down within the watchdog timeout plus a tick
    (measured and written to test-artifacts/), and stays off when the interlock is back."""
    sims = {name: scpi_sim("keithley2410")[1] for name in ("hv1", "hv2")}
    watcher = probe("labdcs/v1/#")
    for name, link in sims.items():
        device_process(hv(name, link.port, interlock=interlock_link()))
    limit = {
        "name": "bias-limit",
        "when": [{"above": f"{name}/ch1/v_mon", "limit": 400.0} for name in sims],
        "actions": {"ramp_down": [f"{name}/ch1" for name in sims]},
    }
    interlock = interlock_process(rules(limit))
    _ready(watcher, *((name, "ch1") for name in sims))
    volts = 20.0
    for name in sims:
        _switch_on(watcher, name, volts)

    killed = time.monotonic()
    interlock.kill()
    reaction: dict[str, float] = {}
    safe: dict[str, float] = {}
    for name in sims:
        first = watcher.wait_for(
            topics.state(name, "ch1"), lambda s: "watchdog" in s.get("inhibit", ""), after=killed, timeout=15
        )
        reaction[name] = first.at - killed
        off = watcher.wait_for(topics.state(name, "ch1"), lambda s: not s["output"], after=killed, timeout=15)
        safe[name] = off.at - killed
        assert sims[name].query(":OUTP?") in ("0", "OFF")
        alarm = watcher.wait_for(topics.alarm(name, "watchdog"), lambda a: a["active"], timeout=5)
        assert "safe state (ramp_down)" in alarm.json()["message"]
    ramp_s = volts / 50.0
    tick = PUBLISH_PERIOD_S + RAMP_TICK_S
    figures = {
        "watchdog_timeout_s": WATCHDOG_TIMEOUT_S,
        "ramp_s": ramp_s,
        "reaction_s": reaction,
        "safe_state_s": safe,
    }
    print(f"\nwatchdog after SIGKILL of the interlock: {json.dumps(figures)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "safety-watchdog-sigkill.json").write_text(json.dumps(figures, indent=2))
    for name in sims:
        assert reaction[name] <= WATCHDOG_TIMEOUT_S + tick, figures
        assert safe[name] <= WATCHDOG_TIMEOUT_S + ramp_s + tick, figures

    back = time.monotonic()
    interlock_process(rules(limit))
    for name in sims:
        watcher.wait_for(topics.alarm(name, "watchdog"), lambda a: not a["active"], after=back, timeout=20)
        watcher.wait_for(topics.state(name, "ch1"), lambda s: "inhibit" not in s, after=back, timeout=20)
    settled = time.monotonic()
    wait_until(lambda: watcher.on(topics.heartbeat("interlock"))[-1].at > settled + 1.0, 10, "heartbeats")
    for name, link in sims.items():
        assert state(watcher, name, "ch1")["output"] is False, f"{name} switched back on"
        assert link.query(":OUTP?") in ("0", "OFF")


def test_a_hung_interlock_is_caught_by_the_heartbeat_timeout(
    scpi_sim: Sim, device_process: Start, interlock_process: Start, probe: Any
) -> None:
    """SIGSTOP keeps the interlock's socket open (no last will for 1.5 x 30 s): only the missing
    heartbeat tells, after the configured timeout and not before."""
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/#")
    device_process(hv("hv1", bias.port, interlock=interlock_link(safe_action="switch_off")))
    interlock = interlock_process(
        rules(
            {
                "name": "bias-limit",
                "when": [{"above": "hv1/ch1/v_mon", "limit": 400}],
                "actions": {"inhibit": ["hv1/ch1"]},
            },
            keepalive=30,
        )
    )
    _ready(watcher, ("hv1", "ch1"))
    _switch_on(watcher, "hv1", 10.0)
    assert interlock.process is not None
    interlock.process.send_signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        last_beat = watcher.on(topics.heartbeat("interlock"))[-1].at
        off = watcher.wait_for(
            topics.state("hv1", "ch1"), lambda s: not s["output"], after=stopped, timeout=15
        )
        silent = off.at - last_beat
        print(f"\nwatchdog after SIGSTOP: output off {silent:.2f} s after the last heartbeat")
        assert WATCHDOG_TIMEOUT_S - 0.1 <= silent <= WATCHDOG_TIMEOUT_S + PUBLISH_PERIOD_S + RAMP_TICK_S + 0.5
        assert "watchdog" in off.json()["inhibit"] and off.json()["status"] == "inhibited"
        assert not any(
            0.0 < m.json()["v_set"] < 10.0 for m in watcher.on(topics.state("hv1", "ch1")) if m.at >= stopped
        ), "switch_off: no ramp"
        refused = command(watcher, "hv1", "ch1", "on")
        assert refused.result == "rejected" and "watchdog" in (refused.reason or "")
    finally:
        interlock.process.send_signal(signal.SIGCONT)
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: "inhibit" not in s, after=stopped, timeout=15)
    assert bias.query(":OUTP?") in ("0", "OFF")


def test_an_interlock_started_before_its_inputs_latches_nothing_and_waits_with_its_heartbeat(
    scpi_sim: Sim, device_process: Start, interlock_process: Start, probe: Any
) -> None:
    """Start-up in any order: inputs never received do not bring rules into force during the grace,
    and no heartbeat vouches for rules that cannot be evaluated yet."""
    _, climate = scpi_sim("envmon")
    climate.write("SIM:HUM 40")
    watcher = probe("labdcs/v1/#")
    offline_rule = {"name": "env-lost", "when": [{"offline": "env1"}], "actions": {"inhibit": ["hv1/ch1"]}}
    interlock_process(rules(DEW_POINT, offline_rule, startup_grace_s=30.0))
    waiting = watcher.wait_for(
        topics.state("interlock", "dew-point"), lambda s: "waiting for inputs" in s["detail"], timeout=20
    )
    assert waiting.json()["status"] == "ok" and not waiting.json()["active"]
    assert watcher.on(topics.heartbeat("interlock")) == [], "no heartbeat before the inputs are in"
    started = time.monotonic()
    device_process(env(climate.port))
    watcher.wait_for(topics.heartbeat("interlock"), after=started, timeout=20)
    for rule in ("dew-point", "env-lost"):
        assert all(not m.json()["active"] for m in watcher.on(topics.state("interlock", rule))), rule
    assert watcher.on(topics.alarm("interlock", "+")) == []
