"""Payload models of the labdcs MQTT contract, version 1.

These models are the contract: JSON Schema and the AsyncAPI document are generated from them, device
services publish only what they serialise, and consumers validate what they receive with them.

Type stability matters downstream (Telegraf and InfluxDB drop a field whose type changes), so every
numeric reading is a ``float`` that serialises as a JSON number with a fraction or exponent, never
as an integer or a boolean; NaN and infinity are refused (JSON has no spelling for them).
Timestamps are integer milliseconds since the Unix epoch (UTC): exact in every JSON parser,
JavaScript's included, and directly usable by Telegraf (``unix_ms``) and InfluxDB (``precision=ms``).
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic.config import JsonDict

from labdcs.contract.topics import IDENT_PATTERN

CONTRACT: Final = "labdcs/v1"

Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
CommandId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
TimestampMs = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch (UTC)")]
Reading = Annotated[float, Field(allow_inf_nan=False)]


#: Commands older than this (s, by their ``ts``) are rejected unless a device configures another age.
DEFAULT_MAX_COMMAND_AGE_S: Final = 10.0


def now_ms() -> int:
    """The current wall-clock time in contract units."""
    return time.time_ns() // 1_000_000


class _Published(BaseModel):
    """Messages devices publish: consumers ignore fields a newer v1 minor release adds."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class DeviceKind(StrEnum):
    HV = "hv"
    LV = "lv"
    ENV = "env"
    CYCLER = "cycler"
    SERVICE = "service"
    """A labdcs service that reports on itself through the contract (e.g. the ingester)."""
    INTERLOCK = "interlock"
    """The interlock service: one channel per rule (``kind: rule``), a heartbeat, ``reset`` commands."""


class ChannelKind(StrEnum):
    POWER = "power"
    SENSOR = "sensor"
    CYCLER = "cycler"
    RULE = "rule"


class PowerStatus(StrEnum):
    OFF = "off"
    ON = "on"
    RAMPING = "ramping"
    FAULT = "fault"
    TRIPPED = "tripped"
    """An over-current/over-voltage trip switched the output off; only ``clear_trip`` removes it."""
    INHIBITED = "inhibited"
    """Off, and an interlock rule or the watchdog refuses ``on``."""


