"""Example messages of the AsyncAPI document: model instances encoded as they go on the wire, with
fixed values so the generated document does not change from run to run."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from labdcs.contract.batch import CyclerStateBatch
from labdcs.contract.codec import encode
from labdcs.contract.models import (
    Ack,
    AckResult,
    Alarm,
    AlarmCommand,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    CyclerChannelState,
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
    SensorChannelState,
    SensorStatus,
    Severity,
    StatsScope,
    Verb,
)

#: 2026-01-01T00:00:00Z
T0 = 1_767_225_600_000
BOOT = "7c1e5a90d2b4"


def wire(message: BaseModel) -> Any:
    """The example payload exactly as it goes on the wire."""
    return json.loads(encode(message))


def hv1_meta() -> DeviceMeta:
    return DeviceMeta(
        device="hv1",
        kind=DeviceKind.HV,
        description="Sensor bias supply",
        model="Keithley 2410",
        driver="keithley2410",
        identity=InstrumentIdentity(
            manufacturer="KEITHLEY INSTRUMENTS INC.", model="MODEL 2410", serial="4090124", firmware="C34"
        ),
        software="0.1.0",
        boot=BOOT,
        started=T0,
        publish_period=1.0,
        channels=[
            ChannelMeta(
                id="ch1",
                label="Sensor bias",
                kind=ChannelKind.POWER,
                quantities=[
                    QuantityMeta(name="v_set", unit="V", description="Setpoint programmed now"),
                    QuantityMeta(name="v_mon", unit="V", description="Measured voltage"),
                    QuantityMeta(name="i_mon", unit="A", description="Measured current"),
                    QuantityMeta(name="output", unit="", type="boolean", description="Output on"),
                ],
                limits=PowerLimits(
                    max_voltage=1000.0, max_current=0.0001, ramp_rate=10.0, max_ramp_rate=50.0
                ),
                commands=[
                    CommandMeta(verb=Verb.SET_VOLTAGE, value="number", unit="V", min=0.0, max=1000.0),
                    CommandMeta(verb=Verb.SET_CURRENT_LIMIT, value="number", unit="A", min=0.0, max=0.0001),
                    CommandMeta(verb=Verb.SET_RAMP_RATE, value="number", unit="V/s", min=0.1, max=50.0),
                    CommandMeta(verb=Verb.ON, value="none", description="Switch the output on"),
                    CommandMeta(verb=Verb.OFF, value="none", description="Switch the output off"),
                ],
            )
        ],
    )


def online() -> Online:
    return Online(online=True, boot=BOOT, ts=T0 + 1_200)


def last_will() -> Online:
    """What the broker publishes for the device when its connection is lost."""
    return Online(online=False, boot=BOOT)


def power_state() -> PowerChannelState:
    return PowerChannelState(
        ts=T0 + 42_000,
        seq=41,
        boot=BOOT,
        status=PowerStatus.RAMPING,
        output=True,
        ramping=True,
        v_set=40,
        v_target=100,
        i_limit=0.0001,
        ramp_rate=10,
        v_mon=39.98,
        i_mon=2.3e-08,
        compliance=False,
    )


def sensor_state() -> SensorChannelState:
    return SensorChannelState(
        ts=T0 + 42_000,
        seq=1337,
        boot=BOOT,
        status=SensorStatus.OK,
        values={"temperature": 22.4, "humidity": 41.0, "dew_point": 8.6},
    )


def cycler_state() -> CyclerChannelState:
    return CyclerChannelState(
        ts=T0 + 7_260_000,
        seq=7260,
        boot=BOOT,
        run_state=CyclerRunState.RUNNING,
        output=True,
        mode="cc",
        voltage=3.652,
        current=-2.5,
        power=-9.13,
        temperature=28.4,
        experiment="exp-20260101-nmc-07",
        protocol="cc-cv-cycling v3",
        step_index=4,
        step_id="dchg",
        step_type="cc",
        cycle_index=1,
        test_time=7260.0,
        step_time=1500.0,
        charge_capacity=2.512,
        discharge_capacity=1.042,
        charge_energy=9.81,
        discharge_energy=3.86,
        step_end_reason="time >= 600 s",
    )


def cycler_state_batch() -> CyclerStateBatch:
    """Three consecutive 1 s records of :func:`cycler_state`'s run, as a station at ``speed: max``
    sends them."""
    first = cycler_state()
    states = [
        first.model_copy(
            update={
                "ts": first.ts + i * 1000,
                "seq": first.seq + i,
                "test_time": first.test_time + i,
                "step_time": first.step_time + i,
                "voltage": round(first.voltage - 0.0004 * i, 4) if first.voltage is not None else None,
            }
        )
        for i in range(3)
    ]
    return CyclerStateBatch(states=states)


def cycler_stats() -> CyclerStats:
    return CyclerStats(
        scope=StatsScope.CYCLE,
        ts=T0 + 9_400_000,
        boot=BOOT,
        experiment="exp-20260101-nmc-07",
        cycle_index=1,
        start=T0 + 600_000,
        end=T0 + 9_400_000,
        duration=8800.0,
        end_reason="cycle complete",
        charge_capacity=2.512,
        discharge_capacity=2.509,
        charge_energy=9.81,
        discharge_energy=9.23,
        coulombic_efficiency=0.9988,
        energy_efficiency=0.9409,
        v_min=2.75,
        v_max=4.2,
        v_mean=3.74,
        i_mean=0.0,
        t_min=25.1,
        t_max=29.6,
        cv_time=1510.0,
        cv_capacity=0.167,
        dc_resistance=0.0245,
    )


def command() -> Command:
    return Command(id="op-1", value=100, user="alice", ts=T0 + 36_000)


def ack() -> Ack:
    return Ack(
        id="op-1",
        device="hv1",
        channel="ch1",
        verb=Verb.SET_VOLTAGE,
        result=AckResult.ACCEPTED,
        ts=T0 + 36_050,
        value=100,
        principal="cli",
        user="alice",
    )


def alarm() -> Alarm:
    return Alarm(
        alarm="ch1-compliance",
        device="hv1",
        channel="ch1",
        severity=Severity.WARNING,
        message="ch1 reached its current limit 0.0001 A at 812.3 V",
        active=True,
        raised=T0 + 50_000,
    )


def rule_state() -> RuleState:
    return RuleState(
        ts=T0 + 42_000,
        seq=310,
        boot=BOOT,
        status=RuleStatus.LATCHED,
        condition=False,
        active=True,
        latch=True,
        since=T0 + 30_000,
        reason="dew point env1/box/dew_point = 19.6 is 1.8 K below env1/box/temperature = 21.4 (margin 3 K)",
        detail="dew point env1/box/dew_point = 6.1 is 15.3 K below env1/box/temperature = 21.4 (margin 3 K)",
        targets=[
            RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=False),
            RuleTarget(device="hv2", channel="ch1", action=RuleAction.RAMP_DOWN, output=False),
        ],
        device_kind=DeviceKind.INTERLOCK,
    )


def ordering_rule_state() -> RuleState:
    return RuleState(
        ts=T0 + 42_000,
        seq=311,
        boot=BOOT,
        status=RuleStatus.ACTIVE,
        condition=True,
        active=True,
        latch=False,
        since=T0 + 41_000,
        reason="lv1/ch1 is switching off",
        detail="lv1/ch1 is switching off",
        targets=[RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=False)],
        hold=[RuleHold(device="lv1", channel="ch1", released=True)],
        device_kind=DeviceKind.INTERLOCK,
    )


def heartbeat() -> Heartbeat:
    return Heartbeat(boot=BOOT, seq=84, ts=T0 + 42_000, period=0.5, rules=3, active=1)


def alarm_command() -> AlarmCommand:
    return AlarmCommand(id="op-7", user="alice", ts=T0 + 60_000)
