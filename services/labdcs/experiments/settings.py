"""Configuration of ``labdcs experiments serve`` and ``labdcs harvest`` (``LABDCS_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from labdcs.ingest.influx import InfluxSettings
from labdcs.settings import MqttSettings


class ExperimentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABDCS_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field(
        default="montydb://.labdcs/experiments",
        description="mongodb://host:27017/labdcs, or montydb:///folder for the embedded SQLite engine",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    http_host: str = Field(default="127.0.0.1", description="Address the API and UI listen on")
    http_port: int = Field(default=8000, ge=1, le=65535)
    grafana_url: str = Field(
        default="http://localhost:3000", description="For links to the station dashboard"
    )
    queue: bool = Field(default=True, description="Run the queue worker (start experiments on stations)")
    work_dir: Path = Field(default=Path(".labdcs/experiments-work"), description="Uploads being imported")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
