"""Configuration of ``labdcs ingest`` (YAML file and/or ``LABDCS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from labdcs.contract.codec import describe_validation_error
from labdcs.contract.models import Ident
from labdcs.ingest.influx import InfluxSettings
from labdcs.ingest.retention import RetentionSettings
from labdcs.settings import MqttSettings


class IngestSettings(BaseSettings):
    """Configuration of the ingester (YAML file and/or ``LABDCS_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="LABDCS_", env_nested_delimiter="__", extra="ignore")

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    apply_retention: bool = Field(default=True, description="Create database and policies at start")
    client_id: str = Field(
        default="ingest",
        description="Fixed: the broker keeps its session; sent as <user>:<client_id>, which the broker "
        "gives to this login alone",
    )
    device: Ident = Field(default="ingest", description="Id under which it reports on the contract")
    spool_dir: Path = Field(default=Path(".labdcs/ingest"), description="On-disk buffer")
    spool_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0, description="Size limit of the buffer")
    share_group: Ident | None = Field(
        default=None,
        description="Share the stream with the other ingesters of this group (MQTT shared "
        "subscription $share/<group>/...: each message goes to one member); each member needs its "
        "own client_id and spool_dir",
    )
    batch_size: int = Field(default=5000, gt=0, le=100_000)
    batch_interval_s: float = Field(
        default=0.15, gt=0, description="s; the longest a point waits in the spool for its batch"
    )
    batch_idle_s: float = Field(
        default=0.1, gt=0, description="s; write what is waiting once no message came for this long"
    )
    read_coalesce_s: float = Field(
        default=0.02,
        ge=0,
        le=0.05,
        description="s; the longest the reader waits after a batch for more messages (labdcs.mqtt.batching)",
    )
    stats_period_s: float = Field(default=5.0, gt=0)
    retry_max_s: float = Field(default=10.0, gt=0)
    max_clock_skew_s: float | None = Field(
        default=1800.0,
        gt=0,
        description="s; refuse points stamped further than this from the ingester's clock (None: any)",
    )
    meta_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="s after connecting during which a device whose meta has not arrived is believed",
    )
    rejected_max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="rejected.jsonl is rotated (one old file) past this"
    )
    health_file: Path | None = None
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
        return env_settings, init_settings

    @classmethod
    def load(cls, path: Path | None) -> IngestSettings:
        data: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValueError(f"cannot read {path}: {exc}") from None
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a mapping at the top level")
            data = loaded
        try:
            return cls(**data)
        except ValidationError as exc:
            raise ValueError(f"{path or 'environment'}: {describe_validation_error(exc)}") from None
