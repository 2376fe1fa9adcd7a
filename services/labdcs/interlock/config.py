"""The interlock's rules file (``labdcs interlock run --config FILE``), validated with clear errors.

A rule names conditions over the live contract and the channels it acts on::

    rules:
      - name: dew-point
        description: Condensation risk in the detector box
        severity: critical
        when:
          - dew_point: env1/box/dew_point
            temperature: env1/box/temperature
            margin: 3.0
        actions:
          ramp_down: [hv1/ch1, hv2/ch1]

Conditions (a rule holds when ``any`` of them holds, or ``all`` with ``match: all``):

==============================================  =============================================
``above: dev/ch/quantity`` + ``limit``           a reading above a value
``below: dev/ch/quantity`` + ``limit``           a reading below a value
``dew_point: dev/ch/q`` + ``temperature``        the dew point closer than ``margin`` (K) to a
  + ``margin``                                   temperature (a reading or a number)
``channel_off: dev/ch``                          a power channel off (or on its way off)
``offline: dev``                                 a device service offline
``stale: dev/ch`` + ``older_than_s``             no state of a channel for longer than that
==============================================  =============================================

A reading that is missing or older than ``max_age_s`` (per condition, rule or file) makes its
condition unknown, which counts as holding (``on_missing: trip``, the default: a sensor nobody can
read cannot vouch for the detector) or not (``on_missing: ignore``).

Actions: ``ramp_down`` / ``switch_off`` hold the channels down while the rule is in force (and
refuse ``on`` and voltage raises on them), ``inhibit`` only refuses ``on`` and raises, ``hold``
lists channels (named in a ``channel_off`` condition of the rule) whose own ``off`` waits until the
ramp_down/switch_off targets are off: "switching LV off first ramps HV down".

YAML 1.1 (PyYAML) reads unquoted ``on``/``off``/``yes``/``no`` as booleans, so no key or value of
this file is spelled that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from labdcs.contract.limits import MAX_CHANNELS_PER_DEVICE, MAX_LABEL_LENGTH, MAX_RULE_TARGETS
from labdcs.contract.models import Ident, Severity
from labdcs.contract.topics import RESERVED_CHANNEL_IDS, is_ident
from labdcs.settings import MqttSettings, YamlSettings

# --- references to the contract ------------------------------------------------------------------


def _parts(value: str, count: int, example: str, what: str) -> str:
    parts = value.split("/")
    if len(parts) != count or not all(is_ident(part) for part in parts):
        levels = "/".join(("device", "channel", "quantity")[:count])
        raise ValueError(f"{value!r} is not {what}: write {levels} with contract ids, e.g. {example}")
    return value


def _channel_ref(value: str) -> str:
    return _parts(value, 2, "hv1/ch1", "a channel")


def _value_ref(value: str) -> str:
    return _parts(value, 3, "env1/box/dew_point", "a reading")


ChannelRef = Annotated[str, AfterValidator(_channel_ref)]
"""``device/channel``, e.g. ``hv1/ch1``."""
ValueRef = Annotated[str, AfterValidator(_value_ref)]
"""``device/channel/quantity``, e.g. ``env1/box/dew_point`` or ``hv1/ch1/i_mon``."""


def split_channel(ref: str) -> tuple[str, str]:
    device, channel = ref.split("/")
    return device, channel


def split_value(ref: str) -> tuple[str, str, str]:
    device, channel, quantity = ref.split("/")
    return device, channel, quantity


# --- conditions ----------------------------------------------------------------------------------


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_s: float | None = Field(
        default=None, gt=0, description="s; older inputs count as missing (default: the rule's)"
    )


class Above(_Condition):
    above: ValueRef
    limit: float


class Below(_Condition):
    below: ValueRef
    limit: float


class DewPointMargin(_Condition):
    dew_point: ValueRef
    temperature: ValueRef | float = Field(description="A reading (e.g. a cold plate) or a fixed value")
    margin: float = Field(gt=0, description="K; the condition holds when temperature - dew point < margin")


class ChannelOff(_Condition):
    channel_off: ChannelRef


class DeviceOffline(_Condition):
    offline: Ident


class Stale(_Condition):
    stale: ChannelRef
    older_than_s: float = Field(gt=0, description="s without a state of the channel")


CONDITION_KEYS = ("above", "below", "dew_point", "channel_off", "offline", "stale")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        found = [key for key in CONDITION_KEYS if key in value]
        return found[0] if len(found) == 1 else None
    return next((key for key in CONDITION_KEYS if key in type(value).model_fields), None)


Condition = Annotated[
    Annotated[Above, Tag("above")]
    | Annotated[Below, Tag("below")]
    | Annotated[DewPointMargin, Tag("dew_point")]
    | Annotated[ChannelOff, Tag("channel_off")]
    | Annotated[DeviceOffline, Tag("offline")]
    | Annotated[Stale, Tag("stale")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message=("a condition needs exactly one of the keys " + ", ".join(CONDITION_KEYS)),
    ),
]


def condition_devices(condition: _Condition) -> set[str]:
    """The devices whose messages a condition reads."""
    if isinstance(condition, Above):
        return {split_value(condition.above)[0]}
    if isinstance(condition, Below):
        return {split_value(condition.below)[0]}
    if isinstance(condition, DewPointMargin):
        refs = [condition.dew_point]
        if isinstance(condition.temperature, str):
            refs.append(condition.temperature)
        return {split_value(ref)[0] for ref in refs}
    if isinstance(condition, ChannelOff):
        return {split_channel(condition.channel_off)[0]}
    if isinstance(condition, DeviceOffline):
        return {condition.offline}
    if isinstance(condition, Stale):
        return {split_channel(condition.stale)[0]}
    raise TypeError(f"unknown condition {condition!r}")


# --- actions and rules ---------------------------------------------------------------------------


class Actions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ramp_down: list[ChannelRef] = Field(default_factory=list, description="Ramp down and switch off")
    switch_off: list[ChannelRef] = Field(default_factory=list, description="Switch off at once")
    inhibit: list[ChannelRef] = Field(default_factory=list, description="Refuse `on` and voltage raises")
    hold: list[ChannelRef] = Field(
        default_factory=list,
        description="Channels whose `off` waits until the ramp_down/off targets are off (ordering)",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not (self.ramp_down or self.switch_off or self.inhibit):
            raise ValueError("a rule needs at least one of ramp_down, switch_off, inhibit")
        seen: dict[str, str] = {}
        for name in ("ramp_down", "switch_off", "inhibit", "hold"):
            for ref in getattr(self, name):
                if ref in seen:
                    raise ValueError(f"{ref} is listed twice (in {seen[ref]} and {name})")
                seen[ref] = name
        if len(seen) > MAX_RULE_TARGETS:
            raise ValueError(f"a rule names {len(seen)} channels; the contract allows {MAX_RULE_TARGETS}")
        if self.hold and not (self.ramp_down or self.switch_off):
            raise ValueError("hold needs ramp_down or switch_off targets: the channels held wait for them")
        return self

    def targets(self) -> list[tuple[str, str]]:
        """(channel reference, action) of every channel the rule acts on."""
        return [
            *((ref, "ramp_down") for ref in self.ramp_down),
            *((ref, "switch_off") for ref in self.switch_off),
            *((ref, "inhibit") for ref in self.inhibit),
        ]


def _rule_name(value: str) -> str:
    if value in RESERVED_CHANNEL_IDS:
        reserved = ", ".join(sorted(RESERVED_CHANNEL_IDS))
        raise ValueError(f"'{value}' is reserved in the topic scheme ({reserved}); choose another name")
    return value


class Rule(BaseModel):
    """One interlock rule; its name is the rule's channel id on the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[Ident, AfterValidator(_rule_name)]
    description: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    when: list[Condition] = Field(min_length=1, description="The conditions")
    match: Literal["any", "all"] = Field(default="any", description="The rule holds when any/all hold")
    actions: Actions
    latch: bool = Field(
        default=True, description="Stay in force after the condition is gone, until an operator's reset"
    )
    on_missing: Literal["trip", "ignore"] = Field(
        default="trip", description="Whether missing or stale inputs count as the condition holding"
    )
    max_age_s: float | None = Field(default=None, gt=0, description="s; default for the conditions")
    alarm: bool = Field(default=True, description="Raise an alarm while the rule is in force")
    severity: Severity = Severity.ERROR

    @model_validator(mode="before")
    @classmethod
    def _condition_keys(cls, data: Any) -> Any:
        """Name the keys of a condition that is none of the known kinds (YAML booleans included)."""
        conditions = data.get("when") if isinstance(data, dict) else None
        for index, condition in enumerate(conditions if isinstance(conditions, list) else []):
            if isinstance(condition, dict) and _condition_kind(condition) is None:
                keys = ", ".join(repr(key) for key in condition)
                hint = (
                    " (YAML reads unquoted on/off/yes/no as booleans)"
                    if any(isinstance(key, bool) for key in condition)
                    else ""
                )
                raise ValueError(
                    f"when.{index}: a condition needs exactly one of the keys {', '.join(CONDITION_KEYS)}; "
                    f"got {keys}{hint}"
                )
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        off_conditions = {c.channel_off for c in self.when if isinstance(c, ChannelOff)}
        for ref in self.actions.hold:
            if ref not in off_conditions:
                raise ValueError(
                    f"hold {ref}: a held channel must be named in a `channel_off` condition of the rule, so "
                    "its `off` brings the rule into force"
                )
        return self

    def devices(self) -> set[str]:
        """Every device whose messages the rule reads (conditions, targets' outputs, held channels)."""
        found = set().union(*(condition_devices(condition) for condition in self.when))
        refs = [ref for ref, _ in self.actions.targets()] + list(self.actions.hold)
        return found | {split_channel(ref)[0] for ref in refs}


