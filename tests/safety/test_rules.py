"""The pure logic of the safety layer: the rules file, rule evaluation and latches, what a device
makes of the interlock's messages (watchdog, inhibit, forced actions, ordering), trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from labdcs.cli import cli
from labdcs.contract.models import (
    Heartbeat,
    Online,
    PowerChannelState,
    PowerLimits,
    PowerStatus,
    RuleAction,
    RuleHold,
    RuleState,
    RuleStatus,
    RuleTarget,
    SensorChannelState,
    SensorStatus,
    Verb,
    now_ms,
)
from labdcs.contract.topics import online, state
from labdcs.devices.config import DeviceConfig, InterlockDependency
from labdcs.devices.cycler.config import load_device_config
from labdcs.devices.power import PowerChannel
from labdcs.devices.safety import InterlockLink, why_in_force
from labdcs.drivers.base import OutputReading
from labdcs.interlock.config import InterlockConfig, Rule
from labdcs.interlock.engine import RuleRuntime, evaluate
from labdcs.interlock.inputs import Inputs
from labdcs.settings import ConfigError
from labdcs.stack.paths import dummy_devices_dir, dummy_interlock_file

# --- the rules file ------------------------------------------------------------------------------


def _rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        InterlockConfig.load(_rules_file(tmp_path, text))
    return str(caught.value)


RULE = """
rules:
  - name: dew-point
    when:
      - dew_point: env1/box/dew_point
        temperature: env1/box/temperature
        margin: 3
    actions:
      ramp_down: [hv1/ch1]