class SensorStatus(StrEnum):
    OK = "ok"
    FAULT = "fault"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class AckResult(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"


class Verb(StrEnum):
    """Command verbs: set_voltage to off and clear_trip for power channels, load_protocol to stop for
    cycler channels."""

    SET_VOLTAGE = "set_voltage"
    SET_CURRENT_LIMIT = "set_current_limit"
    SET_RAMP_RATE = "set_ramp_rate"
    ON = "on"
    OFF = "off"
    # cycler channels
    LOAD_PROTOCOL = "load_protocol"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    # power channels: the latched trip
    CLEAR_TRIP = "clear_trip"


# --- meta ---------------------------------------------------------------------------------------


class InstrumentIdentity(_Published):
    manufacturer: str
    model: str
    serial: str
    firmware: str


class QuantityMeta(_Published):
    """A value a channel's state carries, with its unit and range."""

    name: Ident
    unit: str = Field(description="SI unit symbol, e.g. V, A, degC, %, V/s; empty for booleans")
    type: Literal["number", "boolean", "string"] = "number"
    description: str = ""
    min: float | None = None
    max: float | None = None


class CommandMeta(_Published):
    """A command a channel accepts on ``.../<channel>/cmd/<verb>/<sender>``."""

    verb: Ident
    value: Literal["number", "boolean", "none"] = Field(
        description="Type of the command's `value` field; `none` means the command takes no value"
    )
    unit: str = ""
    min: float | None = None
    max: float | None = None
    description: str = ""


class PowerLimits(_Published):
    """The effective limits of a power channel: the tighter of configuration and instrument."""

    max_voltage: float = Field(description="V; setpoints above are rejected")
    min_voltage: float = Field(default=0.0, description="V; setpoints below are rejected")
    max_current: float = Field(description="A; current limits above are rejected")
    ramp_rate: float = Field(gt=0, description="V/s; the configured ramp rate")
    max_ramp_rate: float = Field(gt=0, description="V/s; ramp rates above are rejected")


class CyclerLimits(_Published):
    """The safety envelope of a cycler channel: the tighter of the cell's and the station's limits."""

    v_min: float = Field(description="V; below it a run aborts")
    v_max: float = Field(description="V; above it a run aborts")
    i_min: float = Field(description="A, negative: the largest discharge current")
    i_max: float = Field(description="A: the largest charge current")
    t_max: float | None = Field(default=None, description="degC; above it a run aborts")
    capacity: float | None = Field(default=None, description="Ah; the cell's nominal capacity (for C-rates)")


class ChannelMeta(_Published):
    id: Ident
    label: str = ""
    kind: ChannelKind
    quantities: list[QuantityMeta]
    limits: PowerLimits | None = None
    commands: list[CommandMeta] = Field(default_factory=list)
    cycler_limits: CyclerLimits | None = Field(default=None, description="Cycler channels only")


class DeviceMeta(_Published):
    """Retained self-description on ``labdcs/v1/<device>/meta``: enough to build a UI or a mapping."""

    contract: Literal["labdcs/v1"] = CONTRACT
    device: Ident
    kind: DeviceKind
    description: str = ""
    model: str = Field(description="Instrument model as configured, e.g. 'Keithley 2410'")
    driver: str
    identity: InstrumentIdentity | None = Field(
        default=None, description="What the instrument reported; null until it has been reached"
    )
    software: str = Field(description="labdcs version of the service")
    boot: str = Field(description="Changes at every start of the service process")
    started: TimestampMs
    publish_period: float = Field(gt=0, description="s; state is published at least this often")
    channels: list[ChannelMeta]


# --- online -------------------------------------------------------------------------------------


class Online(_Published):
    """Retained on ``labdcs/v1/<device>/online``. The broker publishes ``online: false`` as last will."""

    online: bool
    boot: str
    ts: TimestampMs | None = Field(
        default=None, description="When the device said so; null in the last will (sent by the broker)"
    )
    reason: str | None = None


# --- state --------------------------------------------------------------------------------------


def _kind_required(schema: JsonDict) -> None:
    """``kind`` has a default for building states in Python, but it is always sent and decoding needs it."""
    properties = schema.get("properties")
    required = schema.get("required")
    if isinstance(properties, dict) and isinstance(required, list) and "kind" in properties:
        schema["required"] = [name for name in properties if name in required or name == "kind"]


class _StateCommon(_Published):
    model_config = ConfigDict(json_schema_extra=_kind_required)

    ts: TimestampMs = Field(description="Strictly increasing per channel within a boot")
    seq: int = Field(ge=0, description="Per device, +1 for every state message of any channel")
    boot: str = Field(description="Service start id: a new boot restarts `seq` at 0")
    fault: str | None = Field(default=None, description="Why the channel is in fault; absent otherwise")
    device_kind: DeviceKind | None = Field(
        default=None,
        description="The device's kind (as in its meta), so each state is self-contained for time series",
    )


class PowerChannelState(_StateCommon):
    """State of one output of an HV or LV supply."""

    kind: Literal[ChannelKind.POWER] = ChannelKind.POWER
    status: PowerStatus
    output: bool = Field(description="Output switched on")
    ramping: bool = Field(description="The setpoint is walking towards v_target")
    v_set: Reading = Field(description="V; setpoint programmed now (walks during a ramp)")
    v_target: Reading = Field(
        description="V; setpoint the operator asked for: the ramp goes there while the output is on"
    )
    i_limit: Reading = Field(description="A; current limit (compliance)")
    ramp_rate: Reading = Field(description="V/s; ramp rate in use")
    v_mon: Reading | None = Field(default=None, description="V; measured; absent when unreadable")
    i_mon: Reading | None = Field(default=None, description="A; measured; absent when unreadable")
    compliance: bool | None = Field(default=None, description="Current limit reached")
    # Safety (interlocks, watchdog, trips): absent when nothing applies.
    trip: str | None = Field(
        default=None,
        description="Why the channel tripped (over-current, over-voltage, the instrument's protection); "
        "the output is off and stays off until `clear_trip`",
    )
    inhibit: str | None = Field(
        default=None,
        description="Why `on` and raising the voltage are refused now: the interlock rules by name, or "
        "the watchdog",
    )
    switching_off: bool | None = Field(
        default=None,
        description="The output is on its way off: ramping down, or waiting until the channels an "
        "interlock rule orders before it are off",
    )


class SensorChannelState(_StateCommon):
    """State of one sensor channel: each quantity named in the channel's meta, in its unit."""

    kind: Literal[ChannelKind.SENSOR] = ChannelKind.SENSOR
    status: SensorStatus
    # additionalProperties: false, so the JSON Schema too refuses a quantity name that is not an id.
    values: dict[Ident, Reading] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False}
    )


