"""decode() refuses what does not follow the contract, with a message a person can act on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labdcs.contract import (
    Ack,
    Command,
    ContractError,
    Online,
    PowerChannelState,
    decode,
    decode_as,
    encode,
    topics,
)
from labdcs.contract.topics import TopicKind
from tests.contract.contract_examples import HV1_META, HV1_RAMPING

CMD = topics.command("hv1", "ch1", "set_voltage", "cli")
STATE = topics.state("hv1", "ch1")


def _state(**changes: Any) -> str:
    payload = json.loads(encode(HV1_RAMPING))
    payload.update(changes)
    return json.dumps(payload)


def _without(field: str) -> str:
    payload = json.loads(encode(HV1_RAMPING))
    del payload[field]
    return json.dumps(payload)


def _refusal(topic: str, payload: bytes | str) -> str:
    with pytest.raises(ContractError) as caught:
        decode(topic, payload)
    error = caught.value
    assert error.topic == topic
    assert str(error) == f"{topic}: {error.problem}"
    return error.problem


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b'{"id": "op-1",}', b"{'id': 'op-1'}", b"\xff\xfe{}", "op-1"],
    ids=["empty", "unclosed", "trailing-comma", "single-quotes", "not-utf8", "bare-word"],
)
def test_malformed_json(payload: bytes | str) -> None:
    assert _refusal(CMD, payload).startswith("malformed JSON: ")


@pytest.mark.parametrize(
    ("payload", "got"),
    [("[1, 2]", "list"), ('"op-1"', "str"), ("100.0", "float"), ("null", "NoneType"), ("true", "bool")],
)
def test_payload_must_be_an_object(payload: str, got: str) -> None:
    assert _refusal(CMD, payload) == f"expected a JSON object, got {got}"


def test_missing_field_is_named() -> None:
    assert _refusal(CMD, '{"value": 100.0, "ts": 1}') == "the command has no id"
    assert _refusal(CMD, '{"id": "op-1"}') == "the command has no ts"
    assert _refusal(CMD, "{}") == "the command has no id or ts"
    assert _refusal(STATE, _without("v_set")) == "the message has no v_set"
    assert _refusal(topics.online("hv1"), '{"online": true}') == "the message has no boot"
    meta = json.loads(encode(HV1_META))
    del meta["channels"][0]["limits"]["max_voltage"]
    assert _refusal(topics.meta("hv1"), json.dumps(meta)) == "channels[0].limits has no max_voltage"


def test_an_alarm_command_needs_a_user() -> None:
    alarm = topics.alarm_command("hv1", "ch1-trip", "acknowledge", "cli")
    assert _refusal(alarm, '{"id": "op-1", "ts": 1}') == "the command has no user"
    assert _refusal(alarm, '{"id": "op-1", "ts": 1, "user": ""}') == "user must not be empty"


def test_state_without_kind_is_refused() -> None:
    assert _refusal(STATE, _without("kind")) == "the message has no kind"
    kinds = "power, sensor, cycler, rule"
    assert _refusal(STATE, _state(kind="x")) == f'the message\'s kind must be one of {kinds} (got "x")'


@pytest.mark.parametrize(
    ("topic", "payload", "problem"),
    [
        (STATE, _state(v_set="100"), 'v_set must be a number (got "100")'),
        (STATE, _state(v_set=True), "v_set must be a number (got true)"),
        (STATE, _state(output="yes"), 'output must be a boolean (true or false) (got "yes")'),
        (STATE, _state(output=1), "output must be a boolean (true or false) (got 1)"),
        (STATE, _state(seq=1.5), "seq must be a whole number (got 1.5)"),
        (STATE, _state(ts="1767225600000"), 'ts must be a whole number (got "1767225600000")'),
        (
            STATE,
            _state(status="exploded"),
            "status must be 'off', 'on', 'ramping', 'fault', 'tripped' or 'inhibited' (got \"exploded\")",
        ),
        (
            CMD,
            '{"id": "op-1", "ts": 1, "value": "100"}',
            'value must be a number or a boolean (true or false) (got "100")',
        ),
        (CMD, '{"id": 1, "ts": 1}', "id must be a string (got 1)"),
        (CMD, '{"id": "op 1", "ts": 1}', 'id must match ^[A-Za-z0-9._:-]{1,64}$ (got "op 1")'),
    ],
    ids=[
        "string-for-float",
        "bool-for-float",
        "string-for-bool",
        "int-for-bool",
        "float-for-int",
        "string-for-timestamp",
        "unknown-enum-value",
        "string-for-command-value",
        "int-for-string",
        "bad-command-id",
    ],
)
def test_wrong_type(topic: str, payload: str, problem: str) -> None:
    assert _refusal(topic, payload) == problem


def test_int_is_accepted_for_float_and_becomes_float() -> None:
    _, message = decode(STATE, _state(v_set=40))
    assert isinstance(message, PowerChannelState)
    assert type(message.v_set) is float
    _, command = decode(CMD, '{"id": "op-1", "ts": 1, "value": 100}')
    assert isinstance(command, Command)
    assert type(command.value) is float


def test_command_with_an_unknown_field_is_refused() -> None:
    problem = _refusal(CMD, '{"id": "op-1", "ts": 1, "valeu": 100.0}')
    assert problem == "the command has an unknown field 'valeu'"


def test_published_message_with_an_unknown_field_is_accepted() -> None:
    _, message = decode(STATE, _state(added_later=1))
    assert message == HV1_RAMPING


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_refused(constant: str) -> None:
    payload = _state().replace('"v_mon": 40.0', f'"v_mon": {constant}')
    assert constant not in _state()
    problem = _refusal(STATE, payload)
    assert problem.startswith("v_mon must be a finite number")
    command = f'{{"id": "op-1", "ts": 1, "value": {constant}}}'
    assert "value must be a finite number or a boolean" in _refusal(CMD, command)
    values = (
        f'{{"ts": 0, "seq": 0, "boot": "b", "kind": "sensor", "status": "ok", "values": {{"t": {constant}}}}}'
    )
    assert _refusal(topics.state("env1", "box"), values).startswith("values.t must be a finite number")


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "labdcs",
        "labdcs/v1/hv1",
        "labdcs/v2/hv1/meta",
        "/labdcs/v1/hv1/meta",
        "labdcs/v1/hv1/ch1/status",
        "labdcs/v1/HV1/meta",
        "labdcs/v1/hv1/meta/extra",
        "labdcs/v1/hv1/cmd/state",
        "labdcs/v1/hv1/ch1/cmd/on",  # a command without the sender level (contract 1.x)
        "labdcs/v1/hv1/alarm/ch1-trip/cmd/acknowledge",
        "labdcs/v1/hv1/ch1/cmd/on/Bad!",
    ],
)
def test_topic_outside_the_contract(topic: str) -> None:
    assert _refusal(topic, encode(Online(online=True, boot="b"))) == "not a topic of the labdcs/v1 contract"


def test_payload_is_decoded_as_the_topic_says() -> None:
    ack = Ack(id="op-1", device="hv1", channel="ch1", verb="on", result="accepted", ts=0)
    info, message = decode(topics.ack("hv1"), encode(ack))
    assert info.kind is TopicKind.ACK
    assert message == ack
    # The same bytes on a command topic are not a command.
    assert "the command has an unknown field 'device'" in _refusal(CMD, encode(ack))


def test_decode_as_takes_str_and_bytes() -> None:
    raw = encode(Command(id="op-1", value=1.5, ts=1))
    assert decode_as(TopicKind.COMMAND, CMD, raw) == decode_as(TopicKind.COMMAND, CMD, raw.decode())


def test_an_empty_payload_is_not_a_message() -> None:
    """An empty payload (an administrator deleting a retained topic) is not a contract message."""
    assert _refusal(topics.alarm("hv1", "ch1-compliance"), b"").startswith("malformed JSON")
