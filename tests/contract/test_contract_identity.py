"""The topic is the identity: the one check every reader uses (labdcs.contract.identity, via decode)."""

from __future__ import annotations

import pytest

from labdcs.contract import examples, limits, topics
from labdcs.contract.codec import ContractError, IdentityError, OversizeError, decode, decode_as, encode
from labdcs.contract.identity import Declared, foreign_run
from labdcs.contract.topics import TopicInfo, TopicKind


def test_a_meta_naming_another_device_is_refused() -> None:
    meta = examples.hv1_meta()
    assert decode(topics.meta("hv1"), encode(meta))[1] == meta
    with pytest.raises(IdentityError, match="names device 'hv1' but came on the topic of device 'env1'"):
        decode(topics.meta("env1"), encode(meta))


def test_an_ack_or_alarm_naming_another_device_or_alarm_is_refused() -> None:
    ack = examples.ack()
    with pytest.raises(IdentityError, match="device"):
        decode(topics.ack("env1"), encode(ack))
    alarm = examples.alarm()
    decode(topics.alarm(alarm.device, alarm.alarm), encode(alarm))
    with pytest.raises(IdentityError, match="names alarm"):
        decode(topics.alarm(alarm.device, "other"), encode(alarm))
    with pytest.raises(IdentityError, match="names device"):
        decode(topics.alarm("env1", alarm.alarm), encode(alarm))


def test_a_meta_declaring_a_channel_twice_or_too_many_is_refused() -> None:
    meta = examples.hv1_meta()
    doubled = meta.model_copy(update={"channels": [*meta.channels, meta.channels[0]]})
    with pytest.raises(IdentityError, match="twice"):
        decode(topics.meta("hv1"), encode(doubled))
    many = [
        meta.channels[0].model_copy(update={"id": f"c{n}"}) for n in range(limits.MAX_CHANNELS_PER_DEVICE + 1)
    ]
    with pytest.raises(IdentityError, match="declares 129 channels; the contract allows 128"):
        decode(topics.meta("hv1"), encode(meta.model_copy(update={"channels": many})))


def test_a_payload_over_the_budget_is_refused_before_it_is_parsed() -> None:
    huge = b"[" * (limits.MAX_STATE_BYTES + 1)  # would be a deep-nesting problem if it were parsed
    with pytest.raises(OversizeError, match="more than the contract's"):
        decode(topics.state("hv1", "ch0"), huge)
    assert issubclass(OversizeError, ContractError) and issubclass(IdentityError, ContractError)


def test_declared_channels_come_from_the_meta_and_go_with_it() -> None:
    declared = Declared(max_devices=2)
    meta = examples.hv1_meta()
    channel = meta.channels[0].id
    state = examples.power_state()
    info = TopicInfo(TopicKind.STATE, "hv1", channel)
    assert "no meta" in (declared.undeclared(info, state) or "")
    assert declared.update("hv1", meta) == set()
    assert declared.undeclared(info, state) is None
    assert "does not declare" in (declared.undeclared(TopicInfo(TopicKind.STATE, "hv1", "x"), state) or "")
    sensor = examples.sensor_state()
    assert "not a sensor one" in (declared.undeclared(info, sensor) or "")
    stats = TopicInfo(TopicKind.STATS, "hv1", channel)
    assert "not a cycler one" in (declared.undeclared(stats, examples.cycler_stats()) or "")
    assert declared.update("hv1", None) == {c.id for c in meta.channels}
    assert "no meta" in (declared.undeclared(info, state) or "")
    for device in ("a", "b", "c"):
        declared.update(device, meta)
    assert len(declared) == 2 and "a" not in declared  # bounded: the oldest is forgotten


def test_a_run_is_believed_only_from_its_own_station_channel() -> None:
    info = TopicInfo(TopicKind.STATS, "env1", "box")
    reason = foreign_run(info, "exp-1", "station1", "ch1")
    assert reason == "'env1/box' sent stats naming experiment 'exp-1', which runs on 'station1/ch1'"
    assert foreign_run(TopicInfo(TopicKind.STATS, "station1", "ch1"), "exp-1", "station1", "ch1") is None


def test_a_command_over_its_budget_is_refused_by_the_device_codec() -> None:
    """Devices decode commands with decode_as: the same budget applies before parsing."""
    protocol = "x" * limits.MAX_COMMAND_BYTES
    body = b'{"id": "a", "ts": 1, "protocol": "' + protocol.encode() + b'"}'
    with pytest.raises(OversizeError, match="more than the contract's 1,048,576"):
        decode_as(TopicKind.COMMAND, topics.command("station1", "ch1", "load_protocol", "experiments"), body)