class CyclerRunState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    ABORTED = "aborted"
    ERROR = "error"


class CyclerChannelState(_StateCommon):
    """State of one battery-cycler channel: the cell's measurements and where the protocol is."""

    kind: Literal[ChannelKind.CYCLER] = ChannelKind.CYCLER
    run_state: CyclerRunState
    output: bool = Field(description="Output switched on")
    mode: str | None = Field(default=None, description="Regulation now: off, cc, cv or cp")
    voltage: Reading | None = Field(default=None, description="V; measured")
    current: Reading | None = Field(default=None, description="A; measured, + charge, - discharge")
    power: Reading | None = Field(default=None, description="W; measured, + charge, - discharge")
    temperature: Reading | None = Field(default=None, description="degC; cell temperature")
    experiment: str | None = Field(default=None, description="Experiment id of the run")
    protocol: str | None = Field(default=None, description="Name and version of the loaded protocol")
    step_index: int = Field(ge=0, description="1-based position of the step in the protocol; 0: none")
    step_id: str | None = Field(default=None, description="The step's id in the protocol, if it has one")
    step_type: str | None = Field(default=None, description="rest, cc, cv, cccv, cp or pulse")
    cycle_index: int = Field(ge=0, description="Cycles started in this run; 0 before the first")
    test_time: Reading = Field(description="s since the run started (pauses included)")
    step_time: Reading = Field(description="s in the present step (pauses excluded)")
    charge_capacity: Reading = Field(description="Ah charged in this run")
    discharge_capacity: Reading = Field(description="Ah discharged in this run")
    charge_energy: Reading = Field(description="Wh charged in this run")
    discharge_energy: Reading = Field(description="Wh discharged in this run")
    step_end_reason: str | None = Field(
        default=None, description="Why the last step (or the run) ended, e.g. 'voltage >= 4.2 V'"
    )


# --- safety: interlock rules ---------------------------------------------------------------------


class RuleStatus(StrEnum):
    OK = "ok"
    """Not in force."""
    ACTIVE = "active"
    """In force: the condition holds."""
    LATCHED = "latched"
    """In force although the condition is gone: waiting for an operator's `reset`."""


class RuleAction(StrEnum):
    """What an active rule does to a channel; every action also refuses `on` and voltage raises."""

    RAMP_DOWN = "ramp_down"
    SWITCH_OFF = "switch_off"
    INHIBIT = "inhibit"


class RuleVerb(StrEnum):
    """Command verbs of rule channels (the interlock's)."""

    RESET = "reset"


class RuleTarget(_Published):
    """A channel an active rule acts on; its device service carries the action out."""

    device: Ident
    channel: Ident
    action: RuleAction
    output: bool | None = Field(
        default=None, description="The target's output as the interlock last saw it; absent when unknown"
    )


