"""The messages of the AsyncAPI document: one entry per payload model, with its description and an
example encoded as it goes on the wire (:mod:`labdcs.contract.examples`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from labdcs.contract import examples
from labdcs.contract.batch import MAX_BATCH_STATES, CyclerStateBatch
from labdcs.contract.limits import MAX_STATES_BYTES
from labdcs.contract.models import (
    DEFAULT_MAX_COMMAND_AGE_S,
    Ack,
    Alarm,
    AlarmCommand,
    Command,
    CyclerChannelState,
    CyclerStats,
    DeviceMeta,
    Heartbeat,
    Online,
    PowerChannelState,
    RuleState,
    SensorChannelState,
)

#: Where the payload schemas are in the document.
SCHEMAS = "#/components/schemas/"


def ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def message(
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
        "payload": ref(SCHEMAS + model.__name__),
        "examples": [{"name": name, "summary": example_summary, "payload": examples.wire(example)}],
    }


def messages() -> dict[str, Any]:
    return {
        "deviceMeta": message(
            "deviceMeta",
            "Device meta",
            "Retained self-description of a device service.",
            "Published at start and whenever it changes (e.g. once the instrument has identified "
            "itself): the device, its instrument and every channel with its quantities, limits and "
            "accepted commands. Enough to build a UI or a database mapping.",
            DeviceMeta,
            examples.hv1_meta(),
            "hv1, a Keithley 2410 with one channel",
        ),
        "online": message(
            "online",
            "Online",
            "Whether the device service is connected.",
            "`online: true` once the service is up; `online: false` from the broker (the last will, "
            "without `ts`) when the connection is lost, or from the service itself, with a `reason`, "
            "when it stops.",
            Online,
            examples.online(),
            "hv1 is up",
        ),
        "powerChannelState": message(
            "powerChannelState",
            "Power channel state",
            "State of one output of an HV or LV supply (`kind: power`).",
            "Published when something changes and at least every `publish_period` seconds of the "
            "device's meta. Setpoints and limits are always present; measured values are absent when "
            "they could not be read.",
            PowerChannelState,
            examples.power_state(),
            "hv1/ch1 ramping up to 100 V at 10 V/s",
        ),
        "sensorChannelState": message(
            "sensorChannelState",
            "Sensor channel state",
            "State of one sensor channel (`kind: sensor`).",
            "`values` holds each quantity named in the channel's meta, in its unit; a quantity that "
            "could not be read is absent.",
            SensorChannelState,
            examples.sensor_state(),
            "env1/box: temperature (degC), relative humidity (%) and dew point (degC)",
        ),
        "cyclerChannelState": message(
            "cyclerChannelState",
            "Cycler channel state",
            "State of one battery-cycler channel (`kind: cycler`).",
            "Published every record period of the running step, sooner on a change of V or I beyond the "
            "protocol's record deltas and at every step or run-state change, and every `publish_period` "
            "while idle. Current and power are positive while charging. Capacities and energies are "
            "cumulative over the run.",
            CyclerChannelState,
            examples.cycler_state(),
            "station1/ch1 discharging in cycle 1",
        ),
        "cyclerStateBatch": message(
            "cyclerStateBatch",
            "Cycler state batch",
            "Consecutive states of one battery-cycler channel, oldest first (contract 2.1.0).",
            "Only from a station that runs faster than real time (`speed` above 1, or `max`) or has a "
            f"backlog: up to {MAX_BATCH_STATES} ordinary cycler states, at most {MAX_STATES_BYTES:,} bytes, "
            "each with its own `ts` and `seq` (`seq` strictly increasing, `ts` never decreasing, one "
            "`boot`). A reader stores each entry exactly as the same state on the `state` topic. The "
            "batch's last state is also published, retained, on the channel's `state` topic, so "
            "newcomers and UIs see the present. A batch is sent before any ack, alarm or statistics "
            "that follow its states, so the order of events is kept. Real-time devices publish one "
            "state per message on `state` and never use this topic.",
            CyclerStateBatch,
            examples.cycler_state_batch(),
            "station1/ch1 at speed max: three 1 s records",
        ),
        "cyclerStats": message(
            "cyclerStats",
            "Cycler statistics",
            "Statistics of a finished step or cycle of a battery-cycler channel.",
            "One message at the end of every step (`scope: step`) and cycle (`scope: cycle`), and for the "
            "open step and cycle when a run is stopped or aborted.",
            CyclerStats,
            examples.cycler_stats(),
            "station1/ch1: cycle 1 complete",
        ),
        "command": message(
            "command",
            "Command",
            "A command to one channel; the verb and the sender's broker login are the last topic levels.",
            "`id` is chosen by the client and repeated in the ack. `value` is the verb's argument "
            "in the unit the channel's meta gives (set_voltage: V, set_current_limit: A, "
            "set_ramp_rate: V/s; on/off take none). `ts` is required: a command older than the device's "
            f"maximum age (`max_command_age_s`, {DEFAULT_MAX_COMMAND_AGE_S:g} s by default), or as far in "
            "the future, is rejected. Within that window a device remembers every id it answered: a "
            "repeated id is answered with the first ack again (`repeat: true`) and not carried out "
            "again, so a client chooses a new id for every command. `user` is the person the sender "
            "says it acts for: the device audits it as a claim next to the sender's login "
            "(`cli (claims alice)`), never alone. Unknown fields are an error.",
            Command,
            examples.command(),
            "Set hv1/ch1 to 100 V",
        ),
        "ack": message(
            "ack",
            "Acknowledgement",
            "The one answer to every command.",
            "Exactly one ack per command. `accepted`: the action has started (a ramp runs; the "
            "channel state shows its progress). `rejected`: the command was not acted on (bad value, "
            "unknown verb, malformed payload, device offline, expired). `failed`: the command was "
            "valid but the instrument did not carry it out. `reason` is a sentence for a person. "
            "`repeat: true`: the id had been answered already; this is that first ack again. "
            "`principal` is the broker login the command came through (its topic's last level, pinned "
            "by the ACL), `user` the person it claimed.",
            Ack,
            examples.ack(),
            "hv1 accepted op-1 and started the ramp",
        ),
        "alarm": message(
            "alarm",
            "Alarm",
            "A retained alarm of a device or one of its channels.",
            "Republished on the same topic when it changes (cleared, acknowledged).",
            Alarm,
            examples.alarm(),
            "hv1/ch1 hit its current limit",
        ),
        "ruleState": message(
            "ruleState",
            "Interlock rule state",
            "State of one interlock rule (`kind: rule`), published by the interlock service.",
            "On change and at least every `publish_period` seconds. `active`: the rule is in force and "
            "the device services of its `targets` hold them down (`ramp_down`, `switch_off`) and refuse "
            "`on` and voltage raises; `status: latched`: the condition is gone but the rule stays in "
            "force until a `reset` command. `hold` lists channels whose `off` waits until the targets "
            "are off (ordering).",
            RuleState,
            examples.rule_state(),
            "the dew-point rule, latched after the humidity came back down",
        ),
        "heartbeat": message(
            "heartbeat",
            "Heartbeat",
            "The interlock service evaluated its rules just now.",
            "Sent every `period` seconds after a successful evaluation, never while the interlock has "
            "no broker connection. Device services that depend on the interlock put their outputs in "
            "their safe state when no heartbeat arrives within their timeout.",
            Heartbeat,
            examples.heartbeat(),
            "the interlock is alive: 3 rules, 1 in force",
        ),
        "alarmCommand": message(
            "alarmCommand",
            "Alarm command",
            "A command to one alarm; the verb (`acknowledge`) and the sender's login end the topic.",
            "`user` is required: the person who acknowledges, recorded in the alarm as "
            "`acknowledged_by` next to the sender's login (`acknowledged_principal`). Answered with "
            "exactly one ack on the device's ack topic, with `channel: alarm` and the alarm's id in "
            "`alarm`. `ts` and repeated ids as for channel commands.",
            AlarmCommand,
            examples.alarm_command(),
            "alice acknowledges an alarm",
        ),
    }
