"""The AsyncAPI 3.0 document of the labdcs MQTT contract, generated from the contract modules.

``docs/asyncapi.yaml`` is the output of :func:`write` (``labdcs gen asyncapi``) and is never edited
by hand: topics come from :mod:`labdcs.contract.topics`, payload schemas from the pydantic models
(serialisation mode, i.e. what :func:`labdcs.contract.encode` puts on the wire) and every example is
a model instance encoded with :func:`labdcs.contract.encode`, so examples are valid by construction.

The document describes the device service's side: it sends meta, online, state, ack and alarm
messages and receives commands. The interlock service is such a participant too (device kind
``interlock``, one ``rule`` channel per rule); it also sends the heartbeat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from labdcs.contract import topics
from labdcs.contract.asyncapi_messages import SCHEMAS, messages, ref
from labdcs.contract.asyncapi_security import MQTT_BINDING_VERSION, QOS, security_schemes, servers
from labdcs.contract.batch import CyclerStateBatch
from labdcs.contract.models import (
    Ack,
    Alarm,
    AlarmCommand,
    AlarmVerb,
    Command,
    CyclerChannelState,
    CyclerStats,
    DeviceMeta,
    Heartbeat,
    Online,
    PowerChannelState,
    RuleState,
    RuleVerb,
    SensorChannelState,
    Verb,
)

ASYNCAPI_VERSION = "3.0.0"
#: Semantic version of the contract. Additive changes (new optional fields, new verbs) raise the
#: minor; a change that breaks any participant raises the major. The topic level (``v1``) changes
#: only when what readers get breaks: 2.0.0 broke senders alone (the sender level that ends every
#: command topic), whose old form the broker refuses, so the published topics stayed ``v1``.
#: 2.1.0 added the batched states of a station faster than real time (``.../<channel>/states``).
CONTRACT_VERSION = "2.1.0"

_LOCAL_DEFS = "#/$defs/"


# --- payload schemas ----------------------------------------------------------------------------


def _rewrite_refs(node: Any) -> Any:
    """Copy of a schema with ``#/$defs/X`` references pointing to ``#/components/schemas/X``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith(_LOCAL_DEFS):
                    raise ValueError(f"unexpected $ref {value!r} in a model schema")
                out[key] = SCHEMAS + value.removeprefix(_LOCAL_DEFS)
            elif key == "discriminator" and isinstance(value, dict) and "mapping" in value:
                mapping = {tag: _rewrite_refs({"$ref": ref})["$ref"] for tag, ref in value["mapping"].items()}
                out[key] = {**value, "mapping": mapping}
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _add_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    known = schemas.get(name)
    if known is not None and known != schema:
        raise ValueError(f"two different schemas are both called {name!r}; rename one of the models")
    schemas[name] = schema


def component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Serialisation JSON Schemas of ``models`` and of everything they use, keyed by name.

    Each model's nested ``$defs`` are hoisted next to it and references are rewritten to
    ``#/components/schemas/<name>``: AsyncAPI tools do not resolve ``$defs`` inside a payload the way
    a JSON Schema validator does.
    """
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(mode="serialization")
        for name, sub in schema.pop("$defs", {}).items():
            _add_schema(schemas, name, _rewrite_refs(sub))
        _add_schema(schemas, model.__name__, _rewrite_refs(schema))
    return dict(sorted(schemas.items()))


# --- the document -------------------------------------------------------------------------------

_DESCRIPTION = f"""\
The public API of labdcs: every device service (HV and LV supplies, environment monitors, CAN
supplies, battery stations) publishes its self-description, liveness, channel states, command
acknowledgements and alarms over MQTT, and takes commands, under one topic scheme. This document is
generated from the pydantic models in `labdcs.contract` (`labdcs gen asyncapi`); do not edit it by
hand. The guide with worked examples is `docs/contract.md`.

## Conventions

- **Topics**: everything lives under `{topics.PREFIX}/<device>/`, without a leading slash. Device,
  channel and alarm ids and verbs are lowercase identifiers (`{topics.IDENT_PATTERN}`); a channel
  id cannot be one of {", ".join(f"`{name}`" for name in sorted(topics.RESERVED_CHANNEL_IDS))}.
