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


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def client_mqtt(host: str | None, port: int | None) -> MqttSettings:
    """The broker and login of the operators' commands.

    Broker address: ``--host``/``--port`` > ``LABDCS_MQTT__HOST``/``__PORT`` > the stack running
    from this folder (``.labdcs/stack.json``, or ``LABDCS_DATA_DIR``) > localhost:1883. So the
    README's commands work verbatim where ``labdcs up`` runs, whatever ports it was given.

    Login: ``LABDCS_MQTT__USERNAME`` (and its password) if set, else the operators' ``cli`` user
    from the secrets folder: ``LABDCS_SECRETS_DIR`` > the running stack's, when the broker is that
    stack's > ./secrets. Without one, the broker refuses the connection (see :func:`no_login_hint`).
    """
    from labdcs.security.secrets import DEFAULT_DIR, SecretsDir
    from labdcs.stack.state import find_running

    try:
        settings = ClientSettings().mqtt
    except ValidationError as exc:
        raise click.ClickException(f"MQTT settings: {describe_validation_error(exc)}") from None
    running = find_running()
    update: dict[str, Any] = {}
    if (
        running is not None
        and host is None
        and port is None
        and not {"host", "port"} & settings.model_fields_set
    ):
        update.update(host=running.mqtt_host, port=running.mqtt_port)
    if host is not None:
        update["host"] = host
    if port is not None:
        update["port"] = port
    if settings.username is None:
        address = settings.model_copy(update=update)
        folder = os.environ.get("LABDCS_SECRETS_DIR")
        if not folder and running is not None and _same_broker(address, running.mqtt_host, running.mqtt_port):
            folder = str(running.secrets_dir)
        store = SecretsDir(Path(folder or DEFAULT_DIR))
        if store.path("mqtt/cli").is_file():
            update["username"] = "cli"
            update["password"] = SecretStr(store.read("mqtt/cli"))
    return settings.model_copy(update=update)


def _same_broker(settings: MqttSettings, host: str, port: int) -> bool:
    local = settings.host in LOOPBACK and host in LOOPBACK
    return settings.port == port and (settings.host == host or local)


def no_login_hint(settings: MqttSettings) -> str:
    """Why a connection without a login failed, and where the login is (empty when there is one)."""
    if settings.username is not None:
        return ""
    return (
        "\nNo broker login was found either (no secrets/mqtt/cli here), and the broker refuses"
        " anonymous clients. Run this in the folder where `labdcs up` runs (it finds the stack in"
        " .labdcs/stack.json), or set LABDCS_DATA_DIR to that stack's data folder or"
        " LABDCS_SECRETS_DIR to its secrets folder (docs/security.md)."
    )


def connection_failed(exc: Exception, settings: MqttSettings) -> click.ClickException:
    """A command's clear error for an unreachable broker or a missing ack."""
    hint = no_login_hint(settings) if isinstance(exc, ConnectionError) else ""
    return click.ClickException(f"{exc}{hint}")


broker_host = click.option(
    "--host",
    default=None,
    help="Broker host (default: LABDCS_MQTT__HOST, else the stack running from this folder, else localhost)",
)
broker_port = click.option(
    "--port",
    type=int,
    default=None,
    help="Broker port (default: LABDCS_MQTT__PORT, else the stack running from this folder, else 1883)",
)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


command_user = click.option(
    "--user",
    default=login_name,
    show_default="your login name",
    help="The person sending: audited as a claim next to the broker login (cli) the command goes through",
)
