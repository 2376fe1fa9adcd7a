"""Example messages of every kind, built from the models, for the contract tests.

Numeric fields are deliberately given as Python ints where the contract says float, so the tests
show that the encoded JSON still carries floats.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdcs.contract import (
    Ack,
    AckResult,
    Alarm,
    AlarmCommand,
    AlarmVerb,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    CyclerChannelState,
    CyclerLimits,
    CyclerRunState,
    CyclerStats,
    DeviceKind,
    DeviceMeta,
    Heartbeat,
    InstrumentIdentity,
    Online,
    PowerChannelState,
    PowerLimits,
    PowerStatus,
    QuantityMeta,
    RuleAction,
    RuleHold,
    RuleState,
    RuleStatus,
    RuleTarget,
    RuleVerb,
    SensorChannelState,
    SensorStatus,
    Severity,
    StatsScope,
    Verb,
    examples,
    topics,
)
from labdcs.contract.codec import Message

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BOOT = "b00t-0001"


@dataclass(frozen=True)
class Example:
    name: str
    topic: str
    message: Message


def _power_commands(max_voltage: float, max_current: float) -> list[CommandMeta]:
    return [
        CommandMeta(verb=Verb.SET_VOLTAGE, value="number", unit="V", min=0, max=max_voltage),
        CommandMeta(verb=Verb.SET_CURRENT_LIMIT, value="number", unit="A", min=0, max=max_current),
        CommandMeta(verb=Verb.SET_RAMP_RATE, value="number", unit="V/s", min=0.1, max=50),
        CommandMeta(verb=Verb.ON, value="none"),
        CommandMeta(verb=Verb.OFF, value="none"),
    ]


def _power_quantities() -> list[QuantityMeta]:
    return [
        QuantityMeta(name="v_mon", unit="V"),
        QuantityMeta(name="i_mon", unit="A"),
        QuantityMeta(name="output", unit="", type="boolean"),
    ]


HV1_META = DeviceMeta(
    device="hv1",
    kind=DeviceKind.HV,
    description="Sensor bias",
    model="Keithley 2410",
    driver="keithley2410",
    identity=InstrumentIdentity(
        manufacturer="KEITHLEY INSTRUMENTS INC.", model="MODEL 2410", serial="4090124", firmware="C34"
    ),
    software="0.1.0",
    boot=BOOT,
    started=T0,
    publish_period=1,
    channels=[
        ChannelMeta(
            id="ch1",
            label="Bias",
            kind=ChannelKind.POWER,
            quantities=_power_quantities(),
            limits=PowerLimits(max_voltage=1000, max_current=0.0001, ramp_rate=10, max_ramp_rate=50),
            commands=_power_commands(1000, 0.0001),
        )
    ],
)

LV1_META = DeviceMeta(
    device="lv1",
    kind=DeviceKind.LV,
    model="R&S HMP4040",
    driver="hmp4040",
    software="0.1.0",
    boot=BOOT,
    started=T0,
    publish_period=2.5,
    channels=[
        ChannelMeta(
            id=f"ch{n}",
            kind=ChannelKind.POWER,
            quantities=_power_quantities(),
            limits=PowerLimits(max_voltage=32, max_current=10, ramp_rate=1, max_ramp_rate=5),
            commands=_power_commands(32, 10),
        )
        for n in range(1, 5)
    ],
)

ENV1_META = DeviceMeta(
    device="env1",
    kind=DeviceKind.ENV,
    model="environment monitor",
    driver="envmon",
    software="0.1.0",
    boot=BOOT,
    started=T0,
    publish_period=5,
    channels=[
        ChannelMeta(
            id="box",
            kind=ChannelKind.SENSOR,
            quantities=[
                QuantityMeta(name="temperature", unit="degC", min=-40, max=85),
                QuantityMeta(name="humidity", unit="%", min=0, max=100),
                QuantityMeta(name="dew_point", unit="degC"),
            ],
        )
    ],
)

HV1_RAMPING = PowerChannelState(
    ts=T0 + 1000,
    seq=7,
    boot=BOOT,
    status=PowerStatus.RAMPING,
    output=True,
    ramping=True,
    v_set=40,
    v_target=100,
    i_limit=0.0001,
    ramp_rate=10,
    v_mon=40,
    i_mon=2.3e-8,
    compliance=False,
)

INTERLOCK_META = DeviceMeta(
    device="interlock",
    kind=DeviceKind.INTERLOCK,
    model="labdcs interlock",
    driver="rules",
    software="0.1.0",
    boot=BOOT,
    started=T0,
    publish_period=1,
    channels=[
        ChannelMeta(
            id="dew-point",
            label="Condensation risk",
            kind=ChannelKind.RULE,
            quantities=[QuantityMeta(name="active", unit="", type="boolean")],
            commands=[CommandMeta(verb=RuleVerb.RESET, value="none")],
        )
    ],
)

RULE_LATCHED = RuleState(
    ts=T0 + 2000,
    seq=3,
    boot=BOOT,
    status=RuleStatus.LATCHED,
    condition=False,
    active=True,
    latch=True,
    since=T0 + 1000,
    reason="dew point env1/box/dew_point = 19.6 is 1.8 K below env1/box/temperature = 21.4 (margin 3 K)",
    detail="dew point env1/box/dew_point = 6 is 15.4 K below env1/box/temperature = 21.4 (margin 3 K)",
    targets=[RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=False)],
    device_kind=DeviceKind.INTERLOCK,
)

EXAMPLES: list[Example] = [
    Example("meta-hv1", topics.meta("hv1"), HV1_META),
    Example("meta-lv1", topics.meta("lv1"), LV1_META),
    Example("meta-env1", topics.meta("env1"), ENV1_META),
    Example("online", topics.online("hv1"), Online(online=True, boot=BOOT, ts=T0 + 10)),
    Example("last-will", topics.online("hv1"), Online(online=False, boot=BOOT)),
    Example(
        "offline-stopped", topics.online("can1"), Online(online=False, boot=BOOT, ts=T0, reason="stopped")
    ),
    Example("state-power-ramping", topics.state("hv1", "ch1"), HV1_RAMPING),
    Example(
        "state-power-unreadable",
        topics.state("lv1", "ch3"),
        PowerChannelState(
            ts=T0,
            seq=0,
            boot=BOOT,
            status=PowerStatus.FAULT,
            fault="instrument not answering",
            output=False,
            ramping=False,
            v_set=0,
            v_target=0,
            i_limit=1,
            ramp_rate=1,
        ),
    ),
    Example(
        "state-sensor",
        topics.state("env1", "box"),
        SensorChannelState(
            ts=T0 + 5000,
            seq=12,
            boot=BOOT,
            status=SensorStatus.OK,
            values={"temperature": 22, "humidity": 41.5, "dew_point": 8.6},
        ),
    ),
    Example(
        "command-set-voltage",
        topics.command("hv1", "ch1", Verb.SET_VOLTAGE, "cli"),
        Command(id="op-1", value=100, user="alice", ts=T0),
    ),
    Example("command-on", topics.command("can1", "ch2", Verb.ON, "nodered"), Command(id="a.b:c-1_2", ts=T0)),
    Example(
        "ack-accepted",
        topics.ack("hv1"),
        Ack(
            id="op-1",
            device="hv1",
            channel="ch1",
            verb="set_voltage",
            result=AckResult.ACCEPTED,
            ts=T0,
            value=100,
            principal="cli",
            user="alice",
        ),
    ),
    Example(
        "ack-rejected",
        topics.ack("hv1"),
        Ack(
            id="op-2",
            device="hv1",
            channel="ch1",
            verb="set_voltage",
            result=AckResult.REJECTED,
            reason="value 1200.0 V is above the channel's limit 1000.0 V",
            ts=T0,
            value=1200,
        ),
    ),
    Example(
        "ack-unparsable",
        topics.ack("lv1"),
        Ack(
            device="lv1",
            channel="ch2",
            verb="on",
            result=AckResult.REJECTED,
            reason="malformed JSON: Expecting value: line 1 column 1 (char 0)",
            ts=T0,
        ),
    ),
    Example(
        "ack-failed",
        topics.ack("can1"),
        Ack(
            id="op-3",
            device="can1",
            channel="ch1",
            verb="off",
            result=AckResult.FAILED,
            reason="device offline: instrument not answering",
            ts=T0,
        ),
    ),
    Example(
        "alarm-active",
        topics.alarm("hv1", "ch1-compliance"),
        Alarm(
            alarm="ch1-compliance",
            device="hv1",
            channel="ch1",
            severity=Severity.WARNING,
            message="current limit reached",
            active=True,
            raised=T0,
        ),
    ),
    Example("meta-interlock", topics.meta("interlock"), INTERLOCK_META),
    Example("state-rule-latched", topics.state("interlock", "dew-point"), RULE_LATCHED),
    Example(
        "state-rule-ordering",
        topics.state("interlock", "hv-needs-lv"),
        RuleState(
            ts=T0,
            seq=4,
            boot=BOOT,
            status=RuleStatus.ACTIVE,
            condition=True,
            active=True,
            latch=False,
            since=T0,
            reason="lv1/ch1 is switching off",
            detail="lv1/ch1 is switching off",
            targets=[RuleTarget(device="hv1", channel="ch1", action=RuleAction.INHIBIT)],
            hold=[RuleHold(device="lv1", channel="ch1", released=False)],
        ),
    ),
    Example(
        "state-power-tripped",
        topics.state("hv1", "ch1"),
        PowerChannelState(
            ts=T0,
            seq=9,
            boot=BOOT,
            status=PowerStatus.TRIPPED,
            output=False,
            ramping=False,
            v_set=40,
            v_target=40,
            i_limit=0.0001,
            ramp_rate=10,
            v_mon=40,
            i_mon=9.9e-5,
            trip="over-current: 9.9e-05 A above the trip level 5e-05 A",
        ),
    ),
    Example(
        "state-power-inhibited",
        topics.state("hv2", "ch1"),
        PowerChannelState(
            ts=T0,
            seq=10,
            boot=BOOT,
            status=PowerStatus.INHIBITED,
            output=False,
            ramping=False,
            v_set=0,
            v_target=-100,
            i_limit=0.0001,
            ramp_rate=20,
            inhibit="interlock rule 'dew-point' in force",
        ),
    ),
    Example(
        "state-power-switching-off",
        topics.state("lv1", "ch1"),
        PowerChannelState(
            ts=T0,
            seq=11,
            boot=BOOT,
            status=PowerStatus.ON,
            output=True,
            ramping=False,
            v_set=1.5,
            v_target=1.5,
            i_limit=3,
            ramp_rate=5,
            switching_off=True,
        ),
    ),
    Example(
        "command-reset",
        topics.command("interlock", "dew-point", RuleVerb.RESET, "cli"),
        Command(id="op-9", ts=T0),
    ),
    Example(
        "command-acknowledge",
        topics.alarm_command("hv1", "ch1-trip", AlarmVerb.ACKNOWLEDGE, "nodered"),
        AlarmCommand(id="op-10", user="alice", ts=T0),
    ),
    Example(
        "ack-acknowledge",
        topics.ack("hv1"),
        Ack(
            id="op-10",
            device="hv1",
            channel="alarm",
            verb="acknowledge",
            result=AckResult.ACCEPTED,
            ts=T0,
            alarm="ch1-trip",
            principal="nodered",
            user="alice",
        ),
    ),
    Example(
        "heartbeat",
        topics.heartbeat("interlock"),
        Heartbeat(boot=BOOT, seq=12, ts=T0, period=0.5, rules=3, active=0),
    ),
    Example(
        "alarm-cleared",
        topics.alarm("env1", "dew-point"),
        Alarm(
            alarm="dew-point",
            device="env1",
            severity=Severity.CRITICAL,
            message="box temperature within 2 K of the dew point",
            active=False,
            raised=T0,
            cleared=T0 + 60_000,
            acknowledged=T0 + 30_000,
            acknowledged_by="alice",
            acknowledged_principal="nodered",
        ),
    ),
    Example(
        "meta-station1",
        topics.meta("station1"),
        DeviceMeta(
            device="station1",
            kind=DeviceKind.CYCLER,
            model="EA PSB 9080-60",
            driver="psb",
            software="0.1.0",
            boot=BOOT,
            started=T0,
            publish_period=1,
            channels=[
                ChannelMeta(
                    id="ch1",
                    kind=ChannelKind.CYCLER,
                    quantities=[QuantityMeta(name="voltage", unit="V")],
                    commands=[
                        CommandMeta(verb=Verb.LOAD_PROTOCOL, value="none"),
                        CommandMeta(verb=Verb.START, value="none"),
                    ],
                    cycler_limits=CyclerLimits(
                        v_min=2.5, v_max=4.2, i_min=-5, i_max=2, t_max=60, capacity=2.5
                    ),
                )
            ],
        ),
    ),
    Example(
        "state-cycler-running",
        topics.state("station1", "ch1"),
        CyclerChannelState(
            ts=T0 + 5_000,
            seq=7,
            boot=BOOT,
            run_state=CyclerRunState.RUNNING,
            output=True,
            mode="cc",
            voltage=4,
            current=-2,
            power=-8,
            temperature=27,
            experiment="exp-1",
            protocol="cc-cv v1",
            step_index=3,
            step_type="cc",
            cycle_index=1,
            test_time=5,
            step_time=1,
            charge_capacity=2,
            discharge_capacity=0,
            charge_energy=8,
            discharge_energy=0,
            step_end_reason="time >= 600 s",
        ),
    ),
    Example(
        "command-load-protocol",
        topics.command("station1", "ch1", Verb.LOAD_PROTOCOL, "experiments"),
        Command(id="op-9", protocol="Rest for 10 minutes", experiment="exp-1", ts=T0),
    ),
    Example(
        "cycler-state-batch",
        topics.states("station1", "ch1"),
        examples.cycler_state_batch(),
    ),
    Example(
        "stats-cycle",
        topics.stats("station1", "ch1"),
        CyclerStats(
            scope=StatsScope.CYCLE,
            ts=T0 + 9_000,
            boot=BOOT,
            experiment="exp-1",
            cycle_index=1,
            start=T0,
            end=T0 + 9_000,
            duration=9,
            end_reason="cycle complete",
            charge_capacity=2,
            discharge_capacity=2,
            charge_energy=8,
            discharge_energy=7,
            coulombic_efficiency=1,
            energy_efficiency=0.875,
            cv_time=0,
            cv_capacity=0,
        ),
    ),
]
