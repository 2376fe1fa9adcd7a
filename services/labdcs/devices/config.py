"""Configuration of one device service (``labdcs device run --config FILE``).

A YAML file names the device, its driver and connection, its channels with their limits and ramp
rates; any value can be overridden from the environment (``LABDCS_DRIVER__RESOURCE=...``), which is
how the compose stack points the same file at a simulator container or at real hardware.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labdcs.contract.limits import MAX_CHANNELS_PER_DEVICE, MAX_LABEL_LENGTH
from labdcs.contract.models import DEFAULT_MAX_COMMAND_AGE_S, ChannelKind, DeviceKind, Ident
from labdcs.contract.topics import RESERVED_CHANNEL_IDS
from labdcs.drivers.registry import DriverSettings
from labdcs.settings import ConfigError, MqttSettings, YamlSettings, read_mapping, validate_file

__all__ = [
    "ChannelConfig",
    "ConfigError",
    "DeviceConfig",
    "InterlockDependency",
    "read_mapping",
    "validate_file",
]


class ChannelConfig(BaseModel):
    """One channel. Power channels (hv, lv) need their limits and a ramp rate; sensors need neither."""

    model_config = ConfigDict(extra="forbid")

    id: Ident
    label: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    hw: int = Field(default=1, ge=1, description="Instrument channel number (1-based)")
    max_voltage: float | None = Field(default=None, description="V; setpoints above are rejected")
    min_voltage: float = Field(default=0.0, description="V; setpoints below are rejected")
    max_current: float | None = Field(default=None, gt=0, description="A; limits above are rejected")
    ramp_rate: float | None = Field(default=None, gt=0, description="V/s used for every voltage change")
    max_ramp_rate: float | None = Field(default=None, gt=0, description="V/s; default: the ramp rate")
    soft_switch: bool | None = Field(
        default=None,
        description="`on` starts at 0 V and ramps up, `off` ramps down first (default: true for hv)",
    )
    trip_current: float | None = Field(
        default=None, gt=0, description="A; a measured |current| above trips the channel (switches it off)"
    )
    trip_voltage: float | None = Field(
        default=None, gt=0, description="V; a measured |voltage| above trips the channel (switches it off)"
    )
    trip_time_s: float = Field(
        default=0.0, ge=0, le=3600, description="s the excess must last before the trip (0: first reading)"
    )
    nominal_voltage: float | None = Field(
        default=None,
        description="V; the channel's working point (for people; the dummy bench is sized for it)",
    )
    current_limit: float | None = Field(
        default=None,
        gt=0,
        description="A; programmed at the service's start (first connection to the instrument) unless the "
        "output is found on; later `set_current_limit` commands change it",
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_CHANNEL_IDS:
            raise ValueError(f"'{value}' is reserved in the topic scheme; choose another channel id")
        return value


def _check_working_point(channel: ChannelConfig) -> None:
    """The nominal voltage and the current limit lie within the channel's limits."""
    assert channel.max_voltage is not None and channel.max_current is not None
    nominal = channel.nominal_voltage
    if nominal is not None and not channel.min_voltage <= nominal <= channel.max_voltage:
        raise ValueError(
            f"channel {channel.id}: nominal_voltage {nominal:g} V is outside "
            f"[{channel.min_voltage:g}, {channel.max_voltage:g}] V"
        )
    if channel.current_limit is not None and channel.current_limit > channel.max_current:
        raise ValueError(
            f"channel {channel.id}: current_limit {channel.current_limit:g} A is above "
            f"max_current {channel.max_current:g} A"
        )


class InterlockDependency(BaseModel):
    """The device follows an interlock service: its rules, and a watchdog on its heartbeat."""

    model_config = ConfigDict(extra="forbid")

    device: Ident = Field(default="interlock", description="The interlock service's id on the contract")
    heartbeat_timeout_s: float = Field(
        default=3.0, gt=0, le=3600, description="s without a heartbeat before the safe action"
    )
    safe_action: Literal["ramp_down", "switch_off", "none"] = Field(
        default="ramp_down",
        description="What a missing heartbeat does to the outputs: ramp them down, switch them off, or "
        "nothing (the device still follows the rules; `on` is not refused for a missing heartbeat)",
    )
    hold_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="s an `off` waits for the channels a rule orders before this one (then it goes anyway)",
    )