class RuleHold(_Published):
    """A channel that may switch off only after the rule's ramp_down/off targets are off (ordering)."""

    device: Ident
    channel: Ident
    released: bool = Field(
        default=False,
        description="The channel is switching off and every ramp_down/off target is off: it may go now",
    )


class RuleState(_StateCommon):
    """State of one interlock rule, retained on ``labdcs/v1/<interlock>/<rule>/state``."""

    kind: Literal[ChannelKind.RULE] = ChannelKind.RULE
    status: RuleStatus
    condition: bool = Field(
        description="The condition holds now (inputs that are missing or too old count as holding, "
        "unless the rule says `on_missing: ignore`)"
    )
    active: bool = Field(description="The rule is in force: its targets are held down and refuse `on`")
    latch: bool = Field(description="The rule stays in force after its condition is gone, until `reset`")
    since: TimestampMs | None = Field(default=None, description="When the rule came into force")
    reason: str | None = Field(
        default=None,
        description="Why the rule is in force: its condition as it is now (for a latched rule whose "
        "condition is gone: as it last held)",
    )
    detail: str = Field(description="The condition as evaluated now, for a person")
    targets: list[RuleTarget] = Field(default_factory=list)
    hold: list[RuleHold] = Field(default_factory=list)


ChannelState = Annotated[
    PowerChannelState | SensorChannelState | CyclerChannelState | RuleState, Field(discriminator="kind")
]
CHANNEL_STATE: TypeAdapter[PowerChannelState | SensorChannelState | CyclerChannelState | RuleState] = (
    TypeAdapter(ChannelState)
)


# --- commands -----------------------------------------------------------------------------------


def principal_label(principal: str | None, user: str | None) -> str:
    """Who an audit names: the authenticated principal, with the person it claims to act for
    (``nodered (claims ui:operator)``); a claim alone is never an identity."""
    if principal is None:
        return f"nobody authenticated (claims {user})" if user else "nobody authenticated"
    if user and user != principal:
        return f"{principal} (claims {user})"
    return principal


class Command(BaseModel):
    """Body of ``labdcs/v1/<device>/<channel>/cmd/<verb>/<sender>``; strict: a typo is an error, not
    ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: CommandId = Field(description="Chosen by the client; repeated in the ack")
    value: float | bool | None = Field(default=None, description="Argument of the verb, see meta")
    user: str | None = Field(
        default=None,
        max_length=128,
        description="The person the sender says it acts for, audited as a claim next to the sender's "
        "broker login (the topic's last level), never alone",
    )
    ts: TimestampMs = Field(
        description="When it was sent (required): a command older than the device's max age "
        f"(`max_command_age_s`, {DEFAULT_MAX_COMMAND_AGE_S:g} s by default) or as far in the future is "
        "rejected, and within that window a repeated `id` is answered with its first ack, not carried "
        "out again"
    )
    protocol: dict[str, Any] | str | None = Field(
        default=None,
        description="load_protocol: the protocol document (labdcs.protocols) or its text form",
    )
    experiment: str | None = Field(
        default=None, max_length=64, description="load_protocol, start: the experiment id of the run"
    )


class AlarmCommand(Command):
    """Body of ``labdcs/v1/<device>/alarm/<alarm>/cmd/<verb>/<sender>``: a command that names the
    person acknowledging."""

    user: str = Field(min_length=1, max_length=128, description="Who acknowledges, for the audit (required)")


class Ack(_Published):
    """The one answer to every command, on ``labdcs/v1/<device>/ack``."""

    id: str | None = Field(
        default=None, description="The command's id; absent when the command could not be parsed"
    )
    device: Ident
    channel: str
    verb: str
    result: AckResult
    reason: str | None = Field(default=None, description="Why it was rejected or failed, for a person")
    ts: TimestampMs
    value: float | bool | None = None
    alarm: Ident | None = Field(
        default=None, description="The alarm an alarm command was about (`channel` is then `alarm`)"
    )
    repeat: bool | None = Field(
        default=None,
        description="`true`: the command's id had been answered already within the max age; this is that "
        "first ack again (its `ts` included) and the command was not carried out again",
    )
    principal: Ident | None = Field(
        default=None,
        description="The broker login the command came through (its topic's last level, which the "
        "broker's ACL pins to the publisher's login): the authenticated sender",
    )
    user: str | None = Field(
        default=None, max_length=128, description="The person the command claimed to act for (its `user`)"
    )


# --- alarms -------------------------------------------------------------------------------------


class Alarm(_Published):
    """Retained on ``labdcs/v1/<device>/alarm/<alarm>``: the alarm's latest transition."""

    alarm: Ident
    device: Ident
    channel: Ident | None = None
    severity: Severity
    message: str
    active: bool
    raised: TimestampMs
    cleared: TimestampMs | None = None
    acknowledged: TimestampMs | None = None
    acknowledged_by: str | None = Field(default=None, description="The person the acknowledge claimed")
    acknowledged_principal: Ident | None = Field(
        default=None, description="The broker login the acknowledge came through (authenticated)"
    )
    ts: TimestampMs | None = Field(default=None, description="When this transition was published")


