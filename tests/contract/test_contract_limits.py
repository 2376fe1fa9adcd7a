"""The contract's size budgets hold the largest legitimate messages, with their margin, and stay sane.

Each largest message is built with the services' own meta builders and models, every bounded field at
its bound and every free-text character the most expensive one on the wire (a control character that
JSON escapes as six bytes).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labdcs.contract import limits
from labdcs.contract.codec import encode
from labdcs.contract.models import (
    Ack,
    AckResult,
    Alarm,
    ChannelKind,
    ChannelMeta,
    Command,
    CyclerChannelState,
    CyclerLimits,
    CyclerRunState,
    CyclerStats,
    DeviceKind,
    DeviceMeta,
    InstrumentIdentity,
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
    Severity,
    StatsScope,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.config import ChannelConfig, DeviceConfig
from labdcs.devices.cycler import channel as cycler_channel
from labdcs.devices.cycler import service as cycler_service
from labdcs.devices.publishing import power_channel_meta
from labdcs.drivers import envmon
from labdcs.interlock import service as interlock_service

WORST = "\x01"  # escaped as \u0001: six bytes per character
LABEL = WORST * limits.MAX_LABEL_LENGTH
TEXT = WORST * limits.MAX_TEXT_LENGTH
BIG = -1.2345678901234567e-300  # the longest float spelling


def ident(index: int) -> str:
    return f"{index:03d}".ljust(limits.MAX_IDENT_LENGTH, "x")


def device_meta(kind: DeviceKind, channels: list[ChannelMeta]) -> DeviceMeta:
    return DeviceMeta(
        device=ident(0),
        kind=kind,
        description=LABEL,
        model=LABEL,
        driver=ident(0),
        identity=InstrumentIdentity(manufacturer=LABEL, model=LABEL, serial=LABEL, firmware=LABEL),
        software="10.100.1000.dev1000+g0123456789ab",
        boot="0123456789abcdef",
        started=9_999_999_999_999,
        publish_period=1.2345678901234567e-300,
        channels=channels,
    )


def largest_metas() -> dict[str, DeviceMeta]:
    n = limits.MAX_CHANNELS_PER_DEVICE
    power_limits = PowerLimits(
        max_voltage=BIG, min_voltage=BIG, max_current=BIG, ramp_rate=1e300, max_ramp_rate=1e300
    )
    power = [
        power_channel_meta(
            ChannelConfig(id=ident(i), label=LABEL, max_voltage=1.0, max_current=1.0, ramp_rate=1.0),
            power_limits,
        )
        for i in range(n)
    ]
    cycler_limits = CyclerLimits(v_min=BIG, v_max=BIG, i_min=BIG, i_max=BIG, t_max=BIG, capacity=BIG)
    cycler = [
        ChannelMeta(
            id=ident(i),
            label=LABEL,
            kind=ChannelKind.CYCLER,
            quantities=cycler_channel.QUANTITIES,
            commands=cycler_service._COMMANDS,
            cycler_limits=cycler_limits,
        )
        for i in range(n)
    ]
    rules = [
        ChannelMeta(
            id=ident(i),
            label=LABEL,
            kind=ChannelKind.RULE,
            quantities=interlock_service._RULE_QUANTITIES,
            commands=[interlock_service.RESET_COMMAND],
        )
        for i in range(n)
    ]
    sensors = [
        ChannelMeta(
            id=ident(i),
            label=LABEL,
            kind=ChannelKind.SENSOR,
            quantities=[
                {"name": q.name, "unit": q.unit, "description": q.description, "min": BIG, "max": BIG}
                for q in envmon.QUANTITIES
            ],
        )
        for i in range(n)
    ]
    return {
        "power": device_meta(DeviceKind.HV, power),
        "cycler": device_meta(DeviceKind.CYCLER, cycler),
        "interlock": device_meta(DeviceKind.INTERLOCK, rules),
        "sensor": device_meta(DeviceKind.ENV, sensors),
    }


def largest_states() -> dict[str, bytes]:
    common = {"ts": 9_999_999_999_999, "seq": 10**15, "boot": "0123456789abcdef", "fault": TEXT}
    power = PowerChannelState(
        **common,
        device_kind=DeviceKind.HV,
        status=PowerStatus.INHIBITED,
        output=True,
        ramping=True,
        v_set=BIG,
        v_target=BIG,
        i_limit=BIG,
        ramp_rate=BIG,
        v_mon=BIG,
        i_mon=BIG,
        compliance=True,
        trip=TEXT,
        inhibit=TEXT,
        switching_off=True,
    )
    sensor = SensorChannelState(
        **common,
        device_kind=DeviceKind.ENV,
        status=SensorStatus.FAULT,
        values={ident(i): BIG for i in range(len(envmon.QUANTITIES))},
    )
    cycler = CyclerChannelState(
        **common,
        device_kind=DeviceKind.CYCLER,
        run_state=CyclerRunState.RUNNING,
        output=True,
        mode="cccv",
        voltage=BIG,
        current=BIG,
        power=BIG,
        temperature=BIG,
        experiment=WORST * 64,
        protocol=LABEL,
        step_index=10**9,
        step_id=ident(0),
        step_type="pulse",
        cycle_index=10**9,
        test_time=BIG,
        step_time=BIG,
        charge_capacity=BIG,
        discharge_capacity=BIG,
        charge_energy=BIG,
        discharge_energy=BIG,
        step_end_reason=TEXT,
    )
    half = limits.MAX_RULE_TARGETS // 2
    rule = RuleState(
        **common,
        device_kind=DeviceKind.INTERLOCK,
        status=RuleStatus.LATCHED,
        condition=True,
        active=True,
        latch=True,
        since=9_999_999_999_999,
        reason=TEXT,
        detail=TEXT,
        targets=[
            RuleTarget(device=ident(i), channel=ident(i), action=RuleAction.RAMP_DOWN, output=True)
            for i in range(half)
        ],
        hold=[RuleHold(device=ident(i), channel=ident(i), released=True) for i in range(half)],
    )
    states = {"power": power, "sensor": sensor, "cycler": cycler, "rule": rule}
    return {name: encode(state) for name, state in states.items()}


def largest_command() -> bytes:
    return encode(
        Command(
            id="x" * 64,
            value=None,
            user=WORST * 128,
            ts=9_999_999_999_999,
            protocol=WORST * (limits.MAX_PROTOCOL_BYTES // 6),
            experiment=WORST * 64,
        )
    )


def largest_stats() -> bytes:
    return encode(
        CyclerStats(
            scope=StatsScope.STEP,
            ts=9_999_999_999_999,
            boot="0123456789abcdef",
            experiment=WORST * 64,
            step_index=10**9,
            step_id=ident(0),
            step_type="pulse",
            cycle_index=10**9,
            start=9_999_999_999_999,
            end=9_999_999_999_999,
            end_reason=TEXT,
            **{
                name: BIG
                for name in CyclerStats.model_fields
                if name
                not in {
                    "scope",
                    "ts",
                    "boot",
                    "experiment",
                    "step_index",
                    "step_id",
                    "step_type",
                    "cycle_index",
                    "start",
                    "end",
                    "end_reason",
                }
            },
        )
    )


def largest_small() -> dict[str, bytes]:
    ack = Ack(
        id="x" * 64,
        device=ident(0),
        channel=ident(0),
        verb=ident(0),
        result=AckResult.REJECTED,
        reason=TEXT,
        ts=9_999_999_999_999,
        value=BIG,
        alarm=ident(0),
        repeat=True,
    )
    alarm = Alarm(
        alarm=ident(0),
        device=ident(0),
        channel=ident(0),
        severity=Severity.CRITICAL,
        message=TEXT,
        active=True,
        raised=9_999_999_999_999,
        cleared=9_999_999_999_999,
        acknowledged=9_999_999_999_999,
        acknowledged_by=WORST * 128,
        ts=9_999_999_999_999,
    )
    online = Online(online=True, boot="0123456789abcdef", ts=9_999_999_999_999, reason=TEXT)
    return {"ack": encode(ack), "alarm": encode(alarm), "online": encode(online)}


def test_largest_legitimate_messages_fit_their_budget_with_the_margin() -> None:
    sizes = {f"meta {name}": (len(encode(m)), TopicKind.META) for name, m in largest_metas().items()}
    sizes |= {f"state {name}": (len(p), TopicKind.STATE) for name, p in largest_states().items()}
    sizes["command"] = (len(largest_command()), TopicKind.COMMAND)
    sizes["stats"] = (len(largest_stats()), TopicKind.STATS)
    sizes |= {name: (len(p), TopicKind(name)) for name, p in largest_small().items()}
    for name, (size, kind) in sizes.items():
        budget = limits.max_bytes(kind)
        assert size * limits.MARGIN <= budget, f"{name}: {size:,} bytes x {limits.MARGIN} > {budget:,}"
        assert budget <= limits.MAX_MESSAGE_BYTES
        assert limits.too_big(kind, size) is None
        assert limits.too_big(kind, budget + 1) is not None


def test_the_broker_limit_is_not_absurdly_large() -> None:
    """Mosquitto's default (256 MB) let one retained message take a gigabyte of Node-RED (issue 12)."""
    assert 256 * limits.KIB <= limits.MAX_MESSAGE_BYTES <= 4 * limits.MIB
    largest = max(len(encode(m)) for m in largest_metas().values())
    # Not padded far beyond need either: the largest meta is at least a tenth of the limit.
    assert largest * 10 >= limits.MAX_MESSAGE_BYTES


