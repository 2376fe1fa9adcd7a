"""The published JSON Schemas and the models agree on what is a valid message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from labdcs.contract import ContractError, decode, encode, json_schemas, topics
from labdcs.contract.topics import TopicKind
from tests.contract.contract_examples import EXAMPLES, HV1_RAMPING, Example

SCHEMAS = json_schemas()


def _validator(topic: str) -> Draft202012Validator:
    info = topics.parse(topic)
    assert info is not None
    return Draft202012Validator(SCHEMAS[info.kind.value])


def _schema_accepts(topic: str, payload: str) -> bool:
    return bool(_validator(topic).is_valid(json.loads(payload)))


def _model_accepts(topic: str, payload: str) -> bool:
    try:
        decode(topic, payload)
    except ContractError:
        return False
    return True


_DELETE = object()


def _edit(message: Any, **changes: Any) -> str:
    payload = json.loads(encode(message))
    for key, value in changes.items():
        if value is _DELETE:
            del payload[key]
        else:
            payload[key] = value
    return json.dumps(payload)


CMD = topics.command("hv1", "ch1", "set_voltage", "cli")
ALARM_CMD = topics.alarm_command("hv1", "ch1-trip", "acknowledge", "cli")
STATE = topics.state("hv1", "ch1")
SENSOR = topics.state("env1", "box")
ACK = topics.ack("hv1")
SENSOR_STATE = '{"ts": 0, "seq": 0, "boot": "b", "kind": "sensor", "status": "ok", "values": {"t": 1.5}}'


def test_one_schema_per_topic_kind() -> None:
    assert set(SCHEMAS) == {kind.value for kind in TopicKind}


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_schemas_are_valid_draft_2020_12(kind: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[kind])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_schema_accepts_every_example(example: Example) -> None:
    errors = [
        error.message for error in _validator(example.topic).iter_errors(json.loads(encode(example.message)))
    ]
    assert errors == []


VALID = [
    (STATE, _edit(HV1_RAMPING)),
    (STATE, _edit(HV1_RAMPING, v_mon=_DELETE, i_mon=_DELETE, compliance=_DELETE)),
    (STATE, _edit(HV1_RAMPING, v_set=40)),  # an int is a number, and decodes to a float
    (STATE, _edit(HV1_RAMPING, added_in_a_later_v1=True)),  # published messages may grow
    (SENSOR, SENSOR_STATE),
    (CMD, '{"id": "op-1", "ts": 0}'),
    (CMD, '{"id": "op-1", "ts": 0, "value": false}'),
    (ALARM_CMD, '{"id": "op-1", "ts": 0, "user": "alice"}'),
    (ACK, '{"device": "hv1", "channel": "ch1", "verb": "x", "result": "rejected", "ts": 0}'),
]

INVALID = [
    pytest.param(STATE, _edit(HV1_RAMPING, v_set="40.0"), id="string-for-float"),
    pytest.param(STATE, _edit(HV1_RAMPING, v_set=True), id="bool-for-float"),
    pytest.param(STATE, _edit(HV1_RAMPING, output=1), id="int-for-bool"),
    pytest.param(STATE, _edit(HV1_RAMPING, seq=1.5), id="fraction-for-int"),
    pytest.param(STATE, _edit(HV1_RAMPING, seq=-1), id="negative-seq"),
    pytest.param(STATE, _edit(HV1_RAMPING, ts=-5), id="negative-ts"),
    pytest.param(STATE, _edit(HV1_RAMPING, v_target=_DELETE), id="missing-v_target"),
    pytest.param(STATE, _edit(HV1_RAMPING, kind=_DELETE), id="missing-kind"),
    pytest.param(STATE, _edit(HV1_RAMPING, kind="battery"), id="unknown-kind"),
    pytest.param(STATE, _edit(HV1_RAMPING, status="exploded"), id="unknown-status"),
    pytest.param(SENSOR, SENSOR_STATE.replace('"t"', '"Temperature"'), id="bad-quantity-name"),
    pytest.param(SENSOR, SENSOR_STATE.replace("1.5", '"1.5"'), id="string-reading"),
    pytest.param(CMD, '{"value": 1.0, "ts": 0}', id="command-without-id"),
    pytest.param(CMD, '{"id": "op-1", "value": 1.0}', id="command-without-ts"),
    pytest.param(CMD, '{"id": "op-1", "ts": 0, "valeu": 1.0}', id="command-unknown-field"),
    pytest.param(CMD, '{"id": "op-1", "ts": 0, "value": "1.0"}', id="command-string-value"),
    pytest.param(CMD, '{"id": "op 1", "ts": 0}', id="command-bad-id"),
    pytest.param(CMD, '{"id": "op-1", "ts": 0, "user": "' + "u" * 129 + '"}', id="command-long-user"),
    pytest.param(ALARM_CMD, '{"id": "op-1", "ts": 0}', id="acknowledge-without-user"),
    pytest.param(ALARM_CMD, '{"id": "op-1", "ts": 0, "user": ""}', id="acknowledge-empty-user"),
    pytest.param(
        ACK, '{"device": "hv1", "channel": "ch1", "verb": "x", "result": "maybe", "ts": 0}', id="ack"
    ),
    pytest.param(
        topics.meta("hv1"),
        '{"device": "hv1", "kind": "hv", "contract": "labdcs/v2"}',
        id="meta-wrong-contract",
    ),
]


@pytest.mark.parametrize(("topic", "payload"), VALID)
def test_schema_and_model_both_accept(topic: str, payload: str) -> None:
    assert _schema_accepts(topic, payload)
    assert _model_accepts(topic, payload)


@pytest.mark.parametrize(("topic", "payload"), INVALID)
def test_schema_and_model_both_refuse(topic: str, payload: str) -> None:
    assert not _schema_accepts(topic, payload)
    assert not _model_accepts(topic, payload)


def test_command_schema_is_closed_and_published_schemas_are_open() -> None:
    assert SCHEMAS["cmd"]["additionalProperties"] is False
    for kind in ("meta", "online", "ack", "alarm"):
        assert "additionalProperties" not in SCHEMAS[kind], kind