- **Payloads**: one UTF-8 JSON object per message. Published messages may gain optional fields
  within v1, so consumers ignore fields they do not know; commands are strict and a field the
  device does not know is an error. An absent optional field means "not known" (null is not sent).
- **QoS {QOS}** for every message and subscription.
- **Retained**: `meta`, `online`, `state` and `alarm` topics are retained, so a new subscriber
  gets the current picture at once; commands and acks are not retained.
- **Last will**: a device service connects with a retained last will `online: false` (QoS {QOS}) on
  `{topics.PREFIX}/<device>/online` and publishes `online: true` once it is up; an orderly stop
  publishes `online: false` itself, with a reason.
- **Type stability**: every numeric reading is a JSON number written with a fraction or an
  exponent (`10.0`, never `10`), never a string or a boolean; NaN and infinity are never sent, an
  unreadable value is left out. Time series stores drop a field whose type changes.
- **Timestamps**: integer milliseconds since the Unix epoch (UTC). Durations and periods are
  float seconds.
- **Sequence**: `seq` counts the state messages of a device across all its channels and continues
  across MQTT reconnects; it restarts at 0 with a new `boot` id when the service process restarts,
  so a consumer detects gaps per (device, boot).
- **Batched states** (2.1.0): a battery station running faster than real time sends its states in
  order, many per message, on `{topics.PREFIX}/<device>/<channel>/states` (not retained); each entry
  is an ordinary state with its own `ts` and `seq`, and the batch's last state is also published
  retained on `state`. Real-time devices publish one state per message and never batch.
- **Commands**: a client publishes a command with an id of its choice to
  `{topics.PREFIX}/<device>/<channel>/cmd/<verb>/<sender>`, where `<sender>` is its own broker
  login: the broker's ACL lets a login write only command topics ending in its name, so the device
  takes that level as the authenticated sender (`principal` in the ack and the audit) and the
  command's `user` as a claim next to it. The form without the sender level (contract 1.x) is
  refused by the broker and no device subscribes to it. The device answers every command with exactly one
  ack on `{topics.PREFIX}/<device>/ack` carrying that id and the result `accepted` (the action has
  started, e.g. a ramp; the channel state shows its progress), `rejected` (not acted on; `reason`
  says why) or `failed` (valid, but the instrument did not carry it out; `reason` says why).
- **Alarms**: retained on `{topics.PREFIX}/<device>/alarm/<alarm>`; every change (raised, cleared,
  acknowledged) is republished on the same topic, retained, so the broker always holds each alarm's
  latest transition; a client shows those with `active: true`. An operator acknowledges one with a
  command (with `user`) on `{topics.PREFIX}/<device>/alarm/<alarm>/cmd/acknowledge/<sender>`, answered
  by one ack.
- **Safety**: the interlock service is a device of kind `interlock` with one channel of kind `rule`
  per rule: a retained rule state (condition, in force, latched, since, targets), a `reset` command,
  and a heartbeat (not retained) on `{topics.PREFIX}/<interlock>/heartbeat`. Device services that
  depend on it refuse `on` and voltage raises while a rule names their channel (`status: inhibited`,
  `inhibit`), carry the rules' actions out themselves, and go to their safe state when the
  heartbeat is missing. An over-current/over-voltage trip switches a channel off and latches
  (`status: tripped`, `trip`) until a `clear_trip` command. `docs/safety.md` has the guarantees.