class InterlockConfig(YamlSettings):
    """The interlock service: its id on the contract, its timing and its rules."""

    device: Ident = Field(default="interlock", description="The interlock's id on the contract")
    description: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    heartbeat_period_s: float = Field(default=0.5, gt=0, le=60, description="s between heartbeats")
    publish_period: float = Field(default=1.0, gt=0, le=3600, description="s between rule states")
    evaluate_period_s: float = Field(
        default=0.1, gt=0, le=10, description="s; rules are evaluated on every input and at least this often"
    )
    max_age_s: float = Field(
        default=10.0, gt=0, description="s; inputs older than this count as missing (per rule/condition too)"
    )
    startup_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="s after the start during which inputs never received yet do not trip rules; there "
        "is no heartbeat until every input is in or this time is over",
    )
    rules: list[Rule] = Field(min_length=1, max_length=MAX_CHANNELS_PER_DEVICE)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    health_file: Path | None = Field(default=None, description="Touched every loop, for container health")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [rule.name for rule in self.rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(repeated)}")
        if self.device in {device for rule in self.rules for device in rule.devices()}:
            raise ValueError(f"rules cannot refer to the interlock itself ({self.device})")
        return self

    def devices(self) -> list[str]:
        return sorted(set().union(*(rule.devices() for rule in self.rules)))
