"""Configuration of ``labdcs experiments serve`` and ``labdcs harvest`` (``LABDCS_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from labdcs.contract.topics import check_ident, is_ident
from labdcs.experiments.auth import AuthSettings
from labdcs.experiments.http import HttpLimits
from labdcs.experiments.throttle import ThrottleSettings
from labdcs.experiments.uploads import DEFAULT_UPLOAD_MAX_BYTES
from labdcs.ingest.influx import InfluxSettings
from labdcs.settings import MqttSettings, read_secret_file

if TYPE_CHECKING:
    from labdcs.experiments.store import Store


class ExperimentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABDCS_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field(
        default="montydb://.labdcs/experiments",
        description="mongodb://host:27017/labdcs, or montydb:///folder for the embedded SQLite engine",
    )
    database_username: str | None = Field(default=None, description="MongoDB user (authSource admin)")
    database_password: SecretStr | None = None
    database_password_file: Path | None = Field(default=None, description="e.g. /run/secrets/mongodb_app")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="The API's and UI's logins")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    http_host: str = Field(default="127.0.0.1", description="Address the API and UI listen on")
    http_port: int = Field(default=8000, ge=1, le=65535)
    http_limits: HttpLimits = Field(default_factory=HttpLimits, description="Timeouts and sizes")
    login: ThrottleSettings = Field(default_factory=ThrottleSettings, description="Refused-login throttling")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For names the client (the compose stack: its gateway); "
        "the login throttle counts per client address",
    )
    grafana_url: str | None = Field(
        default=None,
        description="Grafana as the browser reaches it (http://host:3000, or /grafana on this site "
        "behind the gateway), for links to the station dashboard; unset: no links",
    )
    queue: bool = Field(default=True, description="Run the queue worker (start experiments on stations)")
    work_dir: Path = Field(default=Path(".labdcs/experiments-work"), description="Uploads being imported")
    upload_max_bytes: int = Field(
        default=DEFAULT_UPLOAD_MAX_BYTES,
        ge=1,
        description="Largest upload (POST /api/imports, bytes); a larger one is answered 413 before it "
        "is stored",
    )
    station_environment: dict[str, list[str]] = Field(
        default_factory=dict,
        description="The environment sensors of each station's area: station id -> sensor channels "
        "('env1/box') or whole sensor devices ('env1'); shown on the monitor and in experiment records",
    )
    monitor_streams: int = Field(
        default=20, ge=1, le=1000, description="Live monitor streams open at once (one per monitor tab)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def open_store(self) -> Store:
        """The document store this configuration names (not yet prepared)."""
        from labdcs.experiments.store import Store

        password = self.database_password.get_secret_value() if self.database_password else None
        return Store(self.database_url, username=self.database_username, password=password)

    @field_validator("grafana_url")
    @classmethod
    def _grafana_url(cls, value: str | None) -> str | None:
        """A link target the browser can follow; blank means no Grafana (the native stack has none)."""
        if value is None or not value.strip().rstrip("/"):
            return None
        value = value.strip().rstrip("/")
        if not (value.startswith(("http://", "https://")) or (value.startswith("/") and "//" not in value)):
            raise ValueError(
                f"grafana_url {value!r} is neither an http(s):// address nor a path on this site "
                "(such as /grafana)"
            )
        return value

    @field_validator("station_environment")
    @classmethod
    def _station_environment(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Contract ids, so a typo is refused at start, not a sensor silently missing from records."""
        for station, refs in value.items():
            check_ident(station, "station_environment: station")
            for ref in refs:
                parts = ref.split("/")
                if len(parts) > 2 or not all(is_ident(p) for p in parts):
                    raise ValueError(
                        f"station_environment[{station!r}]: {ref!r} is neither a sensor channel "
                        "'device/channel' nor a device id"
                    )
        return value

    @model_validator(mode="after")
    def _read_database_password(self) -> ExperimentsSettings:
        if self.database_password_file is not None:
            self.database_password = read_secret_file(self.database_password_file, "MongoDB password")
        if self.database_password is not None and self.database_username is None:
            raise ValueError("a MongoDB password is set but no database_username")
        return self
