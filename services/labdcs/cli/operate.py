"""The operators' commands: ``status`` of every device, ``cmd`` to a channel, ``alarm`` list and ack."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from labdcs.cli.broker import broker_host, broker_port, client_mqtt, command_user, connection_failed
from labdcs.contract.models import AckResult

if TYPE_CHECKING:
    from labdcs.client import DeviceSnapshot


@click.command()
@broker_host
@broker_port
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option("--timeout", type=float, default=3.0, show_default=True)
def status(host: str | None, port: int | None, as_json: bool, timeout: float) -> None:
    """Show every device: online or offline, and the last state of each channel."""
    devices = _snapshot(host, port, timeout)
    if as_json:
        click.echo(
            json.dumps(
                {
                    name: {
                        "online": snap.online.online if snap.online else None,
                        "meta": snap.meta.model_dump(mode="json") if snap.meta else None,
                        "states": {ch: st.model_dump(mode="json") for ch, st in snap.states.items()},
                        "alarms": {a: alarm.model_dump(mode="json") for a, alarm in snap.alarms.items()},
                    }
                    for name, snap in devices.items()
                },
                indent=2,
            )
        )
        return
    if not devices:
        click.echo("no devices on the broker")
        return
    from labdcs.cli.status_table import render, rows

    for line in render(rows(devices, time.time() * 1000)):
        click.echo(line)


def _snapshot(host: str | None, port: int | None, timeout: float) -> dict[str, DeviceSnapshot]:
    """Every device's retained picture, or a clear error when the broker cannot be reached."""
    from labdcs.client import snapshot

    settings = client_mqtt(host, port)
    try:
        return snapshot(settings, timeout=timeout)
    except ConnectionError as exc:
        raise connection_failed(exc, settings) from None


@click.command(context_settings={"ignore_unknown_options": True})  # VALUE may be negative: -40
@click.argument("device_id")
@click.argument("channel")
@click.argument("verb")
@click.argument("value", required=False)
@broker_host
@broker_port
@command_user
@click.option("--timeout", type=float, default=5.0, show_default=True)
def cmd(
    device_id: str,
    channel: str,
    verb: str,
    value: str | None,
    host: str | None,
    port: int | None,
    user: str,
    timeout: float,
) -> None:
    """Send a command to a channel and print its ack (exit 1 unless accepted)."""
    from labdcs.client import ContractClient, NoAck

    parsed: float | bool | None = None
    if value is not None:
        lowered = value.lower()
        if lowered in ("true", "false"):
            parsed = lowered == "true"
        else:
            try:
                parsed = float(value)
            except ValueError:
                raise click.BadParameter(
                    f"{value!r} is not a number or true/false", param_hint="VALUE"
                ) from None
    settings = client_mqtt(host, port)
    try:
        with ContractClient(settings) as client:
            ack = client.command(device_id, channel, verb, parsed, timeout=timeout, user=user)
    except (ConnectionError, NoAck) as exc:
        raise connection_failed(exc, settings) from None
    _report_ack(ack)


def _report_ack(ack: Any) -> None:
    click.echo(f"{ack.result.value}" + (f": {ack.reason}" if ack.reason else ""))
    if ack.result is not AckResult.ACCEPTED:
        sys.exit(1)


@click.group()
def alarm() -> None:
    """Alarms of every device and service: list them, acknowledge them."""


@alarm.command("list")
@broker_host
@broker_port
@click.option("--all", "show_all", is_flag=True, help="Also the cleared ones (their latest transition)")
@click.option("--timeout", type=float, default=3.0, show_default=True)
def alarm_list(host: str | None, port: int | None, show_all: bool, timeout: float) -> None:
    """Active alarms, oldest first: device, alarm, severity, since when, acknowledged by whom."""
    devices = _snapshot(host, port, timeout)
    alarms = [a for snap in devices.values() for a in snap.alarms.values() if a.active or show_all]
    if not alarms:
        click.echo("no active alarms" if not show_all else "no alarms")
        return
    for item in sorted(alarms, key=lambda a: a.raised):
        raised = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.raised / 1000))
        state = "ACTIVE " if item.active else "cleared"
        acknowledged = f"  acknowledged by {item.acknowledged_by}" if item.acknowledged_by else ""
        click.echo(
            f"{state} {item.device}/{item.alarm} [{item.severity.value}] since {raised}: {item.message}"
            f"{acknowledged}"
        )


@alarm.command("ack")
@click.argument("device_id")
@click.argument("alarm_id")
@broker_host
@broker_port
@command_user
@click.option("--timeout", type=float, default=5.0, show_default=True)
def alarm_ack(
    device_id: str, alarm_id: str, host: str | None, port: int | None, user: str, timeout: float
) -> None:
    """Acknowledge an alarm (exit 1 unless accepted)."""
    from labdcs.client import ContractClient, NoAck

    settings = client_mqtt(host, port)
    try:
        with ContractClient(settings) as client:
            ack = client.acknowledge_alarm(device_id, alarm_id, user, timeout=timeout)
    except (ConnectionError, NoAck) as exc:
        raise connection_failed(exc, settings) from None
    _report_ack(ack)
