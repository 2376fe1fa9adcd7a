"""The generated AsyncAPI document: up to date, faithful to the contract, valid for the official parser."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from labdcs.contract import AlarmVerb, RuleVerb, Verb, decode, topics
from labdcs.contract.asyncapi import (
    CONTRACT_VERSION,
    PAYLOAD_MODELS,
    build_document,
    component_schemas,
    render_yaml,
    write,
)
from labdcs.contract.limits import MAX_MESSAGE_BYTES
from labdcs.contract.models import DEFAULT_MAX_COMMAND_AGE_S
from labdcs.contract.topics import TopicKind
from labdcs.mqtt import owned_id
from labdcs.security.mosquitto import SERVICE_USERS, Role, render_acl, role_rules
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import size_limits

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "asyncapi.yaml"
Validate = Callable[[Path], subprocess.CompletedProcess[str]]
DOC = build_document()
DOC_URI = "urn:labdcs:asyncapi"

#: channel key -> (topic kind, retained)
CHANNELS = {
    "meta": (TopicKind.META, True),
    "online": (TopicKind.ONLINE, True),
    "state": (TopicKind.STATE, True),
    "command": (TopicKind.COMMAND, False),
    "ack": (TopicKind.ACK, False),
    "alarm": (TopicKind.ALARM, True),
    "stats": (TopicKind.STATS, False),
    "states": (TopicKind.STATES, False),
    "alarmCommand": (TopicKind.ALARM_COMMAND, False),
    "heartbeat": (TopicKind.HEARTBEAT, False),
}
SAMPLE_PARAMETERS = {
    "device": "hv1",
    "channel": "ch1",
    "verb": "set_voltage",
    "alarm": "ch1-compliance",
    "alarmVerb": "acknowledge",
    "sender": "cli",
}
RECEIVED = {"command", "alarmCommand"}


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every mapping entry in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}/{index}")


def _resolve(ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _payload_validator(message: dict[str, Any]) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(DOC))
    return Draft202012Validator({"$ref": DOC_URI + message["payload"]["$ref"]}, registry=registry)


def _messages_of(channel: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, _resolve(ref["$ref"])) for name, ref in DOC["channels"][channel]["messages"].items()]


# --- the committed file ------------------------------------------------------------------------


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.is_file(), f"{COMMITTED} is missing: run `labdcs gen asyncapi`"
    assert COMMITTED.read_text(encoding="utf-8") == render_yaml(), (
        f"{COMMITTED.relative_to(REPO)} differs from the contract models: run `labdcs gen asyncapi`"
    )


def test_rendering_is_deterministic_and_parses_back(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "asyncapi.yaml"
    write(target)
    text = target.read_text(encoding="utf-8")
    assert text == render_yaml()
    assert yaml.safe_load(text) == json.loads(json.dumps(build_document()))
    assert "&id" not in text and "*id" not in text  # no YAML anchors/aliases


# --- content -----------------------------------------------------------------------------------


def test_info_and_server() -> None:
    assert DOC["asyncapi"] == "3.0.0"
    assert DOC["info"]["title"] == "labdcs MQTT contract"
    assert DOC["info"]["version"] == CONTRACT_VERSION == "2.1.0"
    description = DOC["info"]["description"]
    for convention in (
        "labdcs/v1/<device>/",
        "Retained",
        "Last will",
        "QoS 1",
        "Type stability",
        "milliseconds",
    ):
        assert convention in description
    for word in ("accepted", "rejected", "failed", "exactly one", "latest transition"):
        assert word in description
    plain, tls = DOC["servers"]["mosquitto"], DOC["servers"]["mosquitto-tls"]
    assert set(DOC["servers"]) == {"mosquitto", "mosquitto-tls"}
    assert (plain["protocol"], plain["host"]) == ("mqtt", "localhost:1883")
    assert (tls["protocol"], tls["host"]) == ("secure-mqtt", "localhost:8883")
    for server in (plain, tls):
        assert server["protocolVersion"] == "3.1.1"  # MqttConnection's paho.MQTTv311
        will = server["bindings"]["mqtt"]["lastWill"]
        assert will["retain"] is True and will["qos"] == 1
        info, message = decode(will["topic"], will["message"])
        assert info.kind is TopicKind.ONLINE
        assert message.model_dump(exclude_none=True) == {
            "online": False,
            "boot": message.model_dump()["boot"],
        }


def test_servers_say_how_to_log_in_who_may_command_and_the_limits() -> None:
    """The security a third-party client needs, machine-readable and in step with the broker's code:
    the logins `labdcs init` makes, each role's ACL, the client-id rule, the size limit, the max age."""
    scheme = DOC["components"]["securitySchemes"]["brokerLogin"]
    assert scheme["type"] == "userPassword" and scheme["x-labdcs-anonymous"] is False
    assert "anonymous clients are refused" in scheme["description"]
    conf = (REPO / "mosquitto" / "mosquitto.conf").read_text()
    assert re.findall(r"^allow_anonymous (\S+)", conf, re.M) == ["false"]
    assert re.findall(r"^listener (\d+)", conf, re.M) == ["1883", "8883"]
    for server in DOC["servers"].values():
        assert server["security"] == [{"$ref": "#/components/securitySchemes/brokerLogin"}]
        assert (
            server["x-labdcs-max-message-bytes"] == MAX_MESSAGE_BYTES == size_limits()["message_size_limit"]
        )
        assert server["x-labdcs-command-max-age-s"] == DEFAULT_MAX_COMMAND_AGE_S == 10
    logins = {login["user"]: login["role"] for login in scheme["x-labdcs-logins"]}
    assert logins == {**{user: role.value for user, role in SERVICE_USERS.items()}, "<device id>": "device"}
    roles = scheme["x-labdcs-roles"]
    commanders = {user for user, role in logins.items() if roles[role]["commands"]}
    assert commanders == {"nodered", "experiments", "interlock", "cli"}
    for role in Role:
        rules = role_rules(role)
        assert roles[role.value]["publish"] == [t for a, t in rules if a in ("write", "readwrite")]
        assert roles[role.value]["subscribe"] == [t for a, t in rules if a in ("read", "readwrite")]
        # The ACL labdcs init writes gives the role exactly these lines.
        acl = render_acl({"someone": role})
        assert all(f"topic {access} {topic.replace('%u', 'someone')}" in acl for access, topic in rules)
    assert topics.command("%u", "+", "+", "+") in scheme["x-labdcs-every-login"]["subscribe"]
    assert not any("/cmd/" in topic for topic in scheme["x-labdcs-every-login"]["publish"])
    assert scheme["x-labdcs-client-id"]["owned"] == "<user>:<name>"
    assert owned_id(MqttSettings(username="hv1"), "device-hv1") == "hv1:device-hv1"
    # acknowledge needs the person: `user` is required in the alarm command's schema.
    assert "user" in DOC["components"]["schemas"]["AlarmCommand"]["required"]
    assert "ts" in DOC["components"]["schemas"]["Command"]["required"]


