"""Round trips of every contract model and the type stability of what goes on the wire."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from labdcs.contract import (
    CONTRACT,
    Ack,
    Alarm,
    AlarmCommand,
    ChannelMeta,
    Command,
    CommandMeta,
    CyclerChannelState,
    CyclerLimits,
    CyclerStateBatch,
    CyclerStats,
    DeviceMeta,
    Heartbeat,
    InstrumentIdentity,
    Online,
    PowerChannelState,
    PowerLimits,
    QuantityMeta,
    RuleHold,
    RuleState,
    RuleTarget,
    SensorChannelState,
    decode,
    encode,
    topics,
)
from tests.contract.contract_examples import EXAMPLES, HV1_META, HV1_RAMPING, Example

ALL_MODELS: set[type[BaseModel]] = {
    DeviceMeta,
    InstrumentIdentity,
    ChannelMeta,
    QuantityMeta,
    CommandMeta,
    PowerLimits,
    Online,
    PowerChannelState,
    SensorChannelState,
    Command,
    AlarmCommand,
    Ack,
    Alarm,
    CyclerChannelState,
    CyclerStats,
    CyclerLimits,
    RuleState,
    RuleTarget,
    RuleHold,
    Heartbeat,
    CyclerStateBatch,
}


def _no_constants(token: str) -> Any:
    raise AssertionError(f"the encoded JSON contains {token}")


def _models_in(value: object) -> set[type[BaseModel]]:
    if isinstance(value, BaseModel):
        found: set[type[BaseModel]] = {type(value)}
        for name in type(value).model_fields:
            found |= _models_in(getattr(value, name))
        return found
    if isinstance(value, list):
        return set().union(*(_models_in(item) for item in value))
    return set()


def _assert_same_number_types(python: object, wire: object, where: str) -> None:
    """Wherever the model holds a float the JSON holds a float, and an int wherever it holds an int."""
    if isinstance(python, dict):
        assert isinstance(wire, dict), where
        assert python.keys() == wire.keys(), where
        for key, value in python.items():
            _assert_same_number_types(value, wire[key], f"{where}.{key}")
    elif isinstance(python, list):
        assert isinstance(wire, list) and len(python) == len(wire), where
        for index, (item, wire_item) in enumerate(zip(python, wire, strict=True)):
            _assert_same_number_types(item, wire_item, f"{where}[{index}]")
    elif isinstance(python, bool):
        assert wire is python, where
    elif isinstance(python, float):
        assert type(wire) is float, f"{where}: float field encoded as {wire!r}"
        assert math.isfinite(wire), where
    elif isinstance(python, int):
        assert type(wire) is int, f"{where}: int field encoded as {wire!r}"


def test_the_examples_cover_every_model() -> None:
    covered = set().union(*(_models_in(example.message) for example in EXAMPLES))
    assert covered == ALL_MODELS


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_round_trip(example: Example) -> None:
    info, decoded = decode(example.topic, encode(example.message))
    assert type(decoded) is type(example.message)
    assert decoded == example.message
    assert topics.parse(example.topic) == info


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_encoded_numbers_keep_their_type(example: Example) -> None:
    wire = json.loads(encode(example.message), parse_constant=_no_constants)
    python = example.message.model_dump(mode="python", exclude_none=True)
    _assert_same_number_types(python, wire, example.name)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_absent_optional_fields_are_left_out(example: Example) -> None:
    assert b"null" not in encode(example.message)


def test_floats_given_as_ints_are_encoded_with_a_fraction() -> None:
    raw = encode(HV1_RAMPING)
    assert b'"v_set":40.0' in raw
    assert b'"v_target":100.0' in raw
    assert b'"ramp_rate":10.0' in raw
    assert b'"seq":7,' in raw  # ints stay ints
    assert b'"value":100.0' in encode(Command(id="op-1", value=100, ts=0))
    assert b'"value":true' in encode(Command(id="op-1", value=True, ts=0))
    meta = encode(HV1_META)
    assert b'"publish_period":1.0' in meta
    assert b'"max_voltage":1000.0' in meta


def test_sensor_values_given_as_ints_are_floats() -> None:
    state = SensorChannelState(ts=0, seq=0, boot="b", status="ok", values={"temperature": 21})
    assert encode(state).endswith(b'"values":{"temperature":21.0}}')


def test_meta_carries_the_contract_version() -> None:
    assert json.loads(encode(HV1_META))["contract"] == CONTRACT == topics.PREFIX


_STATE_FIELDS: dict[str, Any] = {
    "ts": 0,
    "seq": 0,
    "boot": "b",
    "status": "on",
    "output": True,
    "ramping": False,
    "v_set": 1.0,
    "v_target": 1.0,
    "i_limit": 1.0,
    "ramp_rate": 1.0,
}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda x: PowerChannelState(**{**_STATE_FIELDS, "v_set": x}), id="state.v_set"),
        pytest.param(lambda x: PowerChannelState(**{**_STATE_FIELDS, "i_mon": x}), id="state.i_mon"),
        pytest.param(
            lambda x: SensorChannelState(ts=0, seq=0, boot="b", status="ok", values={"t": x}),
            id="sensor.values",
        ),
        pytest.param(lambda x: Command(id="op-1", value=x, ts=0), id="command.value"),
        pytest.param(
            lambda x: PowerLimits(max_voltage=x, max_current=1, ramp_rate=1, max_ramp_rate=1),
            id="limits.max_voltage",
        ),
        pytest.param(lambda x: QuantityMeta(name="t", unit="degC", max=x), id="quantity.max"),
    ],
)
def test_models_refuse_nan_and_infinity(build: Any, bad: float) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        build(bad)


def test_command_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Command.model_validate({"id": "op-1", "ts": 0, "valeu": 1.0})


def test_published_models_ignore_unknown_fields() -> None:
    online = Online.model_validate({"online": True, "boot": "b", "added_in_v1_3": 1})
    assert online == Online(online=True, boot="b")
