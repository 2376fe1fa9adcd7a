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

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from labdcs.contract import topics
from labdcs.contract.codec import encode
from labdcs.contract.models import (
    DEFAULT_MAX_COMMAND_AGE_S,
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
)

ASYNCAPI_VERSION = "3.0.0"
MQTT_BINDING_VERSION = "0.2.0"
#: Semantic version of the contract: the major is the topic version (``v1``); additive changes
#: within v1 (new optional fields, new verbs) raise the minor.
CONTRACT_VERSION = f"{topics.VERSION.removeprefix('v')}.0.0"
QOS = 1

_SCHEMAS = "#/components/schemas/"
_LOCAL_DEFS = "#/$defs/"

# Fixed values for the examples, so the generated file does not change from run to run.
_T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_BOOT = "7c1e5a90d2b4"


# --- payload schemas ----------------------------------------------------------------------------


def _rewrite_refs(node: Any) -> Any:
    """Copy of a schema with ``#/$defs/X`` references pointing to ``#/components/schemas/X``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith(_LOCAL_DEFS):
                    raise ValueError(f"unexpected $ref {value!r} in a model schema")
                out[key] = _SCHEMAS + value.removeprefix(_LOCAL_DEFS)
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


# --- examples -----------------------------------------------------------------------------------


def _wire(message: BaseModel) -> Any:
    """The example payload exactly as it goes on the wire."""
    return json.loads(encode(message))


def _hv1_meta() -> DeviceMeta:
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
        boot=_BOOT,
        started=_T0,
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


def _online() -> Online:
    return Online(online=True, boot=_BOOT, ts=_T0 + 1_200)


def _last_will() -> Online:
    """What the broker publishes for the device when its connection is lost."""
    return Online(online=False, boot=_BOOT)


def _power_state() -> PowerChannelState:
    return PowerChannelState(
        ts=_T0 + 42_000,
        seq=41,
        boot=_BOOT,
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


def _sensor_state() -> SensorChannelState:
    return SensorChannelState(
        ts=_T0 + 42_000,
        seq=1337,
        boot=_BOOT,
        status=SensorStatus.OK,
        values={"temperature": 22.4, "humidity": 41.0, "dew_point": 8.6},
    )


def _cycler_state() -> CyclerChannelState:
    return CyclerChannelState(
        ts=_T0 + 7_260_000,
        seq=7260,
        boot=_BOOT,
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


def _cycler_stats() -> CyclerStats:
    return CyclerStats(
        scope=StatsScope.CYCLE,
        ts=_T0 + 9_400_000,
        boot=_BOOT,
        experiment="exp-20260101-nmc-07",
        cycle_index=1,
        start=_T0 + 600_000,
        end=_T0 + 9_400_000,
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


def _command() -> Command:
    return Command(id="op-1", value=100, user="alice", ts=_T0 + 36_000)


def _ack() -> Ack:
    return Ack(
        id="op-1",
        device="hv1",
        channel="ch1",
        verb=Verb.SET_VOLTAGE,
        result=AckResult.ACCEPTED,
        ts=_T0 + 36_050,
        value=100,
    )


def _alarm() -> Alarm:
    return Alarm(
        alarm="ch1-compliance",
        device="hv1",
        channel="ch1",
        severity=Severity.WARNING,
        message="ch1 reached its current limit 0.0001 A at 812.3 V",
        active=True,
        raised=_T0 + 50_000,
    )


def _rule_state() -> RuleState:
    return RuleState(
        ts=_T0 + 42_000,
        seq=310,
        boot=_BOOT,
        status=RuleStatus.LATCHED,
        condition=False,
        active=True,
        latch=True,
        since=_T0 + 30_000,
        reason="dew point env1/box/dew_point = 19.6 is 1.8 K below env1/box/temperature = 21.4 (margin 3 K)",
        detail="dew point env1/box/dew_point = 6.1 is 15.3 K below env1/box/temperature = 21.4 (margin 3 K)",
        targets=[
            RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=False),
            RuleTarget(device="hv2", channel="ch1", action=RuleAction.RAMP_DOWN, output=False),
        ],
        device_kind=DeviceKind.INTERLOCK,
    )


def _ordering_rule_state() -> RuleState:
    return RuleState(
        ts=_T0 + 42_000,
        seq=311,
        boot=_BOOT,
        status=RuleStatus.ACTIVE,
        condition=True,
        active=True,
        latch=False,
        since=_T0 + 41_000,
        reason="lv1/ch1 is switching off",
        detail="lv1/ch1 is switching off",
        targets=[RuleTarget(device="hv1", channel="ch1", action=RuleAction.RAMP_DOWN, output=False)],
        hold=[RuleHold(device="lv1", channel="ch1", released=True)],
        device_kind=DeviceKind.INTERLOCK,
    )


def _heartbeat() -> Heartbeat:
    return Heartbeat(boot=_BOOT, seq=84, ts=_T0 + 42_000, period=0.5, rules=3, active=1)


def _alarm_command() -> AlarmCommand:
    return AlarmCommand(id="op-7", user="alice", ts=_T0 + 60_000)


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
- **Commands**: a client publishes a command with an id of its choice to
  `{topics.PREFIX}/<device>/<channel>/cmd/<verb>`; the device answers every command with exactly one
  ack on `{topics.PREFIX}/<device>/ack` carrying that id and the result `accepted` (the action has
  started, e.g. a ramp; the channel state shows its progress), `rejected` (not acted on; `reason`
  says why) or `failed` (valid, but the instrument did not carry it out; `reason` says why).
- **Alarms**: retained on `{topics.PREFIX}/<device>/alarm/<alarm>`; every change (raised, cleared,
  acknowledged) is republished on the same topic, retained, so the broker always holds each alarm's
  latest transition; a client shows those with `active: true`. An operator acknowledges one with a
  command (with `user`) on `{topics.PREFIX}/<device>/alarm/<alarm>/cmd/acknowledge`, answered by one ack.
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
    }


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _message(
    name: str,
    title: str,
    summary: str,
    description: str,
    model: type[BaseModel],
    example: BaseModel,
    example_summary: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "description": description,
        "contentType": "application/json",
        "payload": _ref(_SCHEMAS + model.__name__),
        "examples": [{"name": name, "summary": example_summary, "payload": _wire(example)}],
    }


def _messages() -> dict[str, Any]:
    return {
        "deviceMeta": _message(
            "deviceMeta",
            "Device meta",
            "Retained self-description of a device service.",
            "Published at start and whenever it changes (e.g. once the instrument has identified "
            "itself): the device, its instrument and every channel with its quantities, limits and "
            "accepted commands. Enough to build a UI or a database mapping.",
            DeviceMeta,
            _hv1_meta(),
            "hv1, a Keithley 2410 with one channel",
        ),
        "online": _message(
            "online",
            "Online",
            "Whether the device service is connected.",
            "`online: true` once the service is up; `online: false` from the broker (the last will, "
            "without `ts`) when the connection is lost, or from the service itself, with a `reason`, "
            "when it stops.",
            Online,
            _online(),
            "hv1 is up",
        ),
        "powerChannelState": _message(
            "powerChannelState",
            "Power channel state",
            "State of one output of an HV or LV supply (`kind: power`).",
            "Published when something changes and at least every `publish_period` seconds of the "
            "device's meta. Setpoints and limits are always present; measured values are absent when "
            "they could not be read.",
            PowerChannelState,
            _power_state(),
            "hv1/ch1 ramping up to 100 V at 10 V/s",
        ),
        "sensorChannelState": _message(
            "sensorChannelState",
            "Sensor channel state",
            "State of one sensor channel (`kind: sensor`).",
            "`values` holds each quantity named in the channel's meta, in its unit; a quantity that "
            "could not be read is absent.",
            SensorChannelState,
            _sensor_state(),
            "env1/box: temperature (degC), relative humidity (%) and dew point (degC)",
        ),
        "cyclerChannelState": _message(
            "cyclerChannelState",
            "Cycler channel state",
            "State of one battery-cycler channel (`kind: cycler`).",
            "Published every record period of the running step, sooner on a change of V or I beyond the "
            "protocol's record deltas and at every step or run-state change, and every `publish_period` "
            "while idle. Current and power are positive while charging. Capacities and energies are "
            "cumulative over the run.",
            CyclerChannelState,
            _cycler_state(),
            "station1/ch1 discharging in cycle 1",
        ),
        "cyclerStats": _message(
            "cyclerStats",
            "Cycler statistics",
            "Statistics of a finished step or cycle of a battery-cycler channel.",
            "One message at the end of every step (`scope: step`) and cycle (`scope: cycle`), and for the "
            "open step and cycle when a run is stopped or aborted.",
            CyclerStats,
            _cycler_stats(),
            "station1/ch1: cycle 1 complete",
        ),
        "command": _message(
            "command",
            "Command",
            "A command to one channel; the verb is the last topic level.",
            "`id` is chosen by the client and repeated in the ack. `value` is the verb's argument "
            "in the unit the channel's meta gives (set_voltage: V, set_current_limit: A, "
            "set_ramp_rate: V/s; on/off take none). `ts` is required: a command older than the device's "
            f"maximum age (`max_command_age_s`, {DEFAULT_MAX_COMMAND_AGE_S:g} s by default), or as far in "
            "the future, is rejected. Within that window a device remembers every id it answered: a "
            "repeated id is answered with the first ack again (`repeat: true`) and not carried out "
            "again, so a client chooses a new id for every command. Unknown fields are an error.",
            Command,
            _command(),
            "Set hv1/ch1 to 100 V",
        ),
        "ack": _message(
            "ack",
            "Acknowledgement",
            "The one answer to every command.",
            "Exactly one ack per command. `accepted`: the action has started (a ramp runs; the "
            "channel state shows its progress). `rejected`: the command was not acted on (bad value, "
            "unknown verb, malformed payload, device offline, expired). `failed`: the command was "
            "valid but the instrument did not carry it out. `reason` is a sentence for a person. "
            "`repeat: true`: the id had been answered already; this is that first ack again.",
            Ack,
            _ack(),
            "hv1 accepted op-1 and started the ramp",
        ),
        "alarm": _message(
            "alarm",
            "Alarm",
            "A retained alarm of a device or one of its channels.",
            "Republished on the same topic when it changes (cleared, acknowledged).",
            Alarm,
            _alarm(),
            "hv1/ch1 hit its current limit",
        ),
        "ruleState": _message(
            "ruleState",
            "Interlock rule state",
            "State of one interlock rule (`kind: rule`), published by the interlock service.",
            "On change and at least every `publish_period` seconds. `active`: the rule is in force and "
            "the device services of its `targets` hold them down (`ramp_down`, `switch_off`) and refuse "
            "`on` and voltage raises; `status: latched`: the condition is gone but the rule stays in "
            "force until a `reset` command. `hold` lists channels whose `off` waits until the targets "
            "are off (ordering).",
            RuleState,
            _rule_state(),
            "the dew-point rule, latched after the humidity came back down",
        ),
        "heartbeat": _message(
            "heartbeat",
            "Heartbeat",
            "The interlock service evaluated its rules just now.",
            "Sent every `period` seconds after a successful evaluation, never while the interlock has "
            "no broker connection. Device services that depend on the interlock put their outputs in "
            "their safe state when no heartbeat arrives within their timeout.",
            Heartbeat,
            _heartbeat(),
            "the interlock is alive: 3 rules, 1 in force",
        ),
        "alarmCommand": _message(
            "alarmCommand",
            "Alarm command",
            "A command to one alarm; the verb (`acknowledge`) is the last topic level.",
            "`user` is required: who acknowledges, for the audit. Answered with exactly one ack on "
            "the device's ack topic, with `channel: alarm` and the alarm's id in `alarm`. `ts` and "
            "repeated ids as for channel commands.",
            AlarmCommand,
            _alarm_command(),
            "alice acknowledges an alarm",
        ),
    }


def _channel(
    address: str, title: str, description: str, parameters: list[str], messages: list[str]
) -> dict[str, Any]:
    return {
        "address": address,
        "title": title,
        "description": description,
        "messages": {name: _ref(f"#/components/messages/{name}") for name in messages},
        "parameters": {name: _ref(f"#/components/parameters/{name}") for name in parameters},
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
            topics.command("{device}", "{channel}", "{verb}"),
            "Command",
            "Not retained. Commands to one channel of a device, answered on the device's ack topic.",
            ["device", "channel", "verb"],
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
        "alarmCommand": _channel(
            topics.alarm_command("{device}", "{alarm}", "{alarmVerb}"),
            "Alarm command",
            "Not retained. Commands to one alarm (acknowledge), answered on the device's ack topic.",
            ["device", "alarm", "alarmVerb"],
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
        "channel": _ref(f"#/channels/{channel}"),
        "title": title,
        "summary": summary,
        "messages": [_ref(f"#/channels/{channel}/messages/{name}") for name in messages],
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
        "channel": _ref("#/channels/ack"),
        "messages": [_ref("#/channels/ack/messages/ack")],
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


def _servers() -> dict[str, Any]:
    last_will = _last_will()
    return {
        "mosquitto": {
            "host": "localhost:1883",
            "protocol": "mqtt",
            "title": "Local Mosquitto",
            "summary": "The bench broker (Mosquitto 2), plain MQTT on port 1883.",
            "description": (
                "Started by `labdcs up` or the compose stack (`mosquitto/mosquitto.conf`). The last "
                "will below is what every device service sets, with its own device id and boot id "
                "(the example shows `hv1`)."
            ),
            "bindings": {
                "mqtt": {
                    "lastWill": {
                        "topic": topics.online("hv1"),
                        "qos": QOS,
                        "message": encode(last_will).decode(),
                        "retain": True,
                    },
                    "bindingVersion": MQTT_BINDING_VERSION,
                }
            },
        }
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
        "servers": _servers(),
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": component_schemas(PAYLOAD_MODELS),
            "messages": _messages(),
            "parameters": _parameters(),
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