class DeviceConfig(YamlSettings):
    """Everything a device service needs; see ``dummy/devices/*.yaml`` for examples."""

    device: Ident
    kind: DeviceKind
    model: str = Field(
        max_length=MAX_LABEL_LENGTH, description="Instrument model for people, e.g. 'Keithley 2410'"
    )
    description: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    driver: DriverSettings
    channels: list[ChannelConfig] = Field(min_length=1, max_length=MAX_CHANNELS_PER_DEVICE)
    publish_period: float = Field(default=1.0, gt=0, le=3600, description="s between state messages")
    ramp_tick: float = Field(default=0.1, gt=0, le=10, description="s between ramp steps")
    protection_period: float = Field(
        default=0.1,
        gt=0,
        le=3600,
        description=(
            "s between protection reads of the power outputs that are on (trip checks), independent "
            "of the publish period; a trip is published at once"
        ),
    )
    on_exit: Literal["keep", "ramp_down"] | None = Field(
        default=None, description="What SIGTERM does to outputs (default: ramp_down for hv, else keep)"
    )
    exit_timeout_s: float = Field(default=100.0, gt=0, description="Longest ramp-down on exit")
    max_command_age_s: float = Field(
        default=DEFAULT_MAX_COMMAND_AGE_S,
        gt=0,
        description="Older commands are rejected; a device remembers the ids it answered this long",
    )
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Longest wait between instrument retries")
    interlock: InterlockDependency | None = Field(
        default=None, description="Follow an interlock service (rules, heartbeat watchdog)"
    )
    restore_timeout_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="s to wait at start for the broker's retained picture (latched trips, alarms)",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    health_file: Path | None = Field(default=None, description="Touched every loop, for container health")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def channel_kind(self) -> ChannelKind:
        return ChannelKind.SENSOR if self.kind is DeviceKind.ENV else ChannelKind.POWER

    @property
    def exit_action(self) -> Literal["keep", "ramp_down"]:
        if self.on_exit is not None:
            return self.on_exit
        return "ramp_down" if self.kind is DeviceKind.HV else "keep"

    def soft_switch(self, channel: ChannelConfig) -> bool:
        return channel.soft_switch if channel.soft_switch is not None else self.kind is DeviceKind.HV

    @model_validator(mode="after")
    def _check_channels(self) -> Self:
        ids = [channel.id for channel in self.channels]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"channel ids must be unique; repeated: {', '.join(duplicates)}")
        if self.channel_kind is ChannelKind.POWER:
            for channel in self.channels:
                missing = [
                    name
                    for name in ("max_voltage", "max_current", "ramp_rate")
                    if getattr(channel, name) is None
                ]
                if missing:
                    raise ValueError(
                        f"channel {channel.id}: a {self.kind.value} channel needs {', '.join(missing)}"
                    )
                assert channel.max_voltage is not None and channel.ramp_rate is not None
                if channel.max_voltage <= channel.min_voltage:
                    raise ValueError(f"channel {channel.id}: max_voltage must be above min_voltage")
                if channel.max_ramp_rate is not None and channel.max_ramp_rate < channel.ramp_rate:
                    raise ValueError(f"channel {channel.id}: max_ramp_rate is below ramp_rate")
                _check_working_point(channel)
        else:
            for channel in self.channels:
                if channel.trip_current is not None or channel.trip_voltage is not None:
                    raise ValueError(f"channel {channel.id}: trips apply to power channels, not sensors")
                if channel.nominal_voltage is not None or channel.current_limit is not None:
                    raise ValueError(
                        f"channel {channel.id}: nominal_voltage and current_limit apply to power channels"
                    )
        return self
