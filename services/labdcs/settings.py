"""Configuration shared by every labdcs process.

Settings come from YAML files and environment variables (prefix ``LABDCS_``, ``__`` between nested
names, e.g. ``LABDCS_MQTT__HOST``). Every secret can instead be read from a file named by the
matching ``*_file`` setting (``LABDCS_MQTT__PASSWORD_FILE=/run/secrets/mqtt``), the way Docker
secrets are mounted, so secrets never need to sit in the process environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from labdcs.contract.codec import describe_validation_error


def read_secret_file(path: Path, what: str) -> SecretStr:
    """Read a secret from a file (trailing newline removed); a clear error when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {what} from {path}: {exc.strerror or exc}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ValueError(f"{what} file {path} is empty")
    return SecretStr(secret)


class MqttSettings(BaseModel):
    """How a labdcs process reaches the broker. Username/password and TLS are supported throughout."""

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Every node of a broker cluster, 'host' or 'host:port' (default port: port), in "
        "failover order; replaces host and port when set. The environment gives a comma-separated "
        "string or a JSON list (LABDCS_MQTT__HOSTS=n1,n2:1884)",
    )
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = Field(default=None, description="Read the password from this file")
    tls: bool = Field(default=False, description="Connect with TLS (port 8883 by convention)")
    ca_file: Path | None = Field(default=None, description="CA bundle that signed the broker certificate")
    cert_file: Path | None = Field(default=None, description="Client certificate (mutual TLS)")
    key_file: Path | None = Field(default=None, description="Client key (mutual TLS)")
    keepalive: int = Field(default=10, ge=2, le=3600, description="s; the last will fires after 1.5x this")
    reconnect_min_s: int = Field(default=1, ge=1, description="s; first reconnect delay (doubles)")
    reconnect_max_s: int = Field(default=10, ge=1, description="s; longest reconnect delay")
    max_queued_messages: int = Field(
        default=100_000, ge=0, description="Outgoing QoS 1 messages held while the broker is away"
    )

    @field_validator("hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        # The environment gives a string: a JSON list, or addresses separated by commas.
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"hosts is not a valid JSON list: {exc}") from None
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for item in value:
            _parse_address(item, 1883)
        return value

    def addresses(self) -> list[tuple[str, int]]:
        """The brokers to try, in failover order: ``hosts``, or else ``host:port``."""
        if not self.hosts:
            return [(self.host, self.port)]
        return [_parse_address(item, self.port) for item in self.hosts]

    @model_validator(mode="after")
    def _load_secrets(self) -> Self:
        if self.password_file is not None:
            self.password = read_secret_file(self.password_file, "MQTT password")
        if self.password is not None and self.username is None:
            raise ValueError("an MQTT password is set but no username")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("set both cert_file and key_file for a TLS client certificate, or neither")
        if (self.ca_file or self.cert_file) and not self.tls:
            raise ValueError("ca_file/cert_file are set but tls is false")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be smaller than reconnect_min_s")
        return self


def _parse_address(item: str, default_port: int) -> tuple[str, int]:
    """``host`` or ``host:port`` (``[v6]:port``) as (host, port); ValueError says what is wrong."""
    if "/" in item:
        raise ValueError(f"broker address {item!r}: expected host or host:port (no scheme, no path)")
    host, sep, port = item.rpartition(":")
    if not sep or host.endswith(":"):  # no port, or a bare IPv6 address
        host, port = item, ""
    host = host.strip("[]")
    if not host or any(ch.isspace() or ch == "," for ch in host):
        raise ValueError(f"broker address {item!r}: expected host or host:port")
    if not port:
        return host, default_port
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"broker address {item!r}: the port must be a number from 1 to 65535")
    return host, int(port)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says which file and which field."""


class YamlSettings(BaseSettings):
    """A service configuration: a YAML file whose values the environment overrides (``LABDCS_...``)."""

    model_config = SettingsConfigDict(
        env_prefix="LABDCS_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

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

    @classmethod
    def load(cls, path: Path, **overrides: Any) -> Self:
        """Read a YAML file, apply environment overrides, and validate; ConfigError says what is wrong."""
        return validate_file(cls, path, read_mapping(path), **overrides)


S = TypeVar("S", bound=BaseSettings)


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