def test_channel_addresses_are_the_contract_topics() -> None:
    assert set(DOC["channels"]) == set(CHANNELS)
    for key, (kind, _) in CHANNELS.items():
        channel = DOC["channels"][key]
        placeholders = re.findall(r"\{(\w+)\}", channel["address"])
        assert set(channel["parameters"]) == set(placeholders), key
        topic = channel["address"].format(**SAMPLE_PARAMETERS)
        info = topics.parse(topic)
        assert info is not None and info.kind is kind, topic
        assert channel["address"].startswith(topics.PREFIX + "/")


def test_parameters() -> None:
    parameters = DOC["components"]["parameters"]
    assert set(parameters) == {"device", "channel", "verb", "alarm", "alarmVerb", "sender"}
    assert "ACL" in parameters["sender"]["description"]
    assert parameters["verb"]["enum"] == [verb.value for verb in (*Verb, *RuleVerb)]
    assert parameters["alarmVerb"]["enum"] == [verb.value for verb in AlarmVerb]
    for name, parameter in parameters.items():
        assert parameter["description"], name
        for example in parameter["examples"]:
            assert topics.is_ident(example), (name, example)
    for reserved in topics.RESERVED_CHANNEL_IDS:
        assert f"`{reserved}`" in parameters["channel"]["description"]


def test_operations_qos_and_retain() -> None:
    seen = set()
    for name, operation in DOC["operations"].items():
        channel_key = operation["channel"]["$ref"].removeprefix("#/channels/")
        _, retained = CHANNELS[channel_key]
        binding = operation["bindings"]["mqtt"]
        assert binding["qos"] == 1, name
        assert binding["retain"] is retained, name
        expected_action = "receive" if channel_key in RECEIVED else "send"
        assert operation["action"] == expected_action, name
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"#/channels/{channel_key}/messages/"), name
        seen.add(channel_key)
    assert seen == set(CHANNELS)
    for operation in ("receiveCommand", "receiveAlarmCommand"):
        assert DOC["operations"][operation]["reply"]["channel"] == {"$ref": "#/channels/ack"}


