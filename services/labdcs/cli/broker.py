"""Which broker and which login the operators' commands (``status``, ``cmd``, ``alarm``) use."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import click
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from labdcs.contract.codec import describe_validation_error
from labdcs.settings import MqttSettings


class ClientSettings(BaseSettings):
    """Broker settings of command-line clients (``LABDCS_MQTT__HOST`` etc.)."""

    model_config = SettingsConfigDict(env_prefix="LABDCS_", env_nested_delimiter="__", extra="ignore")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)


def client_mqtt(host: str | None, port: int | None) -> MqttSettings:
    """The environment's broker settings; without a user, the operators' ``cli`` user from the
    secrets folder (``LABDCS_SECRETS_DIR``, default ./secrets) when ``labdcs init`` made one."""
    try:
        settings = ClientSettings().mqtt
    except ValidationError as exc:
        raise click.ClickException(f"MQTT settings: {describe_validation_error(exc)}") from None
    update: dict[str, Any] = {}
    if settings.username is None:
        from labdcs.security.secrets import DEFAULT_DIR, SecretsDir

        store = SecretsDir(Path(os.environ.get("LABDCS_SECRETS_DIR", DEFAULT_DIR)))
        if store.path("mqtt/cli").is_file():
            update["username"] = "cli"
            update["password"] = SecretStr(store.read("mqtt/cli"))
    if host is not None:
        update["host"] = host
    if port is not None:
        update["port"] = port
    return settings.model_copy(update=update)


broker_host = click.option(
    "--host", default=None, help="Broker host (default: LABDCS_MQTT__HOST or localhost)"
)
broker_port = click.option("--port", type=int, default=None, help="Broker port (default: 1883)")


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


command_user = click.option(
    "--user",
    default=login_name,
    show_default="your login name",
    help="Who sends the command, for the audit (alarm acknowledgements need it)",
)
