"""Configuration of one device service (``labdcs device run --config FILE``).

A YAML file names the device, its driver and connection, its channels with their limits and ramp
rates; any value can be overridden from the environment (``LABDCS_DRIVER__RESOURCE=...``), which is
how the compose stack points the same file at a simulator container or at real hardware.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from labdcs.contract.codec import describe_validation_error
from labdcs.contract.models import ChannelKind, DeviceKind, Ident
from labdcs.contract.topics import RESERVED_CHANNEL_IDS
from labdcs.drivers.registry import DriverSettings
from labdcs.settings import MqttSettings

S = TypeVar("S", bound=BaseSettings)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says which file and which field."""


class ChannelConfig(BaseModel):
    """One channel. Power channels (hv, lv) need their limits and a ramp rate; sensors need neither."""

    model_config = ConfigDict(extra="forbid")

    id: Ident
    label: str = ""
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

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_CHANNEL_IDS:
            raise ValueError(f"'{value}' is reserved in the topic scheme; choose another channel id")
        return value


class DeviceConfig(BaseSettings):
    """Everything a device service needs; see ``dummy/devices/*.yaml`` for examples."""

    model_config = SettingsConfigDict(
        env_prefix="LABDCS_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    device: Ident
    kind: DeviceKind
    model: str = Field(description="Instrument model for people, e.g. 'Keithley 2410'")
    description: str = ""
    driver: DriverSettings
    channels: list[ChannelConfig] = Field(min_length=1)
    publish_period: float = Field(default=1.0, gt=0, le=3600, description="s between state messages")
    ramp_tick: float = Field(default=0.1, gt=0, le=10, description="s between ramp steps")
    on_exit: Literal["keep", "ramp_down"] | None = Field(
        default=None, description="What SIGTERM does to outputs (default: ramp_down for hv, else keep)"
    )
    exit_timeout_s: float = Field(default=100.0, gt=0, description="Longest ramp-down on exit")
    max_command_age_s: float = Field(default=10.0, gt=0, description="Older commands are rejected")
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Longest wait between instrument retries")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    health_file: Path | None = Field(default=None, description="Touched every loop, for container health")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return env_settings, init_settings

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
        return self

    @classmethod
    def load(cls, path: Path, **overrides: Any) -> DeviceConfig:
        """Read a YAML file, apply environment overrides, and validate; ConfigError says what is wrong."""
        return validate_file(cls, path, read_mapping(path), **overrides)


def read_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML configuration file; ConfigError says what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def validate_file(cls: type[S], path: Path, data: dict[str, Any], **overrides: Any) -> S:
    """``cls`` built from a file's mapping (the environment overriding it); ConfigError names the file."""
    data.update(overrides)
    try:
        return cls(**data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from None