class AlarmVerb(StrEnum):
    """Command verbs on ``labdcs/v1/<device>/alarm/<alarm>/cmd/<verb>/<sender>``."""

    ACKNOWLEDGE = "acknowledge"


# --- safety: heartbeat --------------------------------------------------------------------------


class Heartbeat(_Published):
    """Not retained, on ``labdcs/v1/<interlock>/heartbeat``: the interlock evaluated its rules just now.

    Device services that depend on the interlock put their outputs in the safe state when none
    arrives for longer than their timeout.
    """

    boot: str = Field(description="The interlock's run; a new boot means it restarted")
    seq: int = Field(ge=0, description="+1 for every heartbeat of this boot")
    ts: TimestampMs
    period: float = Field(gt=0, description="s; the next heartbeat follows within this period")
    rules: int = Field(ge=0, description="Number of rules evaluated")
    active: int = Field(ge=0, description="Number of rules in force")


# --- cycler statistics --------------------------------------------------------------------------


class StatsScope(StrEnum):
    STEP = "step"
    CYCLE = "cycle"


class CyclerStats(_Published):
    """Published on ``labdcs/v1/<device>/<channel>/stats`` at the end of every step and every cycle."""

    scope: StatsScope
    ts: TimestampMs
    boot: str
    experiment: str | None = None
    step_index: int | None = Field(default=None, ge=1, description="Step statistics: the step's position")
    step_id: str | None = None
    step_type: str | None = None
    cycle_index: int = Field(ge=0, description="The cycle the step belongs to, or the cycle itself")
    start: TimestampMs
    end: TimestampMs
    duration: Reading = Field(description="s; running time (pauses excluded)")
    end_reason: str | None = None
    charge_capacity: Reading = Field(description="Ah")
    discharge_capacity: Reading = Field(description="Ah")
    charge_energy: Reading = Field(description="Wh")
    discharge_energy: Reading = Field(description="Wh")
    coulombic_efficiency: Reading | None = Field(
        default=None, description="Cycles: discharge / charge capacity; absent without a charge"
    )
    energy_efficiency: Reading | None = Field(default=None, description="Cycles: discharge / charge energy")
    v_min: Reading | None = Field(default=None, description="V")
    v_max: Reading | None = Field(default=None, description="V")
    v_mean: Reading | None = Field(default=None, description="V, time-weighted")
    i_mean: Reading | None = Field(default=None, description="A, time-weighted, signed")
    t_min: Reading | None = Field(default=None, description="degC")
    t_max: Reading | None = Field(default=None, description="degC")
    cv_time: Reading = Field(description="s in constant-voltage regulation")
    cv_capacity: Reading = Field(description="Ah passed in constant-voltage regulation")
    dc_resistance: Reading | None = Field(
        default=None, description="Ohm; mean dV/dI over one sample period after each current step"
    )