"""


def _param(description: str, examples: list[str], enum: list[str] | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"description": description}
    if enum is not None:
        param["enum"] = enum
    param["examples"] = examples
    return param


_IDENT_RULE = (
    f"1-63 characters `a-z`, `0-9`, `_` or `-`, starting with a letter or digit (`{topics.IDENT_PATTERN}`)."
)


def _parameters() -> dict[str, Any]:
    reserved = ", ".join(f"`{name}`" for name in sorted(topics.RESERVED_CHANNEL_IDS))
    return {
        "device": _param(
            f"Device id from the service configuration. {_IDENT_RULE}", ["hv1", "lv1", "env1", "can1"]
        ),
        "channel": _param(
            f"Channel id within the device, as listed in its meta. {_IDENT_RULE} "
            f"Reserved, so never a channel id: {reserved}.",
            ["ch1", "ch2", "box"],
        ),
        "verb": _param(
            "Command verb of a power channel, a cycler channel or an interlock rule; the channel's meta "
            "lists the verbs it accepts. A verb outside this list is answered with a rejected ack "
            "naming the accepted ones.",
            [Verb.SET_VOLTAGE.value, Verb.ON.value, RuleVerb.RESET.value],
            enum=[verb.value for verb in (*Verb, *RuleVerb)],
        ),
        "alarm": _param(f"Alarm id, unique within the device. {_IDENT_RULE}", ["ch1-compliance"]),
        "alarmVerb": _param(
            "Command verb of an alarm.",
            [AlarmVerb.ACKNOWLEDGE.value],
            enum=[verb.value for verb in AlarmVerb],
        ),
        "sender": _param(
            "The broker login the command is published through. The broker's ACL lets each login "
            "write only command topics that end in its own name, so the device records it as the "
            f"authenticated sender (the ack's `principal`). {_IDENT_RULE}",
            ["cli", "nodered", "experiments"],
        ),
    }


def _channel(
    address: str, title: str, description: str, parameters: list[str], messages: list[str]
) -> dict[str, Any]:
    return {
        "address": address,
        "title": title,
        "description": description,
        "messages": {name: ref(f"#/components/messages/{name}") for name in messages},
        "parameters": {name: ref(f"#/components/parameters/{name}") for name in parameters},
    }


def _channels() -> dict[str, Any]:
    return {
        "meta": _channel(
            topics.meta("{device}"),
            "Device meta",
            "Retained. The device's self-description.",
            ["device"],
            ["deviceMeta"],
        ),
        "online": _channel(
            topics.online("{device}"),
            "Online",
            "Retained. Liveness of the device service; the topic of its last will.",
            ["device"],
            ["online"],
        ),
        "state": _channel(
            topics.state("{device}", "{channel}"),
            "Channel state",
            "Retained. State of one channel; `kind` tells power, sensor, cycler and rule channels apart.",
            ["device", "channel"],
            ["powerChannelState", "sensorChannelState", "cyclerChannelState", "ruleState"],
        ),
        "command": _channel(
            topics.command("{device}", "{channel}", "{verb}", "{sender}"),
            "Command",
            "Not retained. Commands to one channel of a device, answered on the device's ack topic; "
            "the last level is the sender's broker login.",
            ["device", "channel", "verb", "sender"],
            ["command"],
        ),
        "ack": _channel(
            topics.ack("{device}"),
            "Acknowledgements",
            "Not retained. One ack per command received by the device.",
            ["device"],
            ["ack"],
        ),
        "alarm": _channel(
            topics.alarm("{device}", "{alarm}"),
            "Alarm",
            "Retained. One topic per alarm, holding its latest transition (active or cleared).",
            ["device", "alarm"],
            ["alarm"],
        ),
        "stats": _channel(
            topics.stats("{device}", "{channel}"),
            "Cycler statistics",
            "Not retained. Statistics of every finished step and cycle of a battery-cycler channel.",
            ["device", "channel"],
            ["cyclerStats"],
        ),
        "states": _channel(
            topics.states("{device}", "{channel}"),
            "Cycler state batch",
            "Not retained. Consecutive states of one battery-cycler channel from a station faster than "
            "real time (contract 2.1.0); the last one is also published retained on `state`.",
            ["device", "channel"],
            ["cyclerStateBatch"],
        ),
        "alarmCommand": _channel(
            topics.alarm_command("{device}", "{alarm}", "{alarmVerb}", "{sender}"),
            "Alarm command",
            "Not retained. Commands to one alarm (acknowledge), answered on the device's ack topic; "
            "the last level is the sender's broker login.",
            ["device", "alarm", "alarmVerb", "sender"],
            ["alarmCommand"],
        ),
        "heartbeat": _channel(
            topics.heartbeat("{device}"),
            "Heartbeat",
            "Not retained. The interlock service's heartbeat, for the dependent devices' watchdogs.",
            ["device"],
            ["heartbeat"],
        ),
    }


def _operation(
    action: str, channel: str, messages: list[str], retain: bool, title: str, summary: str
) -> dict[str, Any]:
    return {
        "action": action,
        "channel": ref(f"#/channels/{channel}"),
        "title": title,
        "summary": summary,
        "messages": [ref(f"#/channels/{channel}/messages/{name}") for name in messages],
        "bindings": {"mqtt": {"qos": QOS, "retain": retain, "bindingVersion": MQTT_BINDING_VERSION}},
    }


def _operations() -> dict[str, Any]:
    receive_command = _operation(
        "receive",
        "command",
        ["command"],
        False,
        "Receive commands",
        "The device subscribes to its channels' commands and answers each with one ack.",
    )
    receive_command["reply"] = {
        "channel": ref("#/channels/ack"),
        "messages": [ref("#/channels/ack/messages/ack")],
    }
    receive_alarm_command = _operation(
        "receive",
        "alarmCommand",
        ["alarmCommand"],
        False,
        "Receive alarm commands",
        "The device subscribes to its alarms' commands and answers each with one ack.",
    )
    receive_alarm_command["reply"] = dict(receive_command["reply"])
    return {
        "sendMeta": _operation(
            "send", "meta", ["deviceMeta"], True, "Publish meta", "At start and whenever the meta changes."
        ),
        "sendOnline": _operation(
            "send",
            "online",
            ["online"],
            True,
            "Publish online",
            "`online: true` once connected; `online: false` when stopping (the broker sends the last will).",
        ),
        "sendState": _operation(
            "send",
            "state",
            ["powerChannelState", "sensorChannelState", "cyclerChannelState", "ruleState"],
            True,
            "Publish channel states",
            "On change and at least every `publish_period` seconds, per channel (per rule for the "
            "interlock service).",
        ),
        "receiveCommand": receive_command,
        "sendAck": _operation(
            "send", "ack", ["ack"], False, "Publish acks", "Exactly one ack for every command received."
        ),
        "sendAlarm": _operation(
            "send",
            "alarm",
            ["alarm"],
            True,
            "Publish alarms",
            "Raise, clear or acknowledge an alarm: each transition is published retained.",
        ),
        "sendStats": _operation(
            "send",
            "stats",
            ["cyclerStats"],
            False,
            "Publish cycler statistics",
            "At the end of every step and cycle of a battery-cycler channel.",
        ),
        "sendStates": _operation(
            "send",
            "states",
            ["cyclerStateBatch"],
            False,
            "Publish batched cycler states",
            "A station faster than real time: its states in batches (up to `batch_max_states`, or "
            "after `batch_max_wait_s`), each batch before the acks, alarms and statistics that follow.",
        ),
        "receiveAlarmCommand": receive_alarm_command,
        "sendHeartbeat": _operation(
            "send",
            "heartbeat",
            ["heartbeat"],
            False,
            "Publish the heartbeat",
            "The interlock service, every heartbeat period after a successful evaluation of its rules.",
        ),
    }


#: Every model that is a message payload, in the order of the topic table.
PAYLOAD_MODELS: list[type[BaseModel]] = [
    DeviceMeta,
    Online,
    PowerChannelState,
    SensorChannelState,
    CyclerChannelState,
    Command,
    AlarmCommand,
    Ack,
    Alarm,
    CyclerStats,
    RuleState,
    Heartbeat,
    CyclerStateBatch,
]


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of contract v1 as plain JSON-compatible data."""
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:{topics.ROOT}:contract:{topics.VERSION}",
        "info": {
            "title": "labdcs MQTT contract",
            "version": CONTRACT_VERSION,
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": servers(),
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": component_schemas(PAYLOAD_MODELS),
            "messages": messages(),
            "parameters": _parameters(),
            "securitySchemes": security_schemes(),
        },
    }


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)

_HEADER = (
    "# Generated from labdcs.contract by `labdcs gen asyncapi`: do not edit by hand.\n"
    "# Validate with: node tests/contract/asyncapi-validator/validate.mjs docs/asyncapi.yaml\n"
)


def render_yaml() -> str:
    """The document as YAML, byte for byte the same on every run (keys in construction order)."""
    body = yaml.dump(
        build_document(),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return _HEADER + body


def write(path: Path) -> None:
    """Write the document to ``path`` (normally ``docs/asyncapi.yaml``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_yaml(), encoding="utf-8")
