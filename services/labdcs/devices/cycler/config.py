"""Configuration of a battery-station device service (``kind: cycler``), and loading any device file.

::

    device: station1
    kind: cycler
    model: EA PSB 9080-60
    driver: {name: psb, resource: "TCPIP::10.0.0.7::5025::SOCKET"}
    channels:
      - id: ch1
        cell: {name: "18650 NMC 2.5 Ah", capacity_ah: 2.5, v_min: 2.5, v_max: 4.2,
               i_charge_max: 2.5, i_discharge_max: 5.0, t_max_c: 60}
        station: {i_charge_max: 10.0}      # optional: tighter than the instrument's ratings
    sample_period: 1.0                     # s (simulated): read, check safety, run the protocol
    speed: 1                               # simulated stations: faster than real time, or max
    batch_max_states: 200                  # faster than real time: states per batch (.../states)
    batch_max_wait_s: 0.5                  # ... and the longest a state waits in one (wall s)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labdcs.clock import parse_speed
from labdcs.contract.batch import MAX_BATCH_STATES
from labdcs.contract.limits import MAX_CHANNELS_PER_DEVICE, MAX_LABEL_LENGTH
from labdcs.contract.models import DEFAULT_MAX_COMMAND_AGE_S, DeviceKind, Ident
from labdcs.contract.topics import RESERVED_CHANNEL_IDS
from labdcs.devices.config import ConfigError, DeviceConfig, read_mapping, validate_file
from labdcs.drivers.registry import KNOWN_DRIVERS, DriverSettings
from labdcs.protocols.validate import Envelope
from labdcs.settings import MqttSettings, YamlSettings


class CellConfig(BaseModel):
    """The cell on the channel, from its datasheet: the outer limits of every run."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    chemistry: str = ""
    capacity_ah: float | None = Field(default=None, gt=0, description="nominal capacity, for C-rates")
    v_min: float = Field(description="V; discharge cut-off")
    v_max: float = Field(description="V; charge cut-off")
    i_charge_max: float = Field(gt=0, description="A")
    i_discharge_max: float = Field(gt=0, description="A (a magnitude)")
    t_max_c: float | None = Field(default=None, description="degC")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.v_min >= self.v_max:
            raise ValueError("cell v_min must be below v_max")
        return self

    def envelope(self) -> Envelope:
        return Envelope(
            v_min=self.v_min,
            v_max=self.v_max,
            i_min=-self.i_discharge_max,
            i_max=self.i_charge_max,
            t_max_c=self.t_max_c,
        )


class StationLimits(BaseModel):
    """Limits of the station wiring (cables, fuses, fixtures), tighter than the instrument's ratings."""

    model_config = ConfigDict(extra="forbid")

    v_min: float | None = None
    v_max: float | None = None
    i_charge_max: float | None = Field(default=None, gt=0)
    i_discharge_max: float | None = Field(default=None, gt=0)
    p_max: float | None = Field(default=None, gt=0)


class CyclerChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Ident
    label: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    hw: int = Field(default=1, ge=1, description="Instrument channel number (1-based)")
    cell: CellConfig
    station: StationLimits = Field(default_factory=StationLimits)
    safety_margin_v: float = Field(
        default=0.005, ge=0, le=0.1, description="V beyond v_min/v_max tolerated as measurement noise"
    )

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_CHANNEL_IDS:
            raise ValueError(f"'{value}' is reserved in the topic scheme; choose another channel id")
        return value


class CyclerConfig(YamlSettings):
    """Everything a battery-station service needs; see ``dummy/devices/station1.yaml``."""

    device: Ident
    kind: Literal[DeviceKind.CYCLER]
    model: str = Field(max_length=MAX_LABEL_LENGTH)
    description: str = Field(default="", max_length=MAX_LABEL_LENGTH)
    driver: DriverSettings
    channels: list[CyclerChannelConfig] = Field(min_length=1, max_length=MAX_CHANNELS_PER_DEVICE)
    sample_period: float = Field(default=1.0, gt=0, le=60, description="s (simulated) between samples")
    publish_period: float = Field(default=1.0, gt=0, le=3600, description="s between states while idle")
    speed: float = Field(
        default=1.0,
        description="simulated seconds per wall second (simulated stations); inf: as fast as possible",
    )
    batch_max_states: int = Field(
        default=200,
        ge=1,
        le=MAX_BATCH_STATES,
        description="Faster than real time only: states of a running channel sent in one batch at most",
    )
    batch_max_wait_s: float = Field(
        default=0.5, gt=0, le=60, description="Faster than real time only: wall s a state waits in a batch"
    )
    exit_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for the instrument on exit")
    max_command_age_s: float = Field(
        default=DEFAULT_MAX_COMMAND_AGE_S,
        gt=0,
        description="Older commands are rejected; a device remembers the ids it answered this long",
    )
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Longest wait between instrument retries")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    health_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("speed", mode="before")
    @classmethod
    def _speed(cls, value: Any) -> float:
        return parse_speed(value)

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids = [channel.id for channel in self.channels]
        if len(set(ids)) != len(ids):
            raise ValueError("channel ids must be unique")
        if KNOWN_DRIVERS[self.driver.name][1] != "cycler":
            cyclers = ", ".join(name for name, (_, kind) in KNOWN_DRIVERS.items() if kind == "cycler")
            raise ValueError(
                f"driver {self.driver.name!r} is not a battery-station driver; use one of {cyclers}"
            )
        if math.isinf(self.speed) and not self.driver.simulate:
            raise ValueError("speed 'max' needs a simulated station in the process (driver simulate: true)")
        if self.speed != 1 and not self.driver.simulate:
            raise ValueError("only a simulated station (driver simulate: true) runs faster than real time")
        return self


def load_device_config(path: Path, **overrides: Any) -> DeviceConfig | CyclerConfig:
    """A device file of any kind: ``kind: cycler`` gives a CyclerConfig, the others a DeviceConfig."""
    data = read_mapping(path)
    if data.get("kind") == DeviceKind.CYCLER.value:
        return validate_file(CyclerConfig, path, data, **overrides)
    return validate_file(DeviceConfig, path, data, **overrides)


__all__ = [
    "CellConfig",
    "ConfigError",
    "CyclerChannelConfig",
    "CyclerConfig",
    "StationLimits",
    "load_device_config",
]