"""


def test_a_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    config = InterlockConfig.load(_rules_file(tmp_path, RULE))
    (rule,) = config.rules
    assert config.device == "interlock" and rule.latch and rule.on_missing == "trip"
    assert config.devices() == ["env1", "hv1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            RULE.replace("dew_point: env1/box/dew_point", "dew_point: env1/box"),
            "'env1/box' is not a reading: write device/channel/quantity",
        ),
        (
            RULE.replace("      - dew_point:", "      - colder:"),
            "a condition needs exactly one of the keys above, below, dew_point, channel_off, offline, stale; "
            "got 'colder'",
        ),
        (
            "rules:\n  - name: x\n    when: [{off: lv1/ch1}]\n    actions: {inhibit: [hv1/ch1]}\n",
            "(YAML reads unquoted on/off/yes/no as booleans)",
        ),
        (
            RULE.replace("ramp_down: [hv1/ch1]", "hold: [hv1/ch1]"),
            "at least one of ramp_down, switch_off, inhibit",
        ),
        (
            RULE.replace("ramp_down: [hv1/ch1]", "ramp_down: [hv1/ch1]\n      inhibit: [hv1/ch1]"),
            "hv1/ch1 is listed twice (in ramp_down and inhibit)",
        ),
        (
            RULE.replace("ramp_down: [hv1/ch1]", "ramp_down: [hv1/ch1]\n      hold: [lv1/ch1]"),
            "hold lv1/ch1: a held channel must be named in a `channel_off` condition",
        ),
        (RULE.replace("name: dew-point", "name: meta"), "'meta' is reserved in the topic scheme"),
        (RULE + RULE.replace("rules:\n", ""), "rule names must be unique; repeated: dew-point"),
        (RULE.replace("margin: 3", "margin: -1"), "margin: Input should be greater than 0"),
        (RULE.replace("hv1/ch1", "interlock/ch1"), "rules cannot refer to the interlock itself"),
        ("rules: []\n", "rules: List should have at least 1 item"),
    ],
    ids=[
        "bad-reading",
        "unknown-condition",
        "yaml-boolean-key",
        "no-action",
        "listed-twice",
        "hold-without-condition",
        "reserved-name",
        "duplicate-name",
        "negative-margin",
        "self-reference",
        "no-rules",
    ],
)
def test_mistakes_are_refused_with_the_reason(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_check_command_lists_the_rules_or_says_what_is_wrong(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(cli, ["interlock", "check", "--config", str(dummy_interlock_file())])
    assert good.exit_code == 0, good.output
    assert "hv-needs-lv" in good.output and "non-latching" in good.output
    bad = runner.invoke(cli, ["interlock", "check", "--config", str(_rules_file(tmp_path, "rules: [1]"))])
    assert bad.exit_code == 1 and "configuration error" in bad.output


def test_dummy_rules_match_the_dummy_devices() -> None:
    """Every channel the dummy rules act on exists, and every device acted on follows the interlock."""
    config = InterlockConfig.load(dummy_interlock_file())
    devices = {p.stem: load_device_config(p) for p in dummy_devices_dir().glob("*.yaml")}
    for rule in config.rules:
        for ref, _ in [*rule.actions.targets(), *((h, "hold") for h in rule.actions.hold)]:
            device, channel = ref.split("/")
            assert channel in {c.id for c in devices[device].channels}, ref
            link = getattr(devices[device], "interlock", None)
            assert link is not None and link.device == config.device, (
                f"{device} does not follow the interlock"
            )
        assert rule.devices() <= set(devices), rule.name


# --- evaluation and latch ------------------------------------------------------------------------

T = 1000.0  # monotonic "now" of the tests


def _inputs(**states: Any) -> Inputs:
    inputs = Inputs()
    for ref, message in states.items():
        device, channel = ref.split("__")
        payload = message.model_dump_json().encode()
        inputs.update(state(device, channel), payload, False, T - 1.0)
        inputs.update(
            online(device), Online(online=True, boot="b", ts=now_ms()).model_dump_json().encode(), False, T
        )
    return inputs


def _sensor(temperature: float, humidity: float, dew: float) -> SensorChannelState:
    return SensorChannelState(
        ts=now_ms(),
        seq=0,
        boot="b",
        status=SensorStatus.OK,
        values={"temperature": temperature, "humidity": humidity, "dew_point": dew},
    )


def _power(output: bool, switching_off: bool | None = None, i_mon: float = 1e-8) -> PowerChannelState:
    return PowerChannelState(
        ts=now_ms(),
        seq=0,
        boot="b",
        status=PowerStatus.ON if output else PowerStatus.OFF,
        output=output,
        ramping=False,
        v_set=10.0,
        v_target=10.0,
        i_limit=1e-4,
        ramp_rate=10.0,
        v_mon=10.0,
        i_mon=i_mon,
        switching_off=switching_off,
    )


def _rule(**fields: Any) -> Rule:
    data: dict[str, Any] = {
        "name": "r",
        "when": [{"dew_point": "env1/box/dew_point", "temperature": "env1/box/temperature", "margin": 3}],
        "actions": {"ramp_down": ["hv1/ch1"]},
        **fields,
    }
    return Rule.model_validate(data)


def test_dew_point_within_the_margin_holds_and_says_why() -> None:
    rule = _rule()
    near = evaluate(rule, _inputs(env1__box=_sensor(21.0, 90.0, 19.2)), T, 10.0)
    assert near.holds is True and "is 1.8 K below" in near.text and "margin 3 K" in near.text
    far = evaluate(rule, _inputs(env1__box=_sensor(21.0, 40.0, 6.9)), T, 10.0)
    assert far.holds is False and not far.missing


def test_missing_or_stale_inputs_trip_unless_the_rule_ignores_them() -> None:
    never = evaluate(_rule(), Inputs(), T, 10.0)
    assert never.holds is True and never.missing and "env1 never seen" in never.text
    ignored = evaluate(_rule(on_missing="ignore"), Inputs(), T, 10.0)
    assert ignored.holds is False and ignored.missing
    old = evaluate(_rule(), _inputs(env1__box=_sensor(21.0, 40.0, 6.9)), T + 20.0, 10.0)
    assert old.holds is True and "last state 21.0 s old (max 10 s)" in old.text


def test_channel_off_counts_switching_off_and_match_all_needs_every_condition() -> None:
    rule = _rule(when=[{"channel_off": "lv1/ch1"}, {"above": "hv1/ch1/i_mon", "limit": 1e-6}], match="all")
    assert evaluate(rule, _inputs(lv1__ch1=_power(False), hv1__ch1=_power(True)), T, 10).holds is False
    both = evaluate(
        rule, _inputs(lv1__ch1=_power(True, switching_off=True), hv1__ch1=_power(True, i_mon=2e-6)), T, 10
    )
    assert (
        both.holds is True
        and "lv1/ch1 is switching off" in both.text
        and "hv1/ch1/i_mon = 2e-06 > 1e-06" in both.text
    )
    unknown_quantity = _rule(when=[{"below": "hv1/ch1/power", "limit": 1}])
    assert "power channels offer" in evaluate(unknown_quantity, _inputs(hv1__ch1=_power(True)), T, 10).text


def test_offline_and_stale_conditions() -> None:
    rule = _rule(when=[{"offline": "env1"}])
    never = evaluate(rule, Inputs(), T, 10)
    assert never.holds is True and never.missing, "never seen: missing, counts as holding by default"
    inputs = _inputs(env1__box=_sensor(21.0, 40.0, 6.9))
    assert evaluate(rule, inputs, T, 10).holds is False
    inputs.update(online("env1"), Online(online=False, boot="b").model_dump_json().encode(), False, T)
    assert "env1 is offline (connection lost)" in evaluate(rule, inputs, T, 10).text
    stale = _rule(when=[{"stale": "env1/box", "older_than_s": 5}])
    assert evaluate(stale, inputs, T + 2, 10).holds is False
    assert evaluate(stale, inputs, T + 6, 10).holds is True


def test_a_latching_rule_stays_in_force_until_reset_and_refuses_a_reset_while_the_condition_holds() -> None:
    runtime = RuleRuntime(_rule())
    humid = _inputs(env1__box=_sensor(21.0, 90.0, 19.2))
    dry = _inputs(env1__box=_sensor(21.0, 40.0, 6.9))
    assert runtime.update(evaluate(runtime.rule, humid, T, 10), 1) == "activated"
    assert runtime.status is RuleStatus.ACTIVE and runtime.since == 1
    assert "condition still present" in (runtime.reset() or "")
    assert runtime.update(evaluate(runtime.rule, dry, T, 10), 2) is None
    assert runtime.status is RuleStatus.LATCHED and runtime.reason is not None and "19.2" in runtime.reason
    assert runtime.reset() is None and runtime.status is RuleStatus.OK
    assert runtime.reset() is None, "resetting a rule not in force is a no-op"


def test_a_non_latching_rule_releases_itself_and_a_restart_restores_a_latch() -> None:
    runtime = RuleRuntime(_rule(latch=False))
    runtime.update(evaluate(runtime.rule, _inputs(env1__box=_sensor(21.0, 90.0, 19.2)), T, 10), 1)
    assert (
        runtime.update(evaluate(runtime.rule, _inputs(env1__box=_sensor(21.0, 40.0, 6.9)), T, 10), 2)
        == "released"
    )
    restored = RuleRuntime(_rule())
    previous = RuleState(
        ts=1,
        seq=0,
        boot="old",
        status=RuleStatus.LATCHED,
        condition=False,
        active=True,
        latch=True,
        since=5,
        reason="why",
        detail="now",
    )
    restored.restore(previous)
    assert restored.active and restored.since == 5 and restored.reason == "why"


def test_the_reason_follows_the_inputs_while_the_condition_holds() -> None:
    """hv-needs-lv came into force while LV was switching off; once LV is off, it says so."""
    runtime = RuleRuntime(_rule(latch=False, when=[{"channel_off": "lv1/ch1"}]))
    switching = evaluate(runtime.rule, _inputs(lv1__ch1=_power(True, switching_off=True)), T, 10)
    assert runtime.update(switching, 1) == "activated" and runtime.reason == "lv1/ch1 is switching off"
    assert runtime.update(evaluate(runtime.rule, _inputs(lv1__ch1=_power(False)), T, 10), 2) is None
    assert runtime.active and runtime.since == 1
    assert runtime.reason == runtime.detail == "lv1/ch1 is off"
    assert runtime.cause != switching.kind, "a change in kind: published at once"


def test_new_readings_change_the_reason_but_not_its_kind_and_a_latch_keeps_what_last_held() -> None:
    runtime = RuleRuntime(_rule())
    runtime.update(evaluate(runtime.rule, _inputs(env1__box=_sensor(21.0, 90.0, 19.2)), T, 10), 1)
    cause = runtime.cause
    runtime.update(evaluate(runtime.rule, _inputs(env1__box=_sensor(21.0, 91.0, 19.4)), T, 10), 2)
    assert runtime.reason is not None and "19.4" in runtime.reason and runtime.cause == cause
    runtime.update(evaluate(runtime.rule, _inputs(env1__box=_sensor(21.0, 40.0, 6.9)), T, 10), 3)
    assert runtime.status is RuleStatus.LATCHED and "19.4" in runtime.reason and "6.9" in runtime.detail
    latched = runtime.state(3, 0, "b", [], [])
    why = why_in_force(latched)
    assert why.startswith("latched: dew point") and "19.4" in why and "6.9" in why
    assert why.endswith("reset to release")


def test_a_held_channel_is_released_once_it_switches_off_and_every_target_is_off() -> None:
    runtime = RuleRuntime(
        _rule(when=[{"channel_off": "lv1/ch1"}], actions={"ramp_down": ["hv1/ch1"], "hold": ["lv1/ch1"]})
    )
    for lv_state, hv_state, released in [
        (_power(True), _power(False), False),  # LV not switching off: nothing to release
        (_power(True, switching_off=True), _power(True), False),  # HV still on
        (_power(True, switching_off=True), _power(False), True),
    ]:
        inputs = _inputs(lv1__ch1=lv_state, hv1__ch1=hv_state)
        targets = runtime.targets(inputs, T, 10)
        assert targets == [
            RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=hv_state.output)
        ]
        assert runtime.holds(targets, inputs, T, 10) == [
            RuleHold(device="lv1", channel="ch1", released=released)
        ]


# --- the device's view: watchdog, inhibit, forced actions, holds ----------------------------------


def _link(safe_action: str = "ramp_down") -> InterlockLink:
    return InterlockLink(
        InterlockDependency(heartbeat_timeout_s=3.0, safe_action=safe_action), "hv1", started=0.0
    )  # type: ignore[arg-type]


def _beat(boot: str = "b1") -> Heartbeat:
    return Heartbeat(boot=boot, seq=0, ts=now_ms(), period=0.5, rules=1, active=0)


def _rule_state(active: bool, action: RuleAction = RuleAction.RAMP_DOWN, **fields: Any) -> RuleState:
    return RuleState(
        ts=1,
        seq=0,
        boot="b1",
        status=RuleStatus.ACTIVE if active else RuleStatus.OK,
        condition=active,
        active=active,
        latch=True,
        reason="it is humid" if active else None,
        detail="now",
        targets=[RuleTarget(device="hv1", channel="ch1", action=action, output=True)],
        **fields,
    )


def test_watchdog_inhibits_until_the_first_heartbeat_and_acts_after_the_timeout() -> None:
    link = _link()
    assert "waiting for the first heartbeat" in (link.inhibit("ch1", 1.0) or "")
    assert link.forced("ch1", 1.0) is None, "no safe action before the timeout"
    assert link.forced("ch1", 3.5) == (RuleAction.RAMP_DOWN, link.watchdog(3.5))
    link.on_heartbeat(_beat(), 4.0)
    assert link.inhibit("ch1", 5.0) is None and link.forced("ch1", 5.0) is None
    assert link.next_deadline() == 7.0
    silent = link.watchdog(7.5)
    assert silent is not None and "for 3.5 s (timeout 3 s)" in silent
    assert link.inhibit_summary("ch1", 7.5) == "watchdog"


def test_watchdog_acts_at_once_when_the_interlock_goes_offline_but_not_on_an_old_will() -> None:
    link = _link(safe_action="switch_off")
    link.on_heartbeat(_beat("b2"), 1.0)
    link.on_online(Online(online=False, boot="b1"), 1.1)  # retained will of an earlier run
    assert link.watchdog(1.2) is None
    link.on_online(Online(online=False, boot="b2", reason="service stopped"), 1.3)
    assert link.forced("ch1", 1.4) == (
        RuleAction.SWITCH_OFF,
        "watchdog: interlock 'interlock' went offline (service stopped)",
    )
    link.on_heartbeat(_beat("b3"), 2.0)
    assert link.watchdog(2.1) is None


def test_without_a_safe_action_the_heartbeat_does_not_matter() -> None:
    link = _link(safe_action="none")
    assert link.inhibit("ch1", 100.0) is None and link.forced("ch1", 100.0) is None


def test_active_rules_inhibit_and_hold_down_their_targets_switch_off_first() -> None:
    link = _link()
    link.on_heartbeat(_beat(), 0.0)
    link.on_rule_state("dew-point", _rule_state(True))
    link.on_rule_state("hard", _rule_state(False, RuleAction.SWITCH_OFF))
    inhibit = link.inhibit("ch1", 0.1)
    assert inhibit is not None and "interlock rule 'dew-point' in force (it is humid)" in inhibit
    assert link.forced("ch1", 0.1) == (RuleAction.RAMP_DOWN, "interlock rule 'dew-point': it is humid")
    link.on_rule_state("hard", _rule_state(True, RuleAction.SWITCH_OFF))
    forced = link.forced("ch1", 0.1)
    assert forced is not None and forced[0] is RuleAction.SWITCH_OFF
    assert link.inhibit("ch2", 0.1) is None, "other channels are not concerned"
    link.on_rule_state("dew-point", None)
    link.on_rule_state("hard", None)
    assert link.inhibit("ch1", 0.1) is None


def test_an_off_waits_until_the_interlock_releases_the_held_channel() -> None:
    link = InterlockLink(InterlockDependency(safe_action="none"), "lv1", started=0.0)
    waiting = _rule_state(False, hold=[RuleHold(device="lv1", channel="ch1", released=False)])
    link.on_rule_state("hv-needs-lv", waiting)
    hold = link.hold("ch1")
    assert hold is not None and hold.rules == ("hv-needs-lv",) and hold.waiting_for == ("hv1/ch1",)
    assert link.hold("ch2") is None
    link.on_rule_state(
        "hv-needs-lv", _rule_state(True, hold=[RuleHold(device="lv1", channel="ch1", released=True)])
    )
    assert link.hold("ch1") is None


# --- trips -----------------------------------------------------------------------------------------


def _channel(**fields: Any) -> PowerChannel:
    limits = PowerLimits(max_voltage=500, max_current=1e-4, ramp_rate=10, max_ramp_rate=50)
    return PowerChannel(id="ch1", hw=1, limits=limits, soft_switch=True, ramp_rate=10.0, **fields)


def _reading(current: float, output: bool = True, tripped: str | None = None) -> OutputReading:
    return OutputReading(
        voltage_setpoint=10,
        current_limit=1e-4,
        voltage=10,
        current=current,
        output_on=output,
        tripped=tripped,
    )


def test_a_trip_needs_the_excess_to_last_trip_time_s() -> None:
    channel = _channel(trip_current=5e-5, trip_time_s=1.0)
    assert channel.check_trip(_reading(1e-4), 0.0) is None
    assert channel.check_trip(_reading(1e-6), 0.5) is None, "a spike shorter than trip_time_s"
    assert channel.check_trip(_reading(1e-4), 1.0) is None
    reason = channel.check_trip(_reading(-1e-4), 2.0)
    assert reason is not None and reason.startswith("over-current: 0.0001 A above the trip level 5e-05 A")
    assert (
        _channel(trip_voltage=5.0).check_trip(_reading(0.0), 0.0)
        == "over-voltage: 10 V above the trip level 5 V"
    )


def test_the_instruments_own_trip_latches_and_a_tripped_channel_refuses_on() -> None:
    channel = _channel()
    assert channel.check_trip(_reading(0.0, output=False, tripped="over_voltage"), 0.0) == (
        "instrument protection tripped: over_voltage"
    )
    channel.trip = "over-current"
    with pytest.raises(ValueError, match="send clear_trip first"):
        channel.validate(Verb.ON, None)
    assert channel.status is PowerStatus.TRIPPED


def test_what_counts_as_raising() -> None:
    channel = _channel()
    assert channel.raises(Verb.ON, None)
    assert not channel.raises(Verb.SET_VOLTAGE, 100.0), "a new target while off raises nothing"
    channel.output, channel.v_target = True, 50.0
    assert channel.raises(Verb.SET_VOLTAGE, 60.0) and not channel.raises(Verb.SET_VOLTAGE, 40.0)
    assert not channel.raises(Verb.ON, None) and not channel.raises(Verb.OFF, None)
    negative = _channel()
    negative.output, negative.v_target = True, -50.0
    assert negative.raises(Verb.SET_VOLTAGE, -60.0) and not negative.raises(Verb.SET_VOLTAGE, -10.0)


def test_device_config_refuses_trips_on_sensors(tmp_path: Path) -> None:
    config = {
        "device": "env1",
        "kind": "env",
        "model": "m",
        "driver": {"name": "envmon", "resource": "TCPIP::127.0.0.1::1::SOCKET"},
        "channels": [{"id": "box", "trip_current": 1.0}],
    }
    path = tmp_path / "env1.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="trips apply to power channels"):
        DeviceConfig.load(path)