def test_references_resolve_and_no_nested_defs_are_left() -> None:
    refs = 0
    for path, key, value in _walk(DOC):
        assert key != "$defs", path
        if key == "$ref":
            assert _resolve(value) is not None, value
            refs += 1
    assert refs > 40


def test_payload_schemas_are_the_models_serialisation_schemas() -> None:
    schemas = DOC["components"]["schemas"]
    for model in PAYLOAD_MODELS:
        schema = schemas[model.__name__]
        assert schema["title"] == model.__name__
        assert list(schema["properties"]) == [
            field.serialization_alias or name for name, field in model.model_fields.items()
        ]
    assert schemas["Command"]["additionalProperties"] is False
    assert schemas["PowerStatus"]["enum"] == ["off", "on", "ramping", "fault", "tripped", "inhibited"]
    assert schemas["RuleStatus"]["enum"] == ["ok", "active", "latched"]
    assert schemas["PowerChannelState"]["properties"]["status"] == {
        "$ref": "#/components/schemas/PowerStatus"
    }


def test_schema_name_clashes_are_refused() -> None:
    def model_named_thing(field_type: type) -> type[BaseModel]:
        return type("Thing", (BaseModel,), {"__annotations__": {"x": field_type}})

    class Outer(BaseModel):
        thing: model_named_thing(int)  # type: ignore[valid-type]

    with pytest.raises(ValueError, match="two different schemas are both called 'Thing'"):
        component_schemas([Outer, model_named_thing(str)])


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_example_is_a_valid_message(channel: str) -> None:
    kind, _ = CHANNELS[channel]
    topic = DOC["channels"][channel]["address"].format(**SAMPLE_PARAMETERS)
    if channel == "state":
        topic = topics.state("env1", "box")  # the channel id does not matter to the codec
    checked = 0
    for name, message in _messages_of(channel):
        assert "payload" in message, name
        assert len(message["examples"]) == 1, name
        for example in message["examples"]:
            payload = example["payload"]
            assert list(_payload_validator(message).iter_errors(payload)) == [], name
            info, decoded = decode(topic, json.dumps(payload))
            assert info.kind is kind
            assert type(decoded).__name__ == message["payload"]["$ref"].rsplit("/", 1)[1]
            checked += 1
    assert checked >= 1


def test_an_example_that_breaks_its_schema_is_caught() -> None:
    (message,) = (message for name, message in _messages_of("state") if name == "powerChannelState")
    payload = copy.deepcopy(message["examples"][0]["payload"])
    payload["v_set"] = "40.0"
    errors = list(_payload_validator(message).iter_errors(payload))
    assert [error.json_path for error in errors] == ["$.v_set"]


# --- the official parser -----------------------------------------------------------------------


@pytest.mark.timeout(600)  # the first use may run `npm ci`
def test_official_parser_accepts_the_committed_document(asyncapi_validate: Validate) -> None:
    result = asyncapi_validate(COMMITTED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0 (0 warning(s))" in result.stdout, result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith(("error ", "warning "))]


def _broken_missing_channel(doc: dict[str, Any]) -> None:
    del doc["channels"]["ack"]  # sendAck and the command's reply still point at it
    del doc["operations"]["receiveCommand"]["reply"]


def _broken_payload_type(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["PowerChannelState"]["properties"]["v_set"]["type"] = "float"


def _broken_message_from_another_channel(doc: dict[str, Any]) -> None:
    doc["operations"]["sendAck"]["messages"] = [{"$ref": "#/channels/state/messages/powerChannelState"}]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("breakage", "diagnostic"),
    [
        (_broken_missing_channel, "'#/channels/ack' does not exist"),
        (_broken_payload_type, "components.schemas.PowerChannelState.properties.v_set.type"),
        (_broken_message_from_another_channel, "Operation message does not belong to the specified channel"),
    ],
    ids=["operation-without-channel", "wrong-payload-type", "message-from-another-channel"],
)
def test_official_parser_rejects_a_broken_document(
    asyncapi_validate: Validate, tmp_path: Path, breakage: Any, diagnostic: str
) -> None:
    doc = build_document()
    breakage(doc)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = asyncapi_validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "INVALID" in result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("error ")]
    assert any(diagnostic in line for line in errors), result.stdout