def test_refusal_reason_is_a_sentence() -> None:
    reason = limits.too_big(TopicKind.STATE, 10 * limits.MIB)
    limit = f"{limits.MAX_STATE_BYTES:,}"
    assert reason == f"the state message is 10,485,760 bytes, more than the contract's {limit}"


def test_configs_refuse_more_channels_or_longer_labels_than_the_contract_allows() -> None:
    """The bounds the budgets assume are the configs' own: a bigger meta cannot be configured."""
    channel = {"max_voltage": 1.0, "max_current": 1.0, "ramp_rate": 1.0}
    driver = {"name": "keithley2410", "resource": "TCPIP::127.0.0.1::5025::SOCKET"}
    base = {"device": "hv9", "kind": "hv", "model": "m", "driver": driver}
    too_many = [{"id": f"ch{i}", **channel} for i in range(limits.MAX_CHANNELS_PER_DEVICE + 1)]
    with pytest.raises(ValidationError, match="at most 128 items"):
        DeviceConfig.model_validate({**base, "channels": too_many})
    long_label = [{"id": "ch0", "label": "x" * (limits.MAX_LABEL_LENGTH + 1), **channel}]
    with pytest.raises(ValidationError, match="at most 200 characters"):
        DeviceConfig.model_validate({**base, "channels": long_label})
    DeviceConfig.model_validate({**base, "channels": too_many[:-1]})
